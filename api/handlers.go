package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Limits of the list endpoints.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
	// MaxEffectivenessWindow matches the store's default event retention: a longer window
	// would silently score fewer events than it claims.
	MaxEffectivenessWindow = 30 * 24 * time.Hour
)

type patternsBody struct {
	Patterns []scaling.Pattern `json:"patterns"`
	// Next, when set, is the cursor of the next page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

type predictionsBody struct {
	Predictions []scaling.Prediction `json:"predictions"`
	// Next, when set, is the cursor of the next (older) page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

type dependenciesBody struct {
	Dependencies []scaling.Dependency `json:"dependencies"`
	// Next, when set, is the cursor of the next page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

type eventsBody struct {
	Events []scaling.Event `json:"events"`
	// Next, when set, is the cursor of the next (older) page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

type dashboardsBody struct {
	Dashboards []DashboardLink `json:"dashboards"`
}

type runAccepted struct {
	RunID string           `json:"runId"`
	State scaling.RunState `json:"state"`
}

// patternRequest is the body of POST /api/predictive-scaling/patterns/{service}. It also
// accepts what GET returns (service, source, lastUpdated), so a client can send back what it
// read; lastUpdated is set by the server and source can only be manual.
type patternRequest struct {
	Service     string                `json:"service"`
	PatternType scaling.PatternType   `json:"patternType"`
	TimeWindows []timeWindowRequest   `json:"timeWindows"`
	Timezone    string                `json:"timezone"`
	Source      scaling.PatternSource `json:"source"`
	LastUpdated *int64                `json:"lastUpdated"`
}

// timeWindowRequest is one window of a patternRequest. Its fields are pointers because
// scaling.TimeWindow cannot tell a missing (or null) hourOfDay or expectedLoad from 0: such a
// window was stored as midnight or as no load.
type timeWindowRequest struct {
	DayOfWeek    *int     `json:"dayOfWeek"`
	HourOfDay    *int     `json:"hourOfDay"`
	ExpectedLoad *float64 `json:"expectedLoad"`
}

// timeWindows returns the request's windows, refusing one without a required field with the
// field's indexed name, as validation names it. Nil stays nil: validation says it is required.
func (req patternRequest) timeWindows() ([]scaling.TimeWindow, error) {
	if req.TimeWindows == nil {
		return nil, nil
	}
	ws := make([]scaling.TimeWindow, len(req.TimeWindows))
	for i, w := range req.TimeWindows {
		f := fmt.Sprintf("timeWindows[%d]", i)
		switch {
		case w.HourOfDay == nil:
			return nil, &scaling.FieldError{Field: f + ".hourOfDay", Msg: "is required (0–23)"}
		case w.ExpectedLoad == nil:
			return nil, &scaling.FieldError{Field: f + ".expectedLoad", Msg: "is required (a fraction 0–1 of full capacity)"}
		}
		ws[i] = scaling.TimeWindow{DayOfWeek: w.DayOfWeek, HourOfDay: *w.HourOfDay, ExpectedLoad: *w.ExpectedLoad}
	}
	return ws, nil
}

// dependencyRequest is the body of POST /api/scaling-dependencies/{source}/{target}; like
// patternRequest it accepts what GET returns. Enabled defaults to true.
type dependencyRequest struct {
	SourceService  string                 `json:"sourceService"`
	TargetService  string                 `json:"targetService"`
	DependencyType scaling.DependencyType `json:"dependencyType"`
	Ratio          *float64               `json:"ratio"`
	Replicas       *int32                 `json:"replicas"`
	MinReplicas    *int32                 `json:"minReplicas"`
	Enabled        *bool                  `json:"enabled"`
	LastUpdated    *int64                 `json:"lastUpdated"`
}

// pathParam is the path parameter name decoded exactly once. chi matches on r.URL.RawPath
// when the URL has one (its parameters are then still escaped) and on the decoded
// r.URL.Path otherwise; unescaping the latter again turned %2561 into "a" (issue 11, item 6).
func pathParam(r *http.Request, name string) string {
	s := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s // a malformed escape stays as sent; validation refuses its '%'
}

func pathService(r *http.Request, name string) (string, error) {
	s := pathParam(r, name)
	if err := scaling.ValidateServiceName(name, s); err != nil {
		return "", err
	}
	return s, nil
}

func pathKey(r *http.Request) (scaling.DependencyKey, error) {
	src, err := pathService(r, "sourceService")
	if err != nil {
		return scaling.DependencyKey{}, err
	}
	dst, err := pathService(r, "targetService")
	if err != nil {
		return scaling.DependencyKey{}, err
	}
	return scaling.DependencyKey{Source: src, Target: dst}, nil
}

// --- patterns ---

// listPatterns answers one page: limit (default DefaultListLimit, at most MaxListLimit)
// patterns sorted by service, after the cursor next; the body's next is set when more follow.
func (a *API) listPatterns(r *http.Request) (any, error) {
	limit, after, err := parsePage(r)
	if err != nil {
		return nil, err
	}
	if after != "" && scaling.ValidateServiceName("next", after) != nil {
		return nil, badRequest("next", "next: not a cursor of this list")
	}
	ps, err := a.store.PagePatterns(r.Context(), after, limit+1)
	if err != nil {
		return nil, fmt.Errorf("list patterns: %w", err)
	}
	body := patternsBody{Patterns: ps}
	if len(ps) > limit {
		body.Patterns = ps[:limit]
		body.Next = encodeCursor(ps[limit-1].Service)
	}
	if body.Patterns == nil {
		body.Patterns = []scaling.Pattern{}
	}
	return body, nil
}

// parsePage reads a list route's limit and next cursor (decoded), refusing other parameters.
func parsePage(r *http.Request) (limit int, after string, err error) {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "next"); err != nil {
		return 0, "", err
	}
	if limit, err = parseLimit(q); err != nil {
		return 0, "", err
	}
	if after, err = nextCursor(q); err != nil {
		return 0, "", err
	}
	return limit, after, nil
}

// encodeCursor makes the opaque next cursor of a page ending at key.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func (a *API) getPattern(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	p, err := a.store.GetPattern(r.Context(), svc)
	if err != nil {
		return nil, onField("service", fmt.Errorf("get pattern of %s: %w", svc, err))
	}
	return p, nil
}

func (a *API) putPattern(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	var req patternRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Service != "" && req.Service != svc {
		return nil, badRequest("service", "service: %q in the body differs from %q in the path", req.Service, svc)
	}
	if req.Source != "" && req.Source != scaling.SourceManual {
		return nil, badRequest("source", "source: patterns written through the API are manual, got %q", req.Source)
	}
	windows, err := req.timeWindows()
	if err != nil {
		return nil, err
	}
	p := scaling.Pattern{
		Service:     svc,
		PatternType: req.PatternType,
		TimeWindows: windows,
		Timezone:    req.Timezone,
		Source:      scaling.SourceManual,
		LastUpdated: a.now().UnixMilli(),
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := a.requireManaged(r.Context(), "service", svc); err != nil {
		return nil, err
	}
	if err := a.store.PutPattern(r.Context(), p); err != nil {
		return nil, fmt.Errorf("put pattern of %s: %w", svc, err)
	}
	return p, nil
}

func (a *API) deletePattern(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	if err := a.store.DeletePattern(r.Context(), svc); err != nil {
		return nil, onField("service", fmt.Errorf("delete pattern of %s: %w", svc, err))
	}
	return &reply{status: http.StatusNoContent}, nil
}

// --- predictions ---

// listPredictions answers one page: limit (default DefaultListLimit, at most MaxListLimit)
// predictions newest first, after the cursor next; the body's next is set when more follow.
func (a *API) listPredictions(r *http.Request) (any, error) {
	q := r.URL.Query()
	if err := onlyParams(q, "service", "limit", "points", "next"); err != nil {
		return nil, err
	}
	withPoints, err := parseBoolParam(q, "points", true)
	if err != nil {
		return nil, err
	}
	svc := q.Get("service")
	if svc != "" {
		if err := scaling.ValidateServiceName("service", svc); err != nil {
			return nil, err
		}
	}
	limit, err := parseLimit(q)
	if err != nil {
		return nil, err
	}
	pq := store.PredictionQuery{Service: svc, Limit: limit + 1}
	if pq.Before, err = decodeNext(q, svc, decodePredictionCursor); err != nil {
		return nil, err
	}
	ps, err := a.store.PagePredictions(r.Context(), pq)
	if err != nil {
		return nil, fmt.Errorf("list predictions: %w", err)
	}
	var body predictionsBody
	body.Predictions, body.Next = cutPage(ps, limit, predictionCursor)
	if !withPoints {
		// A day of 5-minute points is ~30 KB a prediction; an overview of many services
		// needs only the model and its accuracy.
		for i := range body.Predictions {
			body.Predictions[i].Points = nil
		}
	}
	return body, nil
}

// --- forecast runs ---

func (a *API) forecastsEnabled() error {
	if a.forecasts == nil {
		return &httpError{status: http.StatusServiceUnavailable, msg: "forecasting is not enabled on this server (ENABLE_PREDICTIVE_SCALING and PROMETHEUS_URL)"}
	}
	return nil
}

// triggerForecast takes no parameters and no body: the service is named in the path only.
// A ?service= or a body naming one used to be ignored and every service run (issue 11, item 5).
func (a *API) triggerForecast(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	if err := emptyBody(r); err != nil {
		return nil, err
	}
	if err := a.forecastsEnabled(); err != nil {
		return nil, err
	}
	svc := ""
	if chi.URLParam(r, "service") != "" {
		var err error
		if svc, err = pathService(r, "service"); err != nil {
			return nil, err
		}
	}
	id, err := a.forecasts.Trigger(r.Context(), svc)
	if err != nil {
		if isUnknownService(err) {
			return nil, notManaged("service", svc, err)
		}
		return nil, fmt.Errorf("trigger forecast: %w", err)
	}
	return &reply{
		status:   http.StatusAccepted,
		body:     runAccepted{RunID: id, State: scaling.RunQueued},
		location: "/api/predictive-scaling/runs/" + url.PathEscape(id),
	}, nil
}

// getRun answers from this replica's forecaster first (it knows its runs in progress at
// once), then from the store, where every replica records its runs: a run started on another
// replica, or with forecasting disabled here, is found all the same.
func (a *API) getRun(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	id := pathParam(r, "id")
	run, ok := scaling.ForecastRun{}, false
	if a.forecasts != nil {
		run, ok = a.forecasts.Run(id)
	}
	if !ok {
		var err error
		run, err = a.store.GetRun(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &httpError{status: http.StatusNotFound, field: "id", msg: "no forecast run with this id", err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("get run: %w", err)
		}
	}
	if run.Results == nil {
		run.Results = []scaling.ServiceForecastResult{}
	}
	return run, nil
}

type runsBody struct {
	Runs []scaling.ForecastRun `json:"runs"`
	// Next, when set, is the cursor of the next (older) page: pass it back as ?next=.
	Next string `json:"next,omitempty"`
}

// listRuns answers one page from the store, which holds every replica's runs: limit (default
// DefaultListLimit, at most MaxListLimit) newest first, after the cursor next; the body's next
// is set when more follow.
func (a *API) listRuns(r *http.Request) (any, error) {
	limit, c, err := parsePage(r)
	if err != nil {
		return nil, err
	}
	var before store.RunKey
	if c != "" {
		if before, err = decodeRunCursor(c); err != nil {
			return nil, err
		}
	}
	runs, err := a.store.PageRuns(r.Context(), before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var body runsBody
	body.Runs, body.Next = cutPage(runs, limit, runCursor)
	for i := range body.Runs {
		if body.Runs[i].Results == nil {
			body.Runs[i].Results = []scaling.ServiceForecastResult{}
		}
	}
	return body, nil
}

// --- dependencies ---

// listDependencies answers one page, as listPatterns does, sorted by source then target.
func (a *API) listDependencies(r *http.Request) (any, error) {
	limit, after, err := parsePage(r)
	if err != nil {
		return nil, err
	}
	var key scaling.DependencyKey
	if after != "" {
		src, dst, ok := strings.Cut(after, "\x00")
		if !ok || scaling.ValidateServiceName("next", src) != nil || scaling.ValidateServiceName("next", dst) != nil {
			return nil, badRequest("next", "next: not a cursor of this list")
		}
		key = scaling.DependencyKey{Source: src, Target: dst}
	}
	ds, err := a.store.PageDependencies(r.Context(), key, limit+1)
	if err != nil {
		return nil, fmt.Errorf("list dependencies: %w", err)
	}
	body := dependenciesBody{Dependencies: ds}
	if len(ds) > limit {
		body.Dependencies = ds[:limit]
		last := ds[limit-1]
		body.Next = encodeCursor(last.SourceService + "\x00" + last.TargetService)
	}
	if body.Dependencies == nil {
		body.Dependencies = []scaling.Dependency{}
	}
	return body, nil
}

func (a *API) getDependency(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	key, err := pathKey(r)
	if err != nil {
		return nil, err
	}
	d, err := a.store.GetDependency(r.Context(), key)
	if err != nil {
		return nil, onField("targetService", fmt.Errorf("get dependency %s -> %s: %w", key.Source, key.Target, err))
	}
	return d, nil
}

func (a *API) putDependency(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	key, err := pathKey(r)
	if err != nil {
		return nil, err
	}
	var req dependencyRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.SourceService != "" && req.SourceService != key.Source {
		return nil, badRequest("sourceService", "sourceService: %q in the body differs from %q in the path", req.SourceService, key.Source)
	}
	if req.TargetService != "" && req.TargetService != key.Target {
		return nil, badRequest("targetService", "targetService: %q in the body differs from %q in the path", req.TargetService, key.Target)
	}
	d := scaling.Dependency{
		SourceService:  key.Source,
		TargetService:  key.Target,
		DependencyType: req.DependencyType,
		Ratio:          req.Ratio,
		Replicas:       req.Replicas,
		MinReplicas:    req.MinReplicas,
		Enabled:        req.Enabled == nil || *req.Enabled,
		LastUpdated:    a.now().UnixMilli(),
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if c := scaling.FindCycle(nil, d); c != nil { // a self-dependency needs no store round trip
		return nil, onField("targetService", c)
	}
	if err := a.requireManagedKey(r, key); err != nil {
		return nil, err
	}
	err = a.store.PutDependency(r.Context(), d, func(existing []scaling.Dependency) error {
		if c := scaling.FindCycle(existing, d); c != nil {
			return c
		}
		return nil
	})
	if err != nil {
		return nil, onField("targetService", fmt.Errorf("put dependency %s -> %s: %w", key.Source, key.Target, err))
	}
	return d, nil
}

// requireManagedKey refuses a dependency unless both its services are managed (see
// requireManaged). The actuator plans floors for managed services only: with an unmanaged
// target the dependency never acts, and with an unmanaged source it never contributes a
// floor but holds the target's forever ("dependency source ... is not observed; not
// lowering").
func (a *API) requireManagedKey(r *http.Request, key scaling.DependencyKey) error {
	if err := a.requireManaged(r.Context(), "sourceService", key.Source); err != nil {
		return err
	}
	return a.requireManaged(r.Context(), "targetService", key.Target)
}

func (a *API) deleteDependency(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	key, err := pathKey(r)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteDependency(r.Context(), key); err != nil {
		return nil, onField("targetService", fmt.Errorf("delete dependency %s -> %s: %w", key.Source, key.Target, err))
	}
	return &reply{status: http.StatusNoContent}, nil
}

func (a *API) enableDependency(r *http.Request) (any, error)  { return a.setEnabled(r, true) }
func (a *API) disableDependency(r *http.Request) (any, error) { return a.setEnabled(r, false) }

func (a *API) setEnabled(r *http.Request, enabled bool) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	key, err := pathKey(r)
	if err != nil {
		return nil, err
	}
	if err := emptyBody(r); err != nil {
		return nil, err
	}
	if enabled { // disabling one between services no longer managed stays possible, as deleting it does
		if err := a.requireManagedKey(r, key); err != nil {
			return nil, err
		}
	}
	d, err := a.store.SetDependencyEnabled(r.Context(), key, enabled, a.now())
	if err != nil {
		return nil, onField("targetService", fmt.Errorf("set dependency %s -> %s enabled=%t: %w", key.Source, key.Target, enabled, err))
	}
	return d, nil
}

// --- HPA events ---

// listEvents answers one page: limit (default DefaultListLimit, at most MaxListLimit) events
// newest first, after the cursor next; the body's next is set when more follow.
func (a *API) listEvents(r *http.Request) (any, error) {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "since", "type", "next"); err != nil {
		return nil, err
	}
	eq := store.EventQuery{}
	if chi.URLParam(r, "service") != "" {
		svc, err := pathService(r, "service")
		if err != nil {
			return nil, err
		}
		eq.Service = svc
	}
	limit, err := parseLimit(q)
	if err != nil {
		return nil, err
	}
	eq.Limit = limit + 1
	if eq.Since, err = parseSince(q.Get("since")); err != nil {
		return nil, err
	}
	if eq.Types, err = parseTypes(q["type"]); err != nil {
		return nil, err
	}
	if eq.Before, err = decodeNext(q, eq.Service, decodeEventCursor); err != nil {
		return nil, err
	}
	evs, err := a.store.ListEvents(r.Context(), eq)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	var body eventsBody
	body.Events, body.Next = cutPage(evs, limit, eventCursor)
	return body, nil
}

func (a *API) effectiveness(r *http.Request) (any, error) {
	svc, err := pathService(r, "service")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if err := onlyParams(q, "window"); err != nil {
		return nil, err
	}
	window := a.effWindow
	if s := q.Get("window"); s != "" {
		d, err := parseDurationParam("window", s, "24h or 90m")
		if err != nil {
			return nil, err
		}
		if d < time.Minute || d > MaxEffectivenessWindow {
			return nil, badRequest("window", "window: must be between 1m and %s, got %s", MaxEffectivenessWindow, d)
		}
		window = d
	}
	now := a.now()
	evs, err := a.store.ListEvents(r.Context(), store.EventQuery{Service: svc, Since: now.Add(-window).UnixMilli(), Until: now.UnixMilli()})
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", svc, err)
	}
	return hpaevents.Effectiveness(svc, evs, now, window), nil
}

// --- dashboards ---

func (a *API) listDashboards(r *http.Request) (any, error) {
	if err := noQuery(r); err != nil {
		return nil, err
	}
	return dashboardsBody{Dashboards: a.dashboards}, nil
}

// --- query parameters ---

func noQuery(r *http.Request) error { return onlyParams(r.URL.Query()) }

// onlyParams refuses query parameters the route does not know, so a typo ("servce=") or a
// flag the route does not have ("dryRun=true" on a write) is an error instead of being
// ignored; and a parameter given twice ("limit=1&limit=5000": which one counts?), except
// those that are lists (issue 11, items 5 and 10); and one given empty ("limit=", "next=",
// "since="), which is a client's unset variable more often than a wish for the default, and
// once read "next=" as the first page again. Every route calls it, through noQuery when it
// takes none.
func onlyParams(q url.Values, known ...string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same request always names the same parameter
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return badRequest(k, "%s: unknown query parameter", k)
		}
		if len(q[k]) > 1 && !repeatable(k) {
			return badRequest(k, "%s: given %d times; give it once", k, len(q[k]))
		}
		if slices.Contains(q[k], "") {
			return badRequest(k, "%s: empty; give a value or leave the parameter out", k)
		}
	}
	return nil
}

// repeatable reports whether a query parameter is a list that may be repeated (type=a&type=b).
func repeatable(name string) bool { return name == "type" }

func parseLimit(q url.Values) (int, error) {
	return parseCount(q, "limit", DefaultListLimit, MaxListLimit)
}

// parseCount reads an optional count from 1 to most, def when absent. Present, it must be
// written as a plain decimal: "limit=" (present but empty), "+5" and "05" are refused, as
// they are more likely a client's bug than a count.
func parseCount(q url.Values, name string, def, most int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	s := q.Get(name)
	n, err := strconv.Atoi(s)
	if !plainDecimal(s) || err != nil || n < 1 || n > most {
		return 0, badRequest(name, "%s: must be a decimal integer from 1 to %d (no sign, no leading zero), got %q", name, most, s)
	}
	return n, nil
}

// plainDecimal reports whether s is the digits of a non-negative integer with no sign and no
// leading zero: the one way to write it that strconv and time parsers do not merely tolerate.
func plainDecimal(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseDurationParam reads a query parameter's Go duration, example being what the error
// suggests instead. A sign is refused, as parseCount refuses one: time.ParseDuration takes
// "+72h" (sent escaped, so a client built it on purpose) and "-72h", and no span or step is
// meant by either; a minus reads as a client's subtraction gone the wrong way.
func parseDurationParam(name, s, example string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		return 0, badRequest(name, "%s: must be a duration such as %s (no sign), got %q", name, example, s)
	}
	return d, nil
}

// parseBoolParam reads an optional "true" or "false".
func parseBoolParam(q url.Values, name string, def bool) (bool, error) {
	switch q.Get(name) {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badRequest(name, "%s: must be true or false, got %q", name, q.Get(name))
}

// parseSince reads Unix milliseconds or an RFC 3339 time; "" is an absent since (onlyParams
// has refused a present but empty one).
func parseSince(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return parseTimeParam("since", s)
}

func parseTypes(vals []string) ([]scaling.EventType, error) {
	var types []scaling.EventType
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			t := scaling.EventType(s)
			ok := false
			for _, k := range scaling.EventTypes {
				ok = ok || k == t
			}
			if !ok {
				return nil, badRequest("type", "type: must be one of scale-up, scale-down, no-scale, limited-scale, got %q", s)
			}
			types = append(types, t)
		}
	}
	return types, nil
}

// emptyBody accepts no body, or an empty JSON object (some clients always send one).
func emptyBody(r *http.Request) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	var v struct{}
	if err := decodeJSON(r, &v); err != nil && !errors.Is(err, errEmptyBody) {
		return err
	}
	return nil
}
