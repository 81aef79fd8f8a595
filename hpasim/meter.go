package hpasim

import (
	"math"
	"time"
)

// Summary scores one simulated run over the span it observed.
type Summary struct {
	// UnderProvisionedReplicaMinutes integrates the shortfall (load above ready capacity,
	// divided by capacity per replica) over minutes: replicas missing × minutes missing.
	UnderProvisionedReplicaMinutes float64 `json:"underProvisionedReplicaMinutes"`
	// ShortfallMinutes is the time during which load exceeded ready capacity.
	ShortfallMinutes float64 `json:"shortfallMinutes"`
	// ReplicaHours integrates all replicas (ready or starting: both are paid for) over hours.
	ReplicaHours float64 `json:"replicaHours"`
	// LoadReplicaHours is the replica-hours the load alone needed (load / capacity), the ideal.
	LoadReplicaHours float64 `json:"loadReplicaHours"`
	// PeakShortfallReplicas is the largest shortfall seen, in replicas.
	PeakShortfallReplicas float64 `json:"peakShortfallReplicas"`
	PeakReplicas          int32   `json:"peakReplicas"`
	// ScaleUps and ScaleDowns count the HPA's changes of the target's replicas.
	ScaleUps   int `json:"scaleUps"`
	ScaleDowns int `json:"scaleDowns"`
	// EvaluatedMinutes is the span scored.
	EvaluatedMinutes float64 `json:"evaluatedMinutes"`
}

// Meter accumulates a Summary. Capacity is the load one ready replica carries.
type Meter struct {
	Capacity float64
	s        Summary
}

// Observe accounts for an interval dt during which load was served by ready replicas out of total.
func (m *Meter) Observe(dt time.Duration, load float64, ready, total int32) {
	minutes := dt.Minutes()
	m.s.EvaluatedMinutes += minutes
	m.s.ReplicaHours += float64(total) * dt.Hours()
	m.s.PeakReplicas = max(m.s.PeakReplicas, total)
	if m.Capacity <= 0 || math.IsNaN(load) {
		return
	}
	m.s.LoadReplicaHours += load / m.Capacity * dt.Hours()
	if short := load - float64(ready)*m.Capacity; short > 0 {
		m.s.ShortfallMinutes += minutes
		m.s.UnderProvisionedReplicaMinutes += short / m.Capacity * minutes
		m.s.PeakShortfallReplicas = max(m.s.PeakShortfallReplicas, short/m.Capacity)
	}
}

// Count accounts for one sync's decision.
func (m *Meter) Count(r Record) {
	switch {
	case r.DesiredReplicas > r.CurrentReplicas:
		m.s.ScaleUps++
	case r.DesiredReplicas < r.CurrentReplicas:
		m.s.ScaleDowns++
	}
}

// Summary returns what was accumulated so far.
func (m *Meter) Summary() Summary { return m.s }
