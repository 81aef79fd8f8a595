package api

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name      string
		req       request
		wantCode  int
		wantField string
	}{
		{name: "no header", req: request{method: "GET", path: "/api/predictive-scaling/patterns"}, wantCode: 401, wantField: "Authorization"},
		{name: "basic scheme", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": "Basic czNjcmV0"}}, wantCode: 401, wantField: "Authorization"},
		{name: "bearer without token", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": "Bearer "}}, wantCode: 401, wantField: "Authorization"},
		{name: "token without scheme", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": token}}, wantCode: 401, wantField: "Authorization"},
		{name: "wrong token", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": "Bearer nope"}}, wantCode: 403, wantField: "Authorization"},
		{name: "token prefix", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": "Bearer s3cret"}}, wantCode: 403, wantField: "Authorization"},
		{name: "right token", req: request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Authorization": "Bearer " + token}}, wantCode: 200},
		{name: "scheme is case-insensitive", req: request{method: "GET", path: "/api/scaling-dependencies", header: map[string]string{"Authorization": "bearer " + token}}, wantCode: 200},
		{name: "write without token", req: request{method: "DELETE", path: "/api/predictive-scaling/patterns/coordinator"}, wantCode: 401, wantField: "Authorization"},
		{name: "write with wrong token", req: request{method: "POST", path: "/api/predictive-scaling/patterns/coordinator", body: `{"patternType":"daily","timeWindows":[]}`, header: map[string]string{"Authorization": "Bearer x"}}, wantCode: 403, wantField: "Authorization"},
		{name: "openapi needs token", req: request{method: "GET", path: "/api/openapi.json"}, wantCode: 401, wantField: "Authorization"},
		{name: "unknown api route needs token before 404", req: request{method: "GET", path: "/api/secret-admin"}, wantCode: 401, wantField: "Authorization"},
		{name: "unknown api route with token is 404", req: request{method: "GET", path: "/api/secret-admin", header: map[string]string{"Authorization": "Bearer " + token}}, wantCode: 404, wantField: "path"},
		{name: "healthz open", req: request{method: "GET", path: "/healthz"}, wantCode: 200},
		{name: "readyz open", req: request{method: "GET", path: "/readyz"}, wantCode: 200},
		{name: "metrics open", req: request{method: "GET", path: "/metrics"}, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			seed(t, st)
			before := takeSnapshot(t, st)
			ts := newTestServer(t, st, func(o *Options) { o.Token = token })
			rec := ts.do(t, tt.req)
			require.Equal(t, tt.wantCode, rec.Code, "body: %s", rec.Body)
			if tt.wantCode >= 400 {
				e := decodeErr(t, rec)
				require.Equal(t, tt.wantField, e.Field)
				require.NotContains(t, e.Error, token)
				require.Equal(t, before, takeSnapshot(t, st))
			}
			if tt.wantCode == http.StatusUnauthorized {
				require.Equal(t, `Bearer realm="kai-scaler"`, rec.Header().Get("WWW-Authenticate"))
			}
			if strings.HasPrefix(tt.req.path, "/api/") && tt.req.path != "/api/secret-admin" {
				validateResponse(t, tt.req, rec)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t, newMemStore(), func(o *Options) {
		o.Token = "tok"
		o.CORSOrigins = []string{"https://admin.example.com"}
	})

	t.Run("preflight without token", func(t *testing.T) {
		rec := ts.do(t, request{method: "OPTIONS", path: "/api/predictive-scaling/patterns/coordinator", header: map[string]string{
			"Origin": "https://admin.example.com", "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type",
		}})
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		require.Equal(t, "https://admin.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
		require.Contains(t, strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "authorization")
	})
	t.Run("preflight from another origin is not allowed", func(t *testing.T) {
		rec := ts.do(t, request{method: "OPTIONS", path: "/api/predictive-scaling/patterns", header: map[string]string{
			"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET",
		}})
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("actual request carries CORS headers and still needs the token", func(t *testing.T) {
		rec := ts.do(t, request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Origin": "https://admin.example.com"}})
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.Equal(t, "https://admin.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
		rec = ts.do(t, request{method: "GET", path: "/api/predictive-scaling/patterns", header: map[string]string{"Origin": "https://admin.example.com", "Authorization": "Bearer tok"}})
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "https://admin.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
	})
}

func TestMetrics(t *testing.T) {
	st := newMemStore()
	seed(t, st)
	ts := newTestServer(t, st, nil)
	for _, rq := range []request{
		{method: "GET", path: "/api/predictive-scaling/patterns/coordinator"},
		{method: "GET", path: "/api/predictive-scaling/patterns/search"},
		{method: "GET", path: "/api/predictive-scaling/patterns/auth"},
		{method: "GET", path: "/api/nothing"},
		{method: "BREW", path: "/api/predictive-scaling/patterns"},
	} {
		ts.do(t, rq)
	}
	st.down = errStoreDown
	ts.do(t, request{method: "GET", path: "/api/scaling-dependencies"})

	require.NoError(t, testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP kai_http_requests_total HTTP requests answered, by chi route pattern, method and status code.
# TYPE kai_http_requests_total counter
kai_http_requests_total{code="200",method="GET",route="/api/predictive-scaling/patterns/{service}"} 1
kai_http_requests_total{code="404",method="GET",route="/api/predictive-scaling/patterns/{service}"} 2
kai_http_requests_total{code="404",method="GET",route="unmatched"} 1
kai_http_requests_total{code="405",method="other",route="unmatched"} 1
kai_http_requests_total{code="503",method="GET",route="/api/scaling-dependencies"} 1
# HELP kai_store_errors_total Store operations that failed (not found and refused input excluded), by operation.
# TYPE kai_store_errors_total counter
kai_store_errors_total{operation="list_dependencies"} 1
`), "kai_http_requests_total", "kai_store_errors_total"))
	require.Equal(t, 4, testutil.CollectAndCount(ts.reg, "kai_http_request_duration_seconds"), "one histogram per route and method")

	problems, err := testutil.GatherAndLint(ts.reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestCrossSiteWrites: regression test for issue 11, item 2. Without a token, a page on
// another site could POST text/plain (or no content type) from a browser without a preflight
// and change scaling.
func TestCrossSiteWrites(t *testing.T) {
	const (
		pat   = "/api/predictive-scaling/patterns/coordinator"
		body  = `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`
		admin = "https://admin.example.com"
		evil  = "https://evil.example"
	)
	tests := []struct {
		name      string
		origins   []string
		req       request
		wantCode  int
		wantField string
	}{
		{name: "no content type from another site", origins: []string{admin}, req: request{method: "POST", path: pat, body: body, header: map[string]string{"Content-Type": "", "Origin": evil}}, wantCode: 403, wantField: "Origin"},
		{name: "text/plain from another site", origins: []string{admin}, req: request{method: "POST", path: pat, body: body, header: map[string]string{"Content-Type": "text/plain", "Origin": evil}}, wantCode: 403, wantField: "Origin"},
		{name: "json from another site", origins: []string{admin}, req: request{method: "POST", path: pat, body: body, header: map[string]string{"Origin": evil}}, wantCode: 403, wantField: "Origin"},
		{name: "any origin refused when none is configured", req: request{method: "POST", path: pat, body: body, header: map[string]string{"Origin": admin}}, wantCode: 403, wantField: "Origin"},
		{name: "delete from another site", origins: []string{admin}, req: request{method: "DELETE", path: pat, header: map[string]string{"Origin": evil}}, wantCode: 403, wantField: "Origin"},
		{name: "text/plain without origin", req: request{method: "POST", path: pat, body: body, header: map[string]string{"Content-Type": "text/plain"}}, wantCode: 415, wantField: "Content-Type"},
		{name: "form without origin", req: request{method: "POST", path: pat, body: body, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, wantCode: 415, wantField: "Content-Type"},
		{name: "bodyless enable without content type", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization/disable", header: map[string]string{"Content-Type": ""}}, wantCode: 415, wantField: "Content-Type"},
		{name: "bodyless enable as text/plain", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization/disable", header: map[string]string{"Content-Type": "text/plain"}}, wantCode: 415, wantField: "Content-Type"},
		{name: "bodyless forecast without content type", req: request{method: "POST", path: "/api/predictive-scaling/forecast", header: map[string]string{"Content-Type": ""}}, wantCode: 415, wantField: "Content-Type"},
		{name: "json from a configured origin", origins: []string{admin}, req: request{method: "POST", path: pat, body: body, header: map[string]string{"Origin": admin}}, wantCode: 200},
		{name: "json from any origin with *", origins: []string{"*"}, req: request{method: "POST", path: pat, body: body, header: map[string]string{"Origin": evil}}, wantCode: 200},
		{name: "json without origin (curl, CLI)", req: request{method: "POST", path: pat, body: body}, wantCode: 200},
		{name: "bodyless enable as json", req: request{method: "POST", path: "/api/scaling-dependencies/coordinator/mobile-optimization/disable"}, wantCode: 200},
		{name: "reads from another site are answered", origins: []string{admin}, req: request{method: "GET", path: pat, header: map[string]string{"Origin": evil}}, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			seed(t, st)
			before := takeSnapshot(t, st)
			ts := newTestServer(t, st, func(o *Options) {
				o.CORSOrigins = tt.origins
				o.Forecasts = &fakeForecasts{}
			})
			rec := ts.do(t, tt.req)
			require.Equal(t, tt.wantCode, rec.Code, "body: %s", rec.Body)
			validateResponse(t, tt.req, rec)
			if tt.wantCode >= 400 {
				e := decodeErr(t, rec)
				require.Equal(t, tt.wantField, e.Field)
				require.Equal(t, before, takeSnapshot(t, st), "a refused write changed the store")
			}
		})
	}
}

// TestAuthFailuresAreDebugAndCounted: regression test for issue 11, item 11 (auth half):
// every 401/403 was a WARN, so anyone could flood the log.
func TestAuthFailuresAreDebugAndCounted(t *testing.T) {
	var logs strings.Builder
	ts := newTestServer(t, newMemStore(), func(o *Options) {
		o.Token = "tok"
		o.CORSOrigins = []string{"https://admin.example.com"}
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	for _, h := range []map[string]string{
		nil,
		{"Authorization": "Basic x"},
		{"Authorization": "Bearer nope"},
		{"Authorization": "Bearer nope"},
		{"Authorization": "Bearer tok", "Origin": "https://evil.example"},
	} {
		rec := ts.do(t, request{method: "POST", path: "/api/predictive-scaling/patterns/coordinator", body: `{}`, header: h})
		require.Contains(t, []int{401, 403}, rec.Code, "body: %s", rec.Body)
	}
	require.Empty(t, logs.String(), "refused credentials are logged at debug only")
	require.NoError(t, testutil.GatherAndCompare(ts.reg, strings.NewReader(`
# HELP kai_http_auth_failures_total API requests refused for their credentials or origin (401 and 403), by reason.
# TYPE kai_http_auth_failures_total counter
kai_http_auth_failures_total{reason="invalid_token"} 2
kai_http_auth_failures_total{reason="malformed"} 1
kai_http_auth_failures_total{reason="missing"} 1
kai_http_auth_failures_total{reason="origin"} 1
`), "kai_http_auth_failures_total"))
}
