package actuator

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// CollapseWindow is how long what a service's HPA metric asks for must stay under
// CollapseShare of what its forecasts held the load to before the planner sets the prediction
// aside (LoadCollapsed): an outage upstream, traffic drained to another region, a holiday the
// forecast did not know. A forecast cannot see those, and its floor would hold replicas for
// load that is not there until the forecasts catch up; on a per-minute web load with a
// two-hour outage every four days, floors held through them ran 10.2 % more replica-hours
// than the reactive HPA, over the budget. A third of the forecast for a quarter of an hour is
// no noise: a surprise that lasts that long is what came.
const CollapseWindow = 15 * time.Minute

// CollapseShare is the share of the forecast (NeedSample.Forecast) under which every need of
// CollapseWindow must stay for LoadCollapsed.
const CollapseShare = 1.0 / 3

// collapseGap is the longest the need may go unobserved within CollapseWindow (and before its
// end) for LoadCollapsed still to tell: the planner observes it every round, the HPA measures
// it every 15 s. Without the metric nothing is known, and the prediction keeps its floor.
const collapseGap = time.Minute

// collapseMinReplicas is the least forecast, in replicas, against which a collapse is told: a
// third of one replica's need is within any metric's noise.
const collapseMinReplicas = 2

// Collapse is a load that fell away from its forecasts (LoadCollapsed).
type Collapse struct {
	// Most is the most the HPA's metric asked for over CollapseWindow; Forecast the least the
	// forecasts held the load to over it (NeedSample.Forecast).
	Most, Forecast float64
}

// Floor is what a collapsed service's prediction still asks for: the most its metric asked for
// over the window, which the HPA's own scale-down stabilization keeps anyway; at least 1, so a
// floor above it may come down to it at once (LowerFloor's release).
func (c Collapse) Floor() int32 { return max(1, CeilReplicas(c.Most)) }

// LoadCollapsed reports whether every need observed over the CollapseWindow before now stayed
// under CollapseShare of what the prediction in force when it was observed held the load to
// then (NeedSample.Forecast, at least collapseMinReplicas). Each need is held against its own
// time's forecast: held against what the forecast expects now, the night's need was under a
// third of the first minutes of the morning's ramp at every ramp, and the floor meant for the
// ramp was set aside. The need must be known throughout (zero included: a metric reporting no
// load at all): no more than collapseGap from the window's start to its first sample, between
// two samples, or from the last to now. samples are in time order (AddNeed).
func LoadCollapsed(samples []NeedSample, now time.Time) (Collapse, bool) {
	c := Collapse{Forecast: math.Inf(1)}
	from := now.Add(-CollapseWindow)
	prev, seen := from, false
	for _, s := range samples {
		if s.At.Before(from) {
			continue
		}
		if s.At.After(now) {
			break
		}
		if s.At.Sub(prev) > collapseGap || !collapsedNeed(s.Replicas, s.Forecast) {
			return Collapse{}, false
		}
		c.Most, c.Forecast, prev, seen = max(c.Most, s.Replicas), min(c.Forecast, s.Forecast), s.At, true
	}
	if !seen || now.Sub(prev) > collapseGap {
		return Collapse{}, false
	}
	return c, true
}

// collapsedNeed reports whether a need of replicas is under CollapseShare of forecast, which is
// at least collapseMinReplicas (ForecastReplicas).
func collapsedNeed(replicas, forecast float64) bool {
	return forecast >= collapseMinReplicas && replicas < CollapseShare*forecast
}

// CollapseSweep is LoadCollapsed over needs that arrive one at a time, for calibration's
// replay, which asks at every planning round of a week: instants are in nanoseconds since an
// epoch of the caller's, the window's most is kept in a queue instead of read afresh, and gaps
// and needs that did not collapse are remembered as they pass
// (TestCollapseSweepIsLoadCollapsed). The zero value is empty.
type CollapseSweep struct {
	at       []int64
	replicas []float64
	// queue holds the indices (into at) of the samples that may yet be a window's most, each
	// below the one before, from head on.
	queue []int
	head  int
	// first is the first sample a window may still hold: the ones before it are dropped once
	// they are most of the array, so a week's replay keeps one small array.
	first int
	// gapAt is the newest sample that followed its predecessor by more than collapseGap (or
	// had none); keptAt the newest whose need did not collapse (collapsedNeed).
	gapAt, keptAt int64
}

// Add appends a need observed at at, with what the prediction in force then held the load to
// (NeedSample.Forecast), unless the need is unknown (not finite, or negative: a gap) or at is
// not after the newest sample's.
func (w *CollapseSweep) Add(at int64, replicas, forecast float64) {
	if !needKnown(replicas) {
		return
	}
	n := len(w.at)
	if n > 0 && at <= w.at[n-1] {
		return
	}
	if n == 0 {
		w.keptAt = math.MinInt64
	}
	if n == 0 || at-w.at[n-1] > int64(collapseGap) {
		w.gapAt = at
	}
	if !collapsedNeed(replicas, forecast) {
		w.keptAt = at
	}
	w.at, w.replicas = append(w.at, at), append(w.replicas, replicas)
	for len(w.queue) > w.head && w.replicas[w.queue[len(w.queue)-1]] <= replicas {
		w.queue = w.queue[:len(w.queue)-1]
	}
	w.queue = append(w.queue, n)
}

// Collapsed is LoadCollapsed's floor (Collapse.Floor) at now, asked at instants that never go
// back and no earlier than the newest sample.
func (w *CollapseSweep) Collapsed(now int64) (int32, bool) {
	from := now - int64(CollapseWindow)
	for w.first < len(w.at) && w.at[w.first] < from {
		w.first++
	}
	for w.head < len(w.queue) && w.queue[w.head] < w.first {
		w.head++
	}
	w.compact()
	if w.head >= len(w.queue) || w.keptAt >= from {
		return 0, false
	}
	// The queue's head is the window's most; w.first its first sample.
	if w.at[w.first]-from > int64(collapseGap) || w.gapAt > w.at[w.first] || now-w.at[len(w.at)-1] > int64(collapseGap) {
		return 0, false
	}
	return Collapse{Most: w.replicas[w.queue[w.head]]}.Floor(), true
}

// compact drops the samples before w.first and the queue's entries before w.head once they are
// most of their arrays.
func (w *CollapseSweep) compact() {
	if w.first >= 64 && 2*w.first >= len(w.at) {
		w.at = w.at[:copy(w.at, w.at[w.first:])]
		w.replicas = w.replicas[:copy(w.replicas, w.replicas[w.first:])]
		for i := w.head; i < len(w.queue); i++ {
			w.queue[i] -= w.first
		}
		w.first = 0
	}
	if w.head >= 64 && 2*w.head >= len(w.queue) {
		w.queue = w.queue[:copy(w.queue, w.queue[w.head:])]
		w.head = 0
	}
}

// ForecastReplicas is what p holds the load to at the instant at, in replicas of capacity, for
// NeedSample.Forecast: its expected load, or a third of its upper bound where that is more (read
// as the planner reads the point whose step holds now: linear between its points, and the
// first's, or the last's, within a step before or after them); 0 where it holds nothing known
// (expired, no forecast there, or no capacity). The bound is there for a forecast that has
// followed a collapse down: an hour into an outage the models expected almost no load, while
// the bound, which never falls below the same hour's median of the last weeks, still held what
// comes back, and a floor held at a share of its distance above the expected load stood at max
// replicas through the outage.
func ForecastReplicas(p scaling.Prediction, capacity float64, at time.Time) float64 {
	return NewForecastReader(p, capacity).At(at)
}

// ForecastReader is ForecastReplicas of one prediction with its points prepared once, for
// calibration's replay, which reads it at every round it is in force.
type ForecastReader struct {
	pts        []scaling.PredictionPoint
	step       int64
	validUntil int64
	capacity   float64
}

// NewForecastReader prepares p for ForecastReader.At. Points in time order (a PlanningView)
// are read in place, so they must not change while it is in use.
func NewForecastReader(p scaling.Prediction, capacity float64) ForecastReader {
	return ForecastReader{pts: planningPoints(p, 0), step: p.StepSeconds * 1000, validUntil: p.ValidUntil, capacity: capacity}
}

// At is ForecastReplicas at the instant at.
func (r ForecastReader) At(at time.Time) float64 {
	nowMs := at.UnixMilli()
	if !(r.capacity > 0) || expired(r.validUntil, nowMs) || len(r.pts) == 0 {
		return 0
	}
	pts := r.pts
	var expected, upper float64
	switch j := sort.Search(len(pts), func(i int) bool { return pts[i].Timestamp >= nowMs }); {
	case j == 0:
		if pts[0].Timestamp-nowMs > r.step {
			return 0
		}
		expected, upper = pts[0].ExpectedLoad, pts[0].UpperLoad
	case j == len(pts):
		if nowMs-pts[j-1].Timestamp > r.step {
			return 0
		}
		expected, upper = pts[j-1].ExpectedLoad, pts[j-1].UpperLoad
	default:
		a, b := pts[j-1], pts[j]
		f := float64(nowMs-a.Timestamp) / float64(b.Timestamp-a.Timestamp)
		expected, upper = a.ExpectedLoad+f*(b.ExpectedLoad-a.ExpectedLoad), a.UpperLoad+f*(b.UpperLoad-a.UpperLoad)
	}
	return max(loadOrZero(expected), CollapseShare*loadOrZero(upper)) / r.capacity
}

// loadOrZero is v where it is a load (finite, not negative), else 0.
func loadOrZero(v float64) float64 {
	if !(v >= 0) || math.IsInf(v, 1) {
		return 0
	}
	return v
}

// collapseContribution is the prediction's contribution while the load has collapsed
// (LoadCollapsed): the need's most over the window instead of the forecast's floor.
func collapseContribution(c Collapse) Contribution {
	return Contribution{Source: SourcePrediction, Floor: c.Floor(), Detail: fmt.Sprintf(
		"prediction set aside: the HPA's metric asked for at most %.1f replicas over the last %s, under a third of what the forecasts held the load to then (at least %.1f): the load collapsed (an outage, or traffic moved elsewhere); the prediction applies again at the first need above a third of its forecast",
		c.Most, CollapseWindow, c.Forecast)}
}

// loadCollapsed is LoadCollapsed for the planner: a service's need samples against what the
// predictions in force then forecast. A prediction in force whose calibration chose no floor
// from it (Off) has no floor to set aside.
func loadCollapsed(p scaling.Prediction, samples []NeedSample, now time.Time) (Collapse, bool) {
	if p.Calibration != nil && p.Calibration.Off {
		return Collapse{}, false
	}
	return LoadCollapsed(samples, now)
}
