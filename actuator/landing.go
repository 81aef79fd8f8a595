package actuator

import "time"

// A raised floor that comes down lets the HPA choose where it lands. On a need flat within
// the HPA's tolerance (steady load, a few per cent of noise) that choice sticks: the HPA does
// not move for a ratio within its tolerance, so it stays where it landed until the need
// leaves the band. Where it lands is the most its metric asked for over its scale-down
// stabilization, a window the noise dipped all through; from there every noise peak is short
// and, being within the tolerance, never scaled for. A reactive HPA is raised by a peak past
// the tolerance to that peak, the band's top, and stays there. So a floor lowered in steps
// through the band left the HPA below the reactive one: on a held-out steady RDS trace the
// predictive run sat two replicas under it for a day and was short more than twice as long.
// The floor therefore lands the HPA itself: where the need stayed within the tolerance over
// the samples kept (LandingFloor), a floor coming down stops at the most it asked for and
// holds there until the HPA has come down to it (Land). The HPA then stays at the band's top
// once the floor goes on down, as the reactive one does.
//
// Calibration's replay does not land the HPA (hpasim's replayFloors): the landing is no floor
// setting, every candidate has it, and it moves only where the HPA rests after a floor, within
// the need's noise. Replayed with it, calibration chose differently at the edges of its
// budget: on a held-out trace with a step to three times its level the settings chosen cost
// +10.1 % replica-hours instead of +9.8 %, over the budget.

// landingSpan is the least span of need samples LandingFloor reads a band from, the release's
// window (about what the HPA's scale-down stabilization keeps): a planner that has just started
// has seen a moment of the need, not its band.
const landingSpan = releaseWindow

// LandingFloor is where a floor coming down lands the HPA (Land): the most its metric asked
// for over the samples kept (needKept) up to now, where none of them was further below it
// than the HPA's tolerance and they span landingSpan or more; 0 otherwise (a need that
// moves, or too little of it seen).
func LandingFloor(samples []NeedSample, now time.Time) int32 {
	var most, least float64
	var first, latest time.Time
	for _, s := range samples {
		if s.At.After(now) {
			continue
		}
		if first.IsZero() {
			most, least, first = s.Replicas, s.Replicas, s.At
		}
		most, least, latest = max(most, s.Replicas), min(least, s.Replicas), s.At
	}
	if first.IsZero() || most <= 0 || latest.Sub(first) < landingSpan || least < (1-DefaultHPATolerance)*most-1e-9 {
		return 0
	}
	return CeilReplicas(most)
}

// Land is the floor set instead of stepped, where a floor at cur is lowered towards stepped
// with the HPA at replicas and the need flat below landing (LandingFloor; 0: no landing):
// while the HPA is above the floor, the floor holds, so the HPA's own scale-down stops at it;
// with the HPA at the floor, the floor comes down to landing first, not past it. Once the
// HPA has come down to a floor at or under landing, the floor goes on as stepped.
func Land(cur, stepped, replicas, landing int32) int32 {
	if landing <= 0 || stepped >= cur || stepped >= landing {
		return stepped
	}
	switch {
	case replicas > cur:
		return cur
	case replicas == cur && landing < cur:
		return landing
	}
	return stepped
}
