package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// seed fills a store with one record of each kind, the feature document's examples.
func seed(t testing.TB, st interface {
	PutPattern(context.Context, scaling.Pattern) error
	PutDependency(context.Context, scaling.Dependency, func([]scaling.Dependency) error) error
	AddPrediction(context.Context, scaling.Prediction) error
	AppendEvents(context.Context, ...scaling.Event) error
}) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.PutPattern(ctx, scaling.Pattern{
		Service: "coordinator", PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
		TimeWindows: []scaling.TimeWindow{{DayOfWeek: ptr(1), HourOfDay: 9, ExpectedLoad: 0.8}},
		LastUpdated: 1623456789000,
	}))
	require.NoError(t, st.PutDependency(ctx, scaling.Dependency{
		SourceService: "coordinator", TargetService: "mobile-optimization",
		DependencyType: scaling.DependencyProportional, Ratio: ptr(0.5), Enabled: true, LastUpdated: 1623456789000,
	}, nil))
	for i, svc := range []string{"coordinator", "search", "coordinator"} {
		require.NoError(t, st.AddPrediction(ctx, scaling.Prediction{
			Service: svc, Model: "seasonal-naive-weekly", FittedAt: testNow.UnixMilli() - int64(3-i)*3600_000,
			ValidUntil: testNow.UnixMilli() + 3600_000, StepSeconds: 300, Quantile: 0.9,
			Points: []scaling.PredictionPoint{{Timestamp: testNow.UnixMilli(), ExpectedLoad: 0.5, UpperLoad: 0.6, RecommendedMinReplicas: 3}},
		}))
	}
	ms := testNow.UnixMilli()
	require.NoError(t, st.AppendEvents(ctx,
		scaling.Event{ID: "e1", Service: "coordinator", EventType: scaling.EventScaleUp, CurrentReplicas: 2, DesiredReplicas: 4, ActualReplicas: ptr(int32(4)),
			TriggerMetric: "resource:cpu", TriggerValue: 85, TriggerThreshold: 70, Outcome: scaling.OutcomeEffective, Timestamp: ms - 3600_000},
		scaling.Event{ID: "e2", Service: "coordinator", EventType: scaling.EventScaleDown, CurrentReplicas: 4, DesiredReplicas: 3,
			TriggerMetric: "resource:cpu", TriggerValue: 40, TriggerThreshold: 70, Outcome: scaling.OutcomeIneffective, Timestamp: ms - 1800_000},
		scaling.Event{ID: "e3", Service: "search", EventType: scaling.EventNoScale, CurrentReplicas: 3, DesiredReplicas: 3,
			TriggerMetric: "pods:http_requests", TriggerValue: 10, TriggerThreshold: 20, Timestamp: ms - 600_000},
		scaling.Event{ID: "e4", Service: "coordinator", EventType: scaling.EventScaleUp, CurrentReplicas: 3, DesiredReplicas: 5, ActualReplicas: ptr(int32(5)),
			TriggerMetric: "resource:cpu", TriggerValue: 90, TriggerThreshold: 70, Outcome: scaling.OutcomeEffective, Timestamp: ms - 48*3600_000},
	))
}

// fakeForecasts is a ForecastTrigger that records runs in memory.
type fakeForecasts struct {
	mu   sync.Mutex
	runs map[string]scaling.ForecastRun
	busy bool
	err  error // when set, Trigger fails with it
}

func (f *fakeForecasts) Trigger(_ context.Context, svc string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return "", fmt.Errorf("forecast: %w", forecaster.ErrBusy)
	}
	if f.err != nil {
		return "", f.err
	}
	if svc != "" && svc != "coordinator" && svc != "search" {
		return "", fmt.Errorf("trigger %s: %w", svc, forecaster.ErrUnknownService)
	}
	id := fmt.Sprintf("run-%d", len(f.runs)+1)
	f.runs[id] = scaling.ForecastRun{ID: id, Trigger: "manual", Service: svc, State: scaling.RunQueued, QueuedAt: testNow.UnixMilli()}
	return id, nil
}

func (f *fakeForecasts) Run(id string) (scaling.ForecastRun, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[id]
	return r, ok
}

func TestRoutes(t *testing.T) {
	const (
		patternJSON = `{"service":"coordinator","patternType":"daily","timeWindows":[{"dayOfWeek":1,"hourOfDay":9,"expectedLoad":0.8}],"source":"manual","lastUpdated":1623456789000}`
		depJSON     = `{"sourceService":"coordinator","targetService":"mobile-optimization","dependencyType":"proportional","ratio":0.5,"enabled":true,"lastUpdated":1623456789000}`
	)
	now := testNow.UnixMilli()
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantBody   string // JSON, compared with JSONEq; empty: no body
		check      func(t *testing.T, st *memStore, body []byte)
	}{
		{name: "list patterns", req: request{method: "GET", path: "/api/predictive-scaling/patterns"},
			wantStatus: 200, wantBody: `{"patterns":[` + patternJSON + `]}`},
		{name: "get pattern", req: request{method: "GET", path: "/api/predictive-scaling/patterns/coordinator"},
			wantStatus: 200, wantBody: patternJSON},
		{name: "get missing pattern", req: request{method: "GET", path: "/api/predictive-scaling/patterns/search"},
			wantStatus: 404, wantBody: `{"error":"not found","field":"service"}`},
		{name: "post seed pattern creates", req: request{method: "POST", path: "/api/predictive-scaling/patterns/search",
			body: `{"patternType":"daily","timeWindows":[{"dayOfWeek":1,"hourOfDay":9,"expectedLoad":0.8}]}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"service":"search","patternType":"daily","timeWindows":[{"dayOfWeek":1,"hourOfDay":9,"expectedLoad":0.8}],"source":"manual","lastUpdated":%d}`, now),
			check: func(t *testing.T, st *memStore, _ []byte) {
				require.Len(t, st.patterns, 2)
				require.Equal(t, now, st.patterns["search"].LastUpdated)
			}},
		{name: "post replaces whole pattern and accepts what GET returned", req: request{method: "POST", path: "/api/predictive-scaling/patterns/coordinator",
			body: `{"service":"coordinator","patternType":"weekly","timezone":"Europe/Paris","timeWindows":[{"dayOfWeek":5,"hourOfDay":16,"expectedLoad":0.9}],"source":"manual","lastUpdated":1}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"service":"coordinator","patternType":"weekly","timezone":"Europe/Paris","timeWindows":[{"dayOfWeek":5,"hourOfDay":16,"expectedLoad":0.9}],"source":"manual","lastUpdated":%d}`, now),
			check: func(t *testing.T, st *memStore, _ []byte) {
				require.Len(t, st.patterns["coordinator"].TimeWindows, 1)
				require.Equal(t, 5, *st.patterns["coordinator"].TimeWindows[0].DayOfWeek)
			}},
		{name: "delete pattern", req: request{method: "DELETE", path: "/api/predictive-scaling/patterns/coordinator"},
			wantStatus: 204, check: func(t *testing.T, st *memStore, _ []byte) { require.Empty(t, st.patterns) }},
		{name: "delete missing pattern", req: request{method: "DELETE", path: "/api/predictive-scaling/patterns/search"},
			wantStatus: 404, wantBody: `{"error":"not found","field":"service"}`},

		{name: "predictions newest first", req: request{method: "GET", path: "/api/predictive-scaling/predictions"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				var b predictionsBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Predictions, 3)
				require.Equal(t, "coordinator", b.Predictions[0].Service)
				require.Greater(t, b.Predictions[0].FittedAt, b.Predictions[1].FittedAt)
				require.Greater(t, b.Predictions[1].FittedAt, b.Predictions[2].FittedAt)
			}},
		{name: "predictions of one service with limit", req: request{method: "GET", path: "/api/predictive-scaling/predictions?service=coordinator&limit=1"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				var b predictionsBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Predictions, 1)
				require.Equal(t, now-3600_000, b.Predictions[0].FittedAt)
			}},
		{name: "predictions of unknown service are empty", req: request{method: "GET", path: "/api/predictive-scaling/predictions?service=nothing"},
			wantStatus: 200, wantBody: `{"predictions":[]}`},

		{name: "list dependencies", req: request{method: "GET", path: "/api/scaling-dependencies"},
			wantStatus: 200, wantBody: `{"dependencies":[` + depJSON + `]}`},
		{name: "get dependency", req: request{method: "GET", path: "/api/scaling-dependencies/coordinator/mobile-optimization"},
			wantStatus: 200, wantBody: depJSON},
		{name: "get missing dependency", req: request{method: "GET", path: "/api/scaling-dependencies/mobile-optimization/coordinator"},
			wantStatus: 404, wantBody: `{"error":"not found","field":"targetService"}`},
		{name: "post seed dependency", req: request{method: "POST", path: "/api/scaling-dependencies/search/auth",
			body: `{"dependencyType":"proportional","ratio":0.5,"enabled":true}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"sourceService":"search","targetService":"auth","dependencyType":"proportional","ratio":0.5,"enabled":true,"lastUpdated":%d}`, now),
			check: func(t *testing.T, st *memStore, _ []byte) { require.Len(t, st.deps, 2) }},
		{name: "post dependency enabled defaults to true", req: request{method: "POST", path: "/api/scaling-dependencies/search/auth",
			body: `{"dependencyType":"minimum","minReplicas":2}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"sourceService":"search","targetService":"auth","dependencyType":"minimum","minReplicas":2,"enabled":true,"lastUpdated":%d}`, now)},
		{name: "post replaces dependency", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization",
			body: `{"dependencyType":"fixed","replicas":3,"enabled":false}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"sourceService":"coordinator","targetService":"mobile-optimization","dependencyType":"fixed","replicas":3,"enabled":false,"lastUpdated":%d}`, now),
			check: func(t *testing.T, st *memStore, _ []byte) {
				d := st.deps[scaling.DependencyKey{Source: "coordinator", Target: "mobile-optimization"}]
				require.Nil(t, d.Ratio)
				require.Equal(t, int32(3), *d.Replicas)
			}},
		{name: "post dependency closing a cycle is 409 naming it", req: request{method: "POST", path: "/api/scaling-dependencies/mobile-optimization/coordinator",
			body: `{"dependencyType":"minimum","minReplicas":1}`},
			wantStatus: 409, wantBody: `{"error":"dependency cycle: mobile-optimization -> coordinator -> mobile-optimization","field":"targetService"}`,
			check: func(t *testing.T, st *memStore, _ []byte) { require.Len(t, st.deps, 1) }},
		{name: "self dependency is 409", req: request{method: "POST", path: "/api/scaling-dependencies/search/search",
			body: `{"dependencyType":"minimum","minReplicas":1}`},
			wantStatus: 409, wantBody: `{"error":"a service cannot depend on itself: search","field":"targetService"}`},
		{name: "disable dependency", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization/disable"},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"sourceService":"coordinator","targetService":"mobile-optimization","dependencyType":"proportional","ratio":0.5,"enabled":false,"lastUpdated":%d}`, now)},
		{name: "enable dependency with empty object body", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization/enable", body: `{}`},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"sourceService":"coordinator","targetService":"mobile-optimization","dependencyType":"proportional","ratio":0.5,"enabled":true,"lastUpdated":%d}`, now)},
		{name: "enable missing dependency", req: request{method: "POST", path: "/api/scaling-dependencies/a/b/enable"},
			wantStatus: 404, wantBody: `{"error":"not found","field":"targetService"}`},
		{name: "delete dependency", req: request{method: "DELETE", path: "/api/scaling-dependencies/coordinator/mobile-optimization"},
			wantStatus: 204, check: func(t *testing.T, st *memStore, _ []byte) { require.Empty(t, st.deps) }},
		{name: "delete missing dependency", req: request{method: "DELETE", path: "/api/scaling-dependencies/a/b"},
			wantStatus: 404, wantBody: `{"error":"not found","field":"targetService"}`},

		{name: "events newest first", req: request{method: "GET", path: "/api/hpa-events"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e3", "e2", "e1", "e4"}, eventIDs(t, body))
			}},
		{name: "events of one service", req: request{method: "GET", path: "/api/hpa-events/coordinator"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e2", "e1", "e4"}, eventIDs(t, body))
			}},
		{name: "events limit", req: request{method: "GET", path: "/api/hpa-events?limit=2"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e3", "e2"}, eventIDs(t, body))
			}},
		{name: "events since unix ms", req: request{method: "GET", path: fmt.Sprintf("/api/hpa-events/coordinator?since=%d", now-3600_000)},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e2", "e1"}, eventIDs(t, body))
			}},
		{name: "events since RFC 3339", req: request{method: "GET", path: "/api/hpa-events?since=2026-11-27T11:30:00Z"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e3", "e2"}, eventIDs(t, body))
			}},
		{name: "events by repeated type", req: request{method: "GET", path: "/api/hpa-events?type=scale-up&type=no-scale"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e3", "e1", "e4"}, eventIDs(t, body))
			}},
		{name: "events by comma-separated type", req: request{method: "GET", path: "/api/hpa-events?type=scale-down,no-scale"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				require.Equal(t, []string{"e3", "e2"}, eventIDs(t, body))
			}},
		{name: "events of a service without any", req: request{method: "GET", path: "/api/hpa-events/auth"},
			wantStatus: 200, wantBody: `{"events":[]}`},
		{name: "effectiveness default window 24h", req: request{method: "GET", path: "/api/hpa-events/coordinator/effectiveness"},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"service":"coordinator","effectiveness":0.5,"window":"24h0m0s","windowSeconds":86400,"since":%d,"until":%d,"scalingEvents":2,"effective":1,"ineffective":1,"pending":0}`, now-86400_000, now)},
		{name: "effectiveness 72h window", req: request{method: "GET", path: "/api/hpa-events/coordinator/effectiveness?window=72h"},
			wantStatus: 200, check: func(t *testing.T, _ *memStore, body []byte) {
				var r scaling.EffectivenessReport
				require.NoError(t, json.Unmarshal(body, &r))
				require.Equal(t, 3, r.ScalingEvents)
				require.InDelta(t, 2.0/3, *r.Effectiveness, 1e-9)
			}},
		{name: "effectiveness without decided events is null", req: request{method: "GET", path: "/api/hpa-events/search/effectiveness"},
			wantStatus: 200, wantBody: fmt.Sprintf(`{"service":"search","effectiveness":null,"window":"24h0m0s","windowSeconds":86400,"since":%d,"until":%d,"scalingEvents":0,"effective":0,"ineffective":0,"pending":0}`, now-86400_000, now)},

		{name: "trigger forecast of all", req: request{method: "POST", path: "/api/predictive-scaling/forecast"},
			wantStatus: 202, wantBody: `{"runId":"run-1","state":"queued"}`},
		{name: "trigger forecast of one", req: request{method: "POST", path: "/api/predictive-scaling/forecast/search"},
			wantStatus: 202, wantBody: `{"runId":"run-1","state":"queued"}`},
		{name: "trigger forecast of unknown service", req: request{method: "POST", path: "/api/predictive-scaling/forecast/nope"},
			wantStatus: 404, wantBody: `{"error":"service \"nope\" is not managed (GET /api/services lists the managed services)","field":"service"}`},
		{name: "unknown run", req: request{method: "GET", path: "/api/predictive-scaling/runs/run-9"},
			wantStatus: 404, wantBody: `{"error":"no forecast run with this id","field":"id"}`},

		{name: "dashboards", req: request{method: "GET", path: "/api/dashboards"},
			wantStatus: 200, wantBody: `{"dashboards":[{"uid":"kai-forecast","title":"Predicted vs actual load","url":"http://grafana.test/d/kai-forecast","selects":{"var-service":"service"}},{"uid":"other","title":"Other","url":"http://grafana.test/d/other"}]}`},
		{name: "openapi document", req: request{method: "GET", path: "/api/openapi.json"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, body []byte) { require.JSONEq(t, string(openAPIDocument), string(body)) }},
		{name: "healthz", req: request{method: "GET", path: "/healthz"}, wantStatus: 200},
		{name: "readyz", req: request{method: "GET", path: "/readyz"}, wantStatus: 200},
		{name: "unknown route is JSON 404", req: request{method: "GET", path: "/api/nothing-here"},
			wantStatus: 404, wantBody: `{"error":"no route for GET /api/nothing-here","field":"path"}`},
		{name: "wrong method is JSON 405", req: request{method: "PUT", path: "/api/predictive-scaling/patterns/coordinator"},
			wantStatus: 405, wantBody: `{"error":"method PUT is not allowed on /api/predictive-scaling/patterns/coordinator","field":"method"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			seed(t, st)
			ts := newTestServer(t, st, func(o *Options) {
				o.Forecasts = &fakeForecasts{runs: map[string]scaling.ForecastRun{}}
				o.Dashboards = []DashboardLink{
					{UID: "kai-forecast", Title: "Predicted vs actual load", URL: "http://grafana.test/d/kai-forecast", Selects: map[string]string{"var-service": "service"}},
					{UID: "other", Title: "Other", URL: "http://grafana.test/d/other"},
				}
			})
			rec := ts.do(t, tt.req)
			require.Equal(t, tt.wantStatus, rec.Code, "body: %s", rec.Body)
			if tt.wantBody != "" {
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				require.JSONEq(t, tt.wantBody, rec.Body.String())
			}
			if rec.Code == http.StatusNoContent {
				require.Empty(t, rec.Body.String())
			}
			if tt.check != nil {
				tt.check(t, st, rec.Body.Bytes())
			}
			if tt.req.method != "PUT" && tt.req.path != "/api/nothing-here" {
				validateResponse(t, tt.req, rec)
			}
		})
	}
}

// Regression test: HEAD answered 405 on every GET route but / (chi routes only the methods
// registered). Over real HTTP, as monitors send it: GET's status and content type, no body.
func TestHeadAnswersLikeGet(t *testing.T) {
	st := newMemStore()
	seed(t, st)
	seedRecords(t, st)
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(New(Options{Store: st, Registerer: reg, Gatherer: reg, Now: fixedNow, Token: "s3cret"}).Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		name       string
		path       string
		noToken    bool
		wantStatus int
	}{
		{name: "healthz", path: "/healthz", wantStatus: 200},
		{name: "readyz", path: "/readyz", wantStatus: 200},
		{name: "metrics", path: "/metrics", wantStatus: 200},
		{name: "openapi document", path: "/api/openapi.json", wantStatus: 200},
		{name: "pattern", path: "/api/predictive-scaling/patterns/coordinator", wantStatus: 200},
		{name: "missing pattern", path: "/api/predictive-scaling/patterns/search", wantStatus: 404},
		{name: "override", path: "/api/predictive-scaling/overrides/checkout/o1", wantStatus: 200},
		{name: "events with a query", path: "/api/hpa-events?type=scale-up", wantStatus: 200},
		{name: "bad query parameter", path: "/api/hpa-events?limit=0", wantStatus: 400},
		{name: "still needs the token", path: "/api/predictive-scaling/patterns", noToken: true, wantStatus: 401},
		{name: "a route without GET", path: "/api/predictive-scaling/forecast", wantStatus: 405},
		{name: "unknown route", path: "/api/nothing-here", wantStatus: 404},
	}
	send := func(t *testing.T, method, path string, token bool) (*http.Response, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		require.NoError(t, err)
		if token {
			req.Header.Set("Authorization", "Bearer s3cret")
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, body := send(t, http.MethodHead, tt.path, !tt.noToken)
			require.Equal(t, tt.wantStatus, head.StatusCode)
			require.Empty(t, body)
			if tt.wantStatus == http.StatusMethodNotAllowed {
				return
			}
			got, getBody := send(t, http.MethodGet, tt.path, !tt.noToken)
			require.Equal(t, got.StatusCode, head.StatusCode)
			require.NotEmpty(t, getBody)
			require.Equal(t, got.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
		})
	}
}

func eventIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var b eventsBody
	require.NoError(t, json.Unmarshal(body, &b))
	ids := []string{}
	for _, e := range b.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestForecastRuns(t *testing.T) {
	ff := &fakeForecasts{runs: map[string]scaling.ForecastRun{}}
	ts := newTestServer(t, newMemStore(), func(o *Options) { o.Forecasts = ff })

	rec := ts.do(t, request{method: "POST", path: "/api/predictive-scaling/forecast/coordinator"})
	require.Equal(t, http.StatusAccepted, rec.Code)
	loc := rec.Header().Get("Location")
	require.Equal(t, "/api/predictive-scaling/runs/run-1", loc)
	validateResponse(t, request{method: "POST", path: "/api/predictive-scaling/forecast/coordinator"}, rec)

	rec = ts.do(t, request{method: "GET", path: loc})
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, fmt.Sprintf(`{"id":"run-1","trigger":"manual","service":"coordinator","state":"queued","queuedAt":%d,"results":[]}`, testNow.UnixMilli()), rec.Body.String())
	validateResponse(t, request{method: "GET", path: loc}, rec)

	ff.busy = true
	rec = ts.do(t, request{method: "POST", path: "/api/predictive-scaling/forecast"})
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Equal(t, msgBusy, decodeErr(t, rec).Error)

	// The run lock cannot be asked about (store down): the run is refused, and it is a 503.
	ff.busy = false
	ff.err = fmt.Errorf("forecast refused: cannot take the cluster-wide run lock: %w", errStoreDown)
	req := request{method: "POST", path: "/api/predictive-scaling/forecast/search"}
	rec = ts.do(t, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	validateResponse(t, req, rec)
}

func TestForecastsDisabled(t *testing.T) {
	ts := newTestServer(t, newMemStore(), nil)
	for _, rq := range []request{
		{method: "POST", path: "/api/predictive-scaling/forecast"},
		{method: "POST", path: "/api/predictive-scaling/forecast/coordinator"},
	} {
		rec := ts.do(t, rq)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rq.path)
		require.Contains(t, decodeErr(t, rec).Error, "forecasting is not enabled")
		validateResponse(t, rq, rec)
	}
	// Runs are read from the store even here: another replica may have run them.
	rq := request{method: "GET", path: "/api/predictive-scaling/runs/x"}
	rec := ts.do(t, rq)
	require.Equal(t, http.StatusNotFound, rec.Code)
	validateResponse(t, rq, rec)
}

// TestRunsFromStore: a replica without a forecaster (or whose forecaster never saw the run)
// answers GET runs/{id} and the run list from the shared store.
func TestRunsFromStore(t *testing.T) {
	st := newMemStore()
	done := scaling.ForecastRun{
		ID: "20261127T150000Z-1", Trigger: "manual", State: scaling.RunSucceeded,
		QueuedAt: testNow.UnixMilli() - 2000, StartedAt: testNow.UnixMilli() - 1900, FinishedAt: testNow.UnixMilli() - 1000,
		Results: []scaling.ServiceForecastResult{{Service: "coordinator", State: scaling.RunSucceeded, Model: "ets", DurationMs: 900, Pattern: "derived"}},
	}
	queued := scaling.ForecastRun{ID: "20261127T150001Z-1", Trigger: "schedule", State: scaling.RunQueued, QueuedAt: testNow.UnixMilli() - 1000}
	require.NoError(t, st.PutRun(t.Context(), done))
	require.NoError(t, st.PutRun(t.Context(), queued))

	for name, ff := range map[string]*fakeForecasts{"no forecaster": nil, "forecaster without the run": {runs: map[string]scaling.ForecastRun{}}} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, st, func(o *Options) {
				if ff != nil {
					o.Forecasts = ff
				}
			})
			rq := request{method: "GET", path: "/api/predictive-scaling/runs/" + done.ID}
			rec := ts.do(t, rq)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			validateResponse(t, rq, rec)
			var got scaling.ForecastRun
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, done, got)

			rq = request{method: "GET", path: "/api/predictive-scaling/runs/" + queued.ID}
			rec = ts.do(t, rq)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Contains(t, rec.Body.String(), `"results":[]`, "a nil result list is answered as []")
			validateResponse(t, rq, rec)

			rq = request{method: "GET", path: "/api/predictive-scaling/runs/nope"}
			rec = ts.do(t, rq)
			require.Equal(t, http.StatusNotFound, rec.Code)
			validateResponse(t, rq, rec)

			rq = request{method: "GET", path: "/api/predictive-scaling/runs"}
			rec = ts.do(t, rq)
			require.Equal(t, http.StatusOK, rec.Code)
			validateResponse(t, rq, rec)
			var list runsBody
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
			require.Len(t, list.Runs, 2)
			require.Equal(t, queued.ID, list.Runs[0].ID, "newest first")
			require.Equal(t, done, list.Runs[1])

			rq = request{method: "GET", path: "/api/predictive-scaling/runs?limit=1"}
			rec = ts.do(t, rq)
			require.Equal(t, http.StatusOK, rec.Code)
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
			require.Len(t, list.Runs, 1)
			require.Equal(t, queued.ID, list.Runs[0].ID)

			for _, bad := range []string{"?limit=0", "?limit=x", "?state=queued"} {
				rq = request{method: "GET", path: "/api/predictive-scaling/runs" + bad}
				rec = ts.do(t, rq)
				require.Equal(t, http.StatusBadRequest, rec.Code, bad)
				validateResponse(t, rq, rec)
			}
		})
	}
}

// TestRunsPreferForecaster: this replica's forecaster knows a run in progress before the
// store does (or when the store is down), so it answers first.
func TestRunsPreferForecaster(t *testing.T) {
	st := newMemStore()
	st.down = fmt.Errorf("redis get: %w", store.ErrUnavailable)
	ff := &fakeForecasts{runs: map[string]scaling.ForecastRun{
		"run-1": {ID: "run-1", Trigger: "manual", State: scaling.RunRunning, QueuedAt: testNow.UnixMilli()},
	}}
	ts := newTestServer(t, st, func(o *Options) { o.Forecasts = ff })
	rec := ts.do(t, request{method: "GET", path: "/api/predictive-scaling/runs/run-1"})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `"state":"running"`)
	rec = ts.do(t, request{method: "GET", path: "/api/predictive-scaling/runs/run-2"})
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, "an unknown id with the store down is not a 404")
}

func TestStoreDown(t *testing.T) {
	st := newMemStore()
	st.down = fmt.Errorf("redis get: dial tcp 127.0.0.1:1: connect: connection refused: %w", store.ErrUnavailable)
	ts := newTestServer(t, st, nil)
	for _, rq := range []request{
		{method: "GET", path: "/api/predictive-scaling/patterns"},
		{method: "GET", path: "/api/predictive-scaling/patterns/coordinator"},
		{method: "POST", path: "/api/predictive-scaling/patterns/coordinator", body: `{"patternType":"daily","timeWindows":[]}`},
		{method: "GET", path: "/api/scaling-dependencies"},
		{method: "POST", path: "/api/scaling-dependencies/a/b", body: `{"dependencyType":"fixed","replicas":1}`},
		{method: "GET", path: "/api/hpa-events"},
		{method: "GET", path: "/api/hpa-events/a/effectiveness"},
		{method: "GET", path: "/api/predictive-scaling/predictions"},
		{method: "GET", path: "/api/predictive-scaling/runs"},
		{method: "GET", path: "/api/predictive-scaling/runs/x"},
		{method: "GET", path: "/readyz"},
	} {
		rec := ts.do(t, rq)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s %s: %s", rq.method, rq.path, rec.Body)
		e := decodeErr(t, rec)
		require.NotContains(t, e.Error, "127.0.0.1", "store details must not leak")
		validateResponse(t, rq, rec)
	}
	rec := ts.do(t, request{method: "GET", path: "/healthz"})
	require.Equal(t, http.StatusOK, rec.Code, "liveness does not depend on the store")
}
