package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// routeParam matches the {name} placeholders of a chi route pattern.
var routeParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestNamesDecodedOnce: regression test for issue 11, item 6. POST
// /api/predictive-scaling/patterns/%2561 stored service "a": chi had decoded the path once and
// the handler unescaped the parameter again. Every route with a name is tried.
func TestNamesDecodedOnce(t *testing.T) {
	ts := newTestServer(t, newMemStore(), nil)
	var routes [][2]string
	err := chi.Walk(ts.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.Contains(route, "{") {
			routes = append(routes, [2]string{method, route})
		}
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(routes), 17)

	for _, rt := range routes {
		method, route := rt[0], rt[1]
		for _, param := range routeParam.FindAllStringSubmatch(route, -1) {
			t.Run(method+" "+route+" "+param[1], func(t *testing.T) {
				st := newMemStore()
				seed(t, st)
				ts := newTestServer(t, st, func(o *Options) { o.Forecasts = &fakeForecasts{} })
				before := takeSnapshot(t, st)
				path := routeParam.ReplaceAllStringFunc(route, func(p string) string {
					if p == param[0] {
						return "%2561" // "%61" once decoded; "a" if decoded twice
					}
					if p == "{targetService}" {
						return "mobile-optimization"
					}
					return "coordinator"
				})
				rq := request{method: method, path: path}
				if method == http.MethodPost && !strings.HasSuffix(route, "able") && !strings.Contains(route, "forecast") {
					rq.body = `{}`
				}
				rec := ts.do(t, rq)
				if param[1] == "id" {
					// Ids are not names: "%61" is looked up as sent, and is not there.
					require.Equal(t, http.StatusNotFound, rec.Code, "body: %s", rec.Body)
				} else {
					require.Equal(t, http.StatusBadRequest, rec.Code, "body: %s", rec.Body)
					require.Equal(t, param[1], decodeErr(t, rec).Field)
				}
				require.Equal(t, before, takeSnapshot(t, st))
			})
		}
	}

	// Decoded once, a plain escape still names the service.
	st := newMemStore()
	seed(t, st)
	ts = newTestServer(t, st, nil)
	rec := ts.do(t, request{method: "GET", path: "/api/predictive-scaling/patterns/%63oordinator"})
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	require.Contains(t, rec.Body.String(), `"service":"coordinator"`)
}
