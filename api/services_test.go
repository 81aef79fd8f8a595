package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

// The forecaster is the ServiceObserver app wires in (through Options.Forecasts, found by a
// type assertion): a method missing there would silently lose /api/services.
var _ ServiceObserver = (*forecaster.Forecaster)(nil)

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

// managedNames is a ManagedSet over fixed names, or failing with err when it is set.
type managedNames struct {
	names []string
	err   error
}

func (m managedNames) Manages(_ context.Context, svc string) (bool, error) {
	return slices.Contains(m.names, svc), m.err
}

// withFixtureServices gives the API a forecast trigger and a managed-services list holding
// every service the test fixtures write (seed, seedRecords, the bad-input table).
func withFixtureServices(o *Options) {
	o.Forecasts = &fakeForecasts{runs: map[string]scaling.ForecastRun{}}
	o.Managed = managedNames{names: []string{"coordinator", "mobile-optimization", "search", "auth", "checkout"}}
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

// Writes keyed by a service: with a managed-services source a create or update for a service
// it does not manage is refused (404 naming the field) and stores nothing; reads and deletes
// still work for one, which the services file no longer names ("gone" below, stored before it
// was removed). Without a source every service is accepted, as before; when the source fails,
// nothing is stored.
func TestWritesNeedAManagedService(t *testing.T) {
	const (
		pat      = "/api/predictive-scaling/patterns/"
		dep      = "/api/scaling-dependencies/"
		patBody  = `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`
		ovBody   = `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"launch"}`
		depBody  = `{"dependencyType":"minimum","minReplicas":2}`
		noList   = "no list"
		list     = "list"
		listFail = "list fails"
	)
	type row struct {
		name       string
		mode       string // noList: no forecaster; list: it manages checkout and search; listFail: it cannot answer
		req        request
		wantStatus int
		wantField  string // of an error answer
		wantMsg    string // of an error answer, when set
		// then is read after req: what it answers shows what req stored (or did not).
		then         request
		thenStatus   int
		thenContains string
	}
	getPat := func(svc string) request { return request{method: http.MethodGet, path: pat + svc} }
	listOv := func(svc string) request { return request{method: http.MethodGet, path: overridesPath + "/" + svc} }
	getDep := func(src, dst string) request { return request{method: http.MethodGet, path: dep + src + "/" + dst} }
	post := func(path, body string) request { return request{method: http.MethodPost, path: path, body: body} }
	const emptyOverrides = `{"overrides":[]}`
	tests := []row{
		{name: "pattern of a managed service", mode: list, req: post(pat+"checkout", patBody), wantStatus: 200,
			then: getPat("checkout"), thenStatus: 200, thenContains: `"service":"checkout"`},
		{name: "pattern of an unmanaged service", mode: list, req: post(pat+"chekout", patBody), wantStatus: 404, wantField: "service",
			wantMsg: `service "chekout" is not managed (GET /api/services lists the managed services)`,
			then:    getPat("chekout"), thenStatus: 404},
		{name: "pattern replaced for a service no longer managed", mode: list, req: post(pat+"gone", patBody), wantStatus: 404, wantField: "service",
			then: getPat("gone"), thenStatus: 200, thenContains: `"patternType":"weekly"`},
		{name: "pattern of a service no longer managed is read", mode: list, req: getPat("gone"), wantStatus: 200},
		{name: "pattern of a service no longer managed is deleted", mode: list, req: request{method: http.MethodDelete, path: pat + "gone"}, wantStatus: 204,
			then: getPat("gone"), thenStatus: 404},
		{name: "pattern of any service without a list", mode: noList, req: post(pat+"chekout", patBody), wantStatus: 200,
			then: getPat("chekout"), thenStatus: 200, thenContains: `"service":"chekout"`},
		{name: "pattern when the list fails", mode: listFail, req: post(pat+"checkout", patBody), wantStatus: 500,
			then: getPat("checkout"), thenStatus: 404},

		{name: "override of a managed service", mode: list, req: post(overridesPath+"/checkout", ovBody), wantStatus: 201,
			then: listOv("checkout"), thenStatus: 200, thenContains: `"reason":"launch"`},
		{name: "override of an unmanaged service", mode: list, req: post(overridesPath+"/chekout", ovBody), wantStatus: 404, wantField: "service",
			wantMsg: `service "chekout" is not managed (GET /api/services lists the managed services)`,
			then:    listOv("chekout"), thenStatus: 200, thenContains: emptyOverrides},
		{name: "overrides of a service no longer managed are listed", mode: list, req: listOv("gone"), wantStatus: 200},
		{name: "override of a service no longer managed is read", mode: list, req: request{method: http.MethodGet, path: overridesPath + "/gone/g1"}, wantStatus: 200},
		{name: "override of a service no longer managed is deleted", mode: list, req: request{method: http.MethodDelete, path: overridesPath + "/gone/g1"}, wantStatus: 204,
			then: listOv("gone"), thenStatus: 200, thenContains: emptyOverrides},
		{name: "override of any service without a list", mode: noList, req: post(overridesPath+"/chekout", ovBody), wantStatus: 201,
			then: listOv("chekout"), thenStatus: 200, thenContains: `"service":"chekout"`},
		{name: "override when the list fails", mode: listFail, req: post(overridesPath+"/checkout", ovBody), wantStatus: 500,
			then: listOv("checkout"), thenStatus: 200, thenContains: emptyOverrides},

		{name: "dependency between managed services", mode: list, req: post(dep+"checkout/search", depBody), wantStatus: 200,
			then: getDep("checkout", "search"), thenStatus: 200, thenContains: `"minReplicas":2`},
		{name: "dependency on an unmanaged source", mode: list, req: post(dep+"chekout/search", depBody), wantStatus: 404, wantField: "sourceService",
			wantMsg: `sourceService "chekout" is not managed (GET /api/services lists the managed services)`,
			then:    getDep("chekout", "search"), thenStatus: 404},
		{name: "dependency of an unmanaged target", mode: list, req: post(dep+"checkout/serch", depBody), wantStatus: 404, wantField: "targetService",
			then: getDep("checkout", "serch"), thenStatus: 404},
		{name: "dependency on a source no longer managed is enabled", mode: list, req: post(dep+"gone/checkout/enable", ""), wantStatus: 404, wantField: "sourceService",
			then: getDep("gone", "checkout"), thenStatus: 200, thenContains: `"enabled":false`},
		{name: "dependency on a source no longer managed is disabled", mode: list, req: post(dep+"gone/checkout/disable", ""), wantStatus: 200,
			then: getDep("gone", "checkout"), thenStatus: 200, thenContains: `"enabled":false`},
		{name: "dependency on a source no longer managed is deleted", mode: list, req: request{method: http.MethodDelete, path: dep + "gone/checkout"}, wantStatus: 204,
			then: getDep("gone", "checkout"), thenStatus: 404},
		{name: "dependency between any services without a list", mode: noList, req: post(dep+"chekout/serch", depBody), wantStatus: 200,
			then: getDep("chekout", "serch"), thenStatus: 200},
		{name: "dependency when the list fails", mode: listFail, req: post(dep+"checkout/search", depBody), wantStatus: 500,
			then: getDep("checkout", "search"), thenStatus: 404},

		{name: "forecast of an unmanaged service", mode: list, req: post("/api/predictive-scaling/forecast/chekout", ""), wantStatus: 404, wantField: "service",
			wantMsg: `service "chekout" is not managed (GET /api/services lists the managed services)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			ctx := t.Context()
			require.NoError(t, st.PutPattern(ctx, scaling.Pattern{Service: "gone", PatternType: scaling.PatternWeekly, Source: scaling.SourceManual,
				TimeWindows: []scaling.TimeWindow{{DayOfWeek: ptr(1), HourOfDay: 9, ExpectedLoad: 0.5}}}))
			require.NoError(t, st.PutOverride(ctx, scaling.Override{ID: "g1", Service: "gone", Start: testNow.Add(time.Hour), End: testNow.Add(2 * time.Hour),
				MinReplicas: ptr[int32](4), Reason: "before it was removed", CreatedAt: 1}))
			require.NoError(t, st.PutDependency(ctx, scaling.Dependency{SourceService: "gone", TargetService: "checkout",
				DependencyType: scaling.DependencyMinimum, MinReplicas: ptr[int32](2)}, nil))
			ts := newTestServer(t, st, func(o *Options) {
				o.Forecasts = &fakeForecasts{runs: map[string]scaling.ForecastRun{}}
				switch tc.mode {
				case list:
					o.Managed = managedNames{names: []string{"checkout", "search"}}
				case listFail:
					o.Managed = managedNames{err: errors.New("services source down")}
				}
			})
			rec := ts.do(t, tc.req)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			validateResponse(t, tc.req, rec)
			if tc.wantField != "" || tc.wantMsg != "" {
				e := decodeErr(t, rec)
				require.Equal(t, tc.wantField, e.Field, e.Error)
				if tc.wantMsg != "" {
					require.Equal(t, tc.wantMsg, e.Error)
				}
			}
			if tc.then.method == "" {
				return
			}
			rec = ts.do(t, tc.then)
			require.Equal(t, tc.thenStatus, rec.Code, "%s %s: %s", tc.then.method, tc.then.path, rec.Body)
			require.Contains(t, rec.Body.String(), tc.thenContains)
		})
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
