package actuator

import (
	"fmt"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// SourceOverride is the source of a scheduled override's contribution.
const SourceOverride = "override"

// overrideContribution is the floor the service's overrides ask for at now: the highest of those
// active (from Start less the lead time, so the replicas are ready when the event starts, until
// End). An expectedLoad override asks ceil(expectedLoad × maxReplicas), as a pattern window
// does, and means nothing without a maxReplicas. ok is false when none is active.
func overrideContribution(overrides []scaling.Override, w Workload, lead time.Duration, now time.Time) (Contribution, bool) {
	var best Contribution
	found := false
	for _, o := range overrides {
		if !o.ActiveAt(now, lead) {
			continue
		}
		// The detail follows the source "override" wherever it is shown ("override o1 (launch)
		// asks 8 replicas"), so it does not name the source again.
		var c Contribution
		switch {
		case o.MinReplicas != nil:
			c = Contribution{Source: SourceOverride, Floor: *o.MinReplicas,
				Detail: fmt.Sprintf("%s (%s) asks %d replicas", o.ID, o.Reason, *o.MinReplicas)}
		case o.ExpectedLoad != nil && w.MaxReplicas > 0:
			c = Contribution{Source: SourceOverride, Floor: CeilReplicas(*o.ExpectedLoad * float64(w.MaxReplicas)),
				Detail: fmt.Sprintf("%s (%s) expects %.0f%% of %d replicas", o.ID, o.Reason, *o.ExpectedLoad*100, w.MaxReplicas)}
		default:
			continue
		}
		c.Detail += fmt.Sprintf(" from %s until %s", o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339))
		if !found || c.Floor > best.Floor {
			best, found = c, true
		}
	}
	return best, found
}
