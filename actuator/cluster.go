package actuator

import (
	"context"
	"math"
	"time"
)

// Workload is what the actuator observes of one managed service in the cluster.
type Workload struct {
	Service   string
	Namespace string
	// HPAName is the service's HPA; empty when the scale target has none and is scaled
	// through its scale subresource.
	HPAName string
	// Target is the scale target ("deployments/NAME" or "statefulsets/NAME") written through
	// its scale subresource when HPAName is empty; empty means deployments/<Service>.
	Target string
	// MinReplicas is the floor in force now: HPA spec.minReplicas, or the target's replicas
	// when there is no HPA.
	MinReplicas int32
	// MaxReplicas is HPA spec.maxReplicas; for a target without an HPA, the cap configured
	// for it (0 = none).
	MaxReplicas int32
	// Behavior is the HPA's spec.behavior (the zero value, the defaults, without an HPA).
	Behavior Behavior
	// BaseMinReplicas is the floor before kai-scaler first touched the workload, read from the
	// base annotation, or MinReplicas when it was never touched.
	BaseMinReplicas int32
	// Touched is true when the base annotation is present (kai-scaler has changed the floor).
	Touched bool
	// FloorChangedAt is when kai-scaler last changed the floor (kept beside the base, so the
	// planner can step a floor down gradually across restarts); zero when never.
	FloorChangedAt time.Time
	// CurrentReplicas and DesiredReplicas are the HPA status (or the scale status without HPA).
	CurrentReplicas int32
	DesiredReplicas int32
	// NeededReplicas is what the HPA's metric asks for, unrounded and before its tolerance,
	// stabilization and policies: ready replicas × metric ÷ target, the highest over its
	// metrics (as the controller takes the highest). 0 when unknown (no HPA, no metrics or no
	// ready replica yet), or when the metric reports no load at all (NeedKnown).
	NeededReplicas float64
	// NeedKnown is true when NeededReplicas was measured, zero included: a metric that reports
	// no load (an outage upstream) asks for no replicas, which tells the planner its forecast
	// is not what came (LoadCollapsed); an unknown need tells it nothing. A positive
	// NeededReplicas is known without it.
	NeedKnown bool
	// ReadyReplicas are the pods ready to serve (the target's status), which NeededReplicas is
	// measured on; meaningful only where NeededReplicas is known.
	ReadyReplicas int32
	// ObservedAt is when this observation was read; the planner refuses stale observations.
	ObservedAt time.Time
}

// needKnown reports whether w's need is a measurement: finite and not negative, and either
// NeedKnown or positive (which only a measurement gives).
func (w Workload) needKnown() bool {
	return needKnown(w.NeededReplicas) && (w.NeedKnown || w.NeededReplicas > 0)
}

// needKnown reports whether a need of the given replicas is a measurement: finite and not
// negative (NaN fails the comparison).
func needKnown(replicas float64) bool { return replicas >= 0 && !math.IsInf(replicas, 0) }

// FloorChange is one write the actuator asks of the cluster.
type FloorChange struct {
	Workload Workload
	// Floor is the new minReplicas (or replicas, without an HPA).
	Floor int32
	// Reason says why, e.g. "pattern", "prediction", "dependency:checkout", "base".
	Reason string
}

// Cluster is the actuator's view of Kubernetes. Implementations: the client-go adapter and
// the simulated cluster of the simulator and demo. Safe for concurrent use.
type Cluster interface {
	// Workloads observes the given services; a service that cannot be observed is absent
	// from the result (the planner then keeps its floor), not an error of the whole call.
	Workloads(ctx context.Context, services []ServiceRef) ([]Workload, error)
	// SetFloor writes change.Floor, recording the base floor first if the workload was never
	// touched. Writing the floor already in force is a no-op.
	SetFloor(ctx context.Context, change FloorChange) error
	// Restore puts the base floor back and forgets it (removes the base annotation).
	Restore(ctx context.Context, w Workload) error
}

// ServiceRef names a managed service's workload in the cluster.
type ServiceRef struct {
	Service   string
	Namespace string
	// HPAName is the HPA to look for; empty means the service name.
	HPAName string
	// Target is the scale target used when there is no HPA ("deployments/NAME" or
	// "statefulsets/NAME"); empty means deployments/<Service>.
	Target string
}
