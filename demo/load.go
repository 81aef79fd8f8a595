package demo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// Rhythm is a synthetic service load: a daily peak, a weekday/weekend swing and noise.
type Rhythm struct {
	// Base is the mean load; DailyAmp the swing around it over a day, peaking at PeakHour (UTC).
	Base, DailyAmp, PeakHour float64
	// WeekendFactor scales the load on Saturdays and Sundays (1 = no weekly rhythm).
	WeekendFactor float64
	// Noise is the standard deviation of the noise, as a fraction of the load.
	Noise float64
	Seed  uint64
}

// At is the load at t. It is a pure function of t, so history and "now" always agree.
func (r Rhythm) At(t time.Time) float64 {
	t = t.UTC()
	hour := float64(t.Hour()) + float64(t.Minute())/60
	// A sharper-than-sine daily shape: business hours rise quickly in the morning.
	phase := 2 * math.Pi * (hour - r.PeakHour) / 24
	daily := math.Exp(2*math.Cos(phase)-2)*2 - 1 // in [-1, 1], narrow peak
	v := r.Base + r.DailyAmp*daily
	if wd := t.Weekday(); (wd == time.Saturday || wd == time.Sunday) && r.WeekendFactor > 0 {
		v *= r.WeekendFactor
	}
	v *= 1 + r.Noise*gauss(r.Seed, t.Unix()/60)
	return math.Max(v, 0)
}

// gauss is a deterministic standard normal draw for (seed, slot): splitmix64 and Box-Muller.
func gauss(seed uint64, slot int64) float64 {
	u1 := unit(mix(seed ^ uint64(slot)*0x9e3779b97f4a7c15))
	u2 := unit(mix(seed ^ uint64(slot)*0xbf58476d1ce4e5b9 ^ 0x94d049bb133111eb))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps z to (0, 1].
func unit(z uint64) float64 { return (float64(z>>11) + 1) / (1 << 53) }

// History serves synthetic load to the forecaster in place of Prometheus
// (forecaster.HistorySource and forecaster.LoadSource).
type History struct {
	Rhythms map[string]Rhythm
	// Now bounds the history: nothing after it exists yet.
	Now func() time.Time
}

// Range implements forecaster.HistorySource.
func (h History) Range(_ context.Context, svc scaling.ManagedService, start, end time.Time, step time.Duration) (forecast.Series, error) {
	r, ok := h.Rhythms[svc.Name]
	if !ok {
		return forecast.Series{}, fmt.Errorf("demo history: no rhythm for service %q", svc.Name)
	}
	if now := h.Now(); end.After(now) {
		end = now
	}
	if step <= 0 || end.Before(start) {
		return forecast.Series{}, fmt.Errorf("demo history: empty range %s..%s step %s", start, end, step)
	}
	n := int(end.Sub(start)/step) + 1
	s := forecast.Series{Start: start, Step: step, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = r.At(start.Add(time.Duration(i) * step))
	}
	return s, nil
}

// Current implements forecaster.LoadSource.
func (h History) Current(_ context.Context, svc scaling.ManagedService, at time.Time) (float64, error) {
	r, ok := h.Rhythms[svc.Name]
	if !ok {
		return 0, fmt.Errorf("demo history: no rhythm for service %q", svc.Name)
	}
	return r.At(at), nil
}
