package api

import (
	"context"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// The API's narrow views of the store: only what its routes read and write, declared here
// where they are used. store.Store (Redis or bbolt) provides all of them; the errors are the
// store's (store.ErrNotFound, store.ErrLimit, store.ErrUnavailable, ...), which the API
// answers as documented in openapi.json. Implementations are safe for concurrent use.

// PatternStore serves /api/predictive-scaling/patterns.
type PatternStore interface {
	// PagePatterns returns up to limit patterns of the services after after, sorted by service.
	PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error)
	GetPattern(ctx context.Context, service string) (scaling.Pattern, error)
	PutPattern(ctx context.Context, p scaling.Pattern) error
	DeletePattern(ctx context.Context, service string) error
}

// DependencyStore serves /api/scaling-dependencies.
type DependencyStore interface {
	// PageDependencies returns up to limit dependencies after the key after, sorted by source
	// then target.
	PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error)
	GetDependency(ctx context.Context, key scaling.DependencyKey) (scaling.Dependency, error)
	// PutDependency writes d unless check (given the dependencies that could close a cycle)
	// refuses it.
	PutDependency(ctx context.Context, d scaling.Dependency, check func(existing []scaling.Dependency) error) error
	SetDependencyEnabled(ctx context.Context, key scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error)
	DeleteDependency(ctx context.Context, key scaling.DependencyKey) error
}

// OverrideStore serves /api/predictive-scaling/overrides.
type OverrideStore interface {
	ListOverrides(ctx context.Context, service string) ([]scaling.Override, error)
	// PageOverrides returns up to q.Limit overrides after q.After, sorted by service, start
	// and ID, leaving out those that ended at or before q.EndAfter.
	PageOverrides(ctx context.Context, q store.OverrideQuery) ([]scaling.Override, error)
	PutOverride(ctx context.Context, o scaling.Override) error
	DeleteOverride(ctx context.Context, service, id string) error
}

// RecordReader reads what the forecaster, the actuator and the event recorder wrote:
// predictions, forecast runs, floor decisions, dry-run counterfactuals and HPA events.
type RecordReader interface {
	// PagePredictions returns up to q.Limit predictions after q.Before, newest (fittedAt)
	// first, ties by service.
	PagePredictions(ctx context.Context, q store.PredictionQuery) ([]scaling.Prediction, error)
	GetRun(ctx context.Context, id string) (scaling.ForecastRun, error)
	// PageRuns returns up to limit runs after before, newest (queuedAt) first, ties by ID
	// descending.
	PageRuns(ctx context.Context, before store.RunKey, limit int) ([]scaling.ForecastRun, error)
	// ListDecisions returns a service's decisions newest first, older than q.Before when set.
	ListDecisions(ctx context.Context, q store.DecisionQuery) ([]scaling.FloorDecision, error)
	ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error)
	// ListEvents returns matching events newest first, after q.Before when set.
	ListEvents(ctx context.Context, q store.EventQuery) ([]scaling.Event, error)
}

// Store is everything the API uses of the store, and Ping for /readyz.
type Store interface {
	PatternStore
	DependencyStore
	OverrideStore
	RecordReader
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
}

var _ Store = (store.Store)(nil)
