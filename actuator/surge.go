package actuator

import (
	"fmt"
	"slices"
	"time"
)

// NeedSample is one observation of the replicas a service's HPA metric asks for, unrounded
// and before the HPA's tolerance, stabilization and policies (Workload.NeededReplicas).
type NeedSample struct {
	At       time.Time
	Replicas float64
	// Forecast is what the prediction in force when the need was observed held the load to
	// then, in replicas (ForecastReplicas); 0 where none did. LoadCollapsed holds the need
	// against it.
	Forecast float64
}

// SurgeWindow is how far back a rise in the need is measured: long enough that one noisy
// sample is not a trend, short enough that a surge is seen while it builds.
const SurgeWindow = 2 * time.Minute

// releaseWindow is how far back ReleaseFloor reads the need: about what the HPA's scale-down
// stabilization keeps.
const releaseWindow = 2 * SurgeWindow

// needKept is how long the actuator keeps a service's need samples: what LoadCollapsed reads.
const needKept = CollapseWindow + collapseGap

// SurgeFloor carries the recent rise of the need on: from the newest sample at or before now,
// at the rate it rose since the oldest sample within SurgeWindow of it, for horizon plus the
// newest sample's age. ok is false when the need did not rise, or the samples span less than
// half of SurgeWindow (too few to tell a rise from noise), or the newest is older than
// releaseWindow (a rise that old is no surge now). samples are in time order. Samples
// of no need at all (zero: kept for LoadCollapsed) are not read: on sparse counts every request
// after an idle minute would be a surge, and calibration has always measured surges between
// loads.
func SurgeFloor(samples []NeedSample, now time.Time, horizon time.Duration) (Surge, bool) {
	last, oldest := -1, now.Add(-releaseWindow)
	for i := len(samples) - 1; i >= 0 && !samples[i].At.Before(oldest); i-- {
		if !samples[i].At.After(now) && samples[i].Replicas > 0 {
			last = i
			break
		}
	}
	if last < 0 {
		return Surge{}, false
	}
	first, since := last, samples[last].At.Add(-SurgeWindow) // one Add, not a Sub per sample
	for i := last - 1; i >= 0 && !samples[i].At.Before(since); i-- {
		if samples[i].Replicas > 0 {
			first = i
		}
	}
	return surgeFrom(samples[first].Replicas, samples[last].Replicas, samples[last].At.Sub(samples[first].At), now.Sub(samples[last].At), horizon)
}

// surgeFrom is SurgeFloor's arithmetic: the need rose from first to last over span, and last
// was observed age ago; false where the span is too short or the need did not rise.
func surgeFrom(first, last float64, span, age, horizon time.Duration) (Surge, bool) {
	if span < SurgeWindow/2 {
		return Surge{}, false
	}
	perMinute := (last - first) / span.Minutes()
	if !(perMinute > 0) {
		return Surge{}, false
	}
	ahead := horizon + age
	s := Surge{Need: last, PerMinute: perMinute, Ahead: ahead, Over: span}
	s.Floor = CeilReplicas(s.Need + perMinute*ahead.Minutes())
	return s, true
}

// Surge is a surge floor and what it was carried on from.
type Surge struct {
	Floor int32
	// Need is the newest need; PerMinute its rise per minute over Over; Ahead how far on the
	// rise was carried.
	Need, PerMinute float64
	Ahead, Over     time.Duration
}

// SourceSurge is the contribution of a surge floor (scaling.FloorSettings.SurgeSeconds).
const SourceSurge = "surge"

// SurgeInterval is how long after any change of the floor of a service with a surge floor the
// surge floor may raise it again: calibration replays a history at the forecaster's 5 min step
// at a one-minute step, and raised at every 30 s planning round the floor scaled the HPA up in
// many more small steps than the replay counted, for more replica-hours.
const SurgeInterval = time.Minute

// SurgeHold is how long the floor of a service with a surge floor holds after a change before
// it comes down at once (ReleaseFloor). A surge pauses between its steps; released a minute
// after its last raise, the floor came down in the pause and went up again a minute later: a
// scale-down and a scale-up the reactive HPA does not make, as its stabilization holds through
// the pause. Over two minutes, calibration's replay, which syncs the HPA once a minute on a
// 5 min history, also counts the cost of a surge floor as the HPA's 15 s syncs pay it; after
// one it undercounted.
const SurgeHold = 2 * time.Minute

// SurgeMay reports whether the floor of a service with a surge floor, last changed at
// changedAt (zero: not by kai-scaler since it started), may be raised by its surge floor at
// now, and whether it may come down at once. The planner and calibration's replay both ask it.
func SurgeMay(changedAt, now time.Time) (raise, release bool) {
	return SurgeMayAfter(!changedAt.IsZero(), now.Sub(changedAt))
}

// SurgeMayAfter is SurgeMay of a floor changed since ago (changed: by kai-scaler since it
// started; else since is not read), for calibration's replay, which keeps its times as
// durations: time.Time's arithmetic was 3 % of a calibration.
func SurgeMayAfter(changed bool, since time.Duration) (raise, release bool) {
	if !changed {
		return true, true
	}
	return since >= SurgeInterval, since >= SurgeHold
}

// HeldSurge is the floor a surge floor asks for while the floor is current: while the need
// rises (surge > 0) the floor does not come down, and it is raised to the surge floor where
// it may be raised (SurgeMay); 0 while the need does not rise. A rise slows and picks up
// again: lowered to what the slower rise asked for, the floor came down and went up again at
// the next step, a scale-down and a scale-up the reactive HPA does not make. Whatever set the
// floor (a forecast, a dependency), it waits for the rise to end before it comes down, which
// calibration's replay counts as the planner does: both hold it so.
func HeldSurge(surge, current int32, mayRaise bool) int32 {
	switch {
	case surge <= 0:
		return 0
	case mayRaise:
		return max(surge, current)
	}
	return current
}

// SurgeRaises reports whether a surge floor may raise a floor of a service running replicas
// (or its floor, where that is higher) under a tolerance (scaling.FloorSettings.SurgeTolerance):
// always with none, else only past replicas × (1+tolerance). Within it the HPA does not scale up
// itself, and a floor raised for every rise of noise within it scaled the HPA up and, once the
// noise fell back, down again, each a pod started or stopped that nothing asked for.
func SurgeRaises(surge, replicas int32, tolerance float64) bool {
	return tolerance <= 0 || float64(surge) > float64(replicas)*(1+tolerance)
}

// surgeContribution is the surge floor of a service whose calibrated settings ask for one,
// held as HeldSurge holds it, and raised only past the tolerance (SurgeRaises) of the replicas
// running.
func surgeContribution(samples []NeedSample, now time.Time, horizon time.Duration, current, replicas int32, tolerance float64, mayRaise bool) (Contribution, bool) {
	s, ok := SurgeFloor(samples, now, horizon)
	if !ok {
		return Contribution{}, false
	}
	running := max(current, replicas)
	beyond := SurgeRaises(s.Floor, running, tolerance)
	held := HeldSurge(s.Floor, current, mayRaise && beyond)
	switch {
	case !beyond && s.Floor > current:
		return Contribution{Source: SourceSurge, Floor: held, Detail: fmt.Sprintf(
			"the HPA's metric asks for %.1f replicas, up %.2f a minute: held at %d, as %d is within the HPA's %g tolerance of the %d running",
			s.Need, s.PerMinute, held, s.Floor, tolerance, running)}, true
	case !mayRaise && s.Floor > current:
		return Contribution{Source: SourceSurge, Floor: held, Detail: fmt.Sprintf(
			"the HPA's metric asks for %.1f replicas, up %.2f a minute: held at %d, as the floor changed under %s ago",
			s.Need, s.PerMinute, held, SurgeInterval)}, true
	case held > s.Floor:
		return Contribution{Source: SourceSurge, Floor: held, Detail: fmt.Sprintf(
			"the HPA's metric asks for %.1f replicas, up %.2f a minute: held at %d while it rises",
			s.Need, s.PerMinute, held)}, true
	}
	return Contribution{Source: SourceSurge, Floor: s.Floor, Detail: fmt.Sprintf(
		"the HPA's metric asks for %.1f replicas, up %.2f a minute over the last %s: %.1f in %s, when pods asked for now are ready",
		s.Need, s.PerMinute, s.Over.Round(time.Second), s.Need+s.PerMinute*s.Ahead.Minutes(), s.Ahead.Round(time.Second))}, true
}

// AddNeed appends w's need to a service's samples, with what the prediction in force held the
// load to then (forecast: NeedSample.Forecast), unless it is unknown (Workload.NeedKnown)
// or not newer than the newest sample (an informer's cache read twice), and drops the samples
// older than needKept at now. It reuses samples' array (the kept samples move to its front, so
// a service's samples stay in one small array however long it runs): keep only what it
// returns.
func AddNeed(samples []NeedSample, w Workload, forecast float64, now time.Time) []NeedSample {
	if w.needKnown() && (len(samples) == 0 || w.ObservedAt.After(samples[len(samples)-1].At)) {
		samples = append(samples, NeedSample{At: w.ObservedAt, Replicas: w.NeededReplicas, Forecast: forecast})
	}
	i, since := 0, now.Add(-needKept) // one Add, not a Sub per sample
	for i < len(samples) && samples[i].At.Before(since) {
		i++
	}
	return slices.Delete(samples, 0, i)
}

// ReleaseFloor is how far the floor of a service with a surge floor may come down at once: the
// most its HPA's metric asked for over the releaseWindow before now (0 without any). The
// HPA's scale-down stabilization holds the highest replicas its metric recommended over the
// last minutes, so a floor lowered to this drops no replica the HPA would not drop itself:
// the step-down policy guards forecasts that may be late, while a surge floor only starts
// pods before the HPA asks for them, and once the rise stops, holding it for the policy's
// intervals would pay for replicas no one asked for (most of a surge floor's cost).
func ReleaseFloor(samples []NeedSample, now time.Time) int32 {
	var most float64
	since := now.Add(-releaseWindow) // one Add, not a Sub per sample
	for _, s := range samples {
		if !s.At.After(now) && !s.At.Before(since) {
			most = max(most, s.Replicas)
		}
	}
	return CeilReplicas(most)
}

// NeedSweep is a service's need samples as AddNeed keeps them, at instants in nanoseconds
// since an epoch of the caller's instead of time.Time, with SurgeFloor and ReleaseFloor over
// them: a calibration replays the planner's surge floors at every round of a week, and the
// time.Time comparisons were most of that (TestNeedSweepIsAddNeed). The zero value is empty.
type NeedSweep struct {
	at       []int64
	replicas []float64
	from     int // the samples kept start here
}

// Add is AddNeed: the need replicas observed at observedAt, unless unknown (not finite, or
// negative) or not newer than the newest sample, and the samples older than needKept at now
// dropped.
func (w *NeedSweep) Add(observedAt int64, replicas float64, now int64) {
	if needKnown(replicas) && (len(w.at) == w.from || observedAt > w.at[len(w.at)-1]) {
		w.at, w.replicas = append(w.at, observedAt), append(w.replicas, replicas)
	}
	for since := now - int64(needKept); w.from < len(w.at) && w.at[w.from] < since; {
		w.from++
	}
	if w.from >= 64 && 2*w.from >= len(w.at) { // keep one small array however long it runs
		w.at = w.at[:copy(w.at, w.at[w.from:])]
		w.replicas = w.replicas[:copy(w.replicas, w.replicas[w.from:])]
		w.from = 0
	}
}

// Surge is SurgeFloor at now.
func (w *NeedSweep) Surge(now int64, horizon time.Duration) (Surge, bool) {
	at, replicas := w.at[w.from:], w.replicas[w.from:]
	last, oldest := len(at)-1, now-int64(releaseWindow)
	for last >= 0 && at[last] >= oldest && (at[last] > now || !(replicas[last] > 0)) {
		last--
	}
	if last < 0 || at[last] < oldest {
		return Surge{}, false
	}
	first, since := last, at[last]-int64(SurgeWindow)
	for i := last - 1; i >= 0 && at[i] >= since; i-- {
		if replicas[i] > 0 {
			first = i
		}
	}
	return surgeFrom(replicas[first], replicas[last], time.Duration(at[last]-at[first]), time.Duration(now-at[last]), horizon)
}

// Release is ReleaseFloor at now.
func (w *NeedSweep) Release(now int64) int32 {
	var most float64
	since := now - int64(releaseWindow)
	for i := len(w.at) - 1; i >= w.from && w.at[i] >= since; i-- { // the newest first: the window is the kept samples' end
		if w.at[i] <= now {
			most = max(most, w.replicas[i])
		}
	}
	return CeilReplicas(most)
}
