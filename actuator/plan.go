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
	// Need is each service's recent need samples (Workload.NeededReplicas over the last
	// quarter of an hour of rounds, in time order, each with its forecast then: AddNeed), for
	// the surge floors of services whose calibrated settings ask for one
	// (scaling.FloorSettings.SurgeSeconds) and to tell a collapse (LoadCollapsed).
	Need map[string][]NeedSample
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

// MaxBoundShare is the highest FloorSettings.BoundShare read: three times the distance from the
// expected load to the upper bound. A forecast made at its own step (five minutes, an hour)
// bounds the load averaged over that step, and a service whose load is noisy within the step
// (per-minute noise on a steady rhythm) is short above that bound far more often than its
// quantile says; past the bound, at the same cost to the budget as any other setting,
// calibration can buy that headroom where it pays.
const MaxBoundShare = 3

// StepDownPolicy limits how fast a raised floor comes down, so that lowering the floor never
// drops replicas faster than the HPA's own scale-down stabilization would. Going up is immediate.
// A service with a surge floor is the exception: its floor comes down at once to the most its
// HPA's metric asked for over the last minutes (ReleaseFloor), since the HPA itself holds that.
type StepDownPolicy struct {
	// Interval is the least time between two lowering steps; default 5m.
	Interval time.Duration
	// MaxFraction is the largest share of the current floor removed in one step; default 0.25.
	MaxFraction float64
	// MinStep is the least number of replicas removed in one step; default 1.
	MinStep int32
	// AtOnce lowers the floor to what is wanted at once, the other fields aside: a service
	// whose calibration chose it (scaling.FloorSettings.StepDownAtOnce).
	AtOnce bool
}

// DefaultStepDown is the policy used for zero fields of StepDownPolicy.
var DefaultStepDown = StepDownPolicy{Interval: 5 * time.Minute, MaxFraction: 0.25, MinStep: 1}

// WithDefaults fills the zero fields of p from DefaultStepDown.
func (p StepDownPolicy) WithDefaults() StepDownPolicy {
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
	// Source is "base", "pattern", "prediction", "surge", "override", "dependency:<source>",
	// "step-down", "hold" or "max".
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
	// PredictionSetAside is true while the load has collapsed under the prediction
	// (LoadCollapsed) and its floor is set aside.
	PredictionSetAside bool
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
// window (from LeadTime before the window until its end; a derived pattern only while no
// prediction is in force: derivedPatternInForce), its prediction over the lead time (set
// aside while the load has collapsed under it: LoadCollapsed), its active scheduled overrides
// (from LeadTime before their start until their end), and the floors its enabled dependencies
// ask for, clamped to [base, max] and lowered no faster than in.StepDown allows (at once where
// the prediction's calibration chose StepDownAtOnce, or the load collapsed), landing the HPA
// at a flat need's top on the way (Land). It is pure: the same input gives the same plan.
func PlanFloors(in PlanInput) Plan {
	policy := in.StepDown.WithDefaults()
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
		var release surgeRelease // zero: a floor above the plan comes down by the step-down policy alone
		stepDown := policy
		contribs = append(contribs, Contribution{Source: SourceBase, Floor: base(st.w), Detail: "floor before kai-scaler"})
		pred, hasPred := predictions[name]
		var collapsed bool // the load collapsed under the prediction: LoadCollapsed
		for _, p := range patterns[name] {
			if p.Source == scaling.SourceDerived && !derivedPatternInForce(p, pred, hasPred, in.Now) {
				continue
			}
			if c, ok := patternContribution(p, st.w, in.Now, st.cfg.LeadTime); ok {
				if p.Source == scaling.SourceDerived {
					c.Detail += fmt.Sprintf(" (derived by the forecaster at %s, standing in while no prediction is in force)",
						time.UnixMilli(p.LastUpdated).UTC().Format(time.RFC3339))
				}
				contribs = append(contribs, c)
			}
		}
		if hasPred {
			// A surge floor and a step-down at once ride on the prediction's calibration, and go
			// with it when the prediction expires: its settings were chosen for that service's
			// recent history.
			cal := pred.Calibration
			if cal != nil && expired(pred.ValidUntil, in.Now.UnixMilli()) {
				cal = nil
			}
			var collapse Collapse
			collapse, collapsed = loadCollapsed(pred, in.Need[name], in.Now)
			if collapsed {
				contribs = append(contribs, collapseContribution(collapse))
			} else {
				contribs = append(contribs, predictionContributions(pred, st.cfg, in.Now, st.w.MinReplicas)...)
			}
			if cal != nil && cal.StepDownAtOnce {
				stepDown.AtOnce = true
			}
			if cal != nil && cal.SurgeSeconds > 0 {
				mayRaise, mayRelease := SurgeMay(st.w.FloorChangedAt, in.Now)
				if c, ok := surgeContribution(in.Need[name], in.Now, time.Duration(cal.SurgeSeconds)*time.Second,
					st.w.MinReplicas, st.w.CurrentReplicas, cal.SurgeTolerance, mayRaise); ok {
					contribs = append(contribs, c)
				}
				switch {
				case mayRelease:
					release.to = ReleaseFloor(in.Need[name], in.Now)
				case len(in.Need[name]) > 0: // without the metric there is nothing to release to
					release.heldUntil = st.w.FloorChangedAt.Add(SurgeHold)
				}
			}
			if collapsed {
				// Nothing asked for the capacity above the need for the whole window, and the
				// HPA's stabilization keeps what the need asked for: no forecast is late here.
				release = surgeRelease{to: collapse.Floor(), collapsed: true}
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
		release.landing = LandingFloor(in.Need[name], in.Now)
		st.decision = decide(st.w, contribs, hold, stepDown, in.Now, ceiling, release)
		st.decision.Service, st.decision.PredictionSetAside = name, collapsed
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

// surgeRelease is how the floor of a service with a surge floor, or whose load collapsed,
// comes down: at once to to (ReleaseFloor, Collapse.Floor; 0: by the step-down policy), or not
// before heldUntil (SurgeHold); and, for every service whose load did not collapse, where it
// lands the HPA on the way.
type surgeRelease struct {
	to        int32
	heldUntil time.Time
	collapsed bool
	landing   int32 // LandingFloor; 0: none
}

// decide combines contributions by max, clamps to [base, max] and applies the step-down limit,
// or comes down at once as release allows. ceiling stands in for maxReplicas when the workload
// has none.
func decide(w Workload, contribs []Contribution, hold bool, policy StepDownPolicy, now time.Time, ceiling int32, release surgeRelease) Decision {
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
		stepped, released := LowerFloor(cur, floor, w.FloorChangedAt, policy, now, release.to)
		landed := stepped
		if !release.collapsed {
			landed = Land(cur, stepped, w.CurrentReplicas, release.landing)
		}
		// Come down at once for a collapse, the floor says so even where it reaches the plan:
		// "base" alone would not say why a raised floor fell at once.
		if landed != floor || (released && release.collapsed) {
			detail := fmt.Sprintf("lowering from %d towards %d by at most max(%d, %.0f%%) every %s",
				cur, floor, policy.MinStep, policy.MaxFraction*100, policy.Interval)
			switch {
			case landed == cur && landed != stepped:
				detail = fmt.Sprintf("holding %d while the HPA is above it at %d: its metric asked for %d at most over the last %s, within its tolerance all along, and the HPA's own scale-down stops here, not in a dip; then towards %d",
					cur, w.CurrentReplicas, release.landing, needKept, floor)
			case landed != stepped:
				detail = fmt.Sprintf("lowering from %d to %d, towards %d: the most the HPA's metric asked for over the last %s, within its tolerance all along, where the HPA stays once the floor goes on down",
					cur, landed, floor, needKept)
			case released && release.collapsed:
				detail = fmt.Sprintf("lowering from %d to %d at once: the load collapsed under the forecast, and the HPA's metric asked for no more over the last %s",
					cur, stepped, CollapseWindow)
			case released:
				detail = fmt.Sprintf("lowering from %d to %d at once, towards %d: the most the HPA's metric asked for over the last %s, which its own scale-down stabilization keeps",
					cur, stepped, floor, releaseWindow)
			case stepped == cur && !release.heldUntil.IsZero():
				detail = fmt.Sprintf("holding %d until %s, %s after its last change, in case the surge goes on; then towards %d",
					cur, release.heldUntil.UTC().Format(time.RFC3339), SurgeHold, floor)
			case stepped == cur:
				detail = fmt.Sprintf("holding %d until %s (floor last changed %s); then towards %d",
					cur, w.FloorChangedAt.Add(policy.Interval).UTC().Format(time.RFC3339),
					w.FloorChangedAt.UTC().Format(time.RFC3339), floor)
			}
			contribs = append(contribs, Contribution{Source: SourceStepDown, Floor: landed, Detail: detail})
			floor, reason = landed, SourceStepDown
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

// LowerFloor returns the floor to set when the wanted floor is below the current one, last
// changed at changedAt: by policy p (its zero fields filled; want itself with p.AtOnce), or at
// once down to release where that is lower (ReleaseFloor; 0: none), never below want; released
// says release set it. The planner and calibration's replay both lower floors through it.
func LowerFloor(cur, want int32, changedAt time.Time, p StepDownPolicy, now time.Time, release int32) (floor int32, released bool) {
	return LowerFloorAfter(cur, want, !changedAt.IsZero(), now.Sub(changedAt), p, release)
}

// LowerFloorAfter is LowerFloor of a floor changed since ago (changed: by kai-scaler since it
// started; else since is not read), for calibration's replay (SurgeMayAfter).
func LowerFloorAfter(cur, want int32, changed bool, since time.Duration, p StepDownPolicy, release int32) (floor int32, released bool) {
	if p.AtOnce {
		return want, false
	}
	p = p.WithDefaults()
	floor = cur
	if !changed || since >= p.Interval {
		floor = max(want, cur-max(p.MinStep, int32(math.Ceil(p.MaxFraction*float64(cur)-1e-9))))
	}
	if release > 0 && max(want, release) < floor {
		return max(want, release), true
	}
	return floor, false
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

// derivedPatternMaxAge is how long after its derivation a derived pattern may set floors: the
// week ahead the forecaster fitted it for (its PatternHorizon). Older, it is a stale forecast.
const derivedPatternMaxAge = 7 * 24 * time.Hour

// derivedPatternInForce reports whether a pattern the forecaster derived may set a floor at
// now, pred being the service's newest prediction (when hasPred). Not while a prediction is in
// force: the pattern is the same forecaster's fit cut into hours, each window holding its
// hour's highest calibrated load from lead before the hour to its end, so beside the
// prediction it spent replica-hours that calibration never replayed and the budget never
// counted (a falling hour held at its first minutes' load). It stands in for the prediction
// when none is in force (the forecaster cannot reach Prometheus, say): a floor from the
// week's shape errs towards capacity while the forecaster is down. Never once it is older than
// derivedPatternMaxAge.
func derivedPatternInForce(p scaling.Pattern, pred scaling.Prediction, hasPred bool, now time.Time) bool {
	if now.Sub(time.UnixMilli(p.LastUpdated)) > derivedPatternMaxAge {
		return false
	}
	return !hasPred || expired(pred.ValidUntil, now.UnixMilli())
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

// predictionContributions are the floor a prediction asks for at now, under the floor settings
// its calibration chose (the defaults without one). It looks at the points that bear on
// [now, now+lead]: the point whose step holds now, every point within the lead time, and one
// step more, because load between two points lies between their values.
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
//
// Calibrated settings (scaling.FloorSettings) change the margin (noise the HPA does not act
// on), the lead time, how far between the expected load and the upper bound "the upper bound"
// sits, and smooth the loads first (a one-point spike in the forecast is not a rise);
// BoundThroughout keeps that bound on steady and falling stretches too; Off leaves no
// prediction floor at all.
//
// With a hold (FloorSettings.HoldSeconds), a second contribution keeps the current floor cur
// up to the highest floor the prediction asks for over the hold (PredictionFloor.HeldFloor):
// it never raises the floor, it only keeps it from dipping where the forecast comes back.
func predictionContributions(p scaling.Prediction, cfg ServiceConfig, now time.Time, cur int32) []Contribution {
	var settings *scaling.FloorSettings
	if p.Calibration != nil {
		settings = &p.Calibration.FloorSettings
	}
	f := NewPredictionFloor(p, cfg, settings)
	c, ok := predictionContribution(&f, p, now)
	var out []Contribution
	if ok {
		out = append(out, c)
	}
	held, ok := f.HeldFloor(now, DefaultInterval)
	if kept := min(held, cur); ok && kept > 0 && (len(out) == 0 || kept > out[0].Floor) {
		out = append(out, Contribution{Source: SourcePrediction, Floor: kept,
			Detail: fmt.Sprintf("holding %d: the prediction asks for %d again within the next %s (hysteresis: a dip it sees coming back is not scaled down for)",
				kept, held, f.Hold())})
	}
	return out
}

// predictionContribution is the floor f (prepared from p) asks for at now, with its reason.
func predictionContribution(f *PredictionFloor, p scaling.Prediction, now time.Time) (Contribution, bool) {
	e, ok := f.eval(now.UnixMilli())
	if !ok {
		return Contribution{}, false
	}
	c := Contribution{Source: SourcePrediction, Floor: e.floor}
	at := func(i int) string { return time.UnixMilli(f.pts[i].Timestamp).UTC().Format(time.RFC3339) }
	switch {
	case e.rise >= 0:
		r := f.rises[e.rise]
		c.Detail = fmt.Sprintf("q%.2f peak of %s model at %s (expected load rises within the lead time: %.4g to %.4g by %s, more than the %.4g noise margin)",
			p.Quantile, p.Model, at(e.at), f.exp[r.trough], f.exp[r.crest], at(r.crest), f.margin)
	case f.boundThroughout:
		way := fmt.Sprintf("%g of the way to", f.share)
		if f.share > 1 {
			way = fmt.Sprintf("%g times the distance to", f.share)
		}
		c.Detail = fmt.Sprintf("expected load %.4g plus %s the q%.2f bound of %s model at %s, held on steady stretches too (headroom for the noise the HPA lets through)",
			f.exp[e.at], way, p.Quantile, p.Model, at(e.at))
	case e.expected:
		c.Detail = fmt.Sprintf("expected load %.4g of %s model at %s (not rising by more than the %.4g noise margin within the lead time: the HPA follows)",
			f.exp[e.at], p.Model, at(e.at), f.margin)
	default:
		c.Detail = fmt.Sprintf("q%.2f peak of %s model at %s", p.Quantile, p.Model, at(e.at))
	}
	if p.Calibration != nil && f.calibrated {
		c.Detail += "; calibrated: " + p.Calibration.Reason
	}
	return c, true
}

// PredictionFloor is a prediction prepared for floor queries under fixed settings: its points
// sorted, smoothed and cut into rises once, so asking for the floor at many instants (the
// planner every round, a calibration replay every minute) costs a lookup each. A query
// remembers where it fell, so one PredictionFloor is not for concurrent use.
type PredictionFloor struct {
	off        bool
	calibrated bool
	validUntil int64
	step       int64
	lead       time.Duration
	margin     float64
	pts        []scaling.PredictionPoint
	exp        []float64 // expected load per point, smoothed
	floors     []int32   // the "upper" floor per point
	expFloors  []int32   // the expected load's floor per point
	rises      []rise
	upperOnly  bool // nothing tells a rise from a fall
	risesOnly  bool
	// boundThroughout: the "upper" floor outside rises too, not the expected load's; share
	// is how far it sits from the expected load to the upper bound.
	boundThroughout bool
	share           float64
	// interpolate: the floor is the highest interpolated load over [now, now+lead]; mix is
	// the load the "upper" floor carries per point.
	interpolate bool
	mix         []float64
	capacity    float64
	// hold is FloorSettings.HoldSeconds: how far ahead HeldFloor looks.
	hold time.Duration
	// seenPoint and seenRise are where the last query's searches ended (seek): calibration
	// asks at steadily later instants, mostly within a point of the last.
	seenPoint, seenRise int
}

// NewPredictionFloor prepares p for cfg under settings (nil: the defaults). The result reads
// p's points in place where they are in time order already (a PlanningView), so they must not
// change while it is in use.
func NewPredictionFloor(p scaling.Prediction, cfg ServiceConfig, settings *scaling.FloorSettings) PredictionFloor {
	f := PredictionFloor{validUntil: p.ValidUntil, step: p.StepSeconds * 1000, lead: max(cfg.LeadTime, 0)}
	var s scaling.FloorSettings
	if settings != nil {
		s, f.calibrated = *settings, true
	}
	if s.Off {
		f.off = true
		return f
	}
	if s.LeadSeconds > 0 {
		f.lead = time.Duration(s.LeadSeconds) * time.Second
	}
	f.hold = max(time.Duration(s.HoldSeconds)*time.Second, 0)
	f.pts = planningPoints(p, f.lead)
	capacity := cfg.CapacityPerReplica
	if s.Tolerance > 0 && capacity > 0 {
		capacity *= 1 + s.Tolerance // the HPA settles within its tolerance of the target
	}
	f.capacity = capacity
	f.upperOnly = capacity <= 0 || slices.ContainsFunc(f.pts, func(pt scaling.PredictionPoint) bool {
		return !(pt.ExpectedLoad > 0) || math.IsInf(pt.ExpectedLoad, 0)
	})
	exp, upper := make([]float64, len(f.pts)), make([]float64, len(f.pts))
	for i, pt := range f.pts {
		exp[i], upper[i] = pt.ExpectedLoad, pt.UpperLoad
	}
	if s.SmoothingPoints > 1 && !f.upperOnly {
		exp, upper = centredMean(exp, s.SmoothingPoints), centredMean(upper, s.SmoothingPoints)
	}
	f.exp = exp
	share := 1.0
	if s.BoundShare != nil {
		share = math.Min(MaxBoundShare, math.Max(-1, *s.BoundShare))
	}
	f.share = share
	useLoads := !f.upperOnly && (share != 1 || s.SmoothingPoints > 1 || s.Tolerance > 0)
	f.floors, f.expFloors = make([]int32, len(f.pts)), make([]int32, len(f.pts))
	if s.Interpolate && !f.upperOnly {
		f.interpolate = true
		f.mix = make([]float64, len(f.pts))
		for i := range f.pts {
			f.mix[i] = max(0, exp[i]+share*max(0, upper[i]-exp[i]))
		}
	}
	for i, pt := range f.pts {
		switch {
		case useLoads:
			f.floors[i] = CeilReplicas((exp[i] + share*max(0, upper[i]-exp[i])) / capacity) // a negative share: below the expected load
		case pt.RecommendedMinReplicas <= 0 && capacity > 0:
			f.floors[i] = CeilReplicas(pt.UpperLoad / capacity)
		default:
			f.floors[i] = pt.RecommendedMinReplicas
		}
		if !f.upperOnly {
			f.expFloors[i] = CeilReplicas(exp[i] / capacity)
		}
	}
	if f.upperOnly {
		return f
	}
	m := s.NoiseMarginReplicas
	if !(m > 0) {
		m = 1
	}
	f.margin = m * capacity
	f.rises = riseLegsOf(exp, f.margin)
	f.risesOnly = s.RisesOnly
	f.boundThroughout = s.BoundThroughout && !s.RisesOnly
	return f
}

// PlanningSlack is how far past a prediction's validity and lead time the planner reads it (at
// least a step of the prediction): half the widest smoothing calibration tries (65 min,
// centred) and the window's extra step, so no floor asked for while the prediction is valid
// is smoothed over a cut window, and a rise climbing then has an hour to show.
const PlanningSlack = time.Hour

// PlanningEnd is the last instant (Unix ms) of p the planner reads at lead time lead: the end
// of its validity plus lead and PlanningSlack (or a step). A floor is asked for only while p
// is valid, over [now, now+lead]; later points shape it only through smoothing and the rises'
// hysteresis. Read to the forecast's end, the floor would depend on how far the forecaster
// happened to look (a day live, less in a replay): calibration replays each prediction up to
// this instant, so the planner reads as far and no further, and plans the floors calibration
// scored. Without an end of validity, all of p.
func PlanningEnd(p scaling.Prediction, lead time.Duration) int64 {
	if p.ValidUntil <= 0 {
		return math.MaxInt64
	}
	slack := max(PlanningSlack, time.Duration(p.StepSeconds)*time.Second)
	return p.ValidUntil + max(lead, 0).Milliseconds() + slack.Milliseconds()
}

// PlanningView is p with only the points the planner reads at lead time lead (up to
// PlanningEnd), in time order, in a slice of its own.
func PlanningView(p scaling.Prediction, lead time.Duration) scaling.Prediction {
	end := PlanningEnd(p, lead)
	pts := make([]scaling.PredictionPoint, 0, min(len(p.Points), 64))
	for _, pt := range p.Points {
		if pt.Timestamp <= end {
			pts = append(pts, pt)
		}
	}
	slices.SortFunc(pts, func(a, b scaling.PredictionPoint) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	p.Points = pts
	return p
}

// planningPoints are PlanningView(p, lead)'s points. Points in strict time order (as a
// PlanningView leaves them) are that view's points already up to PlanningEnd: they are read
// in place, without the copy and sort that were most of what preparing a calibration's
// predictions allocated.
func planningPoints(p scaling.Prediction, lead time.Duration) []scaling.PredictionPoint {
	pts, end, n := p.Points, PlanningEnd(p, lead), 0
	for i, pt := range pts {
		if i > 0 && pt.Timestamp <= pts[i-1].Timestamp {
			return PlanningView(p, lead).Points
		}
		if pt.Timestamp <= end {
			n = i + 1
		}
	}
	return pts[:n:n]
}

// seek is the index of the first of s whose key is at least t (len(s) if none), where s
// ascends by key. Queries mostly come a little after the last (a replay asks minute by
// minute), so it starts where the last seek over s ended (*seen, which it updates) and steps
// on by up to one element. The answer is checked against its neighbours, so queries in any
// order get what a binary search gives; only a step back or a longer step on searches.
func seek[E any](s []E, t int64, seen *int, key func(E) int64) int {
	i := *seen
	switch {
	case i > 0 && key(s[i-1]) >= t:
		i, _ = slices.BinarySearchFunc(s[:i-1], t, func(e E, t int64) int { return cmp.Compare(key(e), t) })
	case i < len(s) && key(s[i]) < t:
		i++
		if i < len(s) && key(s[i]) < t {
			j, _ := slices.BinarySearchFunc(s[i+1:], t, func(e E, t int64) int { return cmp.Compare(key(e), t) })
			i += 1 + j
		}
	}
	*seen = i
	return i
}

func timestamp(pt scaling.PredictionPoint) int64 { return pt.Timestamp }

// firstPoint is the index of the first point at or after t (len(f.pts) if none).
func (f *PredictionFloor) firstPoint(t int64) int { return seek(f.pts, t, &f.seenPoint, timestamp) }

// nextRise is the index of the first rise whose crest is after nowMs (len(f.rises) if none).
func (f *PredictionFloor) nextRise(nowMs int64) int {
	return seek(f.rises, nowMs+1, &f.seenRise, func(r rise) int64 { return f.pts[r.crest].Timestamp })
}

// evalInterpolated is eval for Interpolate: the forecast is read as the load will pass, linear
// between points, over [now, now+lead].
func (f *PredictionFloor) evalInterpolated(nowMs int64) (floorEval, bool) {
	pts := f.pts
	if len(pts) == 0 {
		return floorEval{}, false
	}
	to := nowMs + f.lead.Milliseconds()
	j := f.firstPoint(nowMs + 1)
	k := j // the first point after to
	for k < len(pts) && pts[k].Timestamp <= to {
		k++
	}
	return f.interpolatedAt(nowMs, to, j, f.nextRise(nowMs), k)
}

// interpolatedAt is evalInterpolated over [nowMs, to] where pts[j] is the first point after
// nowMs, pts[k] the first after to, and rises[ri] the first rise whose crest is after nowMs.
func (f *PredictionFloor) interpolatedAt(nowMs, to int64, j, ri, k int) (floorEval, bool) {
	pts := f.pts
	if (j == 0 && pts[0].Timestamp-nowMs > f.step) || (j == len(pts) && nowMs-pts[len(pts)-1].Timestamp > f.step) {
		return floorEval{}, false
	}
	e := floorEval{rise: -1, at: min(j, len(pts)-1)}
	if ri < len(f.rises) && pts[f.rises[ri].trough].Timestamp < to {
		e.rise = ri
	}
	if e.rise < 0 && f.risesOnly {
		return floorEval{}, false
	}
	e.floor = CeilReplicas(peak(pts, f.mix, nowMs, to, j, k) / f.capacity)
	if e.rise < 0 && !f.boundThroughout {
		e.expected = true
		e.floor = min(e.floor, CeilReplicas(peak(pts, f.exp, nowMs, to, j, k)/f.capacity))
	}
	return e, true
}

// FloorsEvery sets dst[r] to the floor FloorAt(fromMs + r×everyMs) asks for, 0 where it asks
// for none, for every r (everyMs > 0). The instants are swept in one pass, each search going
// on from where the last ended: a calibration reads every round of every prediction for each
// candidate's floors, and the searches, calls and checks FloorAt repeats at each round were
// two fifths of that reading (TestFloorsEveryIsFloorAt).
func (f *PredictionFloor) FloorsEvery(dst []int32, fromMs, everyMs int64) {
	pts := f.pts
	if f.off || (f.interpolate && len(pts) == 0) {
		clear(dst)
		return
	}
	// The points after now (interpolated) or after a step before it (step-wise), those after
	// the window's end, and the rise whose crest is after now.
	reach := f.lead.Milliseconds()
	if !f.interpolate {
		reach += f.step
	}
	first, last, ri := 0, 0, 0
	for r := range dst {
		now := fromMs + int64(r)*everyMs
		if expired(f.validUntil, now) {
			clear(dst[r:]) // never act on a stale forecast, and it stays stale
			return
		}
		after, to := now, now+reach
		if !f.interpolate {
			after = now - f.step
		}
		for first < len(pts) && pts[first].Timestamp <= after {
			first++
		}
		for ri < len(f.rises) && pts[f.rises[ri].crest].Timestamp <= now {
			ri++
		}
		last = max(last, first)
		for last < len(pts) && pts[last].Timestamp <= to {
			last++
		}
		var e floorEval
		if f.interpolate {
			e, _ = f.interpolatedAt(now, to, first, ri, last)
		} else {
			e, _ = f.stepwiseAt(now, to, first, last, ri)
		}
		dst[r] = e.floor
	}
}

// peak is the highest of v, linear between pts, over [from, to], where pts[j] is the first
// point after from and pts[k] the first after to. It uses the builtin max, which the compiler
// inlines, not math.Max, an assembly call on amd64: a calibration reads a peak at every round
// of every prediction for every candidate, and the calls were 5-8 % of its CPU.
func peak(pts []scaling.PredictionPoint, v []float64, from, to int64, j, k int) float64 {
	m := max(interpolate(pts, v, from, j), interpolate(pts, v, to, k))
	for i := j; i < len(pts) && pts[i].Timestamp < to; i++ {
		m = max(m, v[i])
	}
	return m
}

// interpolate is v linear between pts at t, where pts[j] is the first point after t; the
// ends hold.
func interpolate(pts []scaling.PredictionPoint, v []float64, t int64, j int) float64 {
	switch {
	case j == 0:
		return v[0]
	case j == len(pts):
		return v[len(v)-1]
	}
	a, b := pts[j-1].Timestamp, pts[j].Timestamp
	return v[j-1] + (v[j]-v[j-1])*float64(t-a)/float64(b-a)
}

// centredMean is the moving average of v over w points centred on each (shorter at the ends).
// It slides one sum along v: summing each window afresh cost len(v)×w additions, and on a
// per-second trace, whose forecast is smoothed over 1501 points, that was 97 % of simulate's
// CPU (26 CPU-s a calibration). The sum is taken afresh at every w-th point, and wherever a
// value that entered or left it since was larger than the sum (a leap down, whose rounding
// would linger in the small sums after it), so its error stays within about w roundings of
// the sum itself; and wherever it is not a number (an infinite value left the window, where
// the running sum would carry NaN on).
func centredMean(v []float64, w int) []float64 {
	out := make([]float64, len(v))
	h := w / 2
	var sum, moved float64 // moved: the largest value that entered or left since the sum was taken afresh
	lo, hi := 0, 0         // the window summed: v[lo:hi]
	for i := range v {
		from, to := max(0, i-h), min(len(v), i+w-h)
		for ; hi < to; hi++ {
			sum += v[hi]
			moved = max(moved, math.Abs(v[hi]))
		}
		for ; lo < from; lo++ {
			sum -= v[lo]
			moved = max(moved, math.Abs(v[lo]))
		}
		if i%w == 0 || !(moved <= math.Abs(sum)) { // NaN compares false: summed afresh
			sum, moved = 0, 0
			for _, x := range v[lo:hi] {
				sum += x
			}
		}
		out[i] = sum / float64(hi-lo)
	}
	return out
}

// floorEval is a floor and where it came from: the point it was read at, the rise under way
// (-1 for none), and whether it is the expected load's floor.
type floorEval struct {
	floor    int32
	at, rise int
	expected bool
}

// expired reports whether a prediction valid until validUntilMs (0: no end) has expired at
// nowMs: the planner never acts on a stale forecast, neither its floor nor its surge floor.
func expired(validUntilMs, nowMs int64) bool { return validUntilMs > 0 && nowMs > validUntilMs }

// Floor is the floor the prediction asks for at now; false when it asks for none (stale, off,
// or no point bears on the window).
func (f *PredictionFloor) Floor(now time.Time) (int32, bool) { return f.FloorAt(now.UnixMilli()) }

// FloorAt is Floor at an instant in Unix milliseconds, for a replay that reads every round of
// a week for each of its candidates and spent a twentieth of that on time.Time's arithmetic.
func (f *PredictionFloor) FloorAt(unixMilli int64) (int32, bool) {
	e, ok := f.eval(unixMilli)
	return e.floor, ok
}

// Hold is how far ahead HeldFloor looks (FloorSettings.HoldSeconds); 0 for none.
func (f *PredictionFloor) Hold() time.Duration { return f.hold }

// HeldFloor is the highest floor the prediction asks for at now and at every round after it,
// every apart, up to now+Hold(): the planner's rounds over the hold. A floor above it comes
// down no further than to it (FloorSettings.HoldSeconds). False when no round of the hold has
// a floor (stale, off, no hold). Each round is read as Floor reads it, so the floor held is
// one the planner would ask for again within the hold, and calibration, which reads the same
// rounds (HoldRounds), scores the hold the planner keeps.
func (f *PredictionFloor) HeldFloor(now time.Time, every time.Duration) (int32, bool) {
	if f.hold <= 0 || every <= 0 {
		return 0, false
	}
	var held int32
	found := false
	for k := range HoldRounds(f.hold, every) + 1 {
		if fl, ok := f.Floor(now.Add(time.Duration(k) * every)); ok {
			held, found = max(held, fl), true
		}
	}
	return held, found
}

// HoldRounds is how many rounds every apart after now a hold of hold reads (HeldFloor).
func HoldRounds(hold, every time.Duration) int {
	if hold <= 0 || every <= 0 {
		return 0
	}
	return int(hold / every)
}

func (f *PredictionFloor) eval(nowMs int64) (floorEval, bool) {
	if f.off || expired(f.validUntil, nowMs) {
		return floorEval{}, false // never act on a stale forecast
	}
	if f.interpolate {
		return f.evalInterpolated(nowMs)
	}
	to := nowMs + f.lead.Milliseconds() + f.step
	lo := f.firstPoint(nowMs - f.step + 1)
	hi := lo
	for hi < len(f.pts) && f.pts[hi].Timestamp <= to {
		hi++
	}
	return f.stepwiseAt(nowMs, to, lo, hi, f.nextRise(nowMs))
}

// stepwiseAt is eval read point by point at nowMs, over the points [lo, hi) from a step before
// it to a step after the lead time (to), with rises[ri] the first rise whose crest is after
// nowMs.
func (f *PredictionFloor) stepwiseAt(nowMs, to int64, lo, hi, ri int) (floorEval, bool) {
	pts := f.pts
	if lo >= len(pts) || pts[lo].Timestamp > to {
		return floorEval{}, false
	}
	e := floorEval{floor: f.floors[lo], at: lo, rise: -1}
	for i := lo + 1; i < hi; i++ {
		if f.floors[i] > e.floor {
			e.floor, e.at = f.floors[i], i
		}
	}
	if f.upperOnly {
		return e, true // nothing tells a rise from a fall: the upper bound throughout
	}
	// Rises follow one another (each trough after the last crest): the only one that can be
	// under way is the first whose crest is still ahead.
	if ri < len(f.rises) && pts[f.rises[ri].trough+1].Timestamp <= to {
		r := f.rises[ri]
		for i := r.trough + 1; i < lo; i++ { // the rise's points already passed: hold their bound
			if f.floors[i] > e.floor {
				e.floor, e.at = f.floors[i], i
			}
		}
		e.rise = ri
		return e, true
	}
	if f.risesOnly {
		return floorEval{}, false
	}
	if f.boundThroughout {
		return e, true
	}
	upper := e.floor
	e.at, e.expected = lo, true
	for i := lo + 1; i < hi; i++ {
		if f.exp[i] > f.exp[e.at] {
			e.at = i
		}
	}
	e.floor = min(upper, f.expFloors[e.at])
	return e, true
}

// rise is a climb of the expected load from pts[trough] to pts[crest].
type rise struct{ trough, crest int }

// riseLegsOf cuts the expected loads exp (in time order) into rises and falls with hysteresis:
// a trough is confirmed once the load climbs more than margin above it, a crest once it drops
// more than margin below it, so a wiggle of at most margin neither starts nor ends a rise. The
// cut depends on the prediction alone, so every planning round between two fits sees the same
// rises: the decision cannot flip from one round to the next. A rise still climbing at the last
// point ends there.
func riseLegsOf(exp []float64, margin float64) []rise {
	var rises []rise
	climbing, trough, crest := false, 0, 0
	for i := 1; i < len(exp); i++ {
		e := exp[i]
		switch {
		case !climbing && e <= exp[trough]: // the latest of equal lows: the rise starts after it
			trough = i
		case !climbing && e-exp[trough] > margin:
			climbing, crest = true, i
		case climbing && e > exp[crest]:
			crest = i
		case climbing && exp[crest]-e > margin:
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
