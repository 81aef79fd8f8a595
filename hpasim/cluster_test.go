package hpasim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestClusterBaseAnnotation(t *testing.T) {
	now := t0
	var records []Record
	c := NewCluster(func() time.Time { return now }, func(r Record) { records = append(records, r) })
	c.Add(Service{Name: "api", Namespace: "shop", HPA: &Config{MinReplicas: 2, MaxReplicas: 10, CapacityPerReplica: 100}})
	c.Add(Service{Name: "worker", Namespace: "shop", Replicas: 1, MaxReplicas: 5}) // no HPA
	refs := []actuator.ServiceRef{{Service: "api", Namespace: "shop"}, {Service: "worker", Namespace: "shop"}, {Service: "gone", Namespace: "shop"}}
	ctx := t.Context()

	ws, err := c.Workloads(ctx, refs)
	require.NoError(t, err)
	require.Len(t, ws, 2, "an absent service is left out, not an error")
	api, worker := ws[0], ws[1]
	require.Equal(t, actuator.Workload{Service: "api", Namespace: "shop", HPAName: "api", MinReplicas: 2, MaxReplicas: 10,
		BaseMinReplicas: 2, CurrentReplicas: 2, DesiredReplicas: 2, ReadyReplicas: 2, ObservedAt: now}, api)
	require.Equal(t, "", worker.HPAName)

	now = now.Add(time.Minute)
	require.NoError(t, c.SetFloor(ctx, actuator.FloorChange{Workload: api, Floor: 6, Reason: "pattern"}))
	require.NoError(t, c.SetFloor(ctx, actuator.FloorChange{Workload: worker, Floor: 9, Reason: "dependency:api"}))
	ws, err = c.Workloads(ctx, refs)
	require.NoError(t, err)
	require.True(t, ws[0].Touched)
	require.Equal(t, int32(2), ws[0].BaseMinReplicas)
	require.Equal(t, int32(6), ws[0].MinReplicas)
	require.Equal(t, now, ws[0].FloorChangedAt)
	require.Equal(t, int32(5), ws[1].MinReplicas, "a bare target is capped at its max")
	require.Equal(t, int32(1), ws[1].BaseMinReplicas)

	// A second change keeps the first base.
	now = now.Add(time.Minute)
	require.NoError(t, c.SetFloor(ctx, actuator.FloorChange{Workload: ws[0], Floor: 4}))
	ws, _ = c.Workloads(ctx, refs)
	require.Equal(t, int32(2), ws[0].BaseMinReplicas)
	require.Equal(t, int32(4), ws[0].MinReplicas)

	// The HPA follows its floor on its next sync, and reports it.
	c.Advance(map[string]float64{"api": 50})
	require.NotEmpty(t, records)
	require.Equal(t, int32(4), records[len(records)-1].DesiredReplicas)
	require.Equal(t, ReasonTooFewReplicas, records[len(records)-1].LimitedReason)

	require.NoError(t, c.Restore(ctx, ws[0]))
	require.NoError(t, c.Restore(ctx, ws[1]))
	ws, _ = c.Workloads(ctx, refs)
	require.False(t, ws[0].Touched)
	require.Equal(t, int32(2), ws[0].MinReplicas)
	require.False(t, ws[1].Touched)
	require.Equal(t, int32(1), ws[1].MinReplicas)

	require.Error(t, c.SetFloor(ctx, actuator.FloorChange{Workload: actuator.Workload{Service: "gone", Namespace: "shop"}, Floor: 3}))
}

// TestClusterWithPlanner drives the simulated cluster with the real planner through a
// pattern window and checks the floor rises ahead of it and is restored after.
func TestClusterWithPlanner(t *testing.T) {
	now := time.Date(2025, 1, 6, 7, 0, 0, 0, time.UTC)
	c := NewCluster(func() time.Time { return now }, nil)
	c.Add(Service{Name: "api", Namespace: "shop", HPA: &Config{MinReplicas: 2, MaxReplicas: 10, CapacityPerReplica: 100, PodStartup: time.Minute}})
	c.Add(Service{Name: "db", Namespace: "shop", Replicas: 1})
	cfgs := []actuator.ServiceConfig{
		{Ref: actuator.ServiceRef{Service: "api", Namespace: "shop"}, LeadTime: 10 * time.Minute},
		{Ref: actuator.ServiceRef{Service: "db", Namespace: "shop"}},
	}
	refs := []actuator.ServiceRef{cfgs[0].Ref, cfgs[1].Ref}
	half := 0.5
	in := actuator.PlanInput{Services: cfgs, PredictiveEnabled: true, DependenciesEnabled: true,
		Patterns: []scaling.Pattern{{Service: "api", PatternType: scaling.PatternDaily,
			TimeWindows: []scaling.TimeWindow{{HourOfDay: 8, ExpectedLoad: 0.8}}}},
		Dependencies: []scaling.Dependency{{SourceService: "api", TargetService: "db", DependencyType: scaling.DependencyProportional, Ratio: &half, Enabled: true}}}
	floorAt := map[string]int32{}
	ready := map[string]int32{}
	for ; now.Before(time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)); now = now.Add(15 * time.Second) {
		ws, err := c.Workloads(t.Context(), refs)
		require.NoError(t, err)
		in.Now, in.Workloads = now, ws
		for _, d := range actuator.PlanFloors(in).Decisions {
			if d.Restore {
				require.NoError(t, c.Restore(t.Context(), d.Workload))
			} else if d.Floor != d.Workload.MinReplicas {
				require.NoError(t, c.SetFloor(t.Context(), actuator.FloorChange{Workload: d.Workload, Floor: d.Floor, Reason: d.Reason}))
			}
		}
		c.Advance(map[string]float64{"api": 100})
		key := now.Format("15:04:05")
		floorAt[key] = c.HPA("shop", "api").MinReplicas()
		_, ready[key] = c.Replicas("shop", "api")
	}
	require.Equal(t, int32(2), floorAt["07:49:45"])
	require.Equal(t, int32(8), floorAt["07:50:00"], "raised lead time before the window")
	require.Equal(t, int32(8), ready["07:51:00"], "ready before the window starts")
	require.Equal(t, int32(8), floorAt["08:59:45"])
	require.Equal(t, int32(2), floorAt["09:30:00"], "stepped back down to base after the window")
	_, dbReady := c.Replicas("shop", "db")
	require.Equal(t, int32(1), dbReady, "dependant restored with its source")
	ws, _ := c.Workloads(t.Context(), refs)
	require.False(t, ws[0].Touched)
	require.False(t, ws[1].Touched)
}
