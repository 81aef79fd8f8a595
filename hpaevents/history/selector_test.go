package history

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"io"
	"log/slog"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestSelectorMatchesNamesExactly(t *testing.T) {
	// Issue 11, item 7: a dotted HPA name built a selector Prometheus refused.
	tests := []struct {
		name     string
		services []scaling.ManagedService
		match    map[string]bool // HPA name -> matched
	}{
		{"dotted", []scaling.ManagedService{{Name: "web", Namespace: "shop", HPA: "web.v2"}},
			map[string]bool{"web.v2": true, "webxv2": false, "web.v2x": false, "aweb.v2": false}},
		{"several, with regexp metacharacters", []scaling.ManagedService{
			{Name: "a", Namespace: "shop", HPA: "a+b"}, {Name: "c", Namespace: "ops", HPA: "c|d"}, {Name: "e", Namespace: "shop"}},
			map[string]bool{"a+b": true, "c|d": true, "e": true, "aab": false, "c": false, "d": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Source{opts: Options{Services: tc.services, Selector: `job="kube-state-metrics"`}}
			sel := "kube_horizontalpodautoscaler_spec_min_replicas" + h.selector()
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(sel)
			require.NoError(t, err, sel)
			vs, ok := expr.(*parser.VectorSelector)
			require.True(t, ok)
			var hpa *labels.Matcher
			for _, m := range vs.LabelMatchers {
				if m.Name == "horizontalpodautoscaler" {
					hpa = m
				}
			}
			require.NotNil(t, hpa, sel)
			for name, want := range tc.match {
				require.Equal(t, want, hpa.Matches(name), "%s against %s", name, sel)
			}
		})
	}
}

func TestHistorySourceReadsDottedNamesPrometheus(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-10 * time.Minute)
	var om bytes.Buffer
	om.WriteString("# TYPE kube_horizontalpodautoscaler_spec_min_replicas gauge\n")
	for _, hpa := range []string{"web.v2", "webxv2"} {
		for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
			min := 3
			if hpa == "webxv2" {
				min = 7
			}
			fmt.Fprintf(&om, "kube_horizontalpodautoscaler_spec_min_replicas{namespace=\"shop\",horizontalpodautoscaler=%q} %d %d\n", hpa, min, ts.Unix())
		}
	}
	om.WriteString("# EOF\n")
	srv := promtest.Start(t, &om)
	client, err := promquery.New(promquery.Options{URL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	h, err := New(Options{Querier: client, Sink: discardSink{}, Step: time.Minute,
		Services: []scaling.ManagedService{{Name: "web", Namespace: "shop", HPA: "web.v2"}},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	s, err := h.read(t.Context(), start, end)
	require.NoError(t, err, "Prometheus accepts the dotted name's selector")
	require.Len(t, s.MinReplicas, 1, "web.v2 exactly, not webxv2")
	require.Equal(t, "web.v2", s.MinReplicas[0].Labels["horizontalpodautoscaler"])
	require.Equal(t, 3.0, s.MinReplicas[0].Samples[0].V)
}

type discardSink struct{}

func (discardSink) Observe(context.Context, hpaevents.Observation) {}

// FuzzSelector: whatever the names in the services file, the history query's selector parses
// and its matchers match those names exactly (issue 11: the query builders are fuzzed).
func FuzzSelector(f *testing.F) {
	for _, seed := range [][2]string{{"web.v2", "shop"}, {`a"b`, "ns"}, {`back\slash`, "x|y"}, {"a+b", "(c)"}, {"", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, hpa, ns string) {
		if hpa == "" || ns == "" || !utf8.ValidString(hpa) || !utf8.ValidString(ns) {
			return
		}
		h := &Source{opts: Options{Services: []scaling.ManagedService{{Name: "svc", Namespace: ns, HPA: hpa}}}}
		sel := "kube_horizontalpodautoscaler_spec_min_replicas" + h.selector()
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(sel)
		require.NoError(t, err, sel)
		vs, ok := expr.(*parser.VectorSelector)
		require.True(t, ok, sel)
		for _, m := range vs.LabelMatchers {
			switch m.Name {
			case "horizontalpodautoscaler":
				require.True(t, m.Matches(hpa), sel)
				require.False(t, m.Matches(hpa+"x"), sel)
			case "namespace":
				require.True(t, m.Matches(ns), sel)
				require.False(t, m.Matches("x"+ns), sel)
			}
		}
	})
}
