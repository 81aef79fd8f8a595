package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/scaling"
)

// PatternLister reads every load pattern (store.PatternStore implements it).
type PatternLister interface {
	ListPatterns(ctx context.Context) ([]scaling.Pattern, error)
}

// PredictionLister reads a service's predictions, newest first (store.PredictionStore
// implements it).
type PredictionLister interface {
	ListPredictions(ctx context.Context, service string, limit int) ([]scaling.Prediction, error)
}

// DependencyLister reads every scaling dependency (store.DependencyStore implements it).
type DependencyLister interface {
	ListDependencies(ctx context.Context) ([]scaling.Dependency, error)
}

// Options configure an Actuator.
type Options struct {
	// Cluster is observed and written. Required.
	Cluster Cluster
	// Patterns, Predictions and Dependencies are read each round. Required when the feature
	// that uses them is enabled.
	Patterns     PatternLister
	Predictions  PredictionLister
	Dependencies DependencyLister
	// Services returns the managed services for this round (the services file may be
	// reloaded between rounds). Required.
	Services func() []ServiceConfig
	// PredictiveEnabled and DependenciesEnabled turn the features on. When one is off, the
	// floors it raised are brought back to their base (the planner plans without it).
	PredictiveEnabled, DependenciesEnabled bool
	// StepDown limits how fast floors come down; the zero value means the defaults.
	StepDown StepDownPolicy
	// Interval between rounds of Run; zero means 30s.
	Interval time.Duration
	// MaxObservationAge: workloads observed longer ago get no decision; zero means 3×Interval.
	MaxObservationAge time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer receives kai_actuator_reconcile_errors_total; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Reconcile error stages (values of kai_actuator_reconcile_errors_total's stage label).
const (
	StageStore   = "store"
	StageCluster = "cluster"
	StageApply   = "apply"
)

// Actuator runs the reconcile loop: read, observe, plan, apply.
type Actuator struct {
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	errors *prometheus.CounterVec
}

// New builds an Actuator. It panics on a missing Cluster or Services, which are wiring bugs,
// and on a metric registration conflict.
func New(opts Options) *Actuator {
	if opts.Cluster == nil || opts.Services == nil {
		panic("actuator: Options.Cluster and Options.Services are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.MaxObservationAge <= 0 {
		opts.MaxObservationAge = 3 * opts.Interval
	}
	a := &Actuator{
		opts: opts,
		log:  opts.Logger,
		now:  opts.Now,
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_actuator_reconcile_errors_total",
			Help: "Reconcile rounds that failed, by stage: store or cluster (nothing was changed), apply (some writes failed).",
		}, []string{"stage"}),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	for _, s := range []string{StageStore, StageCluster, StageApply} {
		a.errors.WithLabelValues(s)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(a.errors)
	}
	return a
}

// Reconcile runs one round and returns its plan. When the store or the cluster cannot be
// read, it changes nothing and returns the error (counted by stage). Failed writes do not stop
// the other writes; their errors are returned together.
func (a *Actuator) Reconcile(ctx context.Context) (Plan, error) {
	now := a.now()
	services := a.opts.Services()
	in := PlanInput{
		Now:                 now,
		Services:            services,
		PredictiveEnabled:   a.opts.PredictiveEnabled,
		DependenciesEnabled: a.opts.DependenciesEnabled,
		StepDown:            a.opts.StepDown,
		MaxObservationAge:   a.opts.MaxObservationAge,
	}
	if err := a.readStore(ctx, &in); err != nil {
		a.errors.WithLabelValues(StageStore).Inc()
		return Plan{}, fmt.Errorf("read store; keeping every floor: %w", err)
	}
	refs := make([]ServiceRef, len(services))
	for i, s := range services {
		refs[i] = s.Ref
	}
	workloads, err := a.opts.Cluster.Workloads(ctx, refs)
	if err != nil {
		a.errors.WithLabelValues(StageCluster).Inc()
		return Plan{}, fmt.Errorf("observe cluster; keeping every floor: %w", err)
	}
	in.Workloads = workloads

	plan := PlanFloors(in)

	for _, s := range plan.Skipped {
		a.log.Info("keeping floor", "service", s.Service, "why", s.Reason)
	}
	var errs []error
	for _, d := range plan.Decisions {
		if err := a.apply(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", d.Service, err))
		}
	}
	if len(errs) > 0 {
		a.errors.WithLabelValues(StageApply).Inc()
	}
	return plan, errors.Join(errs...)
}

func (a *Actuator) apply(ctx context.Context, d Decision) error {
	switch {
	case d.Restore && d.Workload.Touched:
		return a.opts.Cluster.Restore(ctx, d.Workload)
	case d.Floor != d.Workload.MinReplicas:
		return a.opts.Cluster.SetFloor(ctx, FloorChange{Workload: d.Workload, Floor: d.Floor, Reason: d.Reason})
	}
	return nil
}

// readStore fills the patterns, predictions and dependencies of the enabled features.
func (a *Actuator) readStore(ctx context.Context, in *PlanInput) error {
	if a.opts.PredictiveEnabled {
		if a.opts.Patterns == nil || a.opts.Predictions == nil {
			return errors.New("predictive scaling enabled without pattern and prediction stores")
		}
		patterns, err := a.opts.Patterns.ListPatterns(ctx)
		if err != nil {
			return fmt.Errorf("list patterns: %w", err)
		}
		in.Patterns = patterns
		for _, s := range in.Services {
			p, err := a.opts.Predictions.ListPredictions(ctx, s.Ref.Service, 1)
			if err != nil {
				return fmt.Errorf("list predictions of %s: %w", s.Ref.Service, err)
			}
			in.Predictions = append(in.Predictions, p...)
		}
	}
	if a.opts.DependenciesEnabled {
		if a.opts.Dependencies == nil {
			return errors.New("scaling dependencies enabled without a dependency store")
		}
		deps, err := a.opts.Dependencies.ListDependencies(ctx)
		if err != nil {
			return fmt.Errorf("list dependencies: %w", err)
		}
		in.Dependencies = deps
	}
	return nil
}

// Run reconciles at once and then every Interval until ctx ends. Errors are logged and
// counted; the next round tries again. It returns nil when ctx ends.
func (a *Actuator) Run(ctx context.Context) error {
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		if _, err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile failed; floors that could not be planned or written are kept", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
