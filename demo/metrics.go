package demo

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/actuator"
)

// meteredCluster gives the simulated cluster the actuator metrics the client-go adapter
// exports in production (kai_actuator_min_replicas, kai_actuator_patches_total), so the
// demo's /metrics and dashboards show the floors and why.
type meteredCluster struct {
	actuator.Cluster
	patches *prometheus.CounterVec
	floor   *prometheus.GaugeVec

	mu      sync.Mutex
	reasons map[string]string
}

func newMeteredCluster(c actuator.Cluster, reg prometheus.Registerer) *meteredCluster {
	m := &meteredCluster{
		Cluster: c,
		patches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_actuator_patches_total",
			Help: "Floor writes by result (demo: writes to the simulated cluster).",
		}, []string{"result"}),
		floor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_actuator_min_replicas",
			Help: "Floor kai-scaler last set per service, by the reason that won (demo: simulated cluster).",
		}, []string{"service", "reason"}),
		reasons: map[string]string{},
	}
	m.patches.WithLabelValues("success")
	m.patches.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.patches, m.floor)
	}
	return m
}

func (m *meteredCluster) SetFloor(ctx context.Context, change actuator.FloorChange) error {
	if err := m.Cluster.SetFloor(ctx, change); err != nil {
		m.patches.WithLabelValues("error").Inc()
		return err
	}
	m.patches.WithLabelValues("success").Inc()
	m.set(change.Workload.Service, change.Reason, change.Floor)
	return nil
}

func (m *meteredCluster) Restore(ctx context.Context, w actuator.Workload) error {
	if err := m.Cluster.Restore(ctx, w); err != nil {
		m.patches.WithLabelValues("error").Inc()
		return err
	}
	m.patches.WithLabelValues("success").Inc()
	m.set(w.Service, actuator.SourceBase, w.BaseMinReplicas)
	return nil
}

// set replaces the service's series, so a new reason does not leave the old one behind.
func (m *meteredCluster) set(service, reason string, floor int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.reasons[service]; ok && old != reason {
		m.floor.DeleteLabelValues(service, old)
	}
	m.reasons[service] = reason
	m.floor.WithLabelValues(service, reason).Set(float64(floor))
}
