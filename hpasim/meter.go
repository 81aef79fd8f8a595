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
	// BeyondMaxReplicaMinutes is the part of UnderProvisionedReplicaMinutes above what the
	// HPA's maxReplicas, all ready, would carry: load no scaler within the HPA's bounds
	// serves. It depends on the load alone, so it is the same in every run of one trace, and
	// no floor removes it: UnderProvisionedReplicaMinutes less it is what floors can remove.
	BeyondMaxReplicaMinutes float64 `json:"beyondMaxReplicaMinutes"`
	// PeakShortfallReplicas is the largest shortfall seen, in replicas.
	PeakShortfallReplicas float64 `json:"peakShortfallReplicas"`
	PeakReplicas          int32   `json:"peakReplicas"`
	// ScaleUps and ScaleDowns count the HPA's changes of the target's replicas.
	ScaleUps   int `json:"scaleUps"`
	ScaleDowns int `json:"scaleDowns"`
	// PodsStarted is the replicas the HPA's scale-ups added, summed: a floor that follows a
	// ramp in small steps scales more often than the reactive HPA but starts as many pods,
	// while one that follows noise up and down starts pods that nothing needed.
	PodsStarted int `json:"podsStarted"`
	// EvaluatedMinutes is the span scored.
	EvaluatedMinutes float64 `json:"evaluatedMinutes"`
}

// Meter accumulates a Summary. Capacity is the load one ready replica carries; MaxReplicas,
// when positive, the HPA's maxReplicas (for BeyondMaxReplicaMinutes).
type Meter struct {
	Capacity    float64
	MaxReplicas int32
	s           Summary
}

// Observe accounts for an interval dt during which load was served by ready replicas out of total.
func (m *Meter) Observe(dt time.Duration, load float64, ready, total int32) {
	m.observe(dt.Minutes(), dt.Hours(), load, ready, total)
}

// observe is Observe of an interval of the given minutes and hours: a replay observes every
// step for the same interval, and converts it once.
func (m *Meter) observe(minutes, hours, load float64, ready, total int32) {
	m.s.EvaluatedMinutes += minutes
	m.s.ReplicaHours += float64(total) * hours
	m.s.PeakReplicas = max(m.s.PeakReplicas, total)
	if m.Capacity <= 0 || math.IsNaN(load) {
		return
	}
	m.s.LoadReplicaHours += load / m.Capacity * hours
	if short := load - float64(ready)*m.Capacity; short > 0 {
		m.s.ShortfallMinutes += minutes
		m.s.UnderProvisionedReplicaMinutes += short / m.Capacity * minutes
		m.s.PeakShortfallReplicas = max(m.s.PeakShortfallReplicas, short/m.Capacity)
		if m.MaxReplicas > 0 {
			if beyond := load - float64(m.MaxReplicas)*m.Capacity; beyond > 0 {
				m.s.BeyondMaxReplicaMinutes += beyond / m.Capacity * minutes
			}
		}
	}
}

// Count accounts for one sync's decision.
func (m *Meter) Count(r Record) { m.count(r.CurrentReplicas, r.DesiredReplicas) }

// count is Count of a sync that took the target from current to desired replicas.
func (m *Meter) count(current, desired int32) {
	switch {
	case desired > current:
		m.s.ScaleUps++
		m.s.PodsStarted += int(desired - current)
	case desired < current:
		m.s.ScaleDowns++
	}
}

// Provisionable is s's under-provisioned replica-minutes within the HPA's bounds: those
// a floor can remove.
func (s Summary) Provisionable() float64 {
	return max(0, s.UnderProvisionedReplicaMinutes-s.BeyondMaxReplicaMinutes)
}

// ScaleEvents is how often s's HPA changed its target's replicas, up or down.
func (s Summary) ScaleEvents() int { return s.ScaleUps + s.ScaleDowns }

// BeyondMaxShare is BeyondMaxReplicaMinutes as a share of UnderProvisionedReplicaMinutes (0
// when s was never short).
func (s Summary) BeyondMaxShare() float64 {
	if u := s.UnderProvisionedReplicaMinutes; u > 0 {
		return s.BeyondMaxReplicaMinutes / u
	}
	return 0
}

// Availability is the share of s's evaluated minutes without a shortfall (1 when none was
// evaluated): what a service's availabilityTarget asks of the floors.
func (s Summary) Availability() float64 {
	if s.EvaluatedMinutes <= 0 {
		return 1
	}
	return 1 - s.ShortfallMinutes/s.EvaluatedMinutes
}

// plus is s and o over their spans together: totals add, peaks are the higher.
func (s Summary) plus(o Summary) Summary {
	s.UnderProvisionedReplicaMinutes += o.UnderProvisionedReplicaMinutes
	s.ShortfallMinutes += o.ShortfallMinutes
	s.ReplicaHours += o.ReplicaHours
	s.LoadReplicaHours += o.LoadReplicaHours
	s.BeyondMaxReplicaMinutes += o.BeyondMaxReplicaMinutes
	s.PeakShortfallReplicas = max(s.PeakShortfallReplicas, o.PeakShortfallReplicas)
	s.PeakReplicas = max(s.PeakReplicas, o.PeakReplicas)
	s.ScaleUps += o.ScaleUps
	s.ScaleDowns += o.ScaleDowns
	s.PodsStarted += o.PodsStarted
	s.EvaluatedMinutes += o.EvaluatedMinutes
	return s
}

// Summary returns what was accumulated so far.
func (m *Meter) Summary() Summary { return m.s }
