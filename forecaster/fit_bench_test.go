package forecaster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

func benchSeries(window time.Duration) forecast.Series {
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	step := 5 * time.Minute
	n := int(window / step)
	start := end.Add(-time.Duration(n-1) * step)
	return forecast.Series{Start: start, Step: step, Values: promtest.Load{Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.05, Seed: 2}.Values(start, step, n)}
}

// BenchmarkFitDay is one service's prediction fit: 4 weeks at 5m, 24h horizon.
func BenchmarkFitDay(b *testing.B) {
	s := benchSeries(28 * 24 * time.Hour)
	for b.Loop() {
		if _, err := forecast.Forecast(s, forecast.Options{Horizon: 288, Quantile: 0.9}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitWeek is one service's pattern fit: 4 weeks at 5m, one-week horizon.
func BenchmarkFitWeek(b *testing.B) {
	s := benchSeries(28 * 24 * time.Hour)
	for b.Loop() {
		if _, err := forecast.Forecast(s, forecast.Options{Horizon: 7 * 288, Quantile: 0.9}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunEightServices is a whole run (history, two fits, calibration, bbolt writes) of 8
// services, one at a time and GOMAXPROCS at a time: steady, with a week of predictions kept
// from earlier runs, and a new forecaster's first run, which fits the two days of forecasts
// calibration replays (DefaultRetroFits a service).
func BenchmarkRunEightServices(b *testing.B) {
	for _, first := range []bool{false, true} {
		for _, par := range []int{1, 0} {
			name := fmt.Sprintf("parallelism=%d", par)
			if first {
				name = "first/" + name
			}
			b.Run(name, func(b *testing.B) { benchmarkRun(b, par, first) })
		}
	}
}

func benchmarkRun(b *testing.B, parallelism int, first bool) {
	hist := &synthetic{loads: map[string]promtest.Load{}}
	var svcs []scaling.ManagedService
	for i := range 8 {
		name := fmt.Sprintf("svc-%d", i)
		hist.loads[name] = promtest.Load{Base: 100 + 10*float64(i), DailyAmp: 50, WeeklyAmp: 20, PeakHour: float64(i), Noise: 0.05, Seed: uint64(i)}
		svcs = append(svcs, scaling.ManagedService{Name: name, Namespace: "b", Query: name, CapacityPerReplica: 10})
	}
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "kai.db"), store.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	newForecaster := func() *Forecaster {
		return New(Options{
			Services: func() []scaling.ManagedService { return svcs }, History: hist, Store: st,
			Bounds: BoundsFunc(func(context.Context, scaling.ManagedService) (ReplicaBounds, error) {
				return ReplicaBounds{MaxReplicas: 30, BaseMinReplicas: 2}, nil
			}),
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now:         func() time.Time { return now },
			Parallelism: parallelism,
		})
	}
	f := newForecaster()
	if !first {
		// A week of forecasts fitted afterwards, as the first four runs leave them.
		for range 4 {
			if _, err := f.RunOnce(context.Background(), "bench", ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		if first {
			f = newForecaster() // nothing kept: its first run; the store's predictions are not older than now
		}
		run, err := f.RunOnce(context.Background(), "bench", "")
		if err != nil || run.State != scaling.RunSucceeded {
			b.Fatal(run.State, err)
		}
	}
}
