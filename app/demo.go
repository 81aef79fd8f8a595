package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/demo"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// demoConfig is cfg as the demo runs it: every feature enabled, and the embedded store in
// its own directory, so the demo's synthetic records never mix with a real embedded store.
func demoConfig(cfg Config) Config {
	cfg.PredictiveScaling, cfg.ScalingDependencies, cfg.HPAEventLogging = true, true, true
	if cfg.RedisURL == "" {
		cfg.DataDir = filepath.Join(cfg.DataDir, "demo")
	}
	return cfg
}

// resetDemoStore empties the demo's embedded store before it opens. The demo's clock starts
// at the wall clock's now on every start, so a previous run's records are dated on a clock
// that ran ahead of the new one: its predictions looked newer than every fresh one (stale for
// good) and its events fell outside the windows (issue 12). On Redis nothing is deleted; the
// demo's clock resumes after the records instead (demoStart).
func resetDemoStore(cfg Config, logger *slog.Logger) error {
	log := logger.With("component", "demo")
	if cfg.RedisURL != "" {
		return nil
	}
	path := filepath.Join(cfg.DataDir, store.BoltFileName)
	switch err := os.Remove(path); {
	case err == nil:
		log.Info("demo store reset: the previous demo run's records were removed, since they are dated on its own simulated clock", "path", path)
	case errors.Is(err, os.ErrNotExist):
		log.Info("demo store is new", "path", path)
	default:
		return fmt.Errorf("reset demo store: %w", err)
	}
	return nil
}

// demoEnvironment is the simulated cluster under synthetic load with its fast clock: the
// same wiring runs against it as against a cluster. The demo always leads and forecasts at
// start, so its predictions are fresh within seconds.
func demoEnvironment(ctx context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer, st store.Store) (environment, error) {
	start := time.Now().UTC().Truncate(time.Minute)
	if !cfg.DemoStart.IsZero() {
		start = cfg.DemoStart.UTC().Truncate(time.Minute)
	}
	if cfg.RedisURL != "" {
		newest, err := newestDemoRecord(ctx, st)
		if err != nil {
			return environment{}, fmt.Errorf("demo: read the previous run's records: %w", err)
		}
		start = demoStart(start, newest)
		logger.Info("demo on Redis: the previous demo run's records are kept, and the simulated clock resumes after the newest of them so none is dated ahead of it",
			"component", "demo", "newest_record", newest, "simulated_start", start)
	}
	sim := demo.New(demo.Options{Speed: cfg.DemoSpeed, Start: start, Logger: logger})
	cluster, err := demo.NewMeteredCluster(sim.Cluster, reg, cfg.DryRun)
	if err != nil {
		return environment{}, fmt.Errorf("demo: %w", err)
	}
	// The demo's services are fixed: kai_service_info lists them once, as the services file does.
	info, err := newServiceInfo(reg)
	if err != nil {
		return environment{}, fmt.Errorf("demo: %w", err)
	}
	info.Set(sim.Services())
	logger.Info("demo mode: simulated cluster and synthetic load, every feature enabled",
		"speed", sim.Speed(), "simulated_start", sim.Clock.Start, "services", len(sim.Services()))
	return environment{
		now:      sim.Clock.Now,
		after:    sim.Clock.After,
		services: sim.Services,
		cluster:  cluster,
		history:  sim.History, load: sim.History,
		watchHPAs: func(ctx context.Context, sink hpaevents.Sink) error {
			return sim.WatchHPAs(ctx, sink)
		},
		background:      []component{{name: "demo simulation", run: sim.Run}},
		lead:            func(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) },
		forecastAtStart: true,
		seed: func(ctx context.Context, st store.Store) {
			seedDemo(ctx, st, sim, logger.With("component", "demo"))
		},
	}, nil
}

// demoStart is when the demo's clock starts: now, or a minute after the newest record a
// previous run left when that is later (its clock ran faster than the wall clock).
func demoStart(now, newest time.Time) time.Time {
	if resume := newest.Add(time.Minute).Truncate(time.Minute); resume.After(now) {
		return resume
	}
	return now
}

// newestDemoRecord is the time of the newest prediction, forecast run, floor decision or HPA
// event of the demo's services; zero when there is none.
func newestDemoRecord(ctx context.Context, st store.Store) (time.Time, error) {
	var newest int64
	see := func(ms int64) { newest = max(newest, ms) }
	for _, name := range demo.ServiceNames() {
		preds, err := st.ListPredictions(ctx, name, 1)
		if err != nil {
			return time.Time{}, fmt.Errorf("list predictions of %s: %w", name, err)
		}
		for _, p := range preds {
			see(p.FittedAt)
		}
		decs, err := st.ListDecisions(ctx, store.DecisionQuery{Service: name, Limit: 1})
		if err != nil {
			return time.Time{}, fmt.Errorf("list floor decisions of %s: %w", name, err)
		}
		for _, d := range decs {
			see(d.Timestamp)
		}
	}
	events, err := st.ListEvents(ctx, store.EventQuery{Limit: 1})
	if err != nil {
		return time.Time{}, fmt.Errorf("list hpa events: %w", err)
	}
	for _, e := range events {
		see(e.Timestamp)
	}
	runs, err := st.ListRuns(ctx, 1)
	if err != nil {
		return time.Time{}, fmt.Errorf("list forecast runs: %w", err)
	}
	for _, r := range runs {
		see(max(r.QueuedAt, r.FinishedAt))
	}
	if newest == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(newest).UTC(), nil
}

// seedDemo stores the demo's dependency and hand-written patterns unless they are there (a
// user may have changed them). A failure is logged: the demo runs without them.
func seedDemo(ctx context.Context, st store.Store, sim *demo.Simulation, log *slog.Logger) {
	now := sim.Clock.Now().UnixMilli()
	dep := demo.Dependency()
	dep.LastUpdated = now
	if _, err := st.GetDependency(ctx, dep.Key()); errors.Is(err, store.ErrNotFound) {
		err := st.PutDependency(ctx, dep, func(existing []scaling.Dependency) error {
			if c := scaling.FindCycle(existing, dep); c != nil {
				return c
			}
			return nil
		})
		if err != nil {
			log.Warn("demo dependency not seeded; running without it", "err", err)
		}
	}
	for _, p := range demo.Patterns() {
		if _, err := st.GetPattern(ctx, p.Service); !errors.Is(err, store.ErrNotFound) {
			continue
		}
		p.LastUpdated = now
		if err := st.PutPattern(ctx, p); err != nil {
			log.Warn("demo pattern not seeded; its service's floor follows its derived pattern", "service", p.Service, "err", err)
			continue
		}
		log.Info("demo pattern seeded: a hand-written pattern for these hours only; outside them the prediction sets the floor",
			"service", p.Service, "hours", windowHours(p))
	}
}

func windowHours(p scaling.Pattern) []int {
	hours := make([]int, 0, len(p.TimeWindows))
	for _, w := range p.TimeWindows {
		hours = append(hours, w.HourOfDay)
	}
	return hours
}
