package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// testNow is the fixed clock of handler tests: Friday 2026-11-27 12:00 UTC.
var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

type testServer struct {
	api *API
	h   http.Handler
	reg *prometheus.Registry
}

func newTestServer(t testing.TB, st store.Store, mod func(*Options)) testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{Store: st, Registerer: reg, Gatherer: reg, Now: fixedNow}
	if mod != nil {
		mod(&opts)
	}
	a := New(opts)
	return testServer{api: a, h: a.Handler(), reg: reg}
}

// request describes one HTTP request of a test table.
type request struct {
	method, path, body string
	header             map[string]string
	// added holds values added after header's: a header given more than once.
	added http.Header
}

func (ts testServer) do(t testing.TB, rq request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req := httptest.NewRequestWithContext(t.Context(), rq.method, rq.path, body)
	if rq.body != "" || rq.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // a header entry "" removes it
	}
	for k, v := range rq.header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	for k, vs := range rq.added {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, req)
	return rec
}

func decodeErr(t testing.TB, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "body: %s", rec.Body)
	var e errorBody
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e))
	require.NotEmpty(t, e.Error)
	return e
}

// snapshot is every record a store holds, to prove a refused request changed nothing.
type snapshot struct {
	Patterns     []scaling.Pattern
	Dependencies []scaling.Dependency
	Predictions  []scaling.Prediction
	Events       []scaling.Event
	Overrides    []scaling.Override
	Decisions    []scaling.FloorDecision
}

func takeSnapshot(t testing.TB, st store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	s.Patterns, err = st.ListPatterns(ctx)
	require.NoError(t, err)
	s.Dependencies, err = st.ListDependencies(ctx)
	require.NoError(t, err)
	s.Predictions, err = st.ListPredictions(ctx, "", 0)
	require.NoError(t, err)
	s.Events, err = st.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	s.Overrides, err = st.ListOverrides(ctx, "")
	require.NoError(t, err)
	for _, svc := range []string{"coordinator", "search", "checkout"} {
		ds, err := st.ListDecisions(ctx, store.DecisionQuery{Service: svc})
		require.NoError(t, err)
		s.Decisions = append(s.Decisions, ds...)
	}
	return s
}

// openAPI loads and validates api/openapi.json once per test binary.
var openAPI = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return doc, nil
})

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil // match any host
	return legacy.NewRouter(doc)
})

// validateResponse checks a recorded answer against the OpenAPI document's operation for
// the request: status listed, headers and body matching the schema.
func validateResponse(t testing.TB, rq request, rec *httptest.ResponseRecorder) {
	t.Helper()
	router, err := openAPIRouter()
	require.NoError(t, err)
	req := httptest.NewRequest(rq.method, "http://kai.test"+rq.path, nil)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in openapi.json", rq.method, rq.path)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  rec.Code,
		Header:  rec.Header(),
		Body:    io.NopCloser(strings.NewReader(rec.Body.String())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in), "%s %s -> %d %s", rq.method, rq.path, rec.Code, rec.Body)
}

func ptr[T any](v T) *T { return &v }
