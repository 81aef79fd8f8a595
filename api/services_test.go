package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

// fakeObserver is a ServiceObserver over fixed statuses; LoadHistory records its arguments
// and answers a ramp with one gap.
type fakeObserver struct {
	statuses         []scaling.ServiceStatus
	gotStart, gotEnd time.Time
	gotStep          time.Duration
}

func (f *fakeObserver) ServiceStatuses(context.Context) ([]scaling.ServiceStatus, error) {
	return f.statuses, nil
}

func (f *fakeObserver) LoadHistory(_ context.Context, svc string, start, end time.Time, step time.Duration) ([]scaling.LoadPoint, error) {
	if svc != "checkout" {
		return nil, fmt.Errorf("load of %s: %w", svc, forecaster.ErrUnknownService)
	}
	f.gotStart, f.gotEnd, f.gotStep = start, end, step
	var pts []scaling.LoadPoint
	for t, i := start, 0; !t.After(end); t, i = t.Add(step), i+1 {
		p := scaling.LoadPoint{Timestamp: t.UnixMilli()}
		if i != 1 {
			p.Load = ptr(float64(i) * 10)
		}
		pts = append(pts, p)
	}
	return pts, nil
}

// observingForecasts is a ForecastTrigger that also observes services, as the forecaster does.
type observingForecasts struct {
	fakeForecasts
	fakeObserver
}

func TestServicesAndLoad(t *testing.T) {
	obs := fakeObserver{statuses: []scaling.ServiceStatus{
		{Service: "checkout", Namespace: "shop", HPA: &scaling.HPAStatus{Name: "checkout", MinReplicas: 6, BaseMinReplicas: 2, MaxReplicas: 20, CurrentReplicas: 7, DesiredReplicas: 8, ObservedAt: testNow.UnixMilli()}},
		{Service: "search", Namespace: "shop", Error: "workload shop/search not observed (no HPA \"search\"?)"},
	}}
	now := testNow.UnixMilli()
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
		wantField  string
		wantRange  [2]int64 // start, end in Unix ms, checked when the call reached the observer
		wantStep   time.Duration
	}{
		{name: "services", path: "/api/services", wantStatus: 200,
			wantBody: `{"services":[{"service":"checkout","namespace":"shop","hpa":{"name":"checkout","minReplicas":6,"baseMinReplicas":2,"maxReplicas":20,"currentReplicas":7,"desiredReplicas":8,"observedAt":` + fmt.Sprint(now) + `}},` +
				`{"service":"search","namespace":"shop","hpa":null,"error":"workload shop/search not observed (no HPA \"search\"?)"}]}`},
		{name: "services refuse a parameter", path: "/api/services?limit=3", wantStatus: 400, wantField: "limit"},
		{name: "load defaults to the last day at 5m", path: "/api/predictive-scaling/load/checkout", wantStatus: 200,
			wantRange: [2]int64{now - 86_400_000, now}, wantStep: 5 * time.Minute},
		{name: "load with a range", path: "/api/predictive-scaling/load/checkout?since=2026-11-27T11:00:00Z&until=" + fmt.Sprint(now) + "&step=30m", wantStatus: 200,
			wantBody:  `{"service":"checkout","stepSeconds":1800,"points":[{"timestamp":` + fmt.Sprint(now-3_600_000) + `,"load":0},{"timestamp":` + fmt.Sprint(now-1_800_000) + `,"load":null},{"timestamp":` + fmt.Sprint(now) + `,"load":20}]}`,
			wantRange: [2]int64{now - 3_600_000, now}, wantStep: 30 * time.Minute},
		{name: "load of an unmanaged service", path: "/api/predictive-scaling/load/nope", wantStatus: 404, wantField: "service"},
		{name: "load with a bad service name", path: "/api/predictive-scaling/load/No_Such", wantStatus: 400, wantField: "service"},
		{name: "load since after until", path: "/api/predictive-scaling/load/checkout?since=" + fmt.Sprint(now) + "&until=" + fmt.Sprint(now-1), wantStatus: 400, wantField: "since"},
		{name: "load over too long a span", path: "/api/predictive-scaling/load/checkout?since=2026-11-01T00:00:00Z", wantStatus: 400, wantField: "since"},
		{name: "load with a bad until", path: "/api/predictive-scaling/load/checkout?until=yesterday", wantStatus: 400, wantField: "until"},
		{name: "load with a negative since", path: "/api/predictive-scaling/load/checkout?since=-5", wantStatus: 400, wantField: "since"},
		{name: "load with too small a step", path: "/api/predictive-scaling/load/checkout?step=1s", wantStatus: 400, wantField: "step"},
		{name: "load with too many points", path: "/api/predictive-scaling/load/checkout?step=15s", wantStatus: 400, wantField: "step"},
		{name: "load with a bad step", path: "/api/predictive-scaling/load/checkout?step=often", wantStatus: 400, wantField: "step"},
		{name: "load with a plus-signed step", path: "/api/predictive-scaling/load/checkout?step=%2B30m", wantStatus: 400, wantField: "step"},
		{name: "load with a negative step", path: "/api/predictive-scaling/load/checkout?step=-30m", wantStatus: 400, wantField: "step"},
		{name: "load refuses an unknown parameter", path: "/api/predictive-scaling/load/checkout?service=x", wantStatus: 400, wantField: "service"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			of := &observingForecasts{fakeForecasts: fakeForecasts{runs: map[string]scaling.ForecastRun{}}, fakeObserver: obs}
			ts := newTestServer(t, newMemStore(), func(o *Options) { o.Forecasts = of })
			rq := request{method: http.MethodGet, path: tc.path}
			rec := ts.do(t, rq)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			validateResponse(t, rq, rec)
			if tc.wantBody != "" {
				require.JSONEq(t, tc.wantBody, rec.Body.String())
			}
			if tc.wantField != "" {
				require.Equal(t, tc.wantField, decodeErr(t, rec).Field)
			}
			if tc.wantStep != 0 {
				require.Equal(t, tc.wantRange, [2]int64{of.gotStart.UnixMilli(), of.gotEnd.UnixMilli()})
				require.Equal(t, tc.wantStep, of.gotStep)
			}
		})
	}
}

// Without an observer (no forecaster here) both routes say so with 503, not an empty list
// the page would show as "no services".
func TestServicesWithoutObserver(t *testing.T) {
	ts := newTestServer(t, newMemStore(), nil)
	for _, path := range []string{"/api/services", "/api/predictive-scaling/load/checkout"} {
		rq := request{method: http.MethodGet, path: path}
		rec := ts.do(t, rq)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		validateResponse(t, rq, rec)
	}
}

// The UI handler is mounted at / and /ui/* without the token; /api keeps it.
func TestUIMountedWithoutToken(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("ui:" + r.URL.Path))
	})
	ts := newTestServer(t, newMemStore(), func(o *Options) { o.UI = ui; o.Token = "s3cret" })
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "ui:/"},
		{"/ui/app.js", 200, "ui:/ui/app.js"},
		{"/api/dashboards", 401, ""},
		{"/elsewhere", 404, ""},
	} {
		rec := ts.do(t, request{method: http.MethodGet, path: tc.path})
		require.Equal(t, tc.status, rec.Code, tc.path)
		if tc.body != "" {
			require.Equal(t, tc.body, rec.Body.String())
		}
	}
}

// The admin page served here writes with its own origin; that is allowed where a rebinding
// page cannot pose as it (issue 13).
func TestWritesFromOwnPage(t *testing.T) {
	const (
		pat  = "/api/predictive-scaling/patterns/coordinator"
		body = `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`
	)
	ui := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name         string
		ui           bool
		token        string
		host, origin string
		wantCode     int
	}{
		{name: "loopback IP", ui: true, host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080", wantCode: 200},
		{name: "localhost", ui: true, host: "localhost:8080", origin: "http://localhost:8080", wantCode: 200},
		{name: "IPv6 loopback", ui: true, host: "[::1]:8080", origin: "http://[::1]:8080", wantCode: 200},
		{name: "a name without token may be a rebinding page", ui: true, host: "evil.example:8080", origin: "http://evil.example:8080", wantCode: 403},
		{name: "a name with token", ui: true, token: "tok", host: "kai.example.com", origin: "https://kai.example.com", wantCode: 200},
		{name: "another origin", ui: true, host: "127.0.0.1:8080", origin: "http://127.0.0.1:9090", wantCode: 403},
		{name: "another scheme", ui: true, host: "127.0.0.1:8080", origin: "file://127.0.0.1:8080", wantCode: 403},
		{name: "no page served here", ui: false, host: "127.0.0.1:8080", origin: "http://127.0.0.1:8080", wantCode: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			before := takeSnapshot(t, st)
			ts := newTestServer(t, st, func(o *Options) {
				o.Token = tc.token
				if tc.ui {
					o.UI = ui
				}
			})
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, pat, strings.NewReader(body))
			req.Host = tc.host
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", tc.origin)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			ts.h.ServeHTTP(rec, req)
			require.Equal(t, tc.wantCode, rec.Code, rec.Body.String())
			if tc.wantCode == 403 {
				require.Equal(t, "Origin", decodeErr(t, rec).Field)
				require.Equal(t, before, takeSnapshot(t, st))
			}
		})
	}
}

func TestPredictionsWithoutPoints(t *testing.T) {
	st := newMemStore()
	seed(t, st)
	ts := newTestServer(t, st, nil)
	for _, tc := range []struct {
		query      string
		wantStatus int
		wantPoints bool
	}{
		{"", 200, true},
		{"?points=true", 200, true},
		{"?service=coordinator&limit=1&points=false", 200, false},
		{"?points=no", 400, false},
	} {
		rq := request{method: http.MethodGet, path: "/api/predictive-scaling/predictions" + tc.query}
		rec := ts.do(t, rq)
		require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
		validateResponse(t, rq, rec)
		if rec.Code != 200 {
			require.Equal(t, "points", decodeErr(t, rec).Field)
			continue
		}
		var body struct{ Predictions []scaling.Prediction }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.NotEmpty(t, body.Predictions)
		for _, p := range body.Predictions {
			require.Equal(t, tc.wantPoints, p.Points != nil, tc.query)
			require.Equal(t, "seasonal-naive-weekly", p.Model)
		}
	}
}
