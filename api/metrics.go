package api

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	// authFailures counts refused credentials and origins; the refusals themselves are logged
	// at debug only (issue 11, item 11: every 401/403 was a WARN, so a scanner flooded the log).
	authFailures *prometheus.CounterVec
}

// Reasons of kai_http_auth_failures_total.
const (
	authMissing   = "missing"       // no Authorization header
	authMalformed = "malformed"     // not "Bearer <token>"
	authInvalid   = "invalid_token" // the wrong token
	authOrigin    = "origin"        // a write from an origin outside CORS_ORIGINS
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_http_requests_total",
			Help: "HTTP requests answered, by chi route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kai_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by chi route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_store_errors_total",
			Help: "Store operations that failed (not found and refused input excluded), by operation.",
		}, []string{"operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_http_auth_failures_total",
			Help: "API requests refused for their credentials or origin (401 and 403), by reason.",
		}, []string{"reason"}),
	}
	for _, r := range []string{authMissing, authMalformed, authInvalid, authOrigin} {
		m.authFailures.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.storeErrors, m.authFailures)
	}
	return m
}

// instrumentedStore counts failed store operations. Answers that are part of the contract
// (not found, a refused check) are not failures of the store.
type instrumentedStore struct {
	Store
	errors *prometheus.CounterVec
}

func (s instrumentedStore) count(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, scaling.ErrCycle) || errors.Is(err, store.ErrLimit) {
		return err
	}
	var fe *scaling.FieldError
	if errors.As(err, &fe) {
		return err
	}
	s.errors.WithLabelValues(op).Inc()
	return err
}

func (s instrumentedStore) GetPattern(ctx context.Context, service string) (scaling.Pattern, error) {
	v, err := s.Store.GetPattern(ctx, service)
	return v, s.count("get_pattern", err)
}

func (s instrumentedStore) PutPattern(ctx context.Context, p scaling.Pattern) error {
	return s.count("put_pattern", s.Store.PutPattern(ctx, p))
}

func (s instrumentedStore) DeletePattern(ctx context.Context, service string) error {
	return s.count("delete_pattern", s.Store.DeletePattern(ctx, service))
}

// PagePredictions counts as list_predictions, the operation it replaced in the list route.
func (s instrumentedStore) PagePredictions(ctx context.Context, q store.PredictionQuery) ([]scaling.Prediction, error) {
	v, err := s.Store.PagePredictions(ctx, q)
	return v, s.count("list_predictions", err)
}

// PagePatterns counts as list_patterns, the operation it replaced in the list route.
func (s instrumentedStore) PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error) {
	v, err := s.Store.PagePatterns(ctx, after, limit)
	return v, s.count("list_patterns", err)
}

// PageDependencies counts as list_dependencies.
func (s instrumentedStore) PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error) {
	v, err := s.Store.PageDependencies(ctx, after, limit)
	return v, s.count("list_dependencies", err)
}

func (s instrumentedStore) GetDependency(ctx context.Context, key scaling.DependencyKey) (scaling.Dependency, error) {
	v, err := s.Store.GetDependency(ctx, key)
	return v, s.count("get_dependency", err)
}

func (s instrumentedStore) PutDependency(ctx context.Context, d scaling.Dependency, check func([]scaling.Dependency) error) error {
	return s.count("put_dependency", s.Store.PutDependency(ctx, d, check))
}

func (s instrumentedStore) SetDependencyEnabled(ctx context.Context, key scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error) {
	v, err := s.Store.SetDependencyEnabled(ctx, key, enabled, now)
	return v, s.count("set_dependency_enabled", err)
}

func (s instrumentedStore) DeleteDependency(ctx context.Context, key scaling.DependencyKey) error {
	return s.count("delete_dependency", s.Store.DeleteDependency(ctx, key))
}

func (s instrumentedStore) ListEvents(ctx context.Context, q store.EventQuery) ([]scaling.Event, error) {
	v, err := s.Store.ListEvents(ctx, q)
	return v, s.count("list_events", err)
}

func (s instrumentedStore) Ping(ctx context.Context) error {
	return s.count("ping", s.Store.Ping(ctx))
}

func (s instrumentedStore) GetRun(ctx context.Context, id string) (scaling.ForecastRun, error) {
	v, err := s.Store.GetRun(ctx, id)
	return v, s.count("get_run", err)
}

// PageRuns counts as list_runs, the operation it replaced in the list route.
func (s instrumentedStore) PageRuns(ctx context.Context, before store.RunKey, limit int) ([]scaling.ForecastRun, error) {
	v, err := s.Store.PageRuns(ctx, before, limit)
	return v, s.count("list_runs", err)
}

func (s instrumentedStore) ListOverrides(ctx context.Context, service string) ([]scaling.Override, error) {
	v, err := s.Store.ListOverrides(ctx, service)
	return v, s.count("list_overrides", err)
}

// PageOverrides counts as list_overrides, the operation it replaced in the list routes.
func (s instrumentedStore) PageOverrides(ctx context.Context, q store.OverrideQuery) ([]scaling.Override, error) {
	v, err := s.Store.PageOverrides(ctx, q)
	return v, s.count("list_overrides", err)
}

func (s instrumentedStore) PutOverride(ctx context.Context, o scaling.Override) error {
	return s.count("put_override", s.Store.PutOverride(ctx, o))
}

func (s instrumentedStore) DeleteOverride(ctx context.Context, service, id string) error {
	return s.count("delete_override", s.Store.DeleteOverride(ctx, service, id))
}

func (s instrumentedStore) ListDecisions(ctx context.Context, q store.DecisionQuery) ([]scaling.FloorDecision, error) {
	v, err := s.Store.ListDecisions(ctx, q)
	return v, s.count("list_decisions", err)
}

func (s instrumentedStore) ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error) {
	v, err := s.Store.ListShadowDays(ctx, service, limit)
	return v, s.count("list_shadow_days", err)
}
