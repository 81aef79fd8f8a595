package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
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

// OverrideSource reads scheduled overrides and prunes the ended ones (store.OverrideStore
// implements it).
type OverrideSource interface {
	// ListOverrides returns the overrides of service, or of all when service is "".
	ListOverrides(ctx context.Context, service string) ([]scaling.Override, error)
	// PruneOverrides deletes the overrides that ended at or before now.
	PruneOverrides(ctx context.Context, now time.Time) (int, error)
}

// DecisionRecorder keeps the floor decision record (store.DecisionStore implements it).
type DecisionRecorder interface {
	AddDecision(ctx context.Context, d scaling.FloorDecision) error
	// ListDecisions returns a service's decisions newest first.
	ListDecisions(ctx context.Context, q store.DecisionQuery) ([]scaling.FloorDecision, error)
}

// ShadowRecorder keeps the dry-run counterfactual per service and UTC day
// (store.ShadowStore implements it).
type ShadowRecorder interface {
	PutShadowDay(ctx context.Context, d scaling.ShadowDay) error
	// ListShadowDays returns a service's days newest first.
	ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error)
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
	// Overrides are read each round, and the ended ones pruned, when PredictiveEnabled; nil
	// means none.
	Overrides OverrideSource
	// Decisions receives a record of every floor change (in DryRun, every would-be change);
	// nil records nothing.
	Decisions DecisionRecorder
	// Shadow receives the dry-run counterfactual, per service and day; used only in DryRun.
	Shadow ShadowRecorder
	// DryRun says the Cluster writes nothing (the floors in force stay where they are): would-be
	// changes are then recorded against the floor the actuator would have set last, and the
	// shadow counterfactual is kept.
	DryRun bool
	// PredictiveEnabled and DependenciesEnabled turn the features on. When one is off, the
	// floors it raised are brought back to their base (the planner plans without it).
	PredictiveEnabled, DependenciesEnabled bool
	// StepDown limits how fast floors come down; the zero value means the defaults.
	StepDown StepDownPolicy
	// Interval between rounds of Run; zero means DefaultInterval.
	Interval time.Duration
	// MaxObservationAge: workloads observed longer ago get no decision; zero means 3×Interval.
	MaxObservationAge time.Duration
	// MaxReplicasWithoutMax caps floors of workloads with no known maxReplicas; zero means
	// DefaultMaxReplicasWithoutMax.
	MaxReplicasWithoutMax int32
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer receives kai_actuator_reconcile_errors_total and the shadow gauges; nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After waits d as Now's clock measures it (Run waits Interval with it; the demo's clock
	// runs faster than the wall clock); nil means time.After.
	After func(d time.Duration) <-chan time.Time
}

// DefaultInterval is how often Run plans floors unless Options.Interval says otherwise;
// calibration (hpasim) replays the planner's rounds at this pace.
const DefaultInterval = 30 * time.Second

// Reconcile error stages (values of kai_actuator_reconcile_errors_total's stage label).
const (
	StageStore   = "store"
	StageCluster = "cluster"
	StageApply   = "apply"
)

// Actuator runs the reconcile loop: read, observe, plan, apply, record.
type Actuator struct {
	opts                     Options
	log                      *slog.Logger
	now                      func() time.Time
	errors                   *prometheus.CounterVec
	shadowSaved, shadowExtra *prometheus.GaugeVec
	setAside                 *prometheus.GaugeVec
	// setAsideSeen are the services with a kai_actuator_prediction_set_aside series (Reconcile
	// is not run concurrently).
	setAsideSeen map[string]bool

	mu sync.Mutex
	// wouldBe is the floor last planned per service in DryRun (nothing is written, so the
	// cluster cannot tell); seeded from the newest stored decision after a restart.
	wouldBe map[string]*wouldBeFloor
	// shadow is each service's dry-run counterfactual in progress.
	shadow map[string]*shadowState
	// need is each service's recent need samples, for surge floors (PlanInput.Need).
	need map[string][]NeedSample
}

// shadowState is one service's counterfactual in progress: the last sample, and the days
// it has touched since (today, and yesterday across midnight).
type shadowState struct {
	prev ShadowSample
	days map[string]scaling.ShadowDay
}

// New builds an Actuator. It panics on a missing Cluster or Services, which are wiring bugs,
// and on a metric registration conflict.
func New(opts Options) *Actuator {
	if opts.Cluster == nil || opts.Services == nil {
		panic("actuator: Options.Cluster and Options.Services are required")
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
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
		shadowSaved: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_shadow_underprovisioned_minutes_saved",
			Help: "Dry run, today (UTC) so far: under-provisioned replica-minutes the would-be floors would have saved against what the HPA did.",
		}, []string{"service"}),
		shadowExtra: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_shadow_extra_replica_hours",
			Help: "Dry run, today (UTC) so far: replica-hours the would-be floors would have added to what the HPA ran.",
		}, []string{"service"}),
		setAside: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_actuator_prediction_set_aside",
			Help: "1 while the service's load has collapsed under its forecast (every need of the last 15 minutes under a third of it) and the prediction's floor is set aside, else 0.",
		}, []string{"service"}),
		wouldBe: map[string]*wouldBeFloor{},
		shadow:  map[string]*shadowState{},
		need:    map[string][]NeedSample{},
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
		opts.Registerer.MustRegister(a.errors, a.shadowSaved, a.shadowExtra, a.setAside)
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
		Now:                   now,
		Services:              services,
		PredictiveEnabled:     a.opts.PredictiveEnabled,
		DependenciesEnabled:   a.opts.DependenciesEnabled,
		StepDown:              a.opts.StepDown,
		MaxObservationAge:     a.opts.MaxObservationAge,
		MaxReplicasWithoutMax: a.opts.MaxReplicasWithoutMax,
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
	if a.opts.DryRun {
		workloads = a.asIfApplied(ctx, workloads)
	}
	in.Workloads = workloads
	configs := make(map[string]ServiceConfig, len(services))
	for _, s := range services {
		configs[s.Ref.Service] = s
	}
	predictions := make(map[string]*scaling.Prediction)
	for i, p := range in.Predictions {
		if cur, ok := predictions[p.Service]; !ok || p.FittedAt > cur.FittedAt {
			predictions[p.Service] = &in.Predictions[i]
		}
	}
	in.Need = a.observeNeed(services, workloads, func(w Workload) float64 {
		if p := predictions[w.Service]; p != nil {
			return ForecastReplicas(*p, configs[w.Service].CapacityPerReplica, w.ObservedAt)
		}
		return 0
	}, now)

	plan := PlanFloors(in)

	for _, s := range plan.Skipped {
		a.log.Info("keeping floor", "service", s.Service, "why", s.Reason)
	}
	a.exportSetAside(plan)
	var errs []error
	for _, d := range plan.Decisions {
		if err := a.apply(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", d.Service, err))
			continue
		}
		a.record(ctx, d, configs[d.Service], predictions[d.Service], now)
	}
	if a.opts.DryRun && a.opts.Shadow != nil {
		a.sampleShadow(ctx, plan, now)
	}
	if len(errs) > 0 {
		a.errors.WithLabelValues(StageApply).Inc()
	}
	return plan, errors.Join(errs...)
}

// exportSetAside sets kai_actuator_prediction_set_aside for each service planned this round
// and drops the series of those that were not (no longer managed, or not observed).
func (a *Actuator) exportSetAside(plan Plan) {
	planned := make(map[string]bool, len(plan.Decisions))
	for _, d := range plan.Decisions {
		planned[d.Service] = true
		v := 0.0
		if d.PredictionSetAside {
			v = 1
		}
		a.setAside.WithLabelValues(d.Service).Set(v)
	}
	for service := range a.setAsideSeen {
		if !planned[service] {
			a.setAside.DeleteLabelValues(service)
		}
	}
	a.setAsideSeen = planned
}

// record logs and stores a floor change that was applied, or in DryRun one that would have
// been. A failure to store is logged: the change stands either way.
func (a *Actuator) record(ctx context.Context, d Decision, cfg ServiceConfig, pred *scaling.Prediction, now time.Time) {
	from := d.Workload.MinReplicas // in DryRun, the would-be floor (see asIfApplied)
	if d.Floor == from {
		return
	}
	if a.opts.DryRun {
		a.mu.Lock()
		a.wouldBe[d.Service] = &wouldBeFloor{floor: d.Floor, changedAt: now}
		a.mu.Unlock()
	}
	rec := FloorRecord(d, cfg, pred, from, now, a.opts.DryRun)
	a.log.Info(rec.Summary, "service", d.Service, "from", from, "to", d.Floor, "reason", d.Reason, "dry_run", a.opts.DryRun)
	if a.opts.Decisions == nil {
		return
	}
	if err := a.opts.Decisions.AddDecision(ctx, rec); err != nil {
		a.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot store floor decision; the change stands", "service", d.Service, "err", err)
	}
}

// wouldBeFloor is the floor the actuator would have set last in DryRun, and when.
type wouldBeFloor struct {
	floor     int32
	changedAt time.Time
}

// asIfApplied shows the planner each workload as if the would-be floors had been written: in
// DryRun nothing is, so without this every round would plan from the untouched floor: each
// would-be change would be recorded again every round, and a floor coming down would skip the
// step-down policy the live scaler follows. The HPA's own state (replicas) is left as observed.
func (a *Actuator) asIfApplied(ctx context.Context, workloads []Workload) []Workload {
	out := make([]Workload, len(workloads))
	for i, w := range workloads {
		out[i] = w
		wb := a.lastWouldBe(ctx, w.Service)
		if wb == nil {
			continue
		}
		b := base(w)
		out[i].BaseMinReplicas = b
		out[i].MinReplicas = wb.floor
		out[i].Touched = wb.floor != b
		out[i].FloorChangedAt = wb.changedAt
	}
	return out
}

// lastWouldBe is the floor the actuator would have set last on service in DryRun: remembered,
// or after a restart the newest stored dry-run decision's; nil when there is none.
func (a *Actuator) lastWouldBe(ctx context.Context, service string) *wouldBeFloor {
	a.mu.Lock()
	wb, ok := a.wouldBe[service]
	a.mu.Unlock()
	if ok || a.opts.Decisions == nil {
		return wb
	}
	last, err := a.opts.Decisions.ListDecisions(ctx, store.DecisionQuery{Service: service, Limit: 1})
	if err != nil {
		a.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot read the last floor decision; planning from the floor in force", "service", service, "err", err)
		return nil // not remembered: asked again next round
	}
	if len(last) == 1 && last[0].DryRun {
		wb = &wouldBeFloor{floor: last[0].To, changedAt: time.UnixMilli(last[0].Timestamp)}
	}
	a.mu.Lock()
	a.wouldBe[service] = wb
	a.mu.Unlock()
	return wb
}

// sampleShadow adds this round to each planned service's dry-run counterfactual, stores the
// days it touched and exports today's figures. The first sample of a service after a start
// carries on from today's stored record.
func (a *Actuator) sampleShadow(ctx context.Context, plan Plan, now time.Time) {
	today := now.UTC().Format(time.DateOnly)
	for _, d := range plan.Decisions {
		sample := ShadowSampleOf(d.Workload, d.Floor, now)
		a.mu.Lock()
		st, ok := a.shadow[d.Service]
		a.mu.Unlock()
		if !ok {
			st = &shadowState{days: map[string]scaling.ShadowDay{}}
			stored, err := a.opts.Shadow.ListShadowDays(ctx, d.Service, 1)
			if err != nil {
				a.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot read today's shadow record; counting from now", "service", d.Service, "err", err)
			} else if len(stored) == 1 && stored[0].Day == today {
				st.days[today] = stored[0]
			}
		} else {
			AddShadowInterval(st.days, d.Service, st.prev, now, a.opts.MaxObservationAge)
		}
		day, ok := st.days[today]
		if !ok {
			day = scaling.ShadowDay{Service: d.Service, Day: today}
		}
		day.Samples++
		st.days[today] = day
		st.prev = sample
		for key, day := range st.days {
			day.UpdatedAt = now.UnixMilli()
			if err := a.opts.Shadow.PutShadowDay(ctx, day); err != nil {
				a.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot store shadow record; keeping it for the next round", "service", d.Service, "day", key, "err", err)
				continue
			}
			if key != today {
				delete(st.days, key) // a finished day is stored whole
			}
		}
		a.mu.Lock()
		a.shadow[d.Service] = st
		a.mu.Unlock()
		a.shadowSaved.WithLabelValues(d.Service).Set(st.days[today].UnderprovisionedReplicaMinutesSaved)
		a.shadowExtra.WithLabelValues(d.Service).Set(st.days[today].ExtraReplicaHours)
	}
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
		if a.opts.Overrides != nil {
			// Pruning is housekeeping: an ended override no longer acts whether or not it is gone.
			if n, err := a.opts.Overrides.PruneOverrides(ctx, in.Now); err != nil {
				a.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "cannot prune ended overrides; trying again next round", "err", err)
			} else if n > 0 {
				a.log.Info("pruned ended overrides", "count", n)
			}
			overrides, err := a.opts.Overrides.ListOverrides(ctx, "")
			if err != nil {
				return fmt.Errorf("list overrides: %w", err)
			}
			in.Overrides = overrides
		}
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
	for {
		if _, err := a.Reconcile(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("reconcile failed; floors that could not be planned or written are kept", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.opts.After(a.opts.Interval):
		}
	}
}

// observeNeed adds each workload's need to its service's samples (AddNeed) with what its
// prediction holds the load to then (forecast), forgets the services no longer managed or no
// longer observed, and returns a copy for the planner.
func (a *Actuator) observeNeed(services []ServiceConfig, workloads []Workload, forecast func(Workload) float64, now time.Time) map[string][]NeedSample {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range workloads {
		a.need[w.Service] = AddNeed(a.need[w.Service], w, forecast(w), now)
	}
	managed := make(map[string]bool, len(services))
	for _, s := range services {
		managed[s.Ref.Service] = true
	}
	out := make(map[string][]NeedSample, len(a.need))
	for name, ss := range a.need {
		ss = AddNeed(ss, Workload{}, 0, now) // drops old samples of services not observed this round
		if len(ss) == 0 || !managed[name] {
			delete(a.need, name)
			continue
		}
		a.need[name] = ss
		out[name] = slices.Clone(ss)
	}
	return out
}
