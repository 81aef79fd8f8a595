package promquery

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSplitRange(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		span      time.Duration
		step      time.Duration
		maxPoints int
		wantN     int
	}{
		{name: "one point", span: 0, step: time.Minute, maxPoints: 11000, wantN: 1},
		{name: "exactly max points", span: 10999 * time.Minute, step: time.Minute, maxPoints: 11000, wantN: 1},
		{name: "one past max", span: 11000 * time.Minute, step: time.Minute, maxPoints: 11000, wantN: 2},
		{name: "three weeks at 1m", span: 21 * 24 * time.Hour, step: time.Minute, maxPoints: 11000, wantN: 3},
		{name: "end off the grid", span: 10*time.Minute + 30*time.Second, step: time.Minute, maxPoints: 4, wantN: 3},
		{name: "tiny max", span: 9 * time.Minute, step: time.Minute, maxPoints: 2, wantN: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := SplitRange(t0, t0.Add(tt.span), tt.step, tt.maxPoints)
			require.Len(t, rs, tt.wantN)
			total := 0
			for i, r := range rs {
				n := int(r.End.Sub(r.Start)/tt.step) + 1
				require.LessOrEqual(t, n, tt.maxPoints, "range %d", i)
				require.Zero(t, r.Start.Sub(t0)%tt.step, "range %d starts on the grid", i)
				if i > 0 {
					require.Equal(t, rs[i-1].End.Add(tt.step), r.Start, "no overlap and no hole at seam %d", i)
				}
				total += n
			}
			require.Equal(t, int(tt.span/tt.step)+1, total, "every grid point exactly once")
			require.False(t, rs[len(rs)-1].End.After(t0.Add(tt.span)))
		})
	}
	require.Nil(t, SplitRange(t0, t0.Add(-time.Minute), time.Minute, 10))
}

func TestGrid(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := Series{Samples: []Sample{
		{T: t0.Add(-time.Minute), V: 99},                  // before the grid
		{T: t0, V: 1},                                     // on the grid
		{T: t0.Add(2*time.Minute + 10*time.Second), V: 3}, // near a grid point
		{T: t0.Add(3*time.Minute + 30*time.Second), V: 7}, // halfway: no grid point
		{T: t0.Add(5 * time.Minute), V: 5},                // last grid point
		{T: t0.Add(6 * time.Minute), V: 99},               // after the grid
	}}
	g := s.Grid(t0, t0.Add(5*time.Minute), time.Minute)
	require.Equal(t, t0, g.Start)
	require.Equal(t, time.Minute, g.Step)
	require.Len(t, g.Values, 6)
	want := []float64{1, math.NaN(), 3, math.NaN(), math.NaN(), 5}
	for i := range want {
		if math.IsNaN(want[i]) {
			require.True(t, math.IsNaN(g.Values[i]), "point %d is a gap, got %v", i, g.Values[i])
			continue
		}
		require.Equal(t, want[i], g.Values[i], "point %d", i)
	}
	require.Empty(t, s.Grid(t0, t0.Add(-time.Second), time.Minute).Values)
}

func TestSeriesCountError(t *testing.T) {
	e := &SeriesCountError{Query: "up", Count: 2, Labels: []map[string]string{{"job": "a"}, {"job": "b"}}}
	require.ErrorIs(t, e, ErrNotOneSeries)
	require.Equal(t, `query "up" returned 2 series; it must return exactly one (aggregate it, e.g. sum(...)): {job="a"}, {job="b"}`, e.Error())
	require.Equal(t, `query "up" returned no series; it must return exactly one`, (&SeriesCountError{Query: "up"}).Error())
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://x", "http://"} {
		_, err := New(Options{URL: u})
		require.Error(t, err, u)
	}
	_, err := New(Options{URL: "http://user:secret@prom:9090/?token=abc", MaxPointsPerRequest: 1})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret")
}
