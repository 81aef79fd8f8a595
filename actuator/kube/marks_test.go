package kube

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 1, 6, 8, 30, 0, 0, time.UTC)

func ann(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func str(s string) *string { return &s }

func TestReadMarks(t *testing.T) {
	tests := []struct {
		name string
		cur  int32
		ann  map[string]string
		want marks
	}{
		{name: "untouched", cur: 3, want: marks{base: 3}},
		{name: "touched", cur: 6, ann: ann(AnnotationBase, "2", AnnotationApplied, "6", AnnotationChangedAt, "2025-01-06T08:00:00Z"),
			want: marks{base: 2, touched: true, changedAt: t0.Add(-30 * time.Minute)}},
		{name: "someone raised it after us: their value is the base", cur: 10, ann: ann(AnnotationBase, "2", AnnotationApplied, "6"),
			want: marks{base: 10, touched: true, adopted: true}},
		{name: "someone lowered it after us: their value is the base", cur: 3, ann: ann(AnnotationBase, "2", AnnotationApplied, "6"),
			want: marks{base: 3, touched: true, adopted: true}},
		{name: "no applied annotation: base trusted", cur: 6, ann: ann(AnnotationBase, "2"),
			want: marks{base: 2, touched: true}},
		{name: "malformed base: never below current", cur: 6, ann: ann(AnnotationBase, "two", AnnotationApplied, "6"),
			want: marks{base: 6, touched: true, malformed: AnnotationBase}},
		{name: "malformed applied: never below current", cur: 6, ann: ann(AnnotationBase, "2", AnnotationApplied, "x"),
			want: marks{base: 6, touched: true, malformed: AnnotationApplied}},
		{name: "malformed time", cur: 6, ann: ann(AnnotationBase, "2", AnnotationApplied, "6", AnnotationChangedAt, "yesterday"),
			want: marks{base: 2, touched: true, malformed: AnnotationChangedAt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, readMarks(tt.cur, tt.ann))
		})
	}
}

func TestPlanSet(t *testing.T) {
	at := t0.Format(time.RFC3339)
	tests := []struct {
		name   string
		cur    int32
		max    int32
		ceil   int32
		ann    map[string]string
		floor  int32
		want   write
		wantOK bool
	}{
		{name: "first raise records the base", cur: 2, max: 10, floor: 6, wantOK: true,
			want: write{from: 2, floor: 6, reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("2"), AnnotationApplied: str("6"), AnnotationChangedAt: str(at)}}},
		{name: "second raise keeps the base", cur: 6, max: 10, floor: 8, ann: ann(AnnotationBase, "2", AnnotationApplied, "6"), wantOK: true,
			want: write{from: 6, floor: 8, reason: ReasonRaised, annotations: map[string]*string{
				AnnotationApplied: str("8"), AnnotationChangedAt: str(at)}}},
		{name: "lowering", cur: 8, max: 10, floor: 5, ann: ann(AnnotationBase, "2", AnnotationApplied, "8"), wantOK: true,
			want: write{from: 8, floor: 5, reason: ReasonLowered, annotations: map[string]*string{
				AnnotationApplied: str("5"), AnnotationChangedAt: str(at)}}},
		{name: "never below the base", cur: 8, max: 10, floor: 1, ann: ann(AnnotationBase, "2", AnnotationApplied, "8"), wantOK: true,
			want: write{from: 8, floor: 2, clamped: "base", reason: ReasonLowered, annotations: map[string]*string{
				AnnotationApplied: str("2"), AnnotationChangedAt: str(at)}}},
		{name: "capped at max", cur: 2, max: 5, floor: 9, wantOK: true,
			want: write{from: 2, floor: 5, clamped: "max", reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("2"), AnnotationApplied: str("5"), AnnotationChangedAt: str(at)}}},
		{name: "no cap without max", cur: 2, floor: 9, wantOK: true,
			want: write{from: 2, floor: 9, reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("2"), AnnotationApplied: str("9"), AnnotationChangedAt: str(at)}}},
		// Regression tests for issue 11, item 1: without a max the floor went to the scale
		// subresource unbounded.
		{name: "capped at the ceiling without max", cur: 2, ceil: 100, floor: 2147483647, wantOK: true,
			want: write{from: 2, floor: 100, clamped: "max", reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("2"), AnnotationApplied: str("100"), AnnotationChangedAt: str(at)}}},
		{name: "the ceiling does not replace a known max", cur: 2, max: 300, ceil: 100, floor: 200, wantOK: true,
			want: write{from: 2, floor: 200, reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("2"), AnnotationApplied: str("200"), AnnotationChangedAt: str(at)}}},
		{name: "floor in force: no-op", cur: 6, max: 10, floor: 6, ann: ann(AnnotationBase, "2", AnnotationApplied, "6")},
		{name: "untouched at floor: no-op, no annotations", cur: 3, max: 10, floor: 3},
		{name: "human raised to 10 after us; we ask 4: 10 stays and becomes the base", cur: 10, max: 12, floor: 4,
			ann: ann(AnnotationBase, "2", AnnotationApplied, "6"), wantOK: true,
			want: write{from: 10, floor: 10, clamped: "base", adopted: true, reason: ReasonAdopted, annotations: map[string]*string{
				AnnotationBase: str("10"), AnnotationApplied: str("10")}}},
		{name: "human raised to 10 after us; we ask 11", cur: 10, max: 12, floor: 11,
			ann: ann(AnnotationBase, "2", AnnotationApplied, "6"), wantOK: true,
			want: write{from: 10, floor: 11, adopted: true, reason: ReasonRaised, annotations: map[string]*string{
				AnnotationBase: str("10"), AnnotationApplied: str("11"), AnnotationChangedAt: str(at)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := planSet(tt.cur, tt.max, tt.ceil, tt.ann, tt.floor, t0)
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestPlanRestore(t *testing.T) {
	gone := map[string]*string{AnnotationBase: nil, AnnotationChangedAt: nil, AnnotationApplied: nil}
	tests := []struct {
		name   string
		cur    int32
		ann    map[string]string
		want   write
		wantOK bool
	}{
		{name: "untouched: nothing", cur: 4},
		{name: "back to base", cur: 6, ann: ann(AnnotationBase, "2", AnnotationApplied, "6"), wantOK: true,
			want: write{from: 6, floor: 2, reason: ReasonRestored, annotations: gone}},
		{name: "a human's later value is kept", cur: 9, ann: ann(AnnotationBase, "2", AnnotationApplied, "6"), wantOK: true,
			want: write{from: 9, floor: 9, adopted: true, reason: ReasonRestored, annotations: gone}},
		{name: "malformed base: current kept", cur: 6, ann: ann(AnnotationBase, "?"), wantOK: true,
			want: write{from: 6, floor: 6, reason: ReasonRestored, annotations: gone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := planRestore(tt.cur, tt.ann)
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestMergePatch(t *testing.T) {
	b, err := mergePatch("42", map[string]*string{AnnotationBase: str("2"), AnnotationApplied: nil}, map[string]any{"minReplicas": int32(5)})
	require.NoError(t, err)
	require.JSONEq(t, `{"metadata":{"resourceVersion":"42","annotations":{"kai-scaler.io/base-min-replicas":"2","kai-scaler.io/applied-min-replicas":null}},"spec":{"minReplicas":5}}`, string(b))
}

type fakeRV struct{ rv string }

func (f *fakeRV) LastSyncResourceVersion() string { return f.rv }

// TestHealthFreshAt: a watch failure freezes ObservedAt at the failure (so the planner stops
// acting on the cache once it is older than its limit) until an event or a relist gets through.
func TestHealthFreshAt(t *testing.T) {
	now := t0
	inf := &fakeRV{rv: "10"}
	h := &health{now: func() time.Time { return now }, informer: inf}
	require.Equal(t, t0, h.freshAt(t0), "healthy: now")

	h.watchError(t.Context(), nil, io.EOF)
	require.Equal(t, t0.Add(time.Minute), h.freshAt(t0.Add(time.Minute)), "a watch closing is routine")
	down := errors.New("connection refused")
	h.watchError(t.Context(), nil, down)
	require.Equal(t, t0, h.freshAt(t0.Add(time.Minute)), "failing: frozen at the failure")
	now = t0.Add(2 * time.Minute)
	h.watchError(t.Context(), nil, down)
	require.Equal(t, t0, h.freshAt(t0.Add(3*time.Minute)), "a second failure does not move it")

	inf.rv = "11" // relisted
	require.Equal(t, t0.Add(4*time.Minute), h.freshAt(t0.Add(4*time.Minute)))

	h.watchError(t.Context(), nil, down)
	h.handler().OnAdd(nil, false)
	require.Equal(t, t0.Add(5*time.Minute), h.freshAt(t0.Add(5*time.Minute)), "an event clears the failure")
}
