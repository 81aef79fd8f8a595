package promtest

import (
	"math"
	"math/rand/v2"
	"time"
)

// Load describes a synthetic service load with a daily and a weekly rhythm.
type Load struct {
	// Base is the mean load; DailyAmp and WeeklyAmp the amplitudes of the two rhythms.
	Base, DailyAmp, WeeklyAmp float64
	// PeakHour is the UTC hour of the daily peak.
	PeakHour float64
	// Noise is the standard deviation of Gaussian noise, as a fraction of Base.
	Noise float64
	// Seed makes the noise repeatable.
	Seed uint64
}

// Values returns n values of l at start, start+step, ...; never negative. The same Load and
// times always give the same values.
func (l Load) Values(start time.Time, step time.Duration, n int) []float64 {
	rng := rand.New(rand.NewPCG(l.Seed, 0x6b6169))
	out := make([]float64, n)
	for i := range out {
		t := start.Add(time.Duration(i) * step)
		out[i] = math.Max(0, l.At(t)+rng.NormFloat64()*l.Noise*l.Base)
	}
	return out
}

// At is l's noiseless load at t.
func (l Load) At(t time.Time) float64 {
	sec := float64(t.Unix())
	day := math.Mod(sec, 86400) / 3600 // UTC hour of day, fractional
	week := math.Mod(sec, 7*86400) / 86400
	return l.Base +
		l.DailyAmp*math.Cos(2*math.Pi*(day-l.PeakHour)/24) +
		l.WeeklyAmp*math.Cos(2*math.Pi*week/7)
}
