package demo

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/actuator"
)

// MeteredCluster gives the simulated cluster the write metrics the client-go adapter exports
// in production (kai_actuator_min_replicas, kai_actuator_patches_total), so the demo's
// /metrics and dashboards show the floors and why.
//
// In dry-run it writes nothing, as the client-go adapter: it counts result="dry_run" and
// exports the floor it would have set.
type MeteredCluster struct {
	actuator.Cluster
	m      *actuator.WriteMetrics
	dryRun bool
}

// NewMeteredCluster wraps the simulated cluster c with the write metrics, registered on reg.
func NewMeteredCluster(c actuator.Cluster, reg prometheus.Registerer, dryRun bool) (*MeteredCluster, error) {
	m, err := actuator.NewWriteMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &MeteredCluster{Cluster: c, m: m, dryRun: dryRun}, nil
}

func (c *MeteredCluster) SetFloor(ctx context.Context, change actuator.FloorChange) error {
	if c.dryRun {
		c.m.Patches.WithLabelValues(actuator.PatchDryRun).Inc()
		c.m.SetFloor(change.Workload.Service, change.Reason, change.Floor)
		return nil
	}
	if err := c.Cluster.SetFloor(ctx, change); err != nil {
		c.m.Patches.WithLabelValues(actuator.PatchError).Inc()
		return err
	}
	c.m.Patches.WithLabelValues(actuator.PatchSuccess).Inc()
	c.m.SetFloor(change.Workload.Service, change.Reason, change.Floor)
	return nil
}

func (c *MeteredCluster) Restore(ctx context.Context, w actuator.Workload) error {
	if c.dryRun {
		c.m.Patches.WithLabelValues(actuator.PatchDryRun).Inc()
		c.m.SetFloor(w.Service, actuator.SourceBase, w.BaseMinReplicas)
		return nil
	}
	if err := c.Cluster.Restore(ctx, w); err != nil {
		c.m.Patches.WithLabelValues(actuator.PatchError).Inc()
		return err
	}
	c.m.Patches.WithLabelValues(actuator.PatchSuccess).Inc()
	c.m.SetFloor(w.Service, actuator.SourceBase, w.BaseMinReplicas)
	return nil
}
