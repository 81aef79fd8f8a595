package hpaevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// EventStore is what the Recorder needs of the event log; store.EventStore satisfies it.
type EventStore interface {
	AppendEvents(ctx context.Context, events ...scaling.Event) error
	ListEvents(ctx context.Context, q store.EventQuery) ([]scaling.Event, error)
}

var _ EventStore = (store.EventStore)(nil)

// Sink receives HPA observations, in time order per HPA. The sources call it; *Recorder
// implements it. Observe must be safe for concurrent use.
type Sink interface {
	Observe(ctx context.Context, o Observation)
}

var _ Sink = (*Recorder)(nil)

// Defaults of RecorderOptions.
const (
	// DefaultMatchWindow: two sources (or a source restarted mid-decision) see one decision at
	// times this far apart at most: the HPA sync period (15 s) plus a kube-state-metrics
	// scrape interval and a range-query step.
	DefaultMatchWindow = 2 * time.Minute
	// DefaultEffectivenessWindow is the window of kai_hpa_scaling_effectiveness.
	DefaultEffectivenessWindow = 24 * time.Hour
	// DefaultRetryInterval is how often Run retries unsaved events and settles pending ones.
	DefaultRetryInterval = 15 * time.Second
)

// RecorderOptions configure a Recorder. Store is required.
type RecorderOptions struct {
	Store EventStore
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the recorder's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now defaults to time.Now.
	Now                 func() time.Time
	Deriver             DeriverOptions
	Settle              SettleOptions
	MatchWindow         time.Duration
	EffectivenessWindow time.Duration
	RetryInterval       time.Duration
}

// Recorder is the adapter between the sources and the event store: it derives events from
// observations, fills their replicas and outcome as later observations arrive, and appends
// every new or changed event. A store failure never drops an event: it stays in memory and is
// retried (by the next write, or by Run), logged and counted. Safe for concurrent use.
type Recorder struct {
	opts    RecorderOptions
	log     *slog.Logger
	now     func() time.Time
	metrics recorderMetrics

	mu      sync.Mutex
	deriver *Deriver
	// loadedSince is, per service, the earliest time from which events left pending by an
	// earlier run have been read from the store.
	loadedSince map[string]int64
	// latest is each service's newest observation time.
	latest map[string]time.Time
	// recent holds each HPA's observations within the settle window of its newest one.
	recent map[string][]Observation
	// pending holds events whose replicas or outcome are still unknown, by ID; decisions
	// holds recent scaling events by service, for opposite-scaling checks.
	pending   map[string]scaling.Event
	decisions map[string][]scaling.Event
	// unsaved holds events whose append failed, by ID (latest version), until it succeeds.
	unsaved map[string]scaling.Event
	// retryAt is when an observation may try the store again after a failed append.
	retryAt time.Time
}

type recorderMetrics struct {
	events        *prometheus.CounterVec
	effectiveness *prometheus.GaugeVec
	// floorRaises scores the floor's own raises apart from the HPA's decisions.
	floorRaises *prometheus.GaugeVec
	storeErrors *prometheus.CounterVec
	unsaved     prometheus.Gauge
}

// NewRecorder returns a Recorder writing to opts.Store. It does no I/O: events left pending by
// a previous run are read from the store on first use.
func NewRecorder(opts RecorderOptions) (*Recorder, error) {
	if opts.Store == nil {
		return nil, errors.New("hpa event recorder needs a store")
	}
	if opts.MatchWindow <= 0 {
		opts.MatchWindow = DefaultMatchWindow
	}
	if opts.EffectivenessWindow <= 0 {
		opts.EffectivenessWindow = DefaultEffectivenessWindow
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	opts.Settle = opts.Settle.withDefaults()
	r := &Recorder{
		opts:        opts,
		log:         opts.Logger,
		now:         opts.Now,
		deriver:     NewDeriver(opts.Deriver),
		loadedSince: map[string]int64{},
		latest:      map[string]time.Time{},
		recent:      map[string][]Observation{},
		pending:     map[string]scaling.Event{},
		decisions:   map[string][]scaling.Event{},
		unsaved:     map[string]scaling.Event{},
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.metrics = recorderMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_hpa_events_total",
			Help: "HPA scaling events recorded, by service and event type.",
		}, []string{"service", "event_type"}),
		effectiveness: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_hpa_scaling_effectiveness",
			Help: "Share (0-1) of the service's HPA scaling decisions in the last 24 h after which the trigger metric returned within its threshold without an opposite scaling; the floor's own raises are not counted; absent while no decision is decided.",
		}, []string{"service"}),
		floorRaises: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_floor_raise_effectiveness",
			Help: "Share (0-1) of the service's scale-ups to a raised floor (limited-scale FloorRaised, kai-scaler's action) in the last 24 h after which the trigger metric was within its threshold; absent while none is decided.",
		}, []string{"service"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_hpa_event_store_errors_total",
			Help: "Failed reads and writes of the HPA event store, by operation; failed writes are retried.",
		}, []string{"op"}),
		unsaved: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kai_hpa_events_unsaved",
			Help: "HPA events derived but not yet written to the store (waiting for a retry).",
		}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{r.metrics.events, r.metrics.effectiveness, r.metrics.floorRaises, r.metrics.storeErrors, r.metrics.unsaved} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register hpa event metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Observe derives the events o reveals, settles pending events with it, and stores what is
// new or changed. Store errors are logged, counted and retried later, not returned.
func (r *Recorder) Observe(ctx context.Context, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loadPending(ctx, o.Service, o.Time)

	key := o.Key()
	buf := append(r.recent[key], o)
	// Keep what pending events of the service still need (their whole window), within bounds.
	horizon := o.Time.Add(-r.opts.Settle.Window - r.opts.MatchWindow)
	for _, e := range r.pending {
		if t := time.UnixMilli(e.Timestamp); e.Service == o.Service && t.Before(horizon) {
			horizon = t
		}
	}
	horizon = maxTime(horizon, o.Time.Add(-giveUpAfter*r.opts.Settle.Window))
	for len(buf) > 0 && buf[0].Time.Before(horizon) {
		buf = buf[1:]
	}
	r.recent[key] = buf

	var write []scaling.Event
	if derived := r.deriver.ObserveDerived(o); len(derived) > 0 {
		events := r.reconcile(ctx, o.Service, derived)
		for _, e := range events {
			r.remember(e)
		}
		write = append(write, events...)
	}
	if o.Time.After(r.latest[o.Service]) {
		r.latest[o.Service] = o.Time
	}
	write = append(write, r.settle(o.Service, r.latest[o.Service])...)
	r.save(ctx, write, false)
}

// Flush retries unsaved events and settles pending ones whose window has passed; it returns
// an error when events remain unsaved. Run calls it periodically.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	services := map[string]bool{}
	for _, e := range r.pending {
		services[e.Service] = true
	}
	var write []scaling.Event
	for s := range services {
		write = append(write, r.settle(s, r.clockFor(s))...)
	}
	r.save(ctx, write, true)
	// Events age out of the window without new ones: keep the gauge current.
	for s := range r.latest {
		r.refreshEffectiveness(ctx, s)
	}
	if n := len(r.unsaved); n > 0 {
		return fmt.Errorf("%d hpa events not stored yet", n)
	}
	return nil
}

// giveUpAfter (in settle windows) is when a pending event stops waiting for observations.
const giveUpAfter = 3

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// liveLag is how far behind the clock a service's newest observation may be for the service
// to count as watched live (the informer resyncs every minute).
const liveLag = 5 * time.Minute

// clockFor is the time pending events of service are settled against: the clock while the
// service is watched live, else its newest observation, so a backfill of history never judges
// an event before the observations of its window were read.
func (r *Recorder) clockFor(service string) time.Time {
	now, latest := r.now(), r.latest[service]
	if now.Sub(latest) <= liveLag {
		return now
	}
	return latest
}

// Run flushes every RetryInterval until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Flush(ctx) // failures are logged and counted by save
		}
	}
}

// loadPending reads the events of service an earlier run may have left unsettled before at
// (the observation's time, which is in the past for history), so a restart still fills their
// replicas and outcome. Each stretch of time is read once.
func (r *Recorder) loadPending(ctx context.Context, service string, at time.Time) {
	since := at.Add(-2 * r.opts.Settle.Window).UnixMilli()
	if lo, ok := r.loadedSince[service]; ok && lo <= since {
		return
	}
	q := store.EventQuery{Service: service, Since: since}
	if lo, ok := r.loadedSince[service]; ok {
		q.Until = lo
	}
	events, err := r.opts.Store.ListEvents(ctx, q)
	if err != nil {
		r.metrics.storeErrors.WithLabelValues("list").Inc()
		r.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "reading pending hpa events failed; will retry on the next observation", "service", service, "err", err)
		return
	}
	r.loadedSince[service] = since
	for _, e := range events {
		_, isPending := r.pending[e.ID]
		_, isUnsaved := r.unsaved[e.ID]
		if !isPending && !isUnsaved { // memory is newer than the store
			r.remember(e)
		}
	}
}

// remember tracks e for settling and as a later decision of its service.
func (r *Recorder) remember(e scaling.Event) {
	if !Settled(e) {
		r.pending[e.ID] = e
	}
	if e.EventType == scaling.EventNoScale {
		return
	}
	ds := r.decisions[e.Service]
	for i := range ds {
		if ds[i].ID == e.ID {
			ds[i] = e
			return
		}
	}
	ds = append(ds, e)
	horizon := e.Timestamp - (2 * r.opts.Settle.Window).Milliseconds()
	kept := ds[:0]
	for _, d := range ds {
		if d.Timestamp >= horizon {
			kept = append(kept, d)
		}
	}
	r.decisions[e.Service] = kept
}

// reconcile merges freshly derived events with what the store already holds: an event with
// the same ID keeps its stored time, replicas and outcome; an event matching a stored decision
// of another source or an earlier run (MatchDecision) takes over its ID; a state seen again
// after a restart (Derived.Continued) is dropped when the service's latest event before it
// reports that same state (MatchContinued). New events are counted in kai_hpa_events_total.
func (r *Recorder) reconcile(ctx context.Context, service string, derived []Derived) []scaling.Event {
	lo, hi := derived[0].Timestamp, derived[0].Timestamp
	for _, e := range derived {
		lo, hi = min(lo, e.Timestamp), max(hi, e.Timestamp)
	}
	w := r.opts.MatchWindow.Milliseconds()
	stored, err := r.opts.Store.ListEvents(ctx, store.EventQuery{Service: service, Since: lo - w, Until: hi + w})
	if err != nil {
		r.metrics.storeErrors.WithLabelValues("list").Inc()
		r.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "reading stored hpa events failed; storing new events by their own id", "service", service, "err", err)
	}
	// Pending and unsaved events are not all in the store yet; they count as stored.
	for _, e := range r.pending {
		if e.Service == service {
			stored = append(stored, e)
		}
	}
	for _, e := range r.unsaved {
		if e.Service == service {
			stored = append(stored, e)
		}
	}
	out := make([]scaling.Event, 0, len(derived))
	for _, d := range derived {
		e := d.Event
		if d.Continued && r.continues(ctx, e) {
			continue
		}
		merged, known := MatchDecision(e, stored, r.opts.MatchWindow)
		if !known {
			r.metrics.events.WithLabelValues(e.Service, string(e.EventType)).Inc()
			r.log.Info("hpa event", "service", e.Service, "namespace", e.Namespace, "event_type", e.EventType,
				"current", e.CurrentReplicas, "desired", e.DesiredReplicas, "trigger_metric", e.TriggerMetric,
				"trigger_value", e.TriggerValue, "trigger_threshold", e.TriggerThreshold, "reason", e.Reason)
		}
		out = append(out, merged)
	}
	return out
}

// MatchDecision finds the stored event e describes: the one with its ID, or a decision of the
// same HPA scale (same service, namespace, type family, current and desired counts) stored
// within window of it. It returns e merged into that event (the stored ID, time, replicas and
// outcome win; e's observations fill what the stored one lacks) and whether one was found.
func MatchDecision(e scaling.Event, stored []scaling.Event, window time.Duration) (scaling.Event, bool) {
	var best *scaling.Event
	for i := range stored {
		s := &stored[i]
		if s.ID == e.ID {
			best = s
			break
		}
		if s.Service != e.Service || s.Namespace != e.Namespace || s.CurrentReplicas != e.CurrentReplicas ||
			s.DesiredReplicas != e.DesiredReplicas || (s.EventType == scaling.EventNoScale) != (e.EventType == scaling.EventNoScale) ||
			(e.EventType == scaling.EventNoScale && s.Reason != e.Reason) {
			continue
		}
		d := abs(s.Timestamp - e.Timestamp)
		if d <= window.Milliseconds() && (best == nil || d < abs(best.Timestamp-e.Timestamp)) {
			best = s
		}
	}
	if best == nil {
		return e, false
	}
	m := *best
	if m.ActualReplicas == nil {
		m.ActualReplicas = e.ActualReplicas
	}
	if m.Outcome == scaling.OutcomePending {
		m.Outcome = e.Outcome
	}
	if m.TriggerMetric == "" {
		m.TriggerMetric, m.TriggerValue, m.TriggerThreshold = e.TriggerMetric, e.TriggerValue, e.TriggerThreshold
	}
	if m.Reason == "" {
		m.Reason = e.Reason
	}
	return m, true
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// settle settles the pending events of service and returns those that changed.
func (r *Recorder) settle(service string, now time.Time) []scaling.Event {
	var later []Observation
	for _, buf := range r.recent {
		if len(buf) > 0 && buf[0].Service == service {
			later = append(later, buf...)
		}
	}
	sort.SliceStable(later, func(i, j int) bool { return later[i].Time.Before(later[j].Time) })
	var changed []scaling.Event
	ids := make([]string, 0, len(r.pending))
	for id, e := range r.pending {
		if e.Service == service {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := r.pending[id]
		s := Settle(e, later, r.decisions[service], now, r.opts.Settle)
		if !sameProgress(s, e) {
			changed = append(changed, s)
			r.remember(s)
		}
		if Settled(s) || now.Sub(time.UnixMilli(s.Timestamp)) > giveUpAfter*r.opts.Settle.Window {
			// Settled, or no reading of its trigger metric came in time: stays as stored.
			delete(r.pending, id)
		}
	}
	return changed
}

func sameProgress(a, b scaling.Event) bool {
	return a.Outcome == b.Outcome && (a.ActualReplicas == nil) == (b.ActualReplicas == nil) &&
		(a.ActualReplicas == nil || *a.ActualReplicas == *b.ActualReplicas)
}

// save appends events and every earlier unsaved one; on failure all of them stay unsaved.
// After a failure, only Flush (force) tries again before RetryInterval has passed, so a store
// that is down does not slow every observation by its timeout.
func (r *Recorder) save(ctx context.Context, events []scaling.Event, force bool) {
	for _, e := range events {
		r.unsaved[e.ID] = e
	}
	if len(r.unsaved) == 0 {
		return
	}
	if !force && r.now().Before(r.retryAt) {
		r.metrics.unsaved.Set(float64(len(r.unsaved)))
		return
	}
	batch := make([]scaling.Event, 0, len(r.unsaved))
	for _, e := range r.unsaved {
		batch = append(batch, e)
	}
	sort.Slice(batch, func(i, j int) bool { return batch[i].Timestamp < batch[j].Timestamp })
	if err := r.opts.Store.AppendEvents(ctx, batch...); err != nil {
		r.metrics.storeErrors.WithLabelValues("append").Inc()
		r.metrics.unsaved.Set(float64(len(r.unsaved)))
		r.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "storing hpa events failed; keeping them to retry", "events", len(batch), "err", err)
		r.retryAt = r.now().Add(r.opts.RetryInterval)
		return
	}
	r.retryAt = time.Time{}
	clear(r.unsaved)
	r.metrics.unsaved.Set(0)
	services := map[string]bool{}
	for _, e := range batch {
		services[e.Service] = true
	}
	for s := range services {
		r.refreshEffectiveness(ctx, s)
	}
}

// refreshEffectiveness sets kai_hpa_scaling_effectiveness{service} from the stored events of
// the window, and removes it while no event is decided (null, not 1).
func (r *Recorder) refreshEffectiveness(ctx context.Context, service string) {
	now := r.now()
	events, err := r.opts.Store.ListEvents(ctx, store.EventQuery{
		Service: service, Since: now.Add(-r.opts.EffectivenessWindow).UnixMilli(),
	})
	if err != nil {
		r.metrics.storeErrors.WithLabelValues("list").Inc()
		r.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "reading hpa events for effectiveness failed; keeping the last value", "service", service, "err", err)
		return
	}
	setShare(r.metrics.effectiveness, service, Effectiveness(service, events, now, r.opts.EffectivenessWindow))
	setShare(r.metrics.floorRaises, service, FloorRaiseEffectiveness(service, events, now, r.opts.EffectivenessWindow))
}

// setShare exports rep's share, or removes the gauge while nothing is decided.
func setShare(g *prometheus.GaugeVec, service string, rep scaling.EffectivenessReport) {
	if rep.Effectiveness == nil {
		g.DeleteLabelValues(service)
		return
	}
	g.WithLabelValues(service).Set(*rep.Effectiveness)
}

// continues reports whether e (Derived.Continued) repeats the state the service's latest
// event at or before it already reports.
func (r *Recorder) continues(ctx context.Context, e scaling.Event) bool {
	before, err := r.opts.Store.ListEvents(ctx, store.EventQuery{Service: e.Service, Until: e.Timestamp, Limit: 8})
	if err != nil {
		r.metrics.storeErrors.WithLabelValues("list").Inc()
		r.log.Log(ctx, store.LogLevel(err, slog.LevelWarn), "reading stored hpa events failed; recording the state as new", "service", e.Service, "err", err)
	}
	for _, m := range [2]map[string]scaling.Event{r.pending, r.unsaved} {
		for _, p := range m {
			if p.Service == e.Service && p.Timestamp <= e.Timestamp {
				before = append(before, p)
			}
		}
	}
	return MatchContinued(e, before)
}

// MatchContinued reports whether e, a limited-scale or no-scale state seen on a source's first
// observation, continues the state reported by the latest of before (events of its service at
// or before it): same namespace, type and reason, and for no-scale the same counts.
func MatchContinued(e scaling.Event, before []scaling.Event) bool {
	var latest *scaling.Event
	for i := range before {
		b := &before[i]
		if b.Namespace != e.Namespace || b.Timestamp > e.Timestamp {
			continue
		}
		if latest == nil || b.Timestamp > latest.Timestamp || (b.Timestamp == latest.Timestamp && b.ID > latest.ID) {
			latest = b
		}
	}
	if latest == nil || latest.EventType != e.EventType || latest.Reason != e.Reason {
		return false
	}
	return e.EventType == scaling.EventLimitedScale || latest.CurrentReplicas == e.CurrentReplicas
}
