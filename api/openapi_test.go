package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestOpenAPIDocumentValidates(t *testing.T) {
	doc, err := openAPI()
	require.NoError(t, err)
	require.Equal(t, "3.0.3", doc.OpenAPI)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.NotEmpty(t, op.Summary, "%s %s", method, path)
			require.NotEmpty(t, op.Responses.Map(), "%s %s", method, path)
		}
	}
}

// TestOpenAPICoversRouter walks the real router: every route and method it serves is
// documented, and every documented operation is served.
func TestOpenAPICoversRouter(t *testing.T) {
	doc, err := openAPI()
	require.NoError(t, err)
	a := New(Options{Store: newMemStore(), Gatherer: prometheus.NewRegistry()})
	var served []string
	err = chi.Walk(a.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+route)
		return nil
	})
	require.NoError(t, err)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	require.Equal(t, documented, served)
	require.Len(t, served, 32)
}

// TestOpenAPISeedExamples validates every request and response example of the feature
// document (copied into testdata/seed) against its operation's schema.
func TestOpenAPISeedExamples(t *testing.T) {
	doc, err := openAPI()
	require.NoError(t, err)
	tests := []struct {
		file         string
		path, method string
		status       int // 0: the request body
	}{
		{file: "pattern.json", path: "/api/predictive-scaling/patterns/{service}", method: "POST"},
		{file: "pattern-post.request.json", path: "/api/predictive-scaling/patterns/{service}", method: "POST"},
		{file: "patterns-list.response.json", path: "/api/predictive-scaling/patterns", method: "GET", status: 200},
		{file: "dependency-post.request.json", path: "/api/scaling-dependencies/{sourceService}/{targetService}", method: "POST"},
		{file: "dependencies-list.response.json", path: "/api/scaling-dependencies", method: "GET", status: 200},
		{file: "events-list.response.json", path: "/api/hpa-events", method: "GET", status: 200},
		{file: "events-list.response.json", path: "/api/hpa-events/{service}", method: "GET", status: 200},
		{file: "effectiveness.response.json", path: "/api/hpa-events/{service}/effectiveness", method: "GET", status: 200},
	}
	files, err := filepath.Glob("testdata/seed/*.json")
	require.NoError(t, err)
	used := map[string]bool{}
	for _, tt := range tests {
		used[filepath.Join("testdata/seed", tt.file)] = true
	}
	require.Len(t, used, len(files), "every seed example is checked")

	for _, tt := range tests {
		t.Run(tt.file+" "+tt.method+" "+tt.path, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/seed", tt.file))
			require.NoError(t, err)
			var v any
			require.NoError(t, json.Unmarshal(raw, &v))
			op := doc.Paths.Find(tt.path).GetOperation(tt.method)
			require.NotNil(t, op)
			var schema *openapi3.Schema
			if tt.status == 0 {
				schema = op.RequestBody.Value.Content.Get("application/json").Schema.Value
			} else {
				schema = op.Responses.Status(tt.status).Value.Content.Get("application/json").Schema.Value
			}
			require.NoError(t, schema.VisitJSON(v))
		})
	}
}

// TestOpenAPISchemasRefuse makes sure the schemas are not vacuous: malformed bodies fail.
func TestOpenAPISchemasRefuse(t *testing.T) {
	doc, err := openAPI()
	require.NoError(t, err)
	for _, tt := range []struct{ schema, body string }{
		{"PatternRequest", `{"patternType":"hourly","timeWindows":[]}`},
		{"PatternRequest", `{"patternType":"daily","timeWindows":[{"hourOfDay":24,"expectedLoad":0.5}]}`},
		{"PatternRequest", `{"patternType":"daily","timeWindows":[],"extra":1}`},
		{"DependencyRequest", `{"dependencyType":"proportional","ratio":0}`},
		{"OverrideRequest", `{"start":"2026-12-24T08:00:00Z","end":"2026-12-24T20:00:00Z","minReplicas":3,"reason":"   "}`},
		{"TimeWindow", `{"dayOfWeek":1,"hourOfDay":9}`},
		{"Event", `{"service":"a","eventType":"scale-sideways","currentReplicas":1,"desiredReplicas":1,"timestamp":1}`},
		{"Error", `{"field":"x"}`},
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(tt.body), &v))
		require.Error(t, doc.Components.Schemas[tt.schema].Value.VisitJSON(v), "%s %s", tt.schema, tt.body)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t, newMemStore(), nil)
	rec := ts.do(t, request{method: "GET", path: "/api/openapi.json"})
	require.Equal(t, http.StatusOK, rec.Code)
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"))
}
