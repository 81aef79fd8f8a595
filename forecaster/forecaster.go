package forecaster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// ErrUnknownService is returned (wrapped) by Trigger and RunOnce for a service that is not
// managed. It reports UnknownService() true, so a caller that does not import this package
// (the API, which answers 404) recognises it by behaviour with errors.As.
var ErrUnknownService error = unknownServiceError{}

// ErrBusy is returned (wrapped) by Trigger and RunOnce while another run is queued or running,
// here or on another replica. It reports Busy() true (the API answers 409).
var ErrBusy error = busyError{}

type unknownServiceError struct{}

func (unknownServiceError) Error() string { return "unknown service" }

// UnknownService marks the refusal for callers that classify errors by behaviour.
func (unknownServiceError) UnknownService() bool { return true }

type busyError struct{}

func (busyError) Error() string { return "a forecast run is already in progress" }

// Busy marks the refusal for callers that classify errors by behaviour.
func (busyError) Busy() bool { return true }

// HistorySource reads a service's load history. Implementations are safe for concurrent use.
type HistorySource interface {
	// Range returns svc's load on the regular grid start, start+step, ... end; NaN marks a gap.
	Range(ctx context.Context, svc scaling.ManagedService, start, end time.Time, step time.Duration) (forecast.Series, error)
}

// LoadSource reads a service's load now, for kai_forecast_actual_load. Safe for concurrent use.
type LoadSource interface {
	Current(ctx context.Context, svc scaling.ManagedService, at time.Time) (float64, error)
}

// Store is what the forecaster keeps: store.Store provides it. Safe for concurrent use.
type Store interface {
	AddPrediction(ctx context.Context, p scaling.Prediction) error
	// ListPredictions returns a service's predictions newest first.
	ListPredictions(ctx context.Context, service string, limit int) ([]scaling.Prediction, error)
	// PutDerivedPattern writes p unless a manual pattern exists; written is false then.
	PutDerivedPattern(ctx context.Context, p scaling.Pattern) (written bool, err error)
	RunStore
	Locker
}

// Locker holds the cluster-wide run lock (store.LockStore provides it): a lease with an owner
// token and a TTL, so the lock of a replica that died expires by itself.
type Locker interface {
	// TryLock takes name for owner for ttl when free or expired; false when held elsewhere.
	TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// RenewLock resets the TTL while owner holds the lock; false when it was lost.
	RenewLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock while owner holds it.
	Unlock(ctx context.Context, name, owner string) error
}

// RunLockName is the lock every run (scheduled or manual, on any replica) holds while it
// fits and writes: two runs never write the same services at once.
const RunLockName = "forecast-run"

// RunStore records forecast runs where every replica reads them (store.RunStore provides it),
// so a run id answers on any replica, not only the one that ran it.
type RunStore interface {
	// PutRun stores r, replacing any run with its ID.
	PutRun(ctx context.Context, r scaling.ForecastRun) error
	// GetRun returns an error wrapping store.ErrNotFound for an unknown id.
	GetRun(ctx context.Context, id string) (scaling.ForecastRun, error)
	// ListRuns returns the kept runs newest first; limit <= 0 means all.
	ListRuns(ctx context.Context, limit int) ([]scaling.ForecastRun, error)
}

// runStoreTimeout bounds each write or read of a run record: recording a run must never hold
// up the forecast (or the API request that triggered it) for long.
const runStoreTimeout = 5 * time.Second

// ReplicaBounds are a service's HPA bounds, which turn load into a pattern's expectedLoad.
type ReplicaBounds struct {
	MaxReplicas int32
	// BaseMinReplicas is the HPA's floor before kai-scaler touched it.
	BaseMinReplicas int32
	// Target is the scale target ("deployments/NAME" or "statefulsets/NAME") of a workload
	// without HPA, whose pods calibration measures; empty with an HPA (its scaleTargetRef).
	Target string
	// HasHPA says the workload is scaled by an HPA, whose metric the actuator reads for
	// surge floors (a target without one has no metric to follow).
	HasHPA bool
	// Behavior is the HPA's spec.behavior, which calibration replays it with.
	Behavior actuator.Behavior
}

// Bounds tells the forecaster each service's HPA bounds. Safe for concurrent use.
type Bounds interface {
	ReplicaBounds(ctx context.Context, svc scaling.ManagedService) (ReplicaBounds, error)
}

// Options configures a Forecaster. Services, History and Store are required.
type Options struct {
	// Services returns the managed services (the services file, reloadable).
	Services func() []scaling.ManagedService
	History  HistorySource
	// Load feeds RunActualLoop; nil disables the actual-load and error-ratio metrics.
	Load  LoadSource
	Store Store
	// Bounds may be nil: patterns are then not derived (logged once per run).
	Bounds Bounds
	// PodStartups measures the pods' start-up calibration replays, where the services file
	// gives none; nil: two fifths of the lead time. PodStartupTimeout bounds each
	// measurement; default DefaultPodStartupTimeout.
	PodStartups       PodStartupMeter
	PodStartupTimeout time.Duration
	Registerer        prometheus.Registerer
	Logger            *slog.Logger
	// Now is the clock of every timestamp and of the schedule; default time.Now.
	Now func() time.Time
	// After waits d as Now's clock measures it (the demo's runs faster than the wall clock):
	// the schedule and RunActualLoop wait with it. Default time.After.
	After func(d time.Duration) <-chan time.Time
	// RunAtStart makes Start run at once, before the first scheduled time (the demo: its
	// predictions are fresh within seconds of a start).
	RunAtStart bool

	// HistoryWindow is how much history each fit reads; default DefaultHistoryWindow.
	HistoryWindow time.Duration
	// Step is the series step; default DefaultStep.
	Step time.Duration
	// Horizon is the stored prediction's length; default DefaultHorizon.
	Horizon time.Duration
	// PatternHorizon is the forecast a pattern is derived from; default a week (every weekday).
	PatternHorizon time.Duration
	// PatternLocation is the time zone of derived patterns' hours; default UTC.
	PatternLocation *time.Location
	// Model is passed to forecast.Options.Model; "" selects by backtest.
	Model string
	// MaxDataAge refuses to forecast a service whose newest sample is older than this at
	// fitting time (its metric stopped, or the query broke): a forecast from stale history
	// would look fresh. Default 1h.
	MaxDataAge time.Duration
	// PerServiceTimeout bounds one service's read, fits and writes; default 2m.
	PerServiceTimeout time.Duration
	// Parallelism is how many services are fitted at once; default GOMAXPROCS.
	Parallelism int
	// Schedule is a cron spec (robfig/cron, with descriptors such as @hourly); default @hourly.
	Schedule string
	// Validity is how long a prediction may be acted on after it was fitted; default twice the
	// schedule's interval (one missed run is tolerated, two are not).
	Validity time.Duration
	// LockTTL is the run lock's lease; it is renewed every LockTTL/3 while the run lasts, so
	// only a holder that died keeps others out, and for at most LockTTL. Default 2m.
	LockTTL time.Duration
	// KeepRuns is how many runs Run(id) remembers in memory; default 50. Older runs are read
	// from the Store (which keeps store.MaxRuns).
	KeepRuns int
	// ActualInterval is RunActualLoop's period; default 1m.
	ActualInterval time.Duration
	// ErrorWindow is the span kai_forecast_error_ratio averages over; default 1h.
	ErrorWindow time.Duration
	// RetroFits is how many forecasts one calibration may fit afterwards, on the history up to
	// each one's fit time, where no prediction was stored over the calibration window (a new
	// service, a store that keeps less than a week): 0 means DefaultRetroFits, negative none
	// (calibration then waits for two days of stored predictions).
	RetroFits int
}

// Forecaster fits and stores forecasts for every managed service. Safe for concurrent use.
type Forecaster struct {
	opts     Options
	log      *slog.Logger
	schedule cron.Schedule
	schedErr error
	m        *metrics

	// abandonGrace is how long AbandonStaleRuns waits before re-reading a candidate run
	// (the final write of a run that just released the lock lands within runStoreTimeout).
	abandonGrace time.Duration

	mu      sync.Mutex
	busy    bool
	closed  bool          // Shutdown was called: no more runs
	closing chan struct{} // closed by Shutdown: runs in progress abort
	running sync.WaitGroup
	runs    []*scaling.ForecastRun // oldest first, at most KeepRuns
	seq     int
	errWins map[string][]errSample
	// recent holds each service's predictions over the calibration window, trimmed to the
	// points that bear on a floor while each was in force: the store keeps fewer than a week's.
	recent map[string][]scaling.Prediction
	// retro holds, by service, the fit times of the predictions in recent that calibration
	// fitted afterwards (retroFits): the reason says how many a replay used.
	retro map[string]map[int64]bool
	// lastSuccess is when the newest run that stored a prediction ended, as exported.
	lastSuccess time.Time
	// unmeasured is, by service, why its pods' start-up was last not measured
	// (sayUnmeasured): said once, not at every run.
	unmeasured sync.Map
}

type errSample struct {
	at    time.Time
	ratio float64
}

// New returns a Forecaster; it does nothing until Start, Trigger or RunOnce.
func New(opts Options) *Forecaster {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Services == nil {
		opts.Services = func() []scaling.ManagedService { return nil }
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.HistoryWindow, DefaultHistoryWindow)
	def(&opts.Step, DefaultStep)
	def(&opts.Horizon, DefaultHorizon)
	def(&opts.PatternHorizon, 7*24*time.Hour)
	def(&opts.PerServiceTimeout, 2*time.Minute)
	def(&opts.MaxDataAge, time.Hour)
	def(&opts.ActualInterval, time.Minute)
	def(&opts.ErrorWindow, time.Hour)
	def(&opts.LockTTL, 2*time.Minute)
	def(&opts.PodStartupTimeout, DefaultPodStartupTimeout)
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	if opts.Schedule == "" {
		opts.Schedule = "@hourly"
	}
	if opts.RetroFits == 0 {
		opts.RetroFits = DefaultRetroFits
	}
	if opts.KeepRuns <= 0 {
		opts.KeepRuns = 50
	}
	if opts.PatternLocation == nil {
		opts.PatternLocation = time.UTC
	}
	f := &Forecaster{opts: opts, log: opts.Logger.With("component", "forecaster"), errWins: map[string][]errSample{},
		recent: map[string][]scaling.Prediction{}, retro: map[string]map[int64]bool{}, closing: make(chan struct{}), abandonGrace: runStoreTimeout}
	f.schedule, f.schedErr = cron.ParseStandard(opts.Schedule)
	if f.schedErr != nil {
		f.schedErr = fmt.Errorf("forecast schedule %q: %w", opts.Schedule, f.schedErr)
	}
	if f.opts.Validity <= 0 {
		f.opts.Validity = 2 * time.Hour
		if f.schedErr == nil {
			f.opts.Validity = 2 * ScheduleInterval(f.schedule, opts.Now())
		}
	}
	f.m = newMetrics(opts.Registerer)
	return f
}

// DefaultHistoryWindow is how much history a fit reads unless Options.HistoryWindow says
// otherwise: four weeks, so weekly models see four of each weekday.
const DefaultHistoryWindow = 28 * 24 * time.Hour

// DefaultStep is the step of the history a fit reads unless Options.Step says otherwise.
const DefaultStep = 5 * time.Minute

// DefaultHorizon is how far ahead a prediction runs unless Options.Horizon says otherwise:
// its model is chosen and its bound set by how they forecast over that span.
const DefaultHorizon = 24 * time.Hour

// ScheduleInterval is the time between two consecutive runs of s after t.
func ScheduleInterval(s cron.Schedule, t time.Time) time.Duration {
	a := s.Next(t)
	return s.Next(a).Sub(a)
}

// Validity is how long after fitting a prediction stays valid.
func (f *Forecaster) Validity() time.Duration { return f.opts.Validity }

// Start runs forecasts on the schedule until ctx ends (it blocks), then waits for a run in
// progress. The schedule is read on Now's clock and waited with After, so a clock that runs
// faster (the demo's) runs it faster. A scheduled run while another is in progress, here or on
// another replica (the run lock is held), is skipped and counted
// (kai_forecast_runs_total{result="skipped"}); one refused because the lock could not be taken
// is logged and counted in kai_forecast_lock_errors_total{op="take"}. With RunAtStart the
// first run starts at once, waiting (not skipped) while the lock is briefly held, e.g. by
// Supervise's check for stale runs. It returns an error for a bad schedule.
func (f *Forecaster) Start(ctx context.Context) error {
	if f.schedErr != nil {
		return f.schedErr
	}
	f.log.Info("forecast schedule started", "schedule", f.opts.Schedule, "validity", f.opts.Validity, "run_at_start", f.opts.RunAtStart)
	var wg sync.WaitGroup
	defer wg.Wait()
	// Each run in its own goroutine, as a cron runner does: one still running at the next
	// scheduled time makes that one skipped and counted, not silently late.
	launch := func(run func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	last := f.opts.Now()
	if f.opts.RunAtStart {
		// Read here, not in the run's goroutine: the loop below moves last on.
		until := f.schedule.Next(last.UTC())
		launch(func() { f.startRun(ctx, until) })
	}
	for {
		next := f.schedule.Next(last.UTC())
		select {
		case <-ctx.Done():
			return nil
		case <-f.opts.After(next.Sub(f.opts.Now())):
		}
		// From next, not from Now: a wake-up a hair early must not schedule the same time twice.
		last = next
		launch(func() {
			if _, err := f.RunOnce(ctx, "schedule", ""); errors.Is(err, ErrBusy) {
				f.m.runs.WithLabelValues(resultSkipped).Inc()
				f.log.Warn("scheduled forecast run skipped; another run is still in progress", "err", err)
			}
		})
	}
}

// startRunRetry is how long the run at start waits between tries while the lock is held.
const startRunRetry = 500 * time.Millisecond

// startRun is RunAtStart's run: it retries while busy until the first scheduled time, which
// then runs instead.
func (f *Forecaster) startRun(ctx context.Context, until time.Time) {
	for {
		_, err := f.RunOnce(ctx, "schedule", "")
		if !errors.Is(err, ErrBusy) {
			return
		}
		if !f.opts.Now().Before(until) {
			f.log.Warn("forecast run at start skipped; the scheduled run follows", "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(startRunRetry):
		}
	}
}

// Trigger starts a run for one service ("" for all) without waiting for it and returns its
// id; ErrUnknownService for a service not managed, ErrBusy while another run is in progress
// on this or another replica (the run lock is held), an error wrapping store.ErrUnavailable
// when the run lock cannot be asked about (the run is refused: never run without knowing).
// The run outlives ctx (it is bounded by the per-service timeout).
func (f *Forecaster) Trigger(ctx context.Context, service string) (string, error) {
	run, svcs, err := f.begin(ctx, "manual", service)
	if err != nil {
		return "", err
	}
	f.record(ctx, run)
	// The run outlives the request, but not Shutdown.
	rctx, cancel := f.runContext(context.WithoutCancel(ctx))
	go func() {
		defer cancel()
		f.execute(rctx, run, svcs)
	}()
	return run.ID, nil
}

// RunOnce runs synchronously for one service ("" for all) and returns the finished run.
// It refuses like Trigger.
func (f *Forecaster) RunOnce(ctx context.Context, trigger, service string) (scaling.ForecastRun, error) {
	run, svcs, err := f.begin(ctx, trigger, service)
	if err != nil {
		return scaling.ForecastRun{}, err
	}
	f.record(ctx, run)
	rctx, cancel := f.runContext(ctx)
	f.execute(rctx, run, svcs)
	cancel()
	got, _ := f.Run(run.ID)
	return got, nil
}

// Run returns a copy of the run with the given id: from memory when this Forecaster ran it
// recently, else from the Store, where every replica records its runs. False when neither
// knows it (or the store cannot be read; that is logged).
func (f *Forecaster) Run(id string) (scaling.ForecastRun, bool) {
	if r, ok := f.memRun(id); ok {
		return r, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), runStoreTimeout)
	defer cancel()
	r, err := f.opts.Store.GetRun(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			f.log.Warn("forecast run not read from the store", "run", id, "err", err)
		}
		return scaling.ForecastRun{}, false
	}
	return r, true
}

func (f *Forecaster) memRun(id string) (scaling.ForecastRun, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.ID == id {
			return copyRun(r), true
		}
	}
	return scaling.ForecastRun{}, false
}

// record writes a snapshot of run to the Store. A failure is logged and counted
// (kai_forecast_run_record_errors_total), never returned: the forecast matters more than
// its record, and this replica still answers from memory.
func (f *Forecaster) record(ctx context.Context, run *scaling.ForecastRun) {
	f.mu.Lock()
	snap := copyRun(run)
	f.mu.Unlock()
	f.put(ctx, snap)
}

// put writes snap to the Store, as record does.
func (f *Forecaster) put(ctx context.Context, snap scaling.ForecastRun) {
	if snap.Results == nil {
		snap.Results = []scaling.ServiceForecastResult{}
	}
	// Not cancelled with ctx: a run's final state is recorded even when shutdown cut it short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runStoreTimeout)
	defer cancel()
	if err := f.opts.Store.PutRun(ctx, snap); err != nil {
		f.m.runRecordErrors.Inc()
		f.log.Warn("forecast run not recorded in the store; other replicas cannot report it", "run", snap.ID, "state", snap.State, "err", err)
	}
}

// Runs returns copies of the remembered runs, newest first.
func (f *Forecaster) Runs() []scaling.ForecastRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]scaling.ForecastRun, 0, len(f.runs))
	for i := len(f.runs) - 1; i >= 0; i-- {
		out = append(out, copyRun(f.runs[i]))
	}
	return out
}

func copyRun(r *scaling.ForecastRun) scaling.ForecastRun {
	c := *r
	c.Results = append([]scaling.ServiceForecastResult(nil), r.Results...)
	return c
}

// begin takes the run lock and registers a queued run, or refuses it.
func (f *Forecaster) begin(ctx context.Context, trigger, service string) (*scaling.ForecastRun, []scaling.ManagedService, error) {
	all := f.opts.Services()
	svcs := all
	if service != "" {
		svcs = nil
		for _, s := range all {
			if s.Name == service {
				svcs = []scaling.ManagedService{s}
				break
			}
		}
		if svcs == nil {
			return nil, nil, fmt.Errorf("forecast %q: %w", service, ErrUnknownService)
		}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, nil, fmt.Errorf("forecast (shutting down): %w", ErrBusy)
	}
	if f.busy {
		f.mu.Unlock()
		return nil, nil, fmt.Errorf("forecast: %w", ErrBusy)
	}
	f.busy = true // reserved while the lock is asked for, without holding mu over the network
	f.running.Add(1)
	now := f.opts.Now()
	f.seq++
	run := &scaling.ForecastRun{
		// The random part keeps ids unique across replicas (and restarts) sharing the store.
		ID:       fmt.Sprintf("%s-%d-%08x", now.UTC().Format("20060102T150405Z"), f.seq, rand.Uint32()),
		Trigger:  trigger,
		Service:  service,
		State:    scaling.RunQueued,
		QueuedAt: now.UnixMilli(),
		Results:  []scaling.ServiceForecastResult{},
	}
	f.mu.Unlock()

	// The run id is the lock's owner token: unique across replicas, and it names the holder.
	if err := f.lock(ctx, run.ID); err != nil {
		f.mu.Lock()
		f.busy = false
		f.mu.Unlock()
		f.running.Done()
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, run)
	if len(f.runs) > f.opts.KeepRuns {
		f.runs = append(f.runs[:0], f.runs[len(f.runs)-f.opts.KeepRuns:]...)
	}
	f.forgetRemoved(all)
	return run, svcs, nil
}

// forgetRemoved drops what was kept for calibration of services no longer managed: up to a
// week of predictions each, which would otherwise stay until the process restarts. f.mu is held.
func (f *Forecaster) forgetRemoved(managed []scaling.ManagedService) {
	known := make(map[string]bool, len(managed))
	for _, s := range managed {
		known[s.Name] = true
	}
	maps.DeleteFunc(f.recent, func(name string, _ []scaling.Prediction) bool { return !known[name] })
	maps.DeleteFunc(f.retro, func(name string, _ map[int64]bool) bool { return !known[name] })
}

// execute fits every service of run, Parallelism at a time, and finishes the run. When ctx
// ends first (shutdown), no further service is started, and the run is recorded aborted and
// its lock released, so a restarted process can run at once (issue 11, item 4).
func (f *Forecaster) execute(ctx context.Context, run *scaling.ForecastRun, svcs []scaling.ManagedService) {
	defer f.running.Done()
	started := f.opts.Now()
	// The work's own time, on the wall clock: Now is the demo's simulated clock there, which
	// made a half-second run last minutes in the duration histogram.
	wallStart := time.Now()
	f.mu.Lock()
	run.State = scaling.RunRunning
	run.StartedAt = started.UnixMilli()
	run.Results = make([]scaling.ServiceForecastResult, len(svcs))
	for i, s := range svcs {
		run.Results[i] = scaling.ServiceForecastResult{Service: s.Name, State: scaling.RunQueued}
	}
	f.mu.Unlock()
	log := f.log.With("run", run.ID, "trigger", run.Trigger)
	stopRenew := f.keepLock(ctx, run.ID, log)
	f.record(ctx, run)
	if f.opts.Bounds == nil {
		log.Warn("no HPA bounds source; predictions only, load patterns are not derived")
	}

	sem := make(chan struct{}, f.opts.Parallelism)
	var wg sync.WaitGroup
	for i, svc := range svcs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			// Aborted: the services not started yet are not started at all.
			for j := i; j < len(svcs); j++ {
				f.setResult(run, j, scaling.ServiceForecastResult{Service: svcs[j].Name, State: scaling.RunAborted,
					Error: "not fitted: the run was aborted: " + context.Cause(ctx).Error()})
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f.setResult(run, i, scaling.ServiceForecastResult{Service: svc.Name, State: scaling.RunRunning})
			res := f.fitService(ctx, svc, log.With("service", svc.Name))
			if res.State == scaling.RunFailed && ctx.Err() != nil {
				// Cut short by the abort, not failed on its own: read as failed, it looked like
				// a fault of the service beside the ones the abort kept from starting.
				res.State = scaling.RunAborted
				res.Error = "cut short: the run was aborted: " + res.Error
			}
			f.setResult(run, i, res)
		}()
	}
	wg.Wait()

	finished := f.opts.Now()
	ok, failed := 0, 0
	f.mu.Lock()
	for _, r := range run.Results {
		if r.State == scaling.RunSucceeded {
			ok++
		} else {
			failed++
		}
	}
	final := copyRun(run)
	aborted := ctx.Err() != nil
	switch {
	case aborted:
		final.State = scaling.RunAborted
	case failed == 0:
		final.State = scaling.RunSucceeded
	case ok == 0:
		final.State = scaling.RunFailed
	default:
		final.State = scaling.RunPartial
	}
	final.FinishedAt = finished.UnixMilli()
	state := final.State
	f.mu.Unlock()
	// The work is done: the lock is released before anyone (another replica reading the
	// store, or this one's Run) can see the run finished, so a run asked for after seeing
	// it finish is never refused as busy.
	stopRenew()
	f.unlock(ctx, run.ID)
	// Recorded before this forecaster takes another run, so its runs are written in order.
	f.put(ctx, final)
	f.mu.Lock()
	run.State, run.FinishedAt = final.State, final.FinishedAt
	f.busy = false
	f.mu.Unlock()

	f.m.runs.WithLabelValues(string(state)).Inc()
	took := time.Since(wallStart)
	f.m.duration.Observe(took.Seconds())
	if ok > 0 {
		f.noteSuccess(finished)
	}
	if aborted {
		log.Warn("forecast run aborted; run lock released, services not fitted keep their previous predictions",
			"cause", context.Cause(ctx), "succeeded", ok, "not_fitted", failed, "duration", took)
		return
	}
	log.Info("forecast run finished", "state", state, "succeeded", ok, "failed", failed, "duration", took)
	// Fresh predictions replace the gauges at once, not at the next actual-load tick.
	f.refreshPredicted(ctx, svcs, finished)
}

func (f *Forecaster) setResult(run *scaling.ForecastRun, i int, r scaling.ServiceForecastResult) {
	f.mu.Lock()
	run.Results[i] = r
	f.mu.Unlock()
}

// fitService reads, fits and stores one service; it never panics and never outlives its timeout.
func (f *Forecaster) fitService(ctx context.Context, svc scaling.ManagedService, log *slog.Logger) (res scaling.ServiceForecastResult) {
	start := time.Now() // wall time of the work itself, for DurationMs; not a decision input
	res = scaling.ServiceForecastResult{Service: svc.Name, State: scaling.RunFailed}
	defer func() {
		if p := recover(); p != nil {
			res.State, res.Error = scaling.RunFailed, fmt.Sprintf("panic: %v", p)
			log.Error("forecast panicked; service skipped in this run", "panic", p, "stack", string(debug.Stack()))
		}
		res.DurationMs = time.Since(start).Milliseconds()
	}()
	runCtx := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, f.opts.PerServiceTimeout,
		fmt.Errorf("forecast of %s took longer than %s", svc.Name, f.opts.PerServiceTimeout))
	defer cancel()

	pred, fit, series, err := f.predict(ctx, svc)
	if err != nil {
		res.Error = err.Error()
		if runCtx.Err() != nil { // execute records it aborted, not failed
			log.Info("forecast cut short: the run was aborted; previous prediction kept until it expires", "err", err)
		} else {
			log.Warn("forecast failed; previous prediction kept until it expires", "err", err)
		}
		return res
	}
	res.State, res.Model, res.ModelReason = scaling.RunSucceeded, fit.Model, fit.Reason
	log.Info("prediction stored", "model", fit.Model, "mase", pred.BacktestMASE, "coverage", pred.BacktestCoverage, "points", len(pred.Points),
		"floor", hpasim.SettingsString(pred.Calibration.FloorSettings), "calibration", pred.Calibration.Reason)

	if f.opts.Bounds == nil {
		res.Pattern = PatternSkipped
		return res
	}
	pattern, err := f.derivePattern(ctx, svc, series, pred.Calibration)
	if err != nil {
		// The prediction is stored: the service succeeded; the old pattern stays in force.
		log.Warn("load pattern not derived; the stored pattern is kept", "err", err)
		res.Pattern = PatternSkipped
		return res
	}
	res.Pattern = pattern
	return res
}

// Values of scaling.ServiceForecastResult.Pattern.
const (
	// PatternDerived: a derived pattern was written.
	PatternDerived = "derived"
	// PatternKeptManual: a manual pattern exists and was kept.
	PatternKeptManual = "kept-manual"
	// PatternSkipped: no pattern was derived (no HPA bounds, or deriving failed; see the log).
	PatternSkipped = "skipped"
)

type fitInfo struct{ Model, Reason string }

func (f *Forecaster) predict(ctx context.Context, svc scaling.ManagedService) (scaling.Prediction, fitInfo, forecast.Series, error) {
	step := f.opts.Step
	fittedAt := f.opts.Now()
	end := fittedAt.Truncate(step)
	n := int(f.opts.HistoryWindow / step)
	start := end.Add(-time.Duration(n-1) * step)
	series, err := f.opts.History.Range(ctx, svc, start, end, step)
	if err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, fmt.Errorf("read history: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, context.Cause(ctx)
	}
	if err := checkFresh(series, fittedAt, f.opts.MaxDataAge); err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, err
	}
	opts := f.predictionOptions(svc)
	r, err := forecast.Forecast(series, opts)
	if err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, fmt.Errorf("fit: %w", err)
	}
	pred, err := BuildPrediction(svc, r, opts.Quantile, fittedAt, f.opts.Validity)
	if err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, err
	}
	cal := f.calibrate(ctx, svc, series, fittedAt)
	pred.Calibration = &cal
	if err := ctx.Err(); err != nil {
		// Too late: a fit finished after the deadline is not stored.
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, context.Cause(ctx)
	}
	if err := f.opts.Store.AddPrediction(ctx, pred); err != nil {
		return scaling.Prediction{}, fitInfo{}, forecast.Series{}, fmt.Errorf("store prediction: %w", err)
	}
	f.keepRecent(pred, scaling.LeadTime(svc.LeadTimeSeconds))
	return pred, fitInfo{Model: r.Model, Reason: r.Reason}, series, nil
}

// predictionOptions are the options of svc's prediction fits: the live one, and those fitted
// afterwards for calibration (retroFits), which must be fitted as it was; the pattern's fit
// differs in its horizon only.
func (f *Forecaster) predictionOptions(svc scaling.ManagedService) forecast.Options {
	return forecast.Options{Horizon: int(f.opts.Horizon / f.opts.Step), Quantile: quantileOf(svc), Model: f.opts.Model}
}

// quantileOf is the upper bound's quantile of svc's forecasts: its own, or the default.
func quantileOf(svc scaling.ManagedService) float64 {
	if svc.Quantile == 0 {
		return scaling.DefaultQuantile
	}
	return svc.Quantile
}

// BuildPrediction turns a forecast into the stored record: each point's floor carries the
// upper bound. It refuses non-finite values, which would not survive JSON and must never
// reach the actuator.
func BuildPrediction(svc scaling.ManagedService, r forecast.Result, quantile float64, fittedAt time.Time, validity time.Duration) (scaling.Prediction, error) {
	p := scaling.Prediction{
		Service:          svc.Name,
		Model:            r.Model,
		ModelReason:      r.Reason,
		FittedAt:         fittedAt.UnixMilli(),
		ValidUntil:       fittedAt.Add(validity).UnixMilli(),
		StepSeconds:      int64(r.Step / time.Second),
		Quantile:         quantile,
		BacktestMASE:     finiteOr0(r.Backtest.MASE),
		BacktestSMAPE:    finiteOr0(r.Backtest.SMAPE),
		BacktestCoverage: finiteOr0(r.Backtest.Coverage),
		Points:           make([]scaling.PredictionPoint, len(r.Mean)),
	}
	if len(r.Upper) != len(r.Mean) {
		return scaling.Prediction{}, fmt.Errorf("forecast has %d mean and %d upper points", len(r.Mean), len(r.Upper))
	}
	for i := range r.Mean {
		mean, upper := r.Mean[i], r.Upper[i]
		if !finite(mean) || !finite(upper) {
			return scaling.Prediction{}, fmt.Errorf("forecast point %d is not finite (mean %v, upper %v)", i, mean, upper)
		}
		p.Points[i] = scaling.PredictionPoint{
			Timestamp:              r.Start.Add(time.Duration(i) * r.Step).UnixMilli(),
			ExpectedLoad:           mean,
			UpperLoad:              upper,
			RecommendedMinReplicas: forecast.ReplicasFor(upper, svc.CapacityPerReplica),
		}
	}
	return p, nil
}

func (f *Forecaster) derivePattern(ctx context.Context, svc scaling.ManagedService, series forecast.Series, cal *scaling.Calibration) (string, error) {
	b, err := f.opts.Bounds.ReplicaBounds(ctx, svc)
	if err != nil {
		return "", fmt.Errorf("read HPA bounds: %w", err)
	}
	if b.MaxReplicas <= 0 {
		return "", fmt.Errorf("HPA maxReplicas is %d", b.MaxReplicas)
	}
	opts := f.predictionOptions(svc)
	opts.Horizon = int(f.opts.PatternHorizon / f.opts.Step)
	r, err := forecast.Forecast(series, opts)
	if err != nil {
		return "", fmt.Errorf("fit week: %w", err)
	}
	r.Upper = calibratedLoads(r, cal)
	p := DerivePattern(r, PatternParams{
		CapacityPerReplica: svc.CapacityPerReplica,
		MaxReplicas:        b.MaxReplicas,
		BaseMinReplicas:    b.BaseMinReplicas,
	}, f.opts.PatternLocation)
	p.Service = svc.Name
	p.LastUpdated = f.opts.Now().UnixMilli()
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("derived pattern invalid: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", context.Cause(ctx)
	}
	written, err := f.opts.Store.PutDerivedPattern(ctx, p)
	if err != nil {
		return "", fmt.Errorf("store pattern: %w", err)
	}
	if !written {
		return PatternKeptManual, nil
	}
	return PatternDerived, nil
}

// calibrate chooses the floor settings for svc's new prediction: it replays the history just
// read through a simulated HPA with the service's bounds, planning floors from the predictions
// stored over the calibration window and, before the first of them, forecasts fitted now
// (retroFits), each on its own past only, within the service's budget. Without bounds or two
// days of past predictions it keeps hpasim's defaults and says why in the reason.
func (f *Forecaster) calibrate(ctx context.Context, svc scaling.ManagedService, series forecast.Series, now time.Time) scaling.Calibration {
	lead := scaling.LeadTime(svc.LeadTimeSeconds)
	defaults := func(why string) scaling.Calibration {
		f.m.forgetCalibration(svc.Name) // no replay: nothing to say
		return scaling.Calibration{FloorSettings: hpasim.DefaultSettings(lead), Budget: svc.Budget, AvailabilityTarget: svc.AvailabilityTarget,
			Reason: why + "; defaults: " + hpasim.SettingsString(hpasim.DefaultSettings(lead))}
	}
	if f.opts.Bounds == nil {
		return defaults("no HPA bounds source to replay the HPA with")
	}
	b, err := f.opts.Bounds.ReplicaBounds(ctx, svc)
	if err != nil || b.MaxReplicas <= 0 {
		return defaults(fmt.Sprintf("HPA bounds unknown (%v)", err))
	}
	// Predictions are written once a run: a window's worth of runs, and one more that was in
	// force at the window's start. Validity is twice the schedule's interval.
	interval := max(f.opts.Validity/2, time.Minute)
	limit := min(int(hpasim.DefaultCalibrationWindow/interval)+2, maxCalibrationPredictions)
	stored, err := f.opts.Store.ListPredictions(ctx, svc.Name, limit)
	if err != nil {
		return defaults(fmt.Sprintf("past predictions unreadable (%v)", err))
	}
	past := f.remember(svc.Name, stored, now, lead)
	if retro := f.retroFits(ctx, svc, series, past, now, lead); len(retro) > 0 {
		past = f.addRetroFits(svc.Name, retro)
	}
	measured, measureErr := f.measurePodStartup(ctx, svc, b)
	f.sayUnmeasured(svc.Name, measureErr)
	podStartup, podStartupSource, podStartupNote := podStartupOf(svc, measured, measureErr)
	r := hpasim.Calibrate(hpasim.CalibrationInput{
		History:     series,
		Predictions: past,
		// The HPA's behavior is the cluster's; pod start-up the services file's or the pods'.
		HPA: hpasim.Config{MinReplicas: max(b.BaseMinReplicas, 1), MaxReplicas: b.MaxReplicas,
			CapacityPerReplica: svc.CapacityPerReplica, PodStartup: podStartup, Behavior: b.Behavior},
		LeadTime:           lead,
		Now:                now,
		Budget:             svc.Budget,
		AvailabilityTarget: svc.AvailabilityTarget,
		Surge:              b.HasHPA,
	})
	if r.WindowMinutes > 0 {
		r.PodStartupSource = podStartupSource
		r.Reason += podStartupNote + f.retroNote(svc.Name, past)
		f.m.setCalibration(svc.Name, r)
	} else {
		f.m.forgetCalibration(svc.Name)
	}
	return r.Calibration
}

// remember merges the stored predictions of a service into the ones this forecaster kept (the
// store keeps fewer than a calibration window's), drops those no longer valid at the window's
// start, keeps of each what the planner reads at lead time lead (actuator.PlanningView), which
// is what calibration replays, and returns them oldest first.
func (f *Forecaster) remember(service string, stored []scaling.Prediction, now time.Time, lead time.Duration) []scaling.Prediction {
	f.mu.Lock()
	defer f.mu.Unlock()
	byFit := map[int64]scaling.Prediction{}
	for _, p := range f.recent[service] {
		byFit[p.FittedAt] = p
	}
	for _, p := range stored {
		if _, ok := byFit[p.FittedAt]; !ok {
			byFit[p.FittedAt] = actuator.PlanningView(p, lead)
		}
	}
	windowStart := now.Add(-hpasim.DefaultCalibrationWindow).UnixMilli()
	out := make([]scaling.Prediction, 0, len(byFit))
	for _, p := range byFit {
		if p.ValidUntil > windowStart && p.FittedAt < now.UnixMilli() {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b scaling.Prediction) int { return cmp.Compare(a.FittedAt, b.FittedAt) })
	f.recent[service] = out
	return slices.Clone(out)
}

// keepRecent adds a new prediction to the ones remembered for calibration, as far as the
// planner reads it at lead time lead.
func (f *Forecaster) keepRecent(p scaling.Prediction, lead time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recent[p.Service] = append(f.recent[p.Service], actuator.PlanningView(p, lead))
}

// maxCalibrationPredictions bounds the past predictions one calibration reads.
const maxCalibrationPredictions = 400

// calibratedLoads are the loads a derived pattern provisions under the calibrated settings:
// between the expected load and the upper bound at the calibrated share, and none when
// floors are off (the derived pattern is then empty: a floor the calibration found not to
// pay must not come back as an hourly window). Without a calibration, the upper bound.
func calibratedLoads(r forecast.Result, cal *scaling.Calibration) []float64 {
	if cal == nil || (cal.BoundShare == nil && !cal.Off) {
		return r.Upper
	}
	out := make([]float64, len(r.Upper))
	if cal.Off {
		return out
	}
	for i := range out {
		out[i] = math.Max(0, r.Mean[i]+*cal.BoundShare*math.Max(0, r.Upper[i]-r.Mean[i]))
	}
	return out
}

// ErrStaleHistory is wrapped by the error of a service whose history has no recent sample.
var ErrStaleHistory = errors.New("history has no recent samples")

// checkFresh refuses a series whose newest finite value is older than maxAge at now.
func checkFresh(s forecast.Series, now time.Time, maxAge time.Duration) error {
	for i := len(s.Values) - 1; i >= 0; i-- {
		if finite(s.Values[i]) {
			at := s.Start.Add(time.Duration(i) * s.Step)
			if now.Sub(at) > maxAge {
				return fmt.Errorf("%w: newest sample at %s, %s before fitting (limit %s)",
					ErrStaleHistory, at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second), maxAge)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no sample in the %s read", ErrStaleHistory, time.Duration(len(s.Values))*s.Step)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finiteOr0(v float64) float64 {
	if finite(v) {
		return v
	}
	return 0
}
