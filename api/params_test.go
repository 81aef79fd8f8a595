package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// concretePath fills a route pattern's parameters with names the seeded store knows.
func concretePath(route string) string {
	return routeParam.ReplaceAllStringFunc(route, func(p string) string {
		switch p {
		case "{targetService}":
			return "mobile-optimization"
		case "{id}":
			return "r1"
		}
		return "coordinator"
	})
}

// TestEveryRouteRefusesUnknownInput: regression test for issue 11, items 5 and 10. Write
// routes ignored what they did not know (POST …/forecast?service=x ran every service, POST
// …/patterns/s?dryRun=true wrote for real), /api/dashboards took any parameter, and a
// repeated parameter (limit=1&limit=5000) was accepted. Every /api route is tried.
func TestEveryRouteRefusesUnknownInput(t *testing.T) {
	ts := newTestServer(t, newMemStore(), nil)
	var routes [][2]string
	err := chi.Walk(ts.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/") {
			routes = append(routes, [2]string{method, route})
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, routes, 29)

	check := func(t *testing.T, rq request, wantField string) {
		t.Helper()
		st := newMemStore()
		seed(t, st)
		fc := &fakeForecasts{runs: map[string]scaling.ForecastRun{}}
		ts := newTestServer(t, st, func(o *Options) { o.Forecasts = fc })
		before := takeSnapshot(t, st)
		rec := ts.do(t, rq)
		require.Equal(t, http.StatusBadRequest, rec.Code, "body: %s", rec.Body)
		require.Equal(t, wantField, decodeErr(t, rec).Field)
		require.Equal(t, before, takeSnapshot(t, st), "a refused request changed the store")
		require.Empty(t, fc.runs, "a refused request started a forecast run")
		validateResponse(t, rq, rec)
	}
	for _, rt := range routes {
		method, route := rt[0], rt[1]
		path := concretePath(route)
		body := ""
		if method == http.MethodPost && !strings.HasSuffix(route, "able") && !strings.Contains(route, "forecast") {
			body = `{}`
		}
		t.Run(method+" "+route+" unknown parameter", func(t *testing.T) {
			check(t, request{method: method, path: path + "?dryRun=true", body: body}, "dryRun")
		})
		if method != http.MethodPost {
			t.Run(method+" "+route+" body", func(t *testing.T) {
				check(t, request{method: method, path: path, body: `{"service":"x"}`}, "body")
			})
		}
	}

	for _, tt := range []struct {
		name      string
		req       request
		wantField string
	}{
		{"forecast: service as a parameter", request{method: "POST", path: "/api/predictive-scaling/forecast?service=x"}, "service"},
		{"forecast: service in a body", request{method: "POST", path: "/api/predictive-scaling/forecast", body: `{"service":"x"}`}, "service"},
		{"forecast of one: another service in a body", request{method: "POST", path: "/api/predictive-scaling/forecast/coordinator", body: `{"service":"x"}`}, "service"},
		{"pattern: dryRun", request{method: "POST", path: "/api/predictive-scaling/patterns/s?dryRun=true", body: `{"patternType":"daily","timeWindows":[]}`}, "dryRun"},
		{"events: limit twice", request{method: "GET", path: "/api/hpa-events?limit=1&limit=5000"}, "limit"},
		{"predictions: service twice", request{method: "GET", path: "/api/predictive-scaling/predictions?service=a&service=b"}, "service"},
		{"dashboards: unknown parameter", request{method: "GET", path: "/api/dashboards?uid=x"}, "uid"},
	} {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.req, tt.wantField) })
	}

	// Lists may repeat; an empty JSON object is no body for the bodyless POSTs.
	st := newMemStore()
	seed(t, st)
	ts = newTestServer(t, st, func(o *Options) { o.Forecasts = &fakeForecasts{runs: map[string]scaling.ForecastRun{}} })
	rec := ts.do(t, request{method: "GET", path: "/api/hpa-events?type=scale-up&type=no-scale"})
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	rec = ts.do(t, request{method: "POST", path: "/api/predictive-scaling/forecast", body: `{}`})
	require.Equal(t, http.StatusAccepted, rec.Code, "body: %s", rec.Body)
}
