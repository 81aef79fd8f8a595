package forecast

import (
	"errors"
	"math"
	"testing"
	"time"
)

// fuzzSeries builds a load history from fuzz bytes: a shape (daily, weekly, flat, zero,
// sawtooth or a random walk; its day moved whole hours two thirds in, or a job at the top of
// each hour, or neither) at one of the steps services scrape at, over 1 to 36 days (at a minute's
// step over 1 to 21; at a day's or two days' step over 1 to 36 weeks), with events laid on it, each from four bytes: where (two), what and how large (a gap,
// +Inf, zeros, a burst, a new level, negative load, a value near the float64 limit), and how
// long. Raw random values would reach little of the forecaster: cleaning, level shifts and
// selection act only on a history with a shape to depart from.
func fuzzSeries(data []byte) (Series, int, string) {
	at := func(i int) byte {
		if i < len(data) {
			return data[i]
		}
		return 0
	}
	steps := []time.Duration{5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}
	step := steps[int(at(0))%len(steps)]
	days := 1 + int(at(1))%36
	switch {
	case at(0) >= 248: // counted per day, or per two days, over up to 36 weeks (runsAt)
		step = time.Duration(1+at(0)%2) * 24 * time.Hour
		days *= 7
	case at(0) >= 240: // per minute, over up to 21 days: the quarter-hour grid, or not
		step, days = time.Minute, 1+int(at(1))%21
	}
	perDay := max(1, int(24*time.Hour/step))
	n := days * perDay / max(1, int(step/(24*time.Hour)))
	if at(1) >= 128 { // also histories that do not end on a whole day
		n -= int(at(1)) % perDay
	}
	horizon := 1 + int(at(2))%(2*perDay)
	models := append([]string{ModelAuto}, Models()...)
	model := models[int(at(3))%len(models)]
	seed := uint64(at(4))*2654435761 + 1
	walk := 100.0
	shape := func(i int) float64 {
		phase := 2 * math.Pi * float64(i%perDay) / float64(perDay)
		switch at(5) % 6 {
		case 0:
			return 100 + 60*math.Sin(phase)
		case 1:
			day := 1.0
			if (i/perDay)%7 >= 5 {
				day = 0.4
			}
			return day * (80 + 70*math.Sin(phase))
		case 2:
			return 37
		case 3:
			return 0
		case 4:
			return float64(i % max(1, perDay/4))
		default:
			seed = seed*6364136223846793005 + 1442695040888963407
			walk = math.Max(0, walk+float64(int64(seed>>33)%21-10))
			return walk
		}
	}
	// The day's shape comes whole hours earlier two thirds in, under 3 % noise: a move is told
	// from days that match their week unshifted with an error (phaseGroups).
	moveFrom, move, noise := n, 0, 0.0
	if at(5) >= 192 {
		moveFrom, move, noise = n*2/3, (1+int(at(5))%12)*perDay/24, 0.03
	}
	// Or a job triples the load for the first five minutes of each hour, under 3 % noise: at
	// 5 min and finer it is fitted at the series' own step (finePatternRatio).
	hour, job := max(1, perDay/24), 0
	if at(5) >= 180 && at(5) < 192 {
		job, noise = max(1, perDay/288), 0.03
	}
	v := make([]float64, n)
	for i := range v {
		j := i
		if i >= moveFrom {
			j += move
		}
		v[i] = shape(j)
		if i%hour < job {
			v[i] *= 3
		}
		if noise > 0 {
			seed = seed*6364136223846793005 + 1442695040888963407
			v[i] *= 1 + noise*float64(int64(seed>>33)%2001-1000)/1000
		}
	}
	for e := 6; e+3 < len(data); e += 4 {
		from := (int(data[e])<<8 | int(data[e+1])) % n
		length := 1 + int(data[e+3])%(2*perDay)
		size := float64((data[e+2]>>3)%16 + 1)
		for i := from; i < min(n, from+length); i++ {
			switch data[e+2] % 8 {
			case 0:
				v[i] = math.NaN()
			case 1:
				v[i] = math.Inf(1)
			case 2:
				v[i] = 0
			case 3:
				v[i] *= size
			case 4:
				v[i] = v[i]*size + 10*size
			case 5:
				v[i] = -v[i]
			case 6:
				v[i] /= size
			default:
				v[i] = 1e306
			}
		}
	}
	return Series{Start: t0, Step: step, Values: v}, horizon, model
}

// FuzzForecastIsFiniteOrFails: whatever the history, Forecast does not panic, and either
// forecasts every point of the horizon finite with the bound at or above the mean, or fails
// with one of its two documented errors: no data, or values too large to forecast. A history
// without such values (|v| ≤ 1e12) must be forecast: a NaN caught by the last guard there
// is a defect of a model, not of the input.
func FuzzForecastIsFiniteOrFails(f *testing.F) {
	f.Add([]byte{1, 20, 40, 0, 7, 1})
	f.Add([]byte{0, 27, 255, 0, 3, 0, 10, 0, 2, 200})
	f.Add([]byte{3, 200, 47, 0, 9, 5, 0, 30, 4, 15, 1, 0, 0, 255})
	f.Add([]byte{2, 13, 12, 2, 0, 1, 0, 5, 7, 40, 0, 100, 1, 9})
	f.Add([]byte{0, 35, 100, 0, 1, 1, 7, 208, 3, 63, 8, 0, 0, 90})
	f.Add([]byte{248, 30, 5, 0, 2, 1, 0, 40, 3, 3}) // a day's step, weekdays unlike the weekend
	f.Add([]byte{249, 20, 1, 0, 4, 5, 0, 10, 4, 2}) // two days' step: no weekly model runs
	f.Add([]byte{0, 35, 40, 0, 1, 193, 1, 0, 0, 3}) // 5 min, weekdays, the day two hours earlier from day 24
	f.Add([]byte{3, 27, 20, 0, 2, 198})             // 1 h, a daily curve seven hours earlier from day 18
	f.Add([]byte{0, 27, 47, 0, 5, 181})             // 5 min, weekdays, a job at the top of each hour
	f.Add([]byte{240, 20, 89, 0, 6, 180})           // 1 min, a daily curve, a job at the top of each hour
	f.Fuzz(func(t *testing.T, data []byte) {
		s, horizon, model := fuzzSeries(data)
		r, err := Forecast(s, Options{Horizon: horizon, Model: model})
		modest := true
		for _, x := range s.Values {
			if finite(x) && math.Abs(x) > 1e12 { // NaN and ±Inf are gaps
				modest = false
			}
		}
		if err != nil {
			if errors.Is(err, ErrNoData) || (errors.Is(err, ErrNotFinite) && !modest) {
				return
			}
			t.Fatalf("%s on %d points at %s, horizon %d: %v", model, len(s.Values), s.Step, horizon, err)
		}
		if len(r.Mean) != horizon || len(r.Upper) != horizon {
			t.Fatalf("%s: %d mean and %d upper points for a horizon of %d", model, len(r.Mean), len(r.Upper), horizon)
		}
		for k := range r.Mean {
			if !finite(r.Mean[k]) || !finite(r.Upper[k]) || r.Upper[k] < r.Mean[k] {
				t.Fatalf("%s point %d: mean %v, upper %v", model, k, r.Mean[k], r.Upper[k])
			}
		}
	})
}
