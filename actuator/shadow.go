package actuator

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ShadowSample is one dry-run observation of a service: what the HPA ran (Actual), what it
// wanted (Needed) and the floor kai-scaler would have set (Floor).
type ShadowSample struct {
	At time.Time
	// Actual is the HPA's current replicas.
	Actual int32
	// Needed is the HPA's desired replicas: what its metric asked for. It approximates the
	// replicas the load needed; it lags a rise when scale-up policies limit the HPA.
	Needed int32
	// Floor is the would-be floor.
	Floor int32
}

// DefaultShadowMaxGap bounds the time one sample stands for: a gap longer than this (the
// actuator was down, or was not leader) is not counted, rather than guessed.
const DefaultShadowMaxGap = 2 * time.Minute

// AddShadowInterval adds the time from prev.At until `until` (at most maxGap of it), during
// which prev's replicas held, to the counterfactual of the UTC days it covers (split at
// midnight), creating days as needed; days is keyed by YYYY-MM-DD.
//
// The counterfactual is an approximation: with the floors in force the service would have run
// max(actual, floor) replicas, as if the HPA had otherwise done the same. It ignores that more
// replicas lower each pod's utilisation (so the HPA would have asked for fewer on its own) and
// that floor-raised pods also take time to start. Under-provisioning is Σ max(0, needed −
// replicas) over time; the cost is Σ (max(actual, floor) − actual).
func AddShadowInterval(days map[string]scaling.ShadowDay, service string, prev ShadowSample, until time.Time, maxGap time.Duration) {
	end := until
	if maxGap > 0 && end.Sub(prev.At) > maxGap {
		end = prev.At.Add(maxGap)
	}
	cf := max(prev.Actual, prev.Floor)
	under := float64(max(0, prev.Needed-prev.Actual))
	underWith := float64(max(0, prev.Needed-cf))
	extra := float64(cf - prev.Actual)
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
