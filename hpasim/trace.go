package hpasim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
)

// LoadAt is the trace's load at t, linear between samples (a gap, NaN or ±Inf, is bridged
// from its neighbours; before the first and after the last sample the ends hold). An infinite
// sample is a gap as the forecaster reads it (a ratio over a zero in the metric's query): read
// as load, one made every replay's shortfall infinite and calibration's gains NaN.
func LoadAt(s forecast.Series, t time.Time) float64 {
	n := len(s.Values)
	if n == 0 || s.Step <= 0 {
		return math.NaN()
	}
	pos := float64(t.Sub(s.Start)) / float64(s.Step)
	if pos <= 0 {
		return finiteNear(s.Values, 0, 1)
	}
	if pos >= float64(n-1) {
		return finiteNear(s.Values, n-1, -1)
	}
	i := int(pos)
	frac := pos - float64(i)
	a, b := s.Values[i], s.Values[i+1]
	switch {
	case gap(a) && gap(b):
		return finiteNear(s.Values, i, -1)
	case gap(a):
		return b
	case gap(b):
		return a
	}
	return a + (b-a)*frac
}

// gap reports whether a trace's sample is missing: NaN, or infinite (LoadAt).
func gap(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// finiteNear is the first finite value from i walking by dir, then the other way.
func finiteNear(v []float64, i, dir int) float64 {
	for j := i; j >= 0 && j < len(v); j += dir {
		if !gap(v[j]) {
			return v[j]
		}
	}
	for j := i; j >= 0 && j < len(v); j -= dir {
		if !gap(v[j]) {
			return v[j]
		}
	}
	return math.NaN()
}

// RampOptions shapes a synthetic office-hours trace with sharp morning ramps.
type RampOptions struct {
	Start time.Time // midnight of the first day, in the zone the rhythm follows
	Days  int
	Step  time.Duration
	// Base is the night load, Peak the weekday plateau; weekends reach WeekendShare of Peak.
	Base, Peak, WeekendShare float64
	// RampStart is the time of day the morning ramp begins; RampLength how long it takes.
	RampStart, RampLength time.Duration
	// Noise is the relative standard deviation of multiplicative noise.
	Noise float64
	Seed  uint64
}

// DefaultRamps is a six-week trace at a 5-minute step: nights at 100, weekday plateau at 1000
// reached in 15 minutes from 08:00, a lunch dip, a slow evening decline, weekends at 35 %.
func DefaultRamps(start time.Time) RampOptions {
	return RampOptions{Start: start, Days: 42, Step: 5 * time.Minute, Base: 100, Peak: 1000, WeekendShare: 0.35,
		RampStart: 8 * time.Hour, RampLength: 15 * time.Minute, Noise: 0.05, Seed: 1}
}

// GenerateRamps returns a synthetic trace with sharp morning ramps: the shape that defeats a
// reactive HPA (the load rises faster than pods start) and that a daily/weekly forecast sees
// coming. Deterministic for a seed.
func GenerateRamps(o RampOptions) forecast.Series {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	n := int(time.Duration(o.Days) * 24 * time.Hour / o.Step)
	s := forecast.Series{Start: o.Start, Step: o.Step, Values: make([]float64, n)}
	for i := range n {
		t := o.Start.Add(time.Duration(i) * o.Step)
		tod := timeOfDay(t)
		peak := o.Peak
		if weekend(t) {
			peak = o.Base + (o.Peak-o.Base)*o.WeekendShare
		}
		v := o.Base
		switch end := o.RampStart + o.RampLength; {
		case tod < o.RampStart:
		case tod < end:
			v = o.Base + (peak-o.Base)*float64(tod-o.RampStart)/float64(o.RampLength)
		case tod < 12*time.Hour:
			v = peak
		case tod < 13*time.Hour:
			v = peak * 0.8 // lunch
		case tod < 17*time.Hour:
			v = peak
		case tod < 21*time.Hour:
			v = peak + (o.Base-peak)*float64(tod-17*time.Hour)/float64(4*time.Hour)
		}
		s.Values[i] = math.Max(0, v*(1+o.Noise*rng.NormFloat64()))
	}
	return s
}
