package history

import (
	"bytes"
	"context"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// ksmState is what kube-state-metrics exports of one HPA at one time.
type ksmState struct {
	current, desired, min, max int32
	// metrics: name -> {target type, target, current}
	metrics []ksmMetric
	limited bool
}

type ksmMetric struct {
	name, targetType string
	target, current  float64
}

// scriptedDay is the known scenario: three HPAs over a day, sampled every 30 s.
//
// checkout (cpu utilization, target 70 %, replicas 2–10):
//
//	08:00 scale-up 2→3 (one sample shows the divergence)
//	12:00 scale-up 3→7 (the samples miss the divergence: 3/3, then 7/7)
//	13:00 scale 7→10 clamped by maxReplicas (wanted 14), limited until 13:30
//	18:00 cpu falls to 30 %: held 5 minutes by scale-down stabilization, then 10→5 at 18:05
//
// search (pods http_requests average 100 and external queue_depth value 500, replicas 3–20):
//
//	10:00 scale-up 4→9 driven by the second metric, queue_depth (http_requests asks only 5)
//
// auth: steady all day.
func scriptedDay(d time.Duration) map[string]ksmState {
	const h = time.Hour
	cpu := func(v float64) []ksmMetric { return []ksmMetric{{"cpu", "utilization", 70, v}} }
	var c ksmState
	switch {
	case d < 8*h:
		c = ksmState{current: 2, desired: 2, metrics: cpu(40)}
	case d < 8*h+30*time.Second:
		c = ksmState{current: 2, desired: 3, metrics: cpu(95)}
	case d < 12*h:
		c = ksmState{current: 3, desired: 3, metrics: cpu(65)}
	case d < 13*h:
		c = ksmState{current: 7, desired: 7, metrics: cpu(64)}
	case d < 13*h+30*time.Second:
		c = ksmState{current: 7, desired: 10, metrics: cpu(140), limited: true}
	case d < 13*h+30*time.Minute:
		c = ksmState{current: 10, desired: 10, metrics: cpu(98), limited: true}
	case d < 18*h:
		c = ksmState{current: 10, desired: 10, metrics: cpu(65)}
	case d < 18*h+5*time.Minute:
		c = ksmState{current: 10, desired: 10, metrics: cpu(30)}
	case d < 18*h+5*time.Minute+30*time.Second:
		c = ksmState{current: 10, desired: 5, metrics: cpu(30)}
	default:
		c = ksmState{current: 5, desired: 5, metrics: cpu(60)}
	}
	c.min, c.max = 2, 10

	s := ksmState{min: 3, max: 20}
	searchMetrics := func(http, queue float64) []ksmMetric {
		return []ksmMetric{{"http_requests", "average", 100, http}, {"queue_depth", "value", 500, queue}}
	}
	switch {
	case d < 10*h:
		s.current, s.desired, s.metrics = 4, 4, searchMetrics(80, 300)
	case d < 10*h+30*time.Second:
		s.current, s.desired, s.metrics = 4, 9, searchMetrics(120, 1100)
	default:
		s.current, s.desired, s.metrics = 9, 9, searchMetrics(60, 480)
	}
	return map[string]ksmState{
		"checkout": c,
		"search":   s,
		"auth":     {current: 2, desired: 2, min: 2, max: 6, metrics: cpu(50)},
	}
}

// writeKSM writes the scenario as kube-state-metrics series in OpenMetrics text.
func writeKSM(t *testing.T, start time.Time, n int, step time.Duration) []byte {
	t.Helper()
	states := make([]map[string]ksmState, n)
	for i := range states {
		states[i] = scriptedDay(time.Duration(i) * step)
	}
	hpas := []string{"auth", "checkout", "search"}
	var buf bytes.Buffer
	w := promtest.NewWriter(&buf)
	labels := func(hpa string, extra ...string) map[string]string {
		l := map[string]string{"namespace": "shop", "horizontalpodautoscaler": hpa, "job": "kube-state-metrics"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	series := func(f func(i int) (float64, bool)) []promtest.Sample {
		out := make([]promtest.Sample, 0, n)
		for i := 0; i < n; i++ {
			if v, ok := f(i); ok {
				out = append(out, promtest.Sample{T: start.Add(time.Duration(i) * step), V: v})
			}
		}
		return out
	}
	for _, fam := range []struct {
		name string
		get  func(s ksmState) float64
	}{
		{ksmCurrent, func(s ksmState) float64 { return float64(s.current) }},
		{ksmDesired, func(s ksmState) float64 { return float64(s.desired) }},
		{ksmMin, func(s ksmState) float64 { return float64(s.min) }},
		{ksmMax, func(s ksmState) float64 { return float64(s.max) }},
	} {
		for _, h := range hpas {
			w.Samples(fam.name, labels(h), series(func(i int) (float64, bool) { return fam.get(states[i][h]), true }))
		}
	}
	for _, fam := range []struct {
		name    string
		current bool
	}{{ksmSpecTarget, false}, {ksmStatusTarget, true}} {
		for _, h := range hpas {
			for mi, m := range states[0][h].metrics {
				w.Samples(fam.name, labels(h, "metric_name", m.name, "metric_target_type", m.targetType),
					series(func(i int) (float64, bool) {
						mm := states[i][h].metrics[mi]
						if fam.current {
							return mm.current, true
						}
						return mm.target, true
					}))
			}
		}
	}
	for _, h := range hpas {
		for _, cond := range []string{hpaevents.CondAbleToScale, hpaevents.CondScalingActive, hpaevents.CondScalingLimited} {
			for _, st := range []string{"true", "false", "unknown"} {
				w.Samples(ksmCondition, labels(h, "condition", cond, "status", st), series(func(i int) (float64, bool) {
					is := "true"
					if cond == hpaevents.CondScalingLimited && !states[i][h].limited {
						is = "false"
					}
					if is == st {
						return 1, true
					}
					return 0, true
				}))
			}
		}
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestHistorySourceReproducesScriptedDay(t *testing.T) {
	const step = 30 * time.Second
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-24 * time.Hour)
	n := int(end.Sub(start)/step) + 1
	srv := promtest.Start(t, bytes.NewReader(writeKSM(t, start, n, step)))
	client, err := promquery.New(promquery.Options{URL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)

	services := []scaling.ManagedService{
		{Name: "checkout", Namespace: "shop"}, {Name: "search", Namespace: "shop"}, {Name: "auth", Namespace: "shop"},
	}
	backfill := func(t *testing.T, s store.EventStore, reg prometheus.Registerer, from, to time.Time) {
		t.Helper()
		rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: s, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		src, err := New(Options{Querier: client, Sink: rec, Services: services, Step: step, Selector: `job="kube-state-metrics"`, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		require.NoError(t, src.Backfill(t.Context(), from, to))
		require.NoError(t, rec.Flush(t.Context()))
	}
	open := func(t *testing.T) *store.Bolt {
		b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}

	whole := open(t)
	reg := prometheus.NewPedanticRegistry()
	t0 := time.Now()
	backfill(t, whole, reg, start, end)
	t.Logf("backfilled 24 h of 3 HPAs at %s steps in %s", step, time.Since(t0).Round(time.Millisecond))
	want := listAll(t, whole)

	const h = time.Hour
	require.Equal(t, []ev{
		{Type: scaling.EventScaleDown, Current: 10, Desired: 5, Trigger: "resource:cpu", Value: 30, Threshold: 70, At: 18*h + 5*time.Minute},
		{Type: scaling.EventNoScale, Current: 10, Desired: 10, Trigger: "resource:cpu", Value: 30, Threshold: 70, Reason: hpaevents.ReasonScaleDownStabilized, At: 18 * h},
		{Type: scaling.EventLimitedScale, Current: 7, Desired: 10, Trigger: "resource:cpu", Value: 140, Threshold: 70, Reason: hpaevents.ReasonTooManyReplicas, At: 13 * h},
		{Type: scaling.EventScaleUp, Current: 3, Desired: 7, Trigger: "resource:cpu", Value: 64, Threshold: 70, At: 12 * h},
		{Type: scaling.EventScaleUp, Current: 4, Desired: 9, Trigger: "external:queue_depth", Value: 1100, Threshold: 500, At: 10 * h},
		{Type: scaling.EventScaleUp, Current: 2, Desired: 3, Trigger: "resource:cpu", Value: 95, Threshold: 70, At: 8 * h},
	}, summarizeFrom(start, want))
	wantActual := []int32{5, 10, 10, 7, 9, 3}
	wantOutcome := []scaling.EventOutcome{scaling.OutcomeEffective, scaling.OutcomePending, scaling.OutcomeIneffective,
		scaling.OutcomeEffective, scaling.OutcomeEffective, scaling.OutcomeEffective}
	for i, e := range want {
		require.NotNil(t, e.ActualReplicas, "event %d", i)
		require.Equal(t, wantActual[i], *e.ActualReplicas, "event %d", i)
		require.Equal(t, wantOutcome[i], e.Outcome, "event %d", i)
	}
	require.Equal(t, 3.0/4, testutil.ToFloat64(mustGauge(t, reg, "checkout")))

	// The same day read again (the service restarted and backfills what it may have missed)
	// changes nothing.
	backfill(t, whole, nil, start, end)
	require.Equal(t, want, listAll(t, whole))

	// Without watch access: Watch reads 10:00–20:00 at start, then polls for the rest.
	t.Run("history only", func(t *testing.T) {
		s := open(t)
		rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		src, err := New(Options{Querier: client, Sink: rec, Services: services, Step: step, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		var calls atomic.Int32
		now := func() time.Time {
			if calls.Add(1) == 1 {
				return start.Add(20 * time.Hour)
			}
			return end
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- hpaevents.Watch(ctx, hpaevents.WatchOptions{History: src, Backfill: 10 * time.Hour, Poll: 10 * time.Millisecond, Now: now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		}()
		require.Eventually(t, func() bool {
			evs, err := s.ListEvents(t.Context(), store.EventQuery{})
			require.NoError(t, err)
			return len(evs) == 5 && evs[0].Outcome == scaling.OutcomeEffective
		}, time.Minute, 50*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
		// The 08:00 scale-up is before what was read: the rest is as in one read of the day.
		require.Equal(t, want[:5], listAll(t, s))
	})

	// Restarted mid-scenario: a new Recorder over the same store reads the rest.
	for _, cut := range []time.Duration{8 * h, 10 * h, 13 * h, 13*h + 10*time.Minute, 18*h + 2*time.Minute, 18*h + 5*time.Minute} {
		t.Run("restart at "+cut.String(), func(t *testing.T) {
			s := open(t)
			backfill(t, s, nil, start, start.Add(cut))
			backfill(t, s, nil, start.Add(cut+step), end)
			require.Equal(t, want, listAll(t, s))
		})
	}
}

func mustGauge(t *testing.T, reg *prometheus.Registry, service string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "kai_hpa_scaling_effectiveness" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "copy"})
					g.Set(m.GetGauge().GetValue())
					return g
				}
			}
		}
	}
	t.Fatalf("no kai_hpa_scaling_effectiveness{service=%q}", service)
	return nil
}
