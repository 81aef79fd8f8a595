package store

import (
	"context"
	"errors"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ErrNotFound is returned when the record asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps every failure to reach the backing store (Redis down, timeouts,
// a closed database); the API answers it with 503.
var ErrUnavailable = errors.New("store unavailable")

// PatternStore keeps one load pattern per service. Writes replace the whole pattern:
// concurrent writers never produce a mix of two patterns. Safe for concurrent use.
type PatternStore interface {
	ListPatterns(ctx context.Context) ([]scaling.Pattern, error)
	// PagePatterns returns up to limit (> 0) patterns of the services after after ("" for
	// the first page), sorted by service: a page reads only its own patterns.
	PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error)
	// GetPattern returns ErrNotFound when service has no pattern.
	GetPattern(ctx context.Context, service string) (scaling.Pattern, error)
	// PutPattern returns an error wrapping ErrLimit when p's service has no pattern and
	// Limits.MaxPatterns are stored.
	PutPattern(ctx context.Context, p scaling.Pattern) error
	// PutDerivedPattern writes p (Source derived) unless a manual pattern is stored for its
	// service, atomically; written is false when a manual pattern was kept. ErrLimit as PutPattern.
	PutDerivedPattern(ctx context.Context, p scaling.Pattern) (written bool, err error)
	// DeletePattern returns ErrNotFound when service has no pattern.
	DeletePattern(ctx context.Context, service string) error
}

// PredictionKey is a prediction's place in listing order: FittedAt descending, then Service
// ascending. A service has one prediction per FittedAt, so no two predictions share a key.
type PredictionKey struct {
	FittedAt int64
	Service  string
}

// PredictionKeyOf is p's place in listing order.
func PredictionKeyOf(p scaling.Prediction) PredictionKey {
	return PredictionKey{FittedAt: p.FittedAt, Service: p.Service}
}

// IsZero reports whether k is the zero key, which continues no listing.
func (k PredictionKey) IsZero() bool { return k == PredictionKey{} }

// PredictionQuery selects one page of predictions.
type PredictionQuery struct {
	// Service "" means every service.
	Service string
	// Before is the key of the previous page's last prediction: only the predictions after it
	// in listing order (fitted earlier, or at the same time by a later service) are returned.
	// Zero for the first page.
	Before PredictionKey
	// Limit <= 0 means no limit.
	Limit int
}

// PredictionStore keeps the most recent predictions per service (at least the last 24).
// Safe for concurrent use.
type PredictionStore interface {
	AddPrediction(ctx context.Context, p scaling.Prediction) error
	// ListPredictions returns predictions newest (FittedAt) first, ties by service, of one
	// service or of all when service is ""; limit <= 0 means no limit.
	ListPredictions(ctx context.Context, service string, limit int) ([]scaling.Prediction, error)
	// PagePredictions returns up to q.Limit predictions of q.Service after q.Before, in the
	// order of ListPredictions. A page reads at most q.Limit predictions of each service.
	PagePredictions(ctx context.Context, q PredictionQuery) ([]scaling.Prediction, error)
}

// DependencyStore keeps scaling dependencies keyed by (source, target). Safe for concurrent use.
type DependencyStore interface {
	ListDependencies(ctx context.Context) ([]scaling.Dependency, error)
	// PageDependencies returns up to limit (> 0) dependencies after the key after (zero for
	// the first page), sorted by source then target.
	PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error)
	// GetDependency returns ErrNotFound when the pair has no dependency.
	GetDependency(ctx context.Context, key scaling.DependencyKey) (scaling.Dependency, error)
	// PutDependency writes d after check accepted the stored dependencies, atomically: no
	// other write lands between the check and the write, so two writers can never close a
	// cycle together. check is given at least every stored dependency on a path from d's
	// target back to d's source (Redis gives exactly those, so a write reads only what is
	// reachable from d's target; Bolt gives every dependency reachable from d's target). check's error is returned unchanged and nothing is written. A new
	// pair when Limits.MaxDependencies are stored is refused with an error wrapping ErrLimit.
	PutDependency(ctx context.Context, d scaling.Dependency, check func(existing []scaling.Dependency) error) error
	// SetDependencyEnabled flips Enabled and sets LastUpdated; ErrNotFound when absent.
	SetDependencyEnabled(ctx context.Context, key scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error)
	// DeleteDependency returns ErrNotFound when the pair has no dependency.
	DeleteDependency(ctx context.Context, key scaling.DependencyKey) error
}

// EventKey is an event's place in listing order: by Timestamp, then ID, then Service, all
// descending. The service tells apart the events of two services that share an ID and a
// Timestamp, so no two stored events share a key.
type EventKey struct {
	Timestamp int64
	ID        string
	Service   string
}

// EventKeyOf is e's place in listing order.
func EventKeyOf(e scaling.Event) EventKey {
	return EventKey{Timestamp: e.Timestamp, ID: e.ID, Service: e.Service}
}

// IsZero reports whether k is the zero key, which continues no listing (every stored event
// has an ID).
func (k EventKey) IsZero() bool { return k == EventKey{} }

// EventQuery selects HPA events. Zero values select everything.
type EventQuery struct {
	// Service "" means every service.
	Service string
	// Since and Until bound Timestamp (Unix ms), inclusive; 0 means unbounded.
	Since, Until int64
	// Types empty means every type.
	Types []scaling.EventType
	// Before is the key of the previous page's last event: only the events after it in
	// listing order (older, or as old with a smaller ID) are returned. Zero for the first page.
	Before EventKey
	// Limit <= 0 means no limit.
	Limit int
}

// EventRetention bounds each service's event log; older and surplus events are dropped on append.
type EventRetention struct {
	MaxPerService int
	MaxAge        time.Duration
}

// DefaultEventRetention keeps 10,000 events or 30 days per service, whichever is fewer.
var DefaultEventRetention = EventRetention{MaxPerService: 10000, MaxAge: 30 * 24 * time.Hour}

// EventStore is an append-only log of HPA events per service. Safe for concurrent use.
type EventStore interface {
	// AppendEvents stores events idempotently by ID: an event whose ID is already stored
	// replaces it (so ActualReplicas and Outcome can be filled in later), never duplicates it.
	AppendEvents(ctx context.Context, events ...scaling.Event) error
	// ListEvents returns matching events newest first (ties by ID, then service, descending:
	// the order of EventKey), merged across services.
	ListEvents(ctx context.Context, q EventQuery) ([]scaling.Event, error)
}

// Forecast run retention: a RunStore keeps the newest MaxRuns runs queued within RunMaxAge.
const (
	MaxRuns   = 100
	RunMaxAge = 7 * 24 * time.Hour
)

// RunStore keeps forecast runs, so every replica answers GET of a run any replica started.
// Retention: it keeps the newest MaxRuns runs (by QueuedAt) queued within RunMaxAge of the
// store's clock; older and surplus runs are dropped in the same atomic write as the PutRun
// that made them so (a run put with an old QueuedAt is dropped at once). Safe for concurrent use.
type RunStore interface {
	// PutRun stores r, replacing any run with its ID whole.
	PutRun(ctx context.Context, r scaling.ForecastRun) error
	// GetRun returns ErrNotFound when no run has id (never stored, or dropped by retention).
	GetRun(ctx context.Context, id string) (scaling.ForecastRun, error)
	// ListRuns returns runs newest (QueuedAt, ties by ID descending) first; limit <= 0 means no limit.
	ListRuns(ctx context.Context, limit int) ([]scaling.ForecastRun, error)
	// PageRuns returns up to limit runs after before (zero for the first page) in the order of
	// ListRuns; limit <= 0 means no limit.
	PageRuns(ctx context.Context, before RunKey, limit int) ([]scaling.ForecastRun, error)
}

// RunKey is a run's place in listing order: QueuedAt, then ID, both descending. IDs are
// unique, so no two runs share a key.
type RunKey struct {
	QueuedAt int64
	ID       string
}

// RunKeyOf is r's place in listing order.
func RunKeyOf(r scaling.ForecastRun) RunKey { return RunKey{QueuedAt: r.QueuedAt, ID: r.ID} }

// IsZero reports whether k is the zero key, which continues no listing (every run has an ID).
func (k RunKey) IsZero() bool { return k == RunKey{} }

// ErrLockNotHeld is returned by Unlock when owner does not hold the lock (it expired, was
// taken over, or was never taken).
var ErrLockNotHeld = errors.New("lock not held by this owner")

// LockStore keeps named leases shared by every replica using the store: a lock has one owner
// (an opaque token the caller makes unique, e.g. per run) and a TTL, so the lock of a holder
// that crashed expires by itself and another owner can take it. Only the owner renews or
// releases it. The holder must renew well within the TTL; a lock is only as safe as that.
// A failure to reach the backend is an error wrapping ErrUnavailable, never a false answer
// that would read as "held elsewhere". Safe for concurrent use.
type LockStore interface {
	// TryLock takes lock name for owner for ttl (> 0) when it is free or expired, without
	// waiting; when owner already holds it, it extends it to ttl (so a retry after a lost
	// reply succeeds). False when another owner holds it.
	TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// RenewLock sets the lock's TTL to ttl from now if owner still holds it; false otherwise
	// (expired, or taken by another owner).
	RenewLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if owner holds it; ErrLockNotHeld otherwise (nothing changes).
	Unlock(ctx context.Context, name, owner string) error
}

// OverrideKey is an override's place in listing order: by service, then Start, then ID.
type OverrideKey struct {
	Service string
	Start   time.Time
	ID      string
}

// OverrideKeyOf is o's place in listing order.
func OverrideKeyOf(o scaling.Override) OverrideKey {
	return OverrideKey{Service: o.Service, Start: o.Start, ID: o.ID}
}

// IsZero reports whether k is the zero key, before every override.
func (k OverrideKey) IsZero() bool { return k.Service == "" && k.Start.IsZero() && k.ID == "" }

// OverrideQuery selects one page of overrides.
type OverrideQuery struct {
	// Service "" means every service.
	Service string
	// After is the key of the previous page's last override; zero for the first page.
	After OverrideKey
	// EndAfter, when set, leaves out the overrides that ended at or before it.
	EndAfter time.Time
	// Limit (> 0) is the most overrides returned.
	Limit int
}

// OverrideStore keeps scheduled overrides keyed by (service, ID). Safe for concurrent use.
type OverrideStore interface {
	// PutOverride stores o, replacing any override of its service with its ID. A new override
	// when its service has Limits.MaxOverridesPerService overrides that have not ended (End
	// after the store's clock) is refused with an error wrapping ErrLimit, atomically with the
	// write: concurrent writers never exceed the cap together.
	PutOverride(ctx context.Context, o scaling.Override) error
	// ListOverrides returns the overrides of service, or of all when service is "", sorted by
	// service, Start and ID.
	ListOverrides(ctx context.Context, service string) ([]scaling.Override, error)
	// PageOverrides returns up to q.Limit overrides after q.After in the order of
	// ListOverrides. Both stores read every override of q.Service (of every service when "")
	// to answer a page: overrides are few, and capped per service.
	PageOverrides(ctx context.Context, q OverrideQuery) ([]scaling.Override, error)
	// DeleteOverride returns ErrNotFound when service has no override with id.
	DeleteOverride(ctx context.Context, service, id string) error
	// PruneOverrides deletes every override that ended at or before now and returns how many.
	PruneOverrides(ctx context.Context, now time.Time) (int, error)
}

// DecisionQuery selects floor decisions of one service. Zero values select everything.
type DecisionQuery struct {
	Service string
	// Since bounds Timestamp (Unix ms), inclusive; 0 means unbounded.
	Since int64
	// Before, when set, is the Timestamp of the previous page's last decision: only older
	// decisions are returned. A service has one decision per Timestamp, so the Timestamp alone
	// is a decision's place in listing order. A pointer because every Timestamp, 0 included,
	// is one a decision can have; nil for the first page.
	Before *int64
	// Limit <= 0 means no limit.
	Limit int
}

// DecisionStore keeps each service's floor decisions under the store's retention (the
// EventRetention that bounds HPA events: older and surplus decisions are dropped on append).
// A decision of the same service and Timestamp replaces the earlier one. Safe for concurrent use.
type DecisionStore interface {
	AddDecision(ctx context.Context, d scaling.FloorDecision) error
	// ListDecisions returns q.Service's decisions newest first (by Timestamp, which is unique
	// per service).
	ListDecisions(ctx context.Context, q DecisionQuery) ([]scaling.FloorDecision, error)
}

// ShadowMaxDays is how many days of dry-run counterfactuals a ShadowStore keeps per service.
const ShadowMaxDays = 35

// ShadowStore keeps one ShadowDay per service and UTC day, the newest ShadowMaxDays per
// service (older days are dropped on put). Safe for concurrent use.
type ShadowStore interface {
	// PutShadowDay stores d, replacing the record of its service and day.
	PutShadowDay(ctx context.Context, d scaling.ShadowDay) error
	// ListShadowDays returns service's days newest first, at most limit (<= 0: all kept).
	ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error)
}

// Store is every record kind together, as one backend provides them.
type Store interface {
	PatternStore
	PredictionStore
	DependencyStore
	EventStore
	RunStore
	LockStore
	OverrideStore
	DecisionStore
	ShadowStore
	// Ping reports whether the backend answers; /readyz fails while it does not.
	Ping(ctx context.Context) error
	Close() error
}
