package demo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestRhythmIsDeterministicAndSeasonal(t *testing.T) {
	r := services["checkout"].rhythm
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	require.Equal(t, r.At(monday.Add(13*time.Hour)), r.At(monday.Add(13*time.Hour)), "same instant, same load")
	peak, night := r.At(monday.Add(13*time.Hour)), r.At(monday.Add(3*time.Hour))
	require.Greater(t, peak, 2*night, "the daily peak stands out")
	saturday := monday.AddDate(0, 0, 5)
	require.Less(t, r.At(saturday.Add(13*time.Hour)), 0.8*peak, "weekends are quieter")
	for h := 0; h < 24*7; h++ {
		require.GreaterOrEqual(t, r.At(monday.Add(time.Duration(h)*time.Hour)), 0.0)
	}
}

func TestHistoryStopsAtNow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := History{Rhythms: map[string]Rhythm{"checkout": services["checkout"].rhythm}, Now: func() time.Time { return now }}
	svc := managedFor("checkout")
	s, err := h.Range(t.Context(), svc, now.Add(-time.Hour), now.Add(time.Hour), 5*time.Minute)
	require.NoError(t, err)
	require.Len(t, s.Values, 13, "one hour of 5-minute steps, both ends included, nothing from the future")
	_, err = h.Range(t.Context(), managedFor("unknown"), now.Add(-time.Hour), now, time.Minute)
	require.ErrorContains(t, err, "no rhythm")
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start, 60)
	c.wall = func() time.Time { return wall }
	require.Equal(t, start, c.Now())
	wall = wall.Add(time.Second)
	require.Equal(t, start.Add(time.Minute), c.Now())
	require.Equal(t, 250*time.Millisecond, c.Real(15*time.Second))
}

func managedFor(name string) scaling.ManagedService { return scaling.ManagedService{Name: name} }

// Regression test for issue 12: payments sat at 15-19 % CPU against a 70 % target because
// its load did not follow checkout's while the dependency sized it from checkout's replicas.
// The replicas each needs at its target must stand in the dependency's ratio.
func TestPaymentsLoadMatchesTheDependencyRatio(t *testing.T) {
	checkout, payments := services["checkout"], services["payments"]
	ratio := *Dependency().Ratio
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var sum float64
	n := 0
	for h := 0; h < 24*7; h++ {
		at := monday.Add(time.Duration(h) * time.Hour)
		need := func(s service) float64 { return s.rhythm.At(at) / s.capacityPerReplica }
		sum += need(payments) / need(checkout)
		n++
	}
	require.InDelta(t, ratio, sum/float64(n), 0.02, "payments needs the dependency's share of checkout's replicas")
}

// TestPatternsLeaveHoursToThePrediction: the demo's hand-written patterns are valid and cover
// part of the day only, so the prediction sets the floor in the other hours.
func TestPatternsLeaveHoursToThePrediction(t *testing.T) {
	for _, p := range Patterns() {
		require.NoError(t, p.Validate())
		require.Contains(t, services, p.Service)
		require.Less(t, len(p.TimeWindows), 12, "%s: most hours are left to the prediction", p.Service)
	}
}

// The demo's calibration replays each HPA with its own behavior: the forecaster reads it from
// the simulated cluster as it reads a real one's.
func TestCalibrationSeesTheDemoHPAsBehavior(t *testing.T) {
	s := New(Options{Start: time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)})
	bounds := forecaster.ClusterBounds{Cluster: s.Cluster}
	for _, svc := range s.Services() {
		b, err := bounds.ReplicaBounds(context.Background(), svc)
		require.NoError(t, err, svc.Name)
		require.Equal(t, services[svc.Name].behavior, b.Behavior, svc.Name)
	}
	require.False(t, services["search"].behavior.IsDefault(), "one demo HPA shows a behavior of its own")
}
