package forecaster

import (
	"context"
	"fmt"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

// WorkloadObserver is the part of actuator.Cluster that ClusterBounds reads.
type WorkloadObserver interface {
	Workloads(ctx context.Context, services []actuator.ServiceRef) ([]actuator.Workload, error)
}

// ClusterBounds reads a service's HPA bounds from the cluster: maxReplicas, the base floor the
// actuator keeps on the HPA (so a raised floor never becomes the new base), its behavior, and
// its scale target where it has no HPA.
type ClusterBounds struct {
	Cluster WorkloadObserver
}

var _ Bounds = ClusterBounds{}

// ReplicaBounds observes svc's workload; an unobservable one is an error, not zero bounds.
func (c ClusterBounds) ReplicaBounds(ctx context.Context, svc scaling.ManagedService) (ReplicaBounds, error) {
	ws, err := c.Cluster.Workloads(ctx, []actuator.ServiceRef{{Service: svc.Name, Namespace: svc.Namespace, HPAName: svc.HPAName()}})
	if err != nil {
		return ReplicaBounds{}, fmt.Errorf("observe %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	for _, w := range ws {
		if w.Service == svc.Name {
			return ReplicaBounds{MaxReplicas: w.MaxReplicas, BaseMinReplicas: w.BaseMinReplicas, HasHPA: w.HPAName != "",
				Behavior: w.Behavior, Target: w.Target}, nil
		}
	}
	return ReplicaBounds{}, fmt.Errorf("workload %s/%s not observed (no HPA %q?)", svc.Namespace, svc.Name, svc.HPAName())
}
