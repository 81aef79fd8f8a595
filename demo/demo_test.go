package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
