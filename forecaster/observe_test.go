package forecaster

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestServiceStatuses(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	checkout := actuator.Workload{Service: "checkout", HPAName: "checkout", MinReplicas: 6, BaseMinReplicas: 2, MaxReplicas: 20,
		CurrentReplicas: 7, DesiredReplicas: 8, ObservedAt: at}
	tests := []struct {
		name   string
		bounds Bounds
		want   []scaling.ServiceStatus
	}{
		{
			name:   "observed, and one not observed",
			bounds: ClusterBounds{Cluster: &fakeObserver{ws: []actuator.Workload{checkout}}},
			want: []scaling.ServiceStatus{
				{Service: "checkout", Namespace: "shop", HPA: &scaling.HPAStatus{Name: "checkout", MinReplicas: 6, BaseMinReplicas: 2, MaxReplicas: 20, CurrentReplicas: 7, DesiredReplicas: 8, ObservedAt: at.UnixMilli()}},
				{Service: "search", Namespace: "shop", Error: `workload shop/search not observed (no HPA "search"?)`},
				{Service: "broken", Namespace: "shop", Error: `workload shop/broken not observed (no HPA "broken"?)`},
			},
		},
		{
			name:   "cluster error names itself on every service",
			bounds: ClusterBounds{Cluster: &fakeObserver{err: errors.New("apiserver down")}},
			want: []scaling.ServiceStatus{
				{Service: "checkout", Namespace: "shop", Error: "observe workloads: apiserver down"},
				{Service: "search", Namespace: "shop", Error: "observe workloads: apiserver down"},
				{Service: "broken", Namespace: "shop", Error: "observe workloads: apiserver down"},
			},
		},
		{
			name: "bounds that cannot observe",
			bounds: BoundsFunc(func(context.Context, scaling.ManagedService) (ReplicaBounds, error) {
				return ReplicaBounds{}, nil
			}),
			want: []scaling.ServiceStatus{
				{Service: "checkout", Namespace: "shop", Error: "workloads are not observed on this server"},
				{Service: "search", Namespace: "shop", Error: "workloads are not observed on this server"},
				{Service: "broken", Namespace: "shop", Error: "workloads are not observed on this server"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, func(o *Options) { o.Bounds = tt.bounds })
			got, err := fx.f.ServiceStatuses(t.Context())
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// nanHistory answers a fixed series with a gap and an infinity.
type nanHistory struct{}

func (nanHistory) Range(_ context.Context, _ scaling.ManagedService, start, _ time.Time, step time.Duration) (forecast.Series, error) {
	return forecast.Series{Start: start, Step: step, Values: []float64{1, math.NaN(), math.Inf(1), 4}}, nil
}

func TestLoadHistory(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.History = nanHistory{} })
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	got, err := fx.f.LoadHistory(t.Context(), "search", start, start.Add(15*time.Minute), 5*time.Minute)
	require.NoError(t, err)
	ms := start.UnixMilli()
	one, four := 1.0, 4.0
	require.Equal(t, []scaling.LoadPoint{
		{Timestamp: ms, Load: &one}, {Timestamp: ms + 300_000}, {Timestamp: ms + 600_000}, {Timestamp: ms + 900_000, Load: &four},
	}, got)

	_, err = fx.f.LoadHistory(t.Context(), "nope", start, start.Add(time.Hour), 5*time.Minute)
	require.ErrorIs(t, err, ErrUnknownService)
	var us interface{ UnknownService() bool }
	require.ErrorAs(t, err, &us, "the API recognises it by behaviour")
}
