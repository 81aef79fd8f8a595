package hpasim

import "math"

// tally is a calibration replay's scored steps summed, as Meter sums a simulator's, but in
// whole numbers: the shortfall in units of 1/shortScale replicas. Sums of whole numbers do not
// depend on their order, so a stretch a run shares with the reactive run is metered as the
// difference of two of the reactive run's running tallies, to the bit, instead of step by
// step: metering was more than half of what a step followed cost.
type tally struct {
	steps, scaleUps, scaleDowns, podsStarted, shortSteps int64
	// replicas are the replicas summed over steps (ready or starting: both are paid for).
	replicas int64
	// short is the shortfall summed over steps, in 1/shortScale replicas.
	short int64
}

// shortScale is how many units of a tally's shortfall make a replica: a millionth of a replica
// is far below any score's resolution, and a week's sum at 15 s steps of shortfalls up to
// maxShortReplicas stays within an int64.
const shortScale = 1 << 20

// maxShortReplicas is the most shortfall one step counts (16 million replicas, more than any
// HPA scales to): a load of absurd size still sums within an int64 over 90 days at 15 s.
const maxShortReplicas = 1 << 24

// shortUnits is a shortfall of short replicas in tally units (0 when there is none).
func shortUnits(short float64) int64 {
	if !(short > 0) {
		return 0
	}
	return int64(min(short, maxShortReplicas)*shortScale + 0.5)
}

// shortfall is the replicas that load lacks with ready replicas ready of capacity each (0 or
// less when it lacks none, NaN for an unknown load).
func shortfall(load float64, ready int32, capacity float64) float64 {
	return (load - float64(ready)*capacity) / capacity
}

func (t tally) plus(o tally) tally {
	return tally{steps: t.steps + o.steps, scaleUps: t.scaleUps + o.scaleUps, scaleDowns: t.scaleDowns + o.scaleDowns,
		podsStarted: t.podsStarted + o.podsStarted, shortSteps: t.shortSteps + o.shortSteps,
		replicas: t.replicas + o.replicas, short: t.short + o.short}
}

func (t tally) minus(o tally) tally {
	return tally{steps: t.steps - o.steps, scaleUps: t.scaleUps - o.scaleUps, scaleDowns: t.scaleDowns - o.scaleDowns,
		podsStarted: t.podsStarted - o.podsStarted, shortSteps: t.shortSteps - o.shortSteps,
		replicas: t.replicas - o.replicas, short: t.short - o.short}
}

// add accounts for one sync that took the target from current to desired replicas, after
// which ready were ready for load, with capacity per replica (none counted short without one),
// and returns the shortfall in replicas (0 or less for none).
func (t *tally) add(current, desired, ready int32, load, capacity float64) float64 {
	t.steps++
	t.replicas += int64(desired)
	switch {
	case desired > current:
		t.scaleUps++
		t.podsStarted += int64(desired - current)
	case desired < current:
		t.scaleDowns++
	}
	if !(capacity > 0) {
		return 0
	}
	s := shortfall(load, ready, capacity)
	if s > 0 {
		t.shortSteps++
		t.short += shortUnits(s)
	}
	return s
}

// dayTally is one day of a replay: its tally and its peaks, which are maxima and so do not
// depend on order either.
type dayTally struct {
	tally
	peakReplicas int32
	peakShort    float64
}

// add accounts for one scored step (tally.add).
func (d *dayTally) add(current, desired, ready int32, load, capacity float64) {
	if s := d.tally.add(current, desired, ready, load, capacity); s > d.peakShort {
		d.peakShort = s
	}
	d.peakReplicas = max(d.peakReplicas, desired)
}

// loadDay is what a replay's day depends on of the load alone, the same in every run: the
// replicas the load needed (float: no run's differs from it) and the shortfall above what max
// replicas carry, in tally units (a run's shortfall beyond max is exactly this, so they cancel
// in Provisionable).
type loadDay struct {
	loadReplicaHours float64
	beyondMax        int64
}

// loadDays is loadDay for each day of perDay steps from scored on, step of hours apart.
func loadDays(loads []float64, scored, perDay int, capacity float64, maxReplicas int32, hours float64) []loadDay {
	out := make([]loadDay, (len(loads)-scored+perDay-1)/perDay)
	if capacity <= 0 {
		return out
	}
	for i, load := range loads[scored:] {
		if math.IsNaN(load) {
			continue
		}
		d := &out[i/perDay]
		d.loadReplicaHours += load / capacity * hours
		if maxReplicas > 0 {
			d.beyondMax += shortUnits(shortfall(load, maxReplicas, capacity))
		}
	}
	return out
}

// summary is the day's Summary for steps of the given minutes and hours.
func (d dayTally) summary(l loadDay, minutes, hours float64) Summary {
	return Summary{
		UnderProvisionedReplicaMinutes: float64(d.short) / shortScale * minutes,
		ShortfallMinutes:               float64(d.shortSteps) * minutes,
		ReplicaHours:                   float64(d.replicas) * hours,
		LoadReplicaHours:               l.loadReplicaHours,
		BeyondMaxReplicaMinutes:        float64(l.beyondMax) / shortScale * minutes,
		PeakShortfallReplicas:          d.peakShort,
		PeakReplicas:                   d.peakReplicas,
		ScaleUps:                       int(d.scaleUps),
		ScaleDowns:                     int(d.scaleDowns),
		PodsStarted:                    int(d.podsStarted),
		EvaluatedMinutes:               float64(d.steps) * minutes,
	}
}
