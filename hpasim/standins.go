package hpasim

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
)

// GeneratedStart is the first instant of every generated trace: a Monday at midnight UTC.
var GeneratedStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// generated are the traces simulate replays with --generate, by name. Besides the office
// ramps, they stand in for kinds of load the project's twelve real traces do not hold (each a
// kind a user's service may have), so a change to the forecaster or the floors can be checked
// beyond the traces it was tuned on: smooth and noisy per-minute web load, a weekly rhythm,
// three months sampled hourly, growth, a fall to a new level, one-off events, a nightly batch
// on a steady load, bursts in request counts, a web server's log counted per minute (and one
// with outages upstream), heavy-tailed noise, users on local time across a daylight-saving
// change, a weekly peak, a job at the top of every hour, and sparse counts. Each is
// deterministic.
var generated = map[string]func() forecast.Series{
	"ramps": func() forecast.Series { return GenerateRamps(DefaultRamps(GeneratedStart)) },
	// Per-minute web load on a daily curve, 3 % noise: forecasts see nearly all of it.
	"smooth": func() forecast.Series {
		return generate(time.Minute, 28, 1, func(t time.Time, _ int, rng *rand.Rand) float64 {
			return 400 * webDay(t) * (1 + 0.03*rng.NormFloat64())
		})
	},
	// The same curve with 25 % noise: the rhythm is foreseen, minute-to-minute noise is not.
	"noisy": func() forecast.Series {
		return generate(time.Minute, 28, 2, func(t time.Time, _ int, rng *rand.Rand) float64 {
			return 400 * webDay(t) * (1 + 0.25*rng.NormFloat64())
		})
	},
	// Weekends at 45 % of weekdays, 5 % noise, per minute.
	"weekly": func() forecast.Series {
		return generate(time.Minute, 28, 4, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 400 * webDay(t)
			if weekend(t) {
				v *= 0.45
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// Three months sampled hourly, as a long-kept recording rule or a billing export gives it:
	// weekends at 60 %, 0.2 % growth a day, 5 % noise. A forecast's step is an hour, and
	// floors are read between its points.
	"hourly": func() forecast.Series {
		return generate(time.Hour, 91, 15, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 1000 * webDay(t) * (1 + 0.002*t.Sub(GeneratedStart).Hours()/24)
			if weekend(t) {
				v *= 0.6
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// A steady service with a nightly batch: flat per-minute load with 5 % noise, and five
	// times it from 02:00 to 02:30 every day. Most of the batch's shortfall is above what the
	// trace's derived max replicas carry; the rest of the day, a floor held above the steady
	// load sits at a replica boundary its forecast's bound wiggles across.
	"batch": func() forecast.Series {
		return generate(time.Minute, 28, 17, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 200.0
			if tod := timeOfDay(t); tod >= 2*time.Hour && tod < 2*time.Hour+30*time.Minute {
				v *= 5
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// Growing by 3 % a day for five weeks (2.8× over the trace), 8 % noise, every 5 min.
	"growth": func() forecast.Series {
		return generate(5*time.Minute, 35, 8, func(t time.Time, _ int, rng *rand.Rand) float64 {
			days := t.Sub(GeneratedStart).Hours() / 24
			return 300 * webDay(t) * math.Pow(1.03, days) * (1 + 0.08*rng.NormFloat64())
		})
	},
	// A fall to 60 % of the level from day 21 on (traffic moved elsewhere), 8 % noise: the
	// weeks before now expect load that no longer comes.
	"shift": func() forecast.Series {
		return generate(5*time.Minute, 35, 9, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 300 * webDay(t)
			if t.Sub(GeneratedStart) >= 21*24*time.Hour {
				v *= 0.6
			}
			return v * (1 + 0.08*rng.NormFloat64())
		})
	},
	// An event site: on about three days in ten, an event of 2–4 h at 2–4× the load starts
	// some time between noon and 21:00; 8 % noise, every 5 min. No forecast sees an event
	// coming, and last week's events must not come back as floors.
	"events": func() forecast.Series {
		type event struct {
			start, length time.Duration
			factor        float64
		}
		var today event
		day := -1
		return generate(5*time.Minute, 35, 11, func(t time.Time, _ int, rng *rand.Rand) float64 {
			if d := int(t.Sub(GeneratedStart) / (24 * time.Hour)); d != day {
				day, today = d, event{}
				if rng.Float64() < 0.3 {
					today = event{start: time.Duration((12 + 9*rng.Float64()) * float64(time.Hour)),
						length: time.Duration((2 + 2*rng.Float64()) * float64(time.Hour)), factor: 2 + 2*rng.Float64()}
				}
			}
			v := 200 * webDay(t)
			if tod := timeOfDay(t); today.factor > 0 && tod >= today.start && tod < today.start+today.length {
				v *= today.factor
			}
			return v * (1 + 0.08*rng.NormFloat64())
		})
	},
	// Requests counted per minute (Poisson, 80 at the daily peak) with bursts of 5–40 min at
	// 2–5×, one every 30 h on average, as in a web server's log: most of a burst's shortfall
	// is above what the trace's derived max replicas carry.
	"bursts": func() forecast.Series {
		until, factor := -1, 1.0
		return generate(time.Minute, 28, 6, func(t time.Time, i int, rng *rand.Rand) float64 {
			if i > until && rng.Float64() < 1.0/(60*30) {
				until, factor = i+5+rng.IntN(36), 2+3*rng.Float64()
			}
			lambda := 80 * webDay(t)
			if i <= until {
				lambda *= factor
			}
			return poisson(rng, lambda)
		})
	},
	// A web server's access log counted per minute: Poisson, 120 requests a minute at the daily
	// peak, weekends at 60 %, and a short burst (3–15 min at 1.5–2.5×) about every two days,
	// mostly within what the trace's derived max replicas carry. The rhythm is foreseen; the
	// counts' noise, heaviest at night, and the bursts are not.
	"weblog": func() forecast.Series {
		until, factor := -1, 1.0
		return generate(time.Minute, 28, 19, func(t time.Time, i int, rng *rand.Rand) float64 {
			if i > until && rng.Float64() < 1.0/(60*48) {
				until, factor = i+3+rng.IntN(13), 1.5+rng.Float64()
			}
			lambda := 120 * webDay(t)
			if weekend(t) {
				lambda *= 0.6
			}
			if i <= until {
				lambda *= factor
			}
			return poisson(rng, lambda)
		})
	},
	// A web server's log counted per minute (Poisson, 120 at the daily peak, weekends at 60 %)
	// with outages upstream: on about one day in four no request at all for 1–3 hours from
	// between 09:00 and 18:00, then half an hour at 1.5× as clients retry; and from day 18 at
	// 15:00 none for a day and a half (a data centre down). No forecast sees an outage coming,
	// and a floor held through one pays for replicas no load asks for.
	"outages": func() forecast.Series {
		var day int
		var down, back time.Duration // today's outage, from down (0: none) to back
		return generate(time.Minute, 28, 23, func(t time.Time, _ int, rng *rand.Rand) float64 {
			if d := int(t.Sub(GeneratedStart) / (24 * time.Hour)); d != day || t.Equal(GeneratedStart) {
				day, down = d, 0
				if rng.Float64() < 0.25 {
					down = time.Duration((9 + 9*rng.Float64()) * float64(time.Hour)).Truncate(time.Minute)
					back = down + time.Duration((1+2*rng.Float64())*float64(time.Hour)).Truncate(time.Minute)
				}
			}
			since := t.Sub(GeneratedStart)
			if long := 18*24*time.Hour + 15*time.Hour; since >= long && since < long+36*time.Hour {
				return 0
			}
			lambda := 120 * webDay(t)
			if weekend(t) {
				lambda *= 0.6
			}
			switch tod := timeOfDay(t); {
			case down > 0 && tod >= down && tod < back:
				return 0
			case down > 0 && tod >= back && tod < back+30*time.Minute:
				lambda *= 1.5
			}
			return poisson(rng, lambda)
		})
	},
	// Per-minute web load on the daily curve with heavy-tailed noise (log-normal, σ 0.4, mean
	// 1): one minute in about forty is at twice its expected load, so a floor sized for the
	// noise has a tail no affordable headroom covers.
	"heavytail": func() forecast.Series {
		return generate(time.Minute, 28, 21, func(t time.Time, _ int, rng *rand.Rand) float64 {
			const sigma = 0.4
			return 300 * webDay(t) * math.Exp(sigma*rng.NormFloat64()-sigma*sigma/2)
		})
	},
	// Users on New York time: the daily curve and weekends at 55 % in local time, which moves
	// an hour earlier in UTC when daylight saving starts (9 March 2025, day 62 of 70); 5 %
	// noise, every 5 min. The history a forecast is fitted on holds the old hours to the end.
	"localtime": func() forecast.Series {
		return generate(5*time.Minute, 70, 23, func(t time.Time, _ int, rng *rand.Rand) float64 {
			local := newYorkTime(t)
			v := 500 * webDay(local)
			if weekend(local) {
				v *= 0.55
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// A weekly peak: twice the load on Mondays from 09:00 to 10:00 (a weekly report, the
	// Monday logins) on the daily curve, weekends at half, 5 % noise, every 5 min. The step
	// doubles the morning's load at once, to about the day's peak, within max replicas; it
	// recurs, so a forecast with weekly memory sees it coming and a floor must meet it.
	"weeklypeak": func() forecast.Series {
		return generate(5*time.Minute, 42, 25, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 400 * webDay(t)
			if weekend(t) {
				v *= 0.5
			}
			if tod := timeOfDay(t); t.Weekday() == time.Monday && tod >= 9*time.Hour && tod < 10*time.Hour {
				v *= 2
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// A job at the top of every hour: the daily curve tripled for the first ten minutes of each
	// hour, 5 % noise, per minute. The peaks recur and a forecast sees them, but each is shorter
	// than the actuator's step-down policy takes to bring a floor back down after it.
	"jobs": func() forecast.Series {
		return generate(time.Minute, 28, 27, func(t time.Time, _ int, rng *rand.Rand) float64 {
			v := 300 * webDay(t)
			if t.Minute() < 10 {
				v *= 3
			}
			return v * (1 + 0.05*rng.NormFloat64())
		})
	},
	// Sparse counts: Poisson, 3 a minute at the daily peak, most minutes 0 to 3.
	"sparse": func() forecast.Series {
		return generate(time.Minute, 28, 13, func(t time.Time, _ int, rng *rand.Rand) float64 {
			return poisson(rng, 3*webDay(t))
		})
	},
}

// GeneratedNames are the names Generated knows, sorted.
func GeneratedNames() []string {
	names := make([]string, 0, len(generated))
	for name := range generated {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Generated is the generated trace of that name (GeneratedNames), starting at GeneratedStart;
// false for a name it does not know.
func Generated(name string) (forecast.Series, bool) {
	gen, ok := generated[name]
	if !ok {
		return forecast.Series{}, false
	}
	return gen(), true
}

// generate is a trace of days at step from GeneratedStart, each value load(t, i, rng) at
// t = start + i×step (negative loads read as 0), with a random source seeded by seed.
func generate(step time.Duration, days int, seed uint64, load func(t time.Time, i int, rng *rand.Rand) float64) forecast.Series {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	n := int(time.Duration(days) * 24 * time.Hour / step)
	s := forecast.Series{Start: GeneratedStart, Step: step, Values: make([]float64, n)}
	for i := range n {
		s.Values[i] = math.Max(0, load(GeneratedStart.Add(time.Duration(i)*step), i, rng))
	}
	return s
}

// newYorkDST is when daylight saving started in New York in 2025, the only change within a
// generated trace's span.
var newYorkDST = time.Date(2025, 3, 9, 7, 0, 0, 0, time.UTC)

// newYorkTime is t on New York's wall clock, as a UTC time (so timeOfDay and weekend read it):
// UTC−5, and UTC−4 from newYorkDST. The rule is written out rather than read from the time
// zone database, which a minimal image may not hold.
func newYorkTime(t time.Time) time.Time {
	if t.Before(newYorkDST) {
		return t.Add(-5 * time.Hour)
	}
	return t.Add(-4 * time.Hour)
}

// timeOfDay is t's time since its midnight.
func timeOfDay(t time.Time) time.Duration {
	return t.Sub(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location()))
}

// weekend reports whether t falls on a Saturday or a Sunday.
func weekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// webDay is a web service's daily curve as a share of its peak: a quarter at night, climbing
// from 06:00 to a peak at 15:00 and back by midnight.
func webDay(t time.Time) float64 {
	h := timeOfDay(t).Hours()
	if h < 6 {
		return 0.25
	}
	return 0.25 + 0.75*math.Pow(math.Max(0, math.Sin(math.Pi*(h-6)/18)), 1.5)
}

// poisson draws a Poisson count of mean lambda (Knuth's method; a normal draw above 50, where
// the two are alike and the product of uniforms would underflow).
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda > 50 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64()))
	}
	limit, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p < limit {
			return k
		}
		k++
	}
}
