package forecast

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// synthetic returns n points at 5 minutes of a daily+weekly load with noise, outliers, gaps
// and one holiday (a weekday that looks like a Sunday), seeded by seed.
func synthetic(seed uint64, n int) Series {
	rng := rand.New(rand.NewPCG(seed, 99))
	amp := 50 + 100*rng.Float64()
	phase := rng.Float64()
	holiday := 288 * (7 + rng.IntN(14))
	return gen(n, 5*time.Minute, func(i int) float64 {
		j := i
		if i >= holiday && i < holiday+288 {
			j = i%288 + 288*7 // a Sunday
		}
		v := amp * weeklyTemplate(j+int(phase*288), 288) / 100
		v *= 1 + 0.08*rng.NormFloat64()
		switch {
		case rng.Float64() < 0.002:
			v *= 5
		case rng.Float64() < 0.01:
			v = math.NaN()
		}
		return v
	})
}

// BenchmarkForecast1000 is 1,000 series × 8,064 points (4 weeks at 5 min), horizon 288, auto
// selection, fitted on GOMAXPROCS workers; one op is all 1,000 series. The seasonal-naive run
// fits and backtests nothing: it is the cost of the procedure around the models. The speed
// target itself (10,000 series through the forecast command, against its read/parse/write
// floor) is hack/bench-forecast.sh, which make bench runs after the Go benchmarks.
func BenchmarkForecast1000(b *testing.B) {
	series := make([]Series, 1000)
	for i := range series {
		series[i] = synthetic(uint64(i), 8064)
	}
	for _, model := range []string{ModelAuto, ModelSeasonalNaive} {
		b.Run(model, func(b *testing.B) { forecastAll(b, series, Options{Horizon: 288, Model: model}) })
	}
}

func forecastAll(b *testing.B, series []Series, opts Options) {
	b.ReportAllocs()
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(series) {
						return
					}
					if _, err := Forecast(series[i], opts); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
}

// BenchmarkForecastOne is one series of the above, for profiles.
func BenchmarkForecastOne(b *testing.B) {
	s := synthetic(1, 8064)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Forecast(s, Options{Horizon: 288}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForecastOwnStep is one series of 4 weeks at 1 min (40,320 points), horizon a day:
// with an hourly job of five minutes it is fitted at its own step (finePatternRatio), without
// it on the quarter-hour grid. The ratio of the two is what the finer fit costs.
func BenchmarkForecastOwnStep(b *testing.B) {
	for _, tc := range []struct {
		name string
		job  func(time.Duration) float64
	}{{"quarter-hour grid", noJob}, {"own step", hourlyJob}} {
		s := Series{Start: t0, Step: time.Minute, Values: withJob(28, time.Minute, 0.05, 1, tc.job)}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Forecast(s, Options{Horizon: 1440}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
