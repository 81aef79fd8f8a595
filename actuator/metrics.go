package actuator

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of kai_actuator_patches_total's result label.
const (
	PatchSuccess  = "success"
	PatchConflict = "conflict"
	PatchError    = "error"
	PatchDryRun   = "dry_run"
)

// WriteMetrics are the metrics every Cluster implementation exports for its floor writes
// (names are a contract with the dashboards): kai_actuator_patches_total{result} and
// kai_actuator_min_replicas{service,reason}. Safe for concurrent use.
type WriteMetrics struct {
	Patches *prometheus.CounterVec
	Floor   *prometheus.GaugeVec

	mu sync.Mutex
	// reasons remembers each service's reason label, so a new reason replaces the old series
	// instead of leaving it behind.
	reasons map[string]string
}

// NewWriteMetrics creates the metrics and registers them on reg (nil registers nothing).
func NewWriteMetrics(reg prometheus.Registerer) (*WriteMetrics, error) {
	m := &WriteMetrics{
		Patches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_actuator_patches_total",
			Help: "Floor writes by result: success, conflict (a concurrent edit; re-read and retried), error, dry_run (planned, not written).",
		}, []string{"result"}),
		Floor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kai_actuator_min_replicas",
			Help: "Floor (HPA minReplicas, or replicas without HPA) kai-scaler last set per service, by the reason that won (in dry-run: would set).",
		}, []string{"service", "reason"}),
		reasons: map[string]string{},
	}
	for _, r := range []string{PatchSuccess, PatchConflict, PatchError, PatchDryRun} {
		m.Patches.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Patches, m.Floor} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register actuator metrics: %w", err)
			}
		}
	}
	return m, nil
}

// SetFloor records the floor set on service and the reason that won.
func (m *WriteMetrics) SetFloor(service, reason string, floor int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.reasons[service]; ok && old != reason {
		m.Floor.DeleteLabelValues(service, old)
	}
	m.reasons[service] = reason
	m.Floor.WithLabelValues(service, reason).Set(float64(floor))
}
