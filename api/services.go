package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ServiceObserver reports the managed services as observed now and their actual load, for
// the admin page's overview and charts. The forecaster implements it; a ForecastTrigger that
// also implements it is used when Options.Services is nil.
type ServiceObserver interface {
	// ServiceStatuses lists every managed service with its HPA as observed now.
	ServiceStatuses(ctx context.Context) ([]scaling.ServiceStatus, error)
	// LoadHistory reads a service's actual load on the grid start, start+step, ... end.
	// An error reporting UnknownService() true (forecaster.ErrUnknownService) answers 404.
	LoadHistory(ctx context.Context, service string, start, end time.Time, step time.Duration) ([]scaling.LoadPoint, error)
}

// Limits of GET /api/predictive-scaling/load/{service}: a chart needs no more, and they keep
// one request's Prometheus range query far below its 11,000-point limit.
const (
	DefaultLoadSpan = 24 * time.Hour
	MaxLoadSpan     = 8 * 24 * time.Hour
	DefaultLoadStep = 5 * time.Minute
	MinLoadStep     = 15 * time.Second
	MaxLoadPoints   = 2000
)

type servicesBody struct {
	Services []scaling.ServiceStatus `json:"services"`
}

type loadBody struct {
	Service     string              `json:"service"`
	StepSeconds int64               `json:"stepSeconds"`
	Points      []scaling.LoadPoint `json:"points"`
}

func (a *API) observerEnabled() error {
	if a.services == nil {
		return &httpError{status: http.StatusServiceUnavailable, msg: "managed services are not observed on this server (no forecaster: ENABLE_PREDICTIVE_SCALING)"}
	}
	return nil
}

// ManagedSet says which services are managed: the services list in force.
type ManagedSet interface {
	// Manages reports whether service is managed now (the services file is reloadable). Every
	// create or update keyed by a service asks it before storing, so it must be cheap: it
	// observes nothing and queries no history.
	Manages(ctx context.Context, service string) (bool, error)
}

// notManaged is the answer (404) for a service that is not managed, named by the request's
// field (service, sourceService or targetService). It points at GET /api/services rather than
// the services file: the demo manages its own services and has no file.
func notManaged(field, svc string, err error) error {
	return &httpError{status: http.StatusNotFound, field: field, err: err,
		msg: fmt.Sprintf("%s %q is not managed (GET /api/services lists the managed services)", field, svc)}
}

// requireManaged refuses (404, naming field) a create or update for a service that is not
// managed: no planner reads what it would store, and a typo'd name used to be accepted and do
// nothing, silently. DELETE and GET do not ask: a service removed from the services file must
// stay possible to inspect and clean up after.
//
// Without a managed-services source (the API alone, with no actuator to act on what it
// stores) the list is unknown here and the write is accepted, as before: refusing then would
// make every write fail. When the source cannot answer, nothing is stored and the error
// answers as the other handlers' do (500; 503 for an unavailable store or a timeout): a
// write is never accepted unchecked.
func (a *API) requireManaged(ctx context.Context, field, svc string) error {
	if a.managed == nil {
		return nil
	}
	ok, err := a.managed.Manages(ctx, svc)
	if err != nil {
		return fmt.Errorf("ask whether %s is managed: %w", svc, err)
	}
	if !ok {
		return notManaged(field, svc, nil)
	}
	return nil
}

func (a *API) listServices(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	if err := a.observerEnabled(); err != nil {
		return nil, err
	}
	ss, err := a.services.ServiceStatuses(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	if ss == nil {
		ss = []scaling.ServiceStatus{}
	}
	return servicesBody{Services: ss}, nil
}

func (a *API) loadHistory(r *http.Request) (any, error) {
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	start, end, step, err := a.parseLoadRange(r)
	if err != nil {
		return nil, err
	}
	if err := a.observerEnabled(); err != nil {
		return nil, err
	}
	pts, err := a.services.LoadHistory(r.Context(), svc, start, end, step)
	if isUnknownService(err) {
		return nil, notManaged("service", svc, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	if pts == nil {
		pts = []scaling.LoadPoint{}
	}
	return loadBody{Service: svc, StepSeconds: int64(step / time.Second), Points: pts}, nil
}

// parseLoadRange reads since, until (Unix ms or RFC 3339) and step (a duration); until
// defaults to now and since to a day before until.
func (a *API) parseLoadRange(r *http.Request) (start, end time.Time, step time.Duration, err error) {
	q := r.URL.Query()
	if err := onlyParams(q, "since", "until", "step"); err != nil {
		return start, end, 0, err
	}
	end = a.now()
	if s := q.Get("until"); s != "" {
		ms, err := parseTimeParam("until", s)
		if err != nil {
			return start, end, 0, err
		}
		end = time.UnixMilli(ms)
	}
	start = end.Add(-DefaultLoadSpan)
	if s := q.Get("since"); s != "" {
		ms, err := parseTimeParam("since", s)
		if err != nil {
			return start, end, 0, err
		}
		start = time.UnixMilli(ms)
	}
	if !start.Before(end) {
		return start, end, 0, badRequest("since", "since: must be before until")
	}
	if end.Sub(start) > MaxLoadSpan {
		return start, end, 0, badRequest("since", "since: the range may span at most %s, got %s", MaxLoadSpan, end.Sub(start))
	}
	step = DefaultLoadStep
	if s := q.Get("step"); s != "" {
		if step, err = parseDurationParam("step", s, "5m"); err != nil {
			return start, end, 0, err
		}
		if step < MinLoadStep {
			return start, end, 0, badRequest("step", "step: must be at least %s, got %s", MinLoadStep, step)
		}
	}
	if n := end.Sub(start) / step; n >= MaxLoadPoints {
		return start, end, 0, badRequest("step", "step: %s over %s gives more than %d points", step, end.Sub(start), MaxLoadPoints)
	}
	return start.UTC(), end.UTC(), step, nil
}

// parseTimeParam reads Unix milliseconds (a plain decimal, see plainDecimal) or an RFC 3339
// time.
func parseTimeParam(field, s string) (int64, error) {
	if neg, ok := strings.CutPrefix(s, "-"); ok && plainDecimal(neg) {
		return 0, badRequest(field, "%s: must not be negative, got %s", field, s)
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && plainDecimal(s) {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, badRequest(field, "%s: must be Unix milliseconds or an RFC 3339 time, got %q", field, s)
	}
	if t.Before(time.Unix(0, 0)) { // as a negative number of milliseconds is
		return 0, badRequest(field, "%s: must not be before 1970, got %s", field, s)
	}
	return t.UnixMilli(), nil
}
