package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Namespace is where the demo's services live in the simulated cluster.
const Namespace = "demo"

// service is one synthetic service: its rhythm and its HPA.
type service struct {
	rhythm             Rhythm
	capacityPerReplica float64
	min, max           int32
	leadTime           time.Duration
}

// services are the demo's workloads: a business-hours shop, an evening-heavy search, and a
// payments service that follows checkout through a proportional dependency.
var services = map[string]service{
	"checkout": {Rhythm{Base: 400, DailyAmp: 300, PeakHour: 13, WeekendFactor: 0.6, Noise: 0.05, Seed: 1}, 50, 2, 20, 5 * time.Minute},
	"search":   {Rhythm{Base: 900, DailyAmp: 500, PeakHour: 20, WeekendFactor: 1.3, Noise: 0.05, Seed: 2}, 100, 2, 20, 5 * time.Minute},
	"payments": {Rhythm{Base: 60, DailyAmp: 20, PeakHour: 13, WeekendFactor: 0.8, Noise: 0.05, Seed: 3}, 40, 1, 15, 5 * time.Minute},
}

// Dependency is the demo's scaling dependency: payments keeps half of checkout's replicas.
var Dependency = func() scaling.Dependency {
	ratio := 0.5
	return scaling.Dependency{SourceService: "checkout", TargetService: "payments",
		DependencyType: scaling.DependencyProportional, Ratio: &ratio, Enabled: true}
}

// Options configure the demo.
type Options struct {
	Store      store.Store
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Speed is simulated seconds per real second; 0 means 60.
	Speed float64
	// Start is the simulated time at start; zero means now.
	Start time.Time
	// Features, as ENABLE_PREDICTIVE_SCALING, ENABLE_SCALING_DEPENDENCIES, ENABLE_HPA_EVENT_LOGGING.
	PredictiveEnabled, DependenciesEnabled, EventsEnabled bool
	// DryRun, as DRY_RUN: the simulated HPAs keep their own floors; the actuator records
	// would-be floors and the shadow counterfactual.
	DryRun bool
}

// Demo is the running pipeline.
type Demo struct {
	opts       Options
	log        *slog.Logger
	Clock      *Clock
	Cluster    *hpasim.Cluster
	Forecaster *forecaster.Forecaster
	actuator   *actuator.Actuator
	recorder   *hpaevents.Recorder
	history    History
	records    chan hpasim.Record
}

// New wires the demo. Its forecaster implements the api's ForecastTrigger.
func New(opts Options) (*Demo, error) {
	if opts.Store == nil {
		return nil, errors.New("demo: a store is required")
	}
	if opts.Speed <= 0 {
		opts.Speed = 60
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now().UTC().Truncate(time.Minute)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Demo{
		opts:    opts,
		log:     opts.Logger.With("component", "demo"),
		Clock:   NewClock(opts.Start, opts.Speed),
		records: make(chan hpasim.Record, 1024),
	}
	d.history = History{Rhythms: map[string]Rhythm{}, Now: d.Clock.Now}
	d.Cluster = hpasim.NewCluster(d.Clock.Now, func(r hpasim.Record) {
		select {
		case d.records <- r:
		default: // the recorder is behind: drop, the next sync reports the same state again
		}
	})
	var managed []scaling.ManagedService
	var configs []actuator.ServiceConfig
	for _, name := range serviceNames() {
		s := services[name]
		d.history.Rhythms[name] = s.rhythm
		d.Cluster.Add(hpasim.Service{Name: name, Namespace: Namespace, HPA: &hpasim.Config{
			Name: name, MinReplicas: s.min, MaxReplicas: s.max,
			InitialReplicas:    replicasFor(s.rhythm.At(opts.Start), s.capacityPerReplica, s.min, s.max),
			CapacityPerReplica: s.capacityPerReplica, PodStartup: 90 * time.Second,
		}})
		managed = append(managed, scaling.ManagedService{
			Name: name, Namespace: Namespace, HPA: name, Query: fmt.Sprintf("demo_load{service=%q}", name),
			CapacityPerReplica: s.capacityPerReplica, LeadTimeSeconds: int64(s.leadTime / time.Second), Quantile: 0.9,
		})
		configs = append(configs, actuator.ServiceConfig{
			Ref:      actuator.ServiceRef{Service: name, Namespace: Namespace, HPAName: name},
			LeadTime: s.leadTime, CapacityPerReplica: s.capacityPerReplica,
		})
	}
	reg := opts.Registerer
	d.Forecaster = forecaster.New(forecaster.Options{
		Services:   func() []scaling.ManagedService { return managed },
		History:    d.history,
		Load:       d.history,
		Store:      opts.Store,
		Bounds:     forecaster.ClusterBounds{Cluster: d.Cluster},
		Registerer: reg,
		Logger:     opts.Logger, // forecaster.New adds component=forecaster itself
		Now:        d.Clock.Now,
	})
	metered, err := newMeteredCluster(d.Cluster, reg, opts.DryRun)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.actuator = actuator.New(actuator.Options{
		Cluster:             metered,
		Patterns:            opts.Store,
		Predictions:         opts.Store,
		Dependencies:        opts.Store,
		Overrides:           opts.Store,
		Decisions:           opts.Store,
		Shadow:              opts.Store,
		DryRun:              opts.DryRun,
		Services:            func() []actuator.ServiceConfig { return configs },
		PredictiveEnabled:   opts.PredictiveEnabled,
		DependenciesEnabled: opts.DependenciesEnabled,
		Interval:            30 * time.Second,
		Logger:              opts.Logger.With("component", "actuator"),
		Registerer:          reg,
		Now:                 d.Clock.Now,
	})
	if opts.EventsEnabled {
		rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{
			Store: opts.Store, Logger: opts.Logger.With("component", "hpaevents"),
			Registerer: reg, Now: d.Clock.Now,
		})
		if err != nil {
			return nil, fmt.Errorf("demo: hpa event recorder: %w", err)
		}
		d.recorder = rec
	}
	return d, nil
}

func serviceNames() []string { return []string{"checkout", "payments", "search"} }

func replicasFor(load, capacity float64, min, max int32) int32 {
	n := int32(load/capacity*1.25) + 1 // the HPA's 80% target
	return max32(min, min32(n, max))
}

func min32(a, b int32) int32 {
	if a < b {
		return a
	}
	return b
}

func max32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}

// Run seeds the demo dependency, fits the first forecasts, and runs the simulated cluster, the
// actuator, the forecaster and the event recorder until ctx ends.
func (d *Demo) Run(ctx context.Context) error {
	dep := Dependency()
	dep.LastUpdated = d.Clock.Now().UnixMilli()
	if _, err := d.opts.Store.GetDependency(ctx, dep.Key()); errors.Is(err, store.ErrNotFound) {
		err := d.opts.Store.PutDependency(ctx, dep, func(existing []scaling.Dependency) error {
			if c := scaling.FindCycle(existing, dep); c != nil {
				return c
			}
			return nil
		})
		if err != nil {
			d.log.Warn("demo dependency not seeded; running without it", "err", err)
		}
	}
	// Before the first run (which would otherwise find the run lock taken by this check).
	if n, _, err := d.Forecaster.AbandonStaleRuns(ctx); err != nil {
		d.log.Warn("stale demo forecast runs not checked", "err", err)
	} else if n > 0 {
		d.log.Info("stale demo forecast runs marked abandoned", "runs", n)
	}
	d.log.Info("demo running", "speed", d.opts.Speed, "simulated_start", d.Clock.Start, "services", serviceNames())

	var wg sync.WaitGroup
	loop := func(every time.Duration, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d.Clock.Real(every))
			defer t.Stop()
			for {
				f(ctx)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	loop(15*time.Second, func(context.Context) { d.advance() })
	loop(time.Hour, func(ctx context.Context) {
		run, err := d.Forecaster.RunOnce(ctx, "schedule", "")
		if err != nil && !errors.Is(err, forecaster.ErrBusy) {
			d.log.Warn("demo forecast run failed; keeping the last predictions", "err", err)
			return
		}
		d.log.Info("demo forecast run", "state", run.State, "services", len(run.Results))
	})
	loop(time.Minute, d.Forecaster.Tick)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := d.Forecaster.Shutdown(sctx); err != nil {
			d.log.Warn("demo forecast runs did not finish at shutdown", "err", err)
		}
	}()
	loop(30*time.Second, func(ctx context.Context) {
		if _, err := d.actuator.Reconcile(ctx); err != nil {
			d.log.Warn("demo reconcile failed; floors kept", "err", err)
		}
	})
	if d.recorder != nil {
		wg.Add(2)
		go func() { defer wg.Done(); d.recorder.Run(ctx) }()
		go func() { defer wg.Done(); d.recordLoop(ctx) }()
	}
	wg.Wait()
	return nil
}

func (d *Demo) advance() {
	now := d.Clock.Now()
	load := make(map[string]float64, len(services))
	for name, s := range services {
		load[name] = s.rhythm.At(now)
	}
	d.Cluster.Advance(load)
}

// recordLoop turns the simulated HPA's sync records into observations for the event recorder.
func (d *Demo) recordLoop(ctx context.Context) {
	lastScale := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-d.records:
			if r.DesiredReplicas != r.CurrentReplicas {
				lastScale[r.HPA] = r.Time
			}
			d.recorder.Observe(ctx, Observation(r, lastScale[r.HPA]))
		}
	}
}

// Observation turns a simulated HPA sync into the observation the HPA controller's status
// would show.
func Observation(r hpasim.Record, lastScale time.Time) hpaevents.Observation {
	limited := hpaevents.Condition{Type: hpaevents.CondScalingLimited, Status: "False", Reason: r.LimitedReason, LastTransitionTime: r.Time}
	if r.ScalingLimited {
		limited.Status = "True"
	}
	return hpaevents.Observation{
		Time: r.Time, Namespace: Namespace, HPA: r.HPA, Service: r.HPA,
		MinReplicas: r.MinReplicas, MaxReplicas: r.MaxReplicas,
		CurrentReplicas: r.CurrentReplicas, DesiredReplicas: r.DesiredReplicas,
		Metrics: []hpaevents.Metric{{
			Type: hpaevents.MetricResource, Name: "cpu", TargetKind: hpaevents.TargetUtilization,
			Target: r.MetricTarget, Current: r.MetricValue, HasCurrent: true,
		}},
		Conditions: []hpaevents.Condition{
			{Type: hpaevents.CondAbleToScale, Status: "True", Reason: r.AbleToScaleReason, LastTransitionTime: r.Time},
			{Type: hpaevents.CondScalingActive, Status: "True", Reason: "ValidMetricFound", LastTransitionTime: r.Time},
			limited,
		},
		LastScaleTime: lastScale,
	}
}
