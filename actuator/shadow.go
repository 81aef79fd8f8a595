package actuator

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ShadowSample is one dry-run observation of a service: what served the load (Actual), what
// the load needed (Needed) and the floor kai-scaler would have set (Floor).
type ShadowSample struct {
	At time.Time
	// Actual is the replicas ready to serve, or the HPA's current replicas where its metric is
	// not observed.
	Actual int32
	// Running is the HPA's current replicas, ready or starting: what is paid for.
	Running int32
	// Needed is the replicas the load needed: the HPA's metric over its target on the ready
	// pods (Workload.NeededReplicas, a known zero included), or its desired replicas where that
	// is not observed.
	Needed float64
	// Floor is the would-be floor.
	Floor int32
}

// ShadowSampleOf is the sample of w at `at` with the would-be floor. It reads the load the
// ready pods carry against them: the HPA's own status converges within a sync (desired equals
// current almost always), so desired against current showed no under-provisioning even while
// new pods were starting, which is the shortfall a floor raised ahead removes.
func ShadowSampleOf(w Workload, floor int32, at time.Time) ShadowSample {
	if w.needKnown() {
		return ShadowSample{At: at, Actual: w.ReadyReplicas, Running: w.CurrentReplicas, Needed: w.NeededReplicas, Floor: floor}
	}
	return ShadowSample{At: at, Actual: w.CurrentReplicas, Running: w.CurrentReplicas, Needed: float64(w.DesiredReplicas), Floor: floor}
}

// DefaultShadowMaxGap bounds the time one sample stands for: a gap longer than this (the
// actuator was down, or was not leader) is not counted, rather than guessed.
const DefaultShadowMaxGap = 2 * time.Minute

// AddShadowInterval adds the time from prev.At until `until` (at most maxGap of it), during
// which prev's replicas held, to the counterfactual of the UTC days it covers (split at
// midnight), creating days as needed; days is keyed by YYYY-MM-DD.
//
// The counterfactual is an approximation: with the floors in force the service would have had
// max(actual, floor) replicas ready and paid for max(running, floor), as if the HPA had
// otherwise done the same. It ignores that more replicas lower each pod's utilisation (so the
// HPA would have asked for fewer on its own) and takes the floor's pods as ready when it is in
// force (it is raised a lead time ahead). Under-provisioning is Σ max(0, needed − ready
// replicas) over time; the cost is Σ (max(running, floor) − running).
func AddShadowInterval(days map[string]scaling.ShadowDay, service string, prev ShadowSample, until time.Time, maxGap time.Duration) {
	end := until
	if maxGap > 0 && end.Sub(prev.At) > maxGap {
		end = prev.At.Add(maxGap)
	}
	under := max(0, prev.Needed-float64(prev.Actual))
	underWith := max(0, prev.Needed-float64(max(prev.Actual, prev.Floor)))
	extra := float64(max(prev.Running, prev.Floor) - prev.Running)
	for from := prev.At.UTC(); from.Before(end); {
		midnight := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, time.UTC)
		to := end
		if midnight.Before(to) {
			to = midnight
		}
		secs := to.Sub(from).Seconds()
		key := from.Format(time.DateOnly)
		d, ok := days[key]
		if !ok {
			d = scaling.ShadowDay{Service: service, Day: key}
		}
		d.ObservedSeconds += secs
		d.UnderprovisionedReplicaMinutes += under * secs / 60
		d.UnderprovisionedReplicaMinutesWithFloors += underWith * secs / 60
		d.UnderprovisionedReplicaMinutesSaved = d.UnderprovisionedReplicaMinutes - d.UnderprovisionedReplicaMinutesWithFloors
		d.ExtraReplicaHours += extra * secs / 3600
		days[key] = d
		from = to
	}
}
