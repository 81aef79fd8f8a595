package actuator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ServiceConfig is what the planner needs to know of one managed service.
type ServiceConfig struct {
	Ref ServiceRef
	// LeadTime is how long before a peak the floor for it must be in place (pod start plus margin).
	LeadTime time.Duration
	// CapacityPerReplica is the load one replica carries at its HPA target; used for predictions
	// that carry an upper load but no recommended floor.
	CapacityPerReplica float64
}

// PlanInput is everything one planning round looks at. All values are plain; the planner does
// no I/O and reads no clock but Now.
type PlanInput struct {
	Now      time.Time
	Services []ServiceConfig
	// Workloads are the observed workloads; a service without one keeps its floor (no decision).
	Workloads []Workload
	Patterns  []scaling.Pattern
	// Predictions are the latest per service (the newest FittedAt wins when several are given);
	// a prediction is ignored once Now is past its ValidUntil.
	Predictions []scaling.Prediction
	// Dependencies: disabled ones are ignored (so their effect is restored).
	Dependencies []scaling.Dependency
	// Overrides are scheduled floors (any service; inactive ones are ignored). They act when
	// PredictiveEnabled, as patterns do.
	Overrides []scaling.Override
	// PredictiveEnabled turns patterns and predictions on; DependenciesEnabled dependencies.
	PredictiveEnabled, DependenciesEnabled bool
	// StepDown limits how fast a floor comes down; the zero value means the defaults.
	StepDown StepDownPolicy
	// MaxObservationAge: a workload observed longer ago than this gets no decision (its floor
	// is kept). Zero means no limit.
	MaxObservationAge time.Duration
	// MaxReplicasWithoutMax caps the floor of a workload with no known maxReplicas (no HPA and
	// no max annotation); zero means DefaultMaxReplicasWithoutMax.
	MaxReplicasWithoutMax int32
}

// DefaultMaxReplicasWithoutMax is the ceiling of floors for workloads whose maxReplicas is
// unknown. Without it a dependency could plan any floor for such a target (issue 11, item 1).
const DefaultMaxReplicasWithoutMax = 100

// StepDownPolicy limits how fast a raised floor comes down, so that lowering the floor never
// drops replicas faster than the HPA's own scale-down stabilization would. Going up is immediate.
type StepDownPolicy struct {
	// Interval is the least time between two lowering steps; default 5m.
	Interval time.Duration
	// MaxFraction is the largest share of the current floor removed in one step; default 0.25.
	MaxFraction float64
	// MinStep is the least number of replicas removed in one step; default 1.
	MinStep int32
}

// DefaultStepDown is the policy used for zero fields of StepDownPolicy.
var DefaultStepDown = StepDownPolicy{Interval: 5 * time.Minute, MaxFraction: 0.25, MinStep: 1}

func (p StepDownPolicy) withDefaults() StepDownPolicy {
	if p.Interval <= 0 {
		p.Interval = DefaultStepDown.Interval
	}
	if p.MaxFraction <= 0 || math.IsNaN(p.MaxFraction) {
		p.MaxFraction = DefaultStepDown.MaxFraction
	}
	if p.MinStep <= 0 {
		p.MinStep = DefaultStepDown.MinStep
	}
	return p
}

// Contribution sources. Dependency contributions are SourceDependencyPrefix + the source service.
const (
	SourceBase             = "base"
	SourcePattern          = "pattern"
	SourcePrediction       = "prediction"
	SourceDependencyPrefix = "dependency:"
	SourceStepDown         = "step-down"
	// SourceHold keeps the floor in force when a dependency source could not be seen: the
	// planner may raise the floor but never lowers one whose inputs it cannot see.
	SourceHold = "hold"
	// SourceMax is the winning reason when the floor was cut to the workload's maxReplicas.
	SourceMax = "max"
)

// Contribution is one input to a service's floor.
type Contribution struct {
	// Source is "base", "pattern", "prediction", "override", "dependency:<source>", "step-down",
	// "hold" or "max".
	Source string
	Floor  int32
	Detail string
}

// Decision is the floor planned for one observed service.
type Decision struct {
	Service  string
	Workload Workload
	// Floor is the floor to set, clamped to [base, max].
	Floor int32
	// Reason is the winning contribution's Source.
	Reason        string
	Contributions []Contribution
	// Restore is true when nothing asks above base any more and the workload was touched: put
	// the base back (Cluster.Restore) instead of writing Floor.
	Restore bool
}

// Changed reports whether applying the decision writes anything.
func (d Decision) Changed() bool {
	return d.Restore || d.Floor != d.Workload.MinReplicas
}

// Skipped is a service that keeps its floor this round, and why (missing or stale observation,
// dependency cycle).
type Skipped struct {
	Service, Reason string
}

// Plan is the outcome of one planning round, in the order of PlanInput.Services.
type Plan struct {
	Decisions []Decision
	Skipped   []Skipped
}

// serviceState is a service's resolved state while dependencies are walked.
type serviceState struct {
	cfg      ServiceConfig
	w        Workload
	known    bool // observed, fresh and planned: dependants may use replicas
	skip     string
	decision Decision
}

// PlanFloors plans one floor per managed service: the max of its base, its load pattern's
// window (from LeadTime before the window until its end), its prediction over the lead time,
// its active scheduled overrides (from LeadTime before their start until their end), and the
// floors its enabled dependencies ask for, clamped to [base, max] and lowered no faster
// than in.StepDown allows. It is pure: the same input gives the same plan.
func PlanFloors(in PlanInput) Plan {
	policy := in.StepDown.withDefaults()
	ceiling := in.MaxReplicasWithoutMax
	if ceiling <= 0 {
		ceiling = DefaultMaxReplicasWithoutMax
	}
	states := make(map[string]*serviceState, len(in.Services))
	names := make([]string, 0, len(in.Services))
	for _, cfg := range in.Services {
		if _, dup := states[cfg.Ref.Service]; dup {
			continue
		}
		states[cfg.Ref.Service] = &serviceState{cfg: cfg}
		names = append(names, cfg.Ref.Service)
	}
	for _, w := range in.Workloads {
		st, ok := states[w.Service]
		if !ok {
			continue
		}
		if st.known && !w.ObservedAt.After(st.w.ObservedAt) {
			continue // several observations of one service: the newest wins
		}
		st.w, st.known = w, true
	}
	for _, name := range names {
		st := states[name]
		switch {
		case !st.known:
			st.skip = "no observation of the workload; keeping its floor"
		case in.MaxObservationAge > 0 && in.Now.Sub(st.w.ObservedAt) > in.MaxObservationAge:
			st.known = false
			st.skip = fmt.Sprintf("observation is stale (%s old, max %s); keeping its floor",
				in.Now.Sub(st.w.ObservedAt).Round(time.Second), in.MaxObservationAge)
		}
	}

	patterns := make(map[string][]scaling.Pattern)
	predictions := make(map[string]scaling.Prediction)
	overrides := make(map[string][]scaling.Override)
	if in.PredictiveEnabled {
		for _, o := range in.Overrides {
			overrides[o.Service] = append(overrides[o.Service], o)
		}
		for _, p := range in.Patterns {
			patterns[p.Service] = append(patterns[p.Service], p)
		}
		for _, p := range in.Predictions {
			if cur, ok := predictions[p.Service]; !ok || p.FittedAt > cur.FittedAt {
				predictions[p.Service] = p
			}
		}
	}
	var deps []scaling.Dependency
	if in.DependenciesEnabled {
		for _, d := range in.Dependencies {
			if d.Enabled {
				deps = append(deps, d)
			}
		}
	}
	byTarget := make(map[string][]scaling.Dependency)
	for _, d := range deps {
		byTarget[d.TargetService] = append(byTarget[d.TargetService], d)
	}

	order := OrderDependencies(deps, names...)
	for _, name := range order.Order {
		st, ok := states[name]
		if !ok || st.skip != "" {
			continue // not managed, or already skipped: dependants see it as unknown
		}
		if cycle, in := order.InCycle(name); in {
			st.known = false
			st.skip = "dependency cycle " + strings.Join(append(slices.Clone(cycle), cycle[0]), " -> ") + "; keeping its floor"
			continue
		}
		var contribs []Contribution
		contribs = append(contribs, Contribution{Source: SourceBase, Floor: base(st.w), Detail: "floor before kai-scaler"})
		for _, p := range patterns[name] {
			if c, ok := patternContribution(p, st.w, in.Now, st.cfg.LeadTime); ok {
				contribs = append(contribs, c)
			}
		}
		if p, ok := predictions[name]; ok {
			if c, ok := predictionContribution(p, st.cfg, in.Now); ok {
				contribs = append(contribs, c)
			}
		}
		if c, ok := overrideContribution(overrides[name], st.w, st.cfg.LeadTime, in.Now); ok {
			contribs = append(contribs, c)
		}
		hold := false
		for _, d := range byTarget[name] {
			src, ok := states[d.SourceService]
			if !ok || !src.known {
				// A floor we cannot see must not be lowered; it may still be raised.
				hold = true
				contribs = append(contribs, Contribution{Source: SourceHold, Floor: st.w.MinReplicas,
					Detail: fmt.Sprintf("dependency source %s is not observed; not lowering", d.SourceService)})
				continue
			}
			if c, ok := dependencyContribution(d, src); ok {
				contribs = append(contribs, c)
			}
		}
		st.decision = decide(st.w, contribs, hold, policy, in.Now, ceiling)
		st.decision.Service = name
	}

	var plan Plan
	for _, name := range names {
		st := states[name]
		if st.skip != "" {
			plan.Skipped = append(plan.Skipped, Skipped{Service: name, Reason: st.skip})
			continue
		}
		plan.Decisions = append(plan.Decisions, st.decision)
	}
	return plan
}

// base is the floor before kai-scaler touched the workload.
func base(w Workload) int32 {
	if !w.Touched {
		return w.MinReplicas
	}
	return w.BaseMinReplicas
}

// decide combines contributions by max, clamps to [base, max] and applies the step-down limit.
// ceiling stands in for maxReplicas when the workload has none.
func decide(w Workload, contribs []Contribution, hold bool, policy StepDownPolicy, now time.Time, ceiling int32) Decision {
	win := contribs[0]
	for _, c := range contribs[1:] {
		if c.Floor > win.Floor {
			win = c
		}
	}
	floor, reason := win.Floor, win.Source
	b := base(w)
	if floor < b {
		floor, reason = b, SourceBase
	}
	maxFloor := w.MaxReplicas
	if maxFloor <= 0 {
		maxFloor = max(ceiling, b) // the ceiling never lowers a floor someone else set
	}
	if maxFloor > 0 && floor > maxFloor && maxFloor >= b {
		floor, reason = maxFloor, SourceMax
	}
	if cur := w.MinReplicas; floor < cur && !hold {
		stepped := stepDown(cur, floor, w.FloorChangedAt, policy, now)
		if stepped != floor {
			detail := fmt.Sprintf("lowering from %d towards %d by at most max(%d, %.0f%%) every %s",
				cur, floor, policy.MinStep, policy.MaxFraction*100, policy.Interval)
			if stepped == cur {
				detail = fmt.Sprintf("holding %d until %s (floor last changed %s); then towards %d",
					cur, w.FloorChangedAt.Add(policy.Interval).UTC().Format(time.RFC3339),
					w.FloorChangedAt.UTC().Format(time.RFC3339), floor)
			}
			contribs = append(contribs, Contribution{Source: SourceStepDown, Floor: stepped, Detail: detail})
			floor, reason = stepped, SourceStepDown
			if maxFloor > 0 && floor > maxFloor && maxFloor >= b {
				floor, reason = maxFloor, SourceMax // an HPA refuses min above max
			}
		}
	}
	return Decision{
		Workload:      w,
		Floor:         floor,
		Reason:        reason,
		Contributions: contribs,
		Restore:       w.Touched && floor == b,
	}
}

// stepDown returns the floor to set when the wanted floor is below the current one.
func stepDown(cur, want int32, changedAt time.Time, p StepDownPolicy, now time.Time) int32 {
	if !changedAt.IsZero() && now.Sub(changedAt) < p.Interval {
		return cur
	}
	step := max(p.MinStep, int32(math.Ceil(p.MaxFraction*float64(cur)-1e-9)))
	return max(want, cur-step)
}

// CeilReplicas is ceil(x) that ignores floating-point noise: ceil(0.3 × 10) is 3, not 4.
func CeilReplicas(x float64) int32 {
	if math.IsNaN(x) || x <= 0 {
		return 0
	}
	if x >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(math.Ceil(x - 1e-9))
}

// patternContribution is the floor p asks for at now: the highest window whose hour starts
// within (now-1h, now+lead], so that its floor holds from lead before the window to its end.
func patternContribution(p scaling.Pattern, w Workload, now time.Time, lead time.Duration) (Contribution, bool) {
	if w.MaxReplicas <= 0 {
		return Contribution{}, false // expectedLoad is a share of maxReplicas; without one it has no meaning
	}
	loc := time.UTC
	if p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	lead = max(lead, 0)
	from, to := now.Add(-time.Hour), now.Add(lead)
	// Walk the calendar days in loc that can hold a window start in (from, to]. A week past
	// from is enough: every weekly window recurs within it.
	last := to
	if to.Sub(from) > 8*24*time.Hour {
		last = from.Add(8 * 24 * time.Hour)
	}
	var best *scaling.TimeWindow
	var bestAt time.Time
	fl := from.In(loc)
	for day := time.Date(fl.Year(), fl.Month(), fl.Day(), 0, 0, 0, 0, loc); !day.After(last); day = day.AddDate(0, 0, 1) {
		for i := range p.TimeWindows {
			tw := &p.TimeWindows[i]
			if p.PatternType == scaling.PatternWeekly && (tw.DayOfWeek == nil || time.Weekday(*tw.DayOfWeek) != day.Weekday()) {
				continue
			}
			start := time.Date(day.Year(), day.Month(), day.Day(), tw.HourOfDay, 0, 0, 0, loc)
			if !start.After(from) || start.After(to) {
				continue
			}
			if best == nil || tw.ExpectedLoad > best.ExpectedLoad {
				best, bestAt = tw, start
			}
		}
	}
	if best == nil {
		return Contribution{}, false
	}
	return Contribution{
		Source: SourcePattern,
		Floor:  CeilReplicas(best.ExpectedLoad * float64(w.MaxReplicas)),
		Detail: fmt.Sprintf("%s window at %s expects %.0f%% of %d replicas",
			p.PatternType, bestAt.Format(time.RFC3339), best.ExpectedLoad*100, w.MaxReplicas),
	}, true
}

// predictionContribution is the floor a prediction asks for at now. It looks at the points that
// bear on [now, now+lead]: the point whose step holds now, every point within the lead time, and
// one step more, because load between two points lies between their values.
//
// The floor exists for the rises the HPA cannot follow in time (sync period, pod start-up,
// tolerance, scale-up policies). The prediction's expected load is cut into rises and falls with
// a noise margin of one replica's capacity (see riseLegs): a rise counts once the expected load
// climbs more than the margin above its trough, and lasts until its crest, which a dip smaller
// than the margin does not end. While a rise is under way within the window (its first point
// within it, its crest still ahead) the floor is the upper bound: the highest recommended floor
// of the window's points and of the rise's points already passed, so it climbs with the rise and
// holds until the expected crest, instead of jumping between the bound and the expected load each
// time noise tips the next point up or down (each jump starts pods that are removed minutes
// later). Elsewhere the HPA follows the load itself, so the floor holds only the highest expected
// load of the window's points: it still keeps the service at its expected size if the HPA's
// metrics fail, and it moves only when a point enters or leaves the window, at the forecast's own
// resolution, not one replica at a time as an interpolation would. Coming down goes through the
// step-down policy like any other lowering. A prediction without expected loads, or a service
// without a capacity per replica, is provisioned at its upper bound throughout, as nothing tells
// a rise from a fall.
func predictionContribution(p scaling.Prediction, cfg ServiceConfig, now time.Time) (Contribution, bool) {
	nowMs := now.UnixMilli()
	if p.ValidUntil > 0 && nowMs > p.ValidUntil {
		return Contribution{}, false // never act on a stale forecast
	}
	step := p.StepSeconds * 1000
	from, to := nowMs-step, now.Add(max(cfg.LeadTime, 0)).UnixMilli()+step
	pts := slices.Clone(p.Points)
	slices.SortFunc(pts, func(a, b scaling.PredictionPoint) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	floorOf := func(pt scaling.PredictionPoint) int32 {
		if pt.RecommendedMinReplicas <= 0 && cfg.CapacityPerReplica > 0 {
			return CeilReplicas(pt.UpperLoad / cfg.CapacityPerReplica)
		}
		return pt.RecommendedMinReplicas
	}
	lo := slices.IndexFunc(pts, func(pt scaling.PredictionPoint) bool { return pt.Timestamp > from })
	if lo < 0 || pts[lo].Timestamp > to {
		return Contribution{}, false
	}
	hi := lo
	for hi < len(pts) && pts[hi].Timestamp <= to {
		hi++
	}
	window := pts[lo:hi]
	upper, upperAt := floorOf(window[0]), window[0].Timestamp
	for _, pt := range window[1:] {
		if f := floorOf(pt); f > upper {
			upper, upperAt = f, pt.Timestamp
		}
	}
	c := Contribution{Source: SourcePrediction, Floor: upper,
		Detail: fmt.Sprintf("q%.2f peak of %s model at %s", p.Quantile, p.Model, time.UnixMilli(upperAt).UTC().Format(time.RFC3339))}
	if cfg.CapacityPerReplica <= 0 || slices.ContainsFunc(pts, func(pt scaling.PredictionPoint) bool {
		return !(pt.ExpectedLoad > 0) || math.IsInf(pt.ExpectedLoad, 0)
	}) {
		return c, true // nothing tells a rise from a fall: the upper bound throughout
	}
	margin := cfg.CapacityPerReplica
	for _, r := range riseLegs(pts, margin) {
		if pts[r.trough+1].Timestamp > to || pts[r.crest].Timestamp <= nowMs {
			continue // starts past the window, or its crest has passed
		}
		for i := r.trough + 1; i < lo; i++ { // the rise's points already passed: hold their bound
			if f := floorOf(pts[i]); f > c.Floor {
				c.Floor, upperAt = f, pts[i].Timestamp
			}
		}
		c.Detail = fmt.Sprintf("q%.2f peak of %s model at %s (expected load rises within the lead time: %.4g to %.4g by %s, more than the %.4g noise margin)",
			p.Quantile, p.Model, time.UnixMilli(upperAt).UTC().Format(time.RFC3339),
			pts[r.trough].ExpectedLoad, pts[r.crest].ExpectedLoad,
			time.UnixMilli(pts[r.crest].Timestamp).UTC().Format(time.RFC3339), margin)
		return c, true
	}
	expected, expectedAt := window[0].ExpectedLoad, window[0].Timestamp
	for _, pt := range window[1:] {
		if pt.ExpectedLoad > expected {
			expected, expectedAt = pt.ExpectedLoad, pt.Timestamp
		}
	}
	c.Floor = min(upper, CeilReplicas(expected/cfg.CapacityPerReplica))
	c.Detail = fmt.Sprintf("expected load %.4g of %s model at %s (not rising by more than the %.4g noise margin within the lead time: the HPA follows)",
		expected, p.Model, time.UnixMilli(expectedAt).UTC().Format(time.RFC3339), margin)
	return c, true
}

// rise is a climb of the expected load from pts[trough] to pts[crest].
type rise struct{ trough, crest int }

// riseLegs cuts the expected loads of pts (sorted by time) into rises and falls with hysteresis:
// a trough is confirmed once the load climbs more than margin above it, a crest once it drops
// more than margin below it, so a wiggle of at most margin neither starts nor ends a rise. The
// cut depends on the prediction alone, so every planning round between two fits sees the same
// rises: the decision cannot flip from one round to the next. A rise still climbing at the last
// point ends there.
func riseLegs(pts []scaling.PredictionPoint, margin float64) []rise {
	var rises []rise
	climbing, trough, crest := false, 0, 0
	for i := 1; i < len(pts); i++ {
		e := pts[i].ExpectedLoad
		switch {
		case !climbing && e <= pts[trough].ExpectedLoad: // the latest of equal lows: the rise starts after it
			trough = i
		case !climbing && e-pts[trough].ExpectedLoad > margin:
			climbing, crest = true, i
		case climbing && e > pts[crest].ExpectedLoad:
			crest = i
		case climbing && pts[crest].ExpectedLoad-e > margin:
			rises = append(rises, rise{trough: trough, crest: crest})
			climbing, trough = false, i
		}
	}
	if climbing {
		rises = append(rises, rise{trough: trough, crest: crest})
	}
	return rises
}

// dependencyContribution is the floor dependency d asks of its target, given its resolved source.
func dependencyContribution(d scaling.Dependency, src *serviceState) (Contribution, bool) {
	srcReplicas := max(src.w.CurrentReplicas, src.decision.Floor)
	c := Contribution{Source: SourceDependencyPrefix + d.SourceService}
	switch d.DependencyType {
	case scaling.DependencyProportional:
		if d.Ratio == nil {
			return Contribution{}, false
		}
		c.Floor = CeilReplicas(float64(srcReplicas) * *d.Ratio)
		c.Detail = fmt.Sprintf("%g x %d replicas of %s", *d.Ratio, srcReplicas, d.SourceService)
	case scaling.DependencyFixed:
		if d.Replicas == nil || srcReplicas <= base(src.w) {
			return Contribution{}, false
		}
		c.Floor = *d.Replicas
		c.Detail = fmt.Sprintf("%s scaled above its base (%d > %d)", d.SourceService, srcReplicas, base(src.w))
	case scaling.DependencyMinimum:
		if d.MinReplicas == nil {
			return Contribution{}, false
		}
		c.Floor = *d.MinReplicas
		c.Detail = "minimum while depending on " + d.SourceService
	default:
		return Contribution{}, false
	}
	return c, true
}
