package hpaevents_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/api"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// The events a Recorder stores are what the seed's endpoints serve: the API-level check.
func TestRecordedEventsThroughAPI(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	db, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)

	cpu := func(v float64) []hpaevents.Metric {
		return []hpaevents.Metric{{Type: hpaevents.MetricResource, Name: "cpu", TargetKind: hpaevents.TargetUtilization, Target: 70, Current: v, HasCurrent: true}}
	}
	o := func(ago time.Duration, current, desired int32, cpuPct float64, lastScale time.Duration) hpaevents.Observation {
		return hpaevents.Observation{
			Time: now.Add(-ago), Namespace: "shop", HPA: "coordinator", Service: "coordinator",
			MinReplicas: 2, MaxReplicas: 10, CurrentReplicas: current, DesiredReplicas: desired,
			Metrics: cpu(cpuPct), LastScaleTime: now.Add(-lastScale),
		}
	}
	// The seed's example: scale-up 2→4 on cpu 85 % of 70 %, settled and effective.
	for _, ob := range []hpaevents.Observation{
		o(40*time.Minute, 2, 2, 60, 2*time.Hour),
		o(30*time.Minute, 2, 4, 85, 30*time.Minute),
		o(29*time.Minute, 4, 4, 60, 30*time.Minute),
		o(15*time.Minute, 4, 4, 62, 30*time.Minute),
	} {
		rec.Observe(t.Context(), ob)
	}

	srv := httptest.NewServer(api.New(api.Options{Store: db}).Handler())
	t.Cleanup(srv.Close)
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}

	var body struct {
		Events []map[string]any `json:"events"`
	}
	get("/api/hpa-events/coordinator?type=scale-up", &body)
	require.Len(t, body.Events, 1)
	e := body.Events[0]
	for k, want := range map[string]any{
		"service": "coordinator", "eventType": "scale-up", "currentReplicas": 2.0, "desiredReplicas": 4.0,
		"actualReplicas": 4.0, "triggerMetric": "resource:cpu", "triggerValue": 85.0, "triggerThreshold": 70.0,
		"timestamp": float64(now.Add(-30 * time.Minute).UnixMilli()), "outcome": "effective",
	} {
		require.Equal(t, want, e[k], k)
	}
	get("/api/hpa-events?type=no-scale", &body)
	require.Empty(t, body.Events)

	var eff scaling.EffectivenessReport
	get("/api/hpa-events/coordinator/effectiveness", &eff)
	require.NotNil(t, eff.Effectiveness)
	require.Equal(t, 1.0, *eff.Effectiveness)
	require.Equal(t, 1, eff.ScalingEvents)
	require.Equal(t, 1, eff.Effective)

	// A service without events: effectiveness null with zero counts.
	get("/api/hpa-events/search/effectiveness?window=1h", &eff)
	require.Nil(t, eff.Effectiveness)
	require.Zero(t, eff.ScalingEvents)
	require.Equal(t, int64(3600), eff.WindowSeconds)
}
