package hpaevents

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// liveScenario is checkout's HPA seen every 15 s for 45 minutes, as the live source sees it:
// a scale-up at 1 m that works, a stabilized scale-down (no-scale at 20 m) done at 25 m,
// then a scale-up at 26 m undoing it.
func liveScenario() []Observation {
	const m = time.Minute
	var out []Observation
	for d := time.Duration(0); d <= 45*m; d += 15 * time.Second {
		var o Observation
		switch {
		case d < m:
			o = obs(d, 2, 2, cpu(65, 70)).scaledAt(-time.Hour)
		case d < m+30*time.Second:
			o = obs(d, 2, 4, cpu(90, 70)).scaledAt(m)
		case d < 20*m:
			o = obs(d, 4, 4, cpu(62, 70)).scaledAt(m)
		case d < 25*m:
			o = obs(d, 4, 4, cpu(30, 70)).scaledAt(m).cond(CondAbleToScale, "True", ReasonScaleDownStabilized, 0)
		case d < 26*m:
			o = obs(d, 4, 2, cpu(30, 70)).scaledAt(25 * m)
		case d < 26*m+30*time.Second:
			o = obs(d, 2, 4, cpu(100, 70)).scaledAt(26 * m)
		default:
			o = obs(d, 4, 4, cpu(60, 70)).scaledAt(26 * m)
		}
		out = append(out, o)
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openBolt(t *testing.T, c *clock) *store.Bolt {
	t.Helper()
	b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{Now: c.now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func newTestRecorder(t *testing.T, s EventStore, c *clock, reg prometheus.Registerer) *Recorder {
	t.Helper()
	r, err := NewRecorder(RecorderOptions{
		Store: s, Now: c.now, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return r
}

// play feeds observations to r with the clock at each observation's time.
func play(t *testing.T, r *Recorder, c *clock, observations []Observation) {
	t.Helper()
	for _, o := range observations {
		c.set(o.Time)
		r.Observe(t.Context(), o)
	}
}

func listAll(t *testing.T, s EventStore) []scaling.Event {
	t.Helper()
	events, err := s.ListEvents(t.Context(), store.EventQuery{})
	require.NoError(t, err)
	return events
}

func TestRecorderStoresSettledEvents(t *testing.T) {
	c := &clock{}
	s := openBolt(t, c)
	reg := prometheus.NewPedanticRegistry()
	r := newTestRecorder(t, s, c, reg)
	play(t, r, c, liveScenario())

	got := listAll(t, s)
	require.Equal(t, []ev{
		{Type: scaling.EventScaleUp, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 100, Threshold: 70, At: 26 * time.Minute},
		{Type: scaling.EventScaleDown, Current: 4, Desired: 2, Trigger: "resource:cpu", Value: 30, Threshold: 70, At: 25 * time.Minute},
		{Type: scaling.EventNoScale, Current: 4, Desired: 4, Trigger: "resource:cpu", Value: 30, Threshold: 70, Reason: ReasonScaleDownStabilized, At: 20 * time.Minute},
		{Type: scaling.EventScaleUp, Current: 2, Desired: 4, Trigger: "resource:cpu", Value: 90, Threshold: 70, At: time.Minute},
	}, summarize(got))
	outcomes := []scaling.EventOutcome{scaling.OutcomeEffective, scaling.OutcomeIneffective, scaling.OutcomePending, scaling.OutcomeEffective}
	for i, e := range got {
		require.Equal(t, outcomes[i], e.Outcome, "event %d", i)
		require.NotNil(t, e.ActualReplicas, "event %d", i)
	}
	require.Equal(t, int32(4), *got[3].ActualReplicas)
	require.Equal(t, int32(2), *got[1].ActualReplicas)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kai_hpa_events_total HPA scaling events recorded, by service and event type.
# TYPE kai_hpa_events_total counter
kai_hpa_events_total{event_type="no-scale",service="checkout"} 1
kai_hpa_events_total{event_type="scale-down",service="checkout"} 1
kai_hpa_events_total{event_type="scale-up",service="checkout"} 2
# HELP kai_hpa_scaling_effectiveness Share (0-1) of the service's HPA scaling decisions in the last 24 h after which the trigger metric returned within its threshold without an opposite scaling; the floor's own raises are not counted; absent while no decision is decided.
# TYPE kai_hpa_scaling_effectiveness gauge
kai_hpa_scaling_effectiveness{service="checkout"} 0.6666666666666666
`), "kai_hpa_events_total", "kai_hpa_scaling_effectiveness"))
}

// A restart at any point of the scenario (a new Recorder over the same store) loses and
// duplicates nothing: the store ends as after one uninterrupted run.
func TestRecorderRestart(t *testing.T) {
	scenario := liveScenario()
	c := &clock{}
	whole := openBolt(t, c)
	play(t, newTestRecorder(t, whole, c, nil), c, scenario)
	want := listAll(t, whole)

	for _, cut := range []int{5, 6, 7, 60, 81, 100, 104, 105, 106, 150} {
		s := openBolt(t, c)
		play(t, newTestRecorder(t, s, c, nil), c, scenario[:cut])
		play(t, newTestRecorder(t, s, c, nil), c, scenario[cut:])
		require.Equal(t, want, listAll(t, s), "restart before observation %d (%s)", cut, scenario[cut].Time.Sub(t0))
	}
}

// switchable is a real store that can be swapped for one that is down (a closed bolt file).
type switchable struct {
	mu sync.Mutex
	s  EventStore
}

func (w *switchable) set(s EventStore) { w.mu.Lock(); w.s = s; w.mu.Unlock() }
func (w *switchable) get() EventStore  { w.mu.Lock(); defer w.mu.Unlock(); return w.s }

func (w *switchable) AppendEvents(ctx context.Context, events ...scaling.Event) error {
	return w.get().AppendEvents(ctx, events...)
}

func (w *switchable) ListEvents(ctx context.Context, q store.EventQuery) ([]scaling.Event, error) {
	return w.get().ListEvents(ctx, q)
}

func TestRecorderRetriesWhenStoreIsDown(t *testing.T) {
	c := &clock{}
	good := openBolt(t, c)
	down, err := store.OpenBolt(filepath.Join(t.TempDir(), "down.db"), store.BoltOptions{})
	require.NoError(t, err)
	require.NoError(t, down.Close())
	_, err = down.ListEvents(t.Context(), store.EventQuery{})
	require.ErrorIs(t, err, store.ErrUnavailable)

	sw := &switchable{s: down}
	reg := prometheus.NewPedanticRegistry()
	r := newTestRecorder(t, sw, c, reg)
	scenario := liveScenario()
	play(t, r, c, scenario[:20]) // the first scale-up happens while the store is down
	require.Error(t, r.Flush(t.Context()))
	require.Equal(t, 1.0, testutil.ToFloat64(r.metrics.unsaved))
	require.Greater(t, testutil.ToFloat64(r.metrics.storeErrors.WithLabelValues("append")), 0.0)

	sw.set(good)
	require.NoError(t, r.Flush(t.Context()))
	require.Equal(t, 0.0, testutil.ToFloat64(r.metrics.unsaved))
	play(t, r, c, scenario[20:])

	c2 := &clock{}
	ref := openBolt(t, c2)
	play(t, newTestRecorder(t, ref, c2, nil), c2, scenario)
	require.Equal(t, listAll(t, ref), listAll(t, good))
}

func TestMatchDecision(t *testing.T) {
	live := scaling.Event{ID: "live", Service: "checkout", Namespace: "shop", EventType: scaling.EventScaleUp,
		CurrentReplicas: 2, DesiredReplicas: 4, TriggerMetric: "resource:cpu", Timestamp: at(0).UnixMilli()}
	settled := live
	settled.ActualReplicas, settled.Outcome = ptr[int32](4), scaling.OutcomeEffective
	tests := []struct {
		name   string
		e      scaling.Event
		stored []scaling.Event
		wantID string
		known  bool
	}{
		{name: "nothing stored", e: live, wantID: "live"},
		{name: "same id", e: live, stored: []scaling.Event{settled}, wantID: "live", known: true},
		{name: "same decision from history 45 s later", e: withID(shift(live, 45*time.Second), "hist"), stored: []scaling.Event{settled}, wantID: "live", known: true},
		{name: "same counts 10 minutes later is another decision", e: withID(shift(live, 10*time.Minute), "hist"), stored: []scaling.Event{settled}, wantID: "hist"},
		{name: "other counts", e: func() scaling.Event { e := withID(live, "x"); e.DesiredReplicas = 5; return e }(), stored: []scaling.Event{settled}, wantID: "x"},
		{name: "other namespace", e: func() scaling.Event { e := withID(live, "x"); e.Namespace = "dev"; return e }(), stored: []scaling.Event{settled}, wantID: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, known := MatchDecision(tt.e, tt.stored, DefaultMatchWindow)
			require.Equal(t, tt.known, known)
			require.Equal(t, tt.wantID, got.ID)
			if known {
				require.Equal(t, settled.Timestamp, got.Timestamp)
				require.Equal(t, scaling.OutcomeEffective, got.Outcome)
			}
		})
	}
}

func withID(e scaling.Event, id string) scaling.Event { e.ID = id; return e }

func shift(e scaling.Event, d time.Duration) scaling.Event {
	e.Timestamp += d.Milliseconds()
	return e
}

// The Redis store (production) ends with the same events as the embedded one, restart included.
func TestRecorderWithRedis(t *testing.T) {
	c := &clock{}
	rs := storetest.OpenRedis(t, store.RedisOptions{Now: c.now})
	scenario := liveScenario()
	play(t, newTestRecorder(t, rs, c, nil), c, scenario[:100])
	play(t, newTestRecorder(t, rs, c, nil), c, scenario[100:])

	ref := openBolt(t, c)
	play(t, newTestRecorder(t, ref, c, nil), c, scenario)
	require.Equal(t, listAll(t, ref), listAll(t, rs))
	require.Len(t, listAll(t, rs), 4)
}
