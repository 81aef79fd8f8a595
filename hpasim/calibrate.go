package hpasim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// Calibration defaults.
const (
	// DefaultBudget is the extra replica-hours over a reactive HPA floors may cost.
	DefaultBudget = 0.10
	// DefaultCalibrationWindow is how much recent history a calibration replays: a week, so
	// every weekday is seen once.
	DefaultCalibrationWindow = 7 * 24 * time.Hour
	// DefaultMinCalibrationWindow is the least replayable history (covered by earlier
	// forecasts) below which Calibrate keeps the defaults: two days.
	DefaultMinCalibrationWindow = 2 * 24 * time.Hour
	// DefaultCalibrationStep is the coarsest replay step: on a history at the forecaster's
	// 5 min step the HPA syncs once a minute instead of every 15 s, which keeps a week's replay
	// of every candidate within a few tens of milliseconds and changes reactive and predictive
	// runs alike. A history sampled more often is replayed more finely (replayStep).
	DefaultCalibrationStep = time.Minute
	// DefaultBudgetShare is the share of the budget a candidate may spend on the replayed
	// window: the rest is headroom for the next hours, which the replay has not seen.
	// MaxBudgetShare is the most it may spend where its cost was steady day by day
	// (budgetShare): the rest is for what no day of the window showed.
	DefaultBudgetShare = 0.8
	MaxBudgetShare     = 0.9
	// minGain is the least share of the reactive run's under-provisioned replica-minutes
	// within max replicas a floor must remove to be worth any cost: below it, floors are off.
	// A floor must also remove at least the share of replica-hours it adds (it pays for
	// itself): a floor held above a steady load to cover its noise can buy a little of a
	// surprise's shortfall with a lot of capacity, and that is no trade to make.
	minGain = 0.05
	// beyondMaxNotice is the share of the reactive replay's shortfall above max replicas from
	// which the reason tells the user that only a higher maxReplicas serves it.
	beyondMaxNotice = 0.25
	// calibrationPreroll is replayed before the window, unscored, so the HPA's replicas and
	// stabilization window start from the load and not from nothing.
	calibrationPreroll = time.Hour
	// FloorHold is the hold (scaling.FloorSettings.HoldSeconds) of the held twins among the
	// candidates: an hour, the forecaster's default refit interval, so a hold read at any
	// round of a prediction in force ends within its validity (twice that interval).
	FloorHold = time.Hour
)

// CalibrationInput is what Calibrate replays: a service's recent load, the forecasts made for
// it before now, and its HPA.
type CalibrationInput struct {
	// History is the service's load up to Now at any step (NaN marks a gap); only the span
	// before Now is read.
	History forecast.Series
	// Predictions are forecasts fitted before Now, in any order; each is in force from its
	// FittedAt until a newer one is fitted or it expires, as in the planner.
	Predictions []scaling.Prediction
	// HPA is the service's HPA (bounds, capacity per replica, tolerance, behaviour, pod
	// start-up); InitialReplicas is ignored.
	HPA Config
	// LeadTime is the service's configured lead time.
	LeadTime time.Duration
	Now      time.Time
	// Budget is the extra replica-hours over the reactive replay allowed; 0 means
	// DefaultBudget. AvailabilityTarget, when positive, replaces the budget: the cheapest
	// settings keeping that share of minutes free of shortfall win.
	Budget, AvailabilityTarget float64
	// Window, MinWindow and Step default to DefaultCalibrationWindow,
	// DefaultMinCalibrationWindow and replayStep(History.Step).
	Window, MinWindow, Step time.Duration
	// Defaults are the settings kept when history is too short; nil means DefaultSettings.
	Defaults *scaling.FloorSettings
	// StepDown is the actuator's policy for lowering a floor; zero fields mean its defaults.
	StepDown actuator.StepDownPolicy
	// Surge offers surge floors among the candidates: the service has an HPA whose metric the
	// actuator reads (Workload.NeededReplicas); without one a surge floor could not act.
	Surge bool
	// syncEveryStep replays every candidate without the reactive replay's track (reactiveTrack),
	// for tests to compare.
	syncEveryStep bool
}

// DefaultSettings are the floor settings used before there is enough history to calibrate:
// the expected load, read between the forecast's points, and only while it rises by more than
// three replicas' capacity, so an uncalibrated floor acts on the forecast's clear rises and
// never on its noise or its flat stretches, at little cost.
func DefaultSettings(lead time.Duration) scaling.FloorSettings {
	return scaling.FloorSettings{BoundShare: share(0), LeadSeconds: int64(lead / time.Second), NoiseMarginReplicas: 3,
		SmoothingPoints: 1, Interpolate: true, RisesOnly: true}
}

func share(v float64) *float64 { return &v }

// Candidates are the floor settings Calibrate replays for a service with lead time lead, pods
// ready podStartup after they are asked for, and forecasts at the given step, in tie-break order:
// off first; then, all read between the forecast's points (Interpolate) with a noise margin of
// three replicas, the lead time (just the pod start-up and two HPA syncs, or the service's lead
// time) and the bound share, from a low quantile (the load that surely comes: the HPA must not
// scale below it before a rebound) through the expected load to the upper bound; then the five
// shares at the shorter lead once more, their floor coming down at once instead of by the
// actuator's step-down policy (StepDownAtOnce: on short peaks that recur, a job at the top of
// every hour, the policy's descent after each peak cost more than the floor saved before it, and
// calibration fell back to a surge floor alone; coming down at once, they removed 95 % of the
// shortfall within the budget); then the expected load smoothed over about an hour (the rhythm
// without the noise), floors during rises only, the upper bound with a one-replica margin, the
// upper bound within the HPA's tolerance, the bound held on steady stretches too at half, once,
// twice and three times its distance above the expected load (for noise the HPA lets through
// within its tolerance, and noise within the forecast's step above its bound; refineHeadroom
// bisects between them), smoothed over about 25 minutes where the forecast's step is that fine (a
// profile fitted on noisy weeks wiggles from point to point with noise of the past, not of the
// hours ahead; held unsmoothed, the floor followed each wiggle across a replica boundary, and on a
// steady load with a nightly batch scaled the HPA 25 times as often as the reactive HPA, 8 times
// smoothed, removing as much for less; smoothed over an hour, 4 times, but held on sharp office
// ramps it spread each ramp over the hour and no longer fitted the budget), and the same four held
// for FloorHold (a dip the forecast sees coming back within the hour is not scaled down for: on a
// steady noisy load the floor held at three times the bound's distance followed the forecast's
// wiggles and scaled the HPA eight times as often as the reactive HPA, held about half as often,
// at the same reduction); then the planner's defaults (read point by point) at half and the whole
// bound; with surge (the service's HPA metric is observed), surge floors carried a quarter, half
// or all of podStartup on, alone, and half of it beside the expected load and beside the smoothed
// bound; and those five again raising the floor only past the HPA's tolerance (SurgeTolerance:
// on flat noisy load, answering every rise of noise started six to eight times as many pods as
// the reactive HPA, more than calmEnough allows). Thirty-eight settings at most. tolerance is the
// HPA's scale-up tolerance (its behavior's, resolved: 0 is none), which those settings use.
func Candidates(lead, podStartup, step time.Duration, surge bool, tolerance float64) []scaling.FloorSettings {
	if step <= 0 {
		step = 5 * time.Minute
	}
	smooth := func(window time.Duration) int { return int(window/step) | 1 } // odd: centred
	leads := []time.Duration{lead}
	if short := podStartup + 2*DefaultSyncPeriod; podStartup > 0 && short < lead {
		leads = []time.Duration{short, lead}
	}
	short, long := int64(leads[0]/time.Second), int64(lead/time.Second)
	out := []scaling.FloorSettings{{Off: true}}
	for i, l := range leads {
		for _, b := range []float64{-1, -0.5, 0, 0.5, 1} {
			if b < 0 && i > 0 {
				continue // a floor below the expected load is there for dips, not rises: one lead is enough
			}
			out = append(out, scaling.FloorSettings{BoundShare: share(b), LeadSeconds: int64(l / time.Second), NoiseMarginReplicas: 3,
				SmoothingPoints: 1, Interpolate: true})
		}
	}
	for _, b := range []float64{-1, -0.5, 0, 0.5, 1} {
		out = append(out, scaling.FloorSettings{BoundShare: share(b), LeadSeconds: short, NoiseMarginReplicas: 3,
			SmoothingPoints: 1, Interpolate: true, StepDownAtOnce: true})
	}
	out = append(out,
		scaling.FloorSettings{BoundShare: share(0), LeadSeconds: short, NoiseMarginReplicas: 3,
			SmoothingPoints: smooth(65 * time.Minute), Interpolate: true},
		scaling.FloorSettings{BoundShare: share(0.5), LeadSeconds: short, NoiseMarginReplicas: 1,
			SmoothingPoints: smooth(25 * time.Minute), Interpolate: true, RisesOnly: true},
		scaling.FloorSettings{BoundShare: share(1), LeadSeconds: long, NoiseMarginReplicas: 1,
			SmoothingPoints: smooth(25 * time.Minute), Interpolate: true},
		scaling.FloorSettings{BoundShare: share(1), LeadSeconds: short, NoiseMarginReplicas: 3,
			SmoothingPoints: 1, Interpolate: true, Tolerance: tolerance})
	for _, hold := range []int64{0, int64(FloorHold / time.Second)} {
		for _, b := range []float64{0.5, 1, 2, 3} { // the bound held throughout: refineHeadroom's grids
			out = append(out, scaling.FloorSettings{BoundShare: share(b), LeadSeconds: long, NoiseMarginReplicas: 3,
				SmoothingPoints: smooth(25 * time.Minute), Interpolate: true, BoundThroughout: true, HoldSeconds: hold})
		}
	}
	out = append(out,
		// The planner's defaults, and half-way to the bound at their step-wise reading: on sharp
		// regular ramps the highest point within a step either side leads by enough to pay.
		scaling.FloorSettings{BoundShare: share(0.5), LeadSeconds: long, NoiseMarginReplicas: 1, SmoothingPoints: 1},
		scaling.FloorSettings{BoundShare: share(1), LeadSeconds: long, NoiseMarginReplicas: 1, SmoothingPoints: 1})
	if surge && podStartup > 0 {
		// Surge floors, for load whose surges no forecast sees but which build over minutes:
		// alone, carried a quarter, half or all of a pod's start-up ahead (the quarter for
		// noisy services on which carrying it further costs more than the budget), and beside
		// the expected load and the smoothed upper bound.
		quarter, half, whole := int64(podStartup/4/time.Second), int64(podStartup/2/time.Second), int64(podStartup/time.Second)
		out = append(out,
			scaling.FloorSettings{Off: true, SurgeSeconds: quarter},
			scaling.FloorSettings{Off: true, SurgeSeconds: half},
			scaling.FloorSettings{Off: true, SurgeSeconds: whole},
			scaling.FloorSettings{BoundShare: share(0), LeadSeconds: short, NoiseMarginReplicas: 3,
				SmoothingPoints: 1, Interpolate: true, SurgeSeconds: half},
			scaling.FloorSettings{BoundShare: share(1), LeadSeconds: long, NoiseMarginReplicas: 1,
				SmoothingPoints: smooth(25 * time.Minute), Interpolate: true, SurgeSeconds: half})
		for _, c := range out[len(out)-5:] {
			c.SurgeTolerance = tolerance
			out = append(out, c)
		}
	}
	seen := map[string]bool{}
	kept := out[:0]
	for _, c := range out { // a coarse forecast makes some smoothings the same
		if k := SettingsString(c); !seen[k] {
			seen[k] = true
			kept = append(kept, c)
		}
	}
	return kept
}

// SettingsString names settings compactly: "off", or share, lead, margin and smoothing, and
// the surge floor's horizon ("surge=1m0s alone" without a floor from the prediction's loads).
func SettingsString(s scaling.FloorSettings) string {
	surge := ""
	if s.SurgeSeconds > 0 {
		surge = " surge=" + (time.Duration(s.SurgeSeconds) * time.Second).String()
		if s.SurgeTolerance > 0 {
			surge += fmt.Sprintf(" past %g", s.SurgeTolerance)
		}
	}
	if s.Off {
		if surge != "" {
			return strings.TrimPrefix(surge, " ") + " alone"
		}
		return "off"
	}
	b := 1.0
	if s.BoundShare != nil {
		b = *s.BoundShare
	}
	out := fmt.Sprintf("share=%g lead=%s margin=%g smooth=%d", b, time.Duration(s.LeadSeconds)*time.Second, s.NoiseMarginReplicas, max(1, s.SmoothingPoints))
	if s.RisesOnly {
		out += " rises-only"
	}
	if s.BoundThroughout {
		out += " throughout"
	}
	if s.Interpolate {
		out += " interpolated"
	}
	if s.Tolerance > 0 {
		out += fmt.Sprintf(" tolerance=%g", s.Tolerance)
	}
	if s.HoldSeconds > 0 {
		out += " hold=" + (time.Duration(s.HoldSeconds) * time.Second).String()
	}
	if s.StepDownAtOnce {
		out += " down-at-once"
	}
	return out + surge
}

// Score is one replay of the calibration window.
type Score struct {
	Settings scaling.FloorSettings
	Summary  Summary
	// days are Summary day by day (the last may be shorter), for withoutCostliestDay.
	days []Summary
	// pending marks a share of the bound held throughout not replayed yet: refineHeadroom
	// replays it only if no lower share of its family went over the budget.
	pending bool
}

// withoutCostliestDay sums a window's daily summaries of the reactive replay (r) and a
// candidate's (p), leaving out the day on which the candidate cost the most replica-hours over
// the reactive HPA. One anomalous day (a holiday, a blizzard, an outage) on which every
// forecast was wrong makes every floor look costly for the whole window it stays in, and
// calibration then turns floors off for a week after it, on days the forecasts were right
// again; the next hours resemble the typical day of the window more than its worst. With
// fewer than three days nothing is left out.
func withoutCostliestDay(r, p []Summary) (reactive, run Summary) {
	skip := costliestDay(r, p)
	for i := range r {
		if i != skip {
			reactive, run = reactive.plus(r[i]), run.plus(p[i])
		}
	}
	return reactive, run
}

// costliestDay is the index of the day on which a candidate (p) cost the most replica-hours
// over the reactive replay (r), the first of equals; -1 with fewer than three days, of which
// withoutCostliestDay and budgetShare leave none out.
func costliestDay(r, p []Summary) int {
	if len(r) < 3 {
		return -1
	}
	skip := 0
	for i := range r {
		if p[i].ReplicaHours-r[i].ReplicaHours > p[skip].ReplicaHours-r[skip].ReplicaHours {
			skip = i
		}
	}
	return skip
}

// CalibrationResult is the chosen settings and every replay behind them.
type CalibrationResult struct {
	scaling.Calibration
	Reactive Summary
	Scores   []Score
	// lastDayOvershot: the forecasts expected more load than came on the window's last day by
	// more than the budget (forecastOvershoot), so that day's cost is measured against that
	// day alone (lastDayIncrease).
	lastDayOvershot bool
}

// Calibrate chooses the floor settings that remove the most under-provisioned replica-minutes
// within the budget on the service's own recent history: it replays the last Window before Now
// through a simulated HPA once reactive only and once per candidate (Candidates, but of the
// bound held throughout only the shares up to the first over the budget, and its held twins
// only where their family contends; then up to headroomRefinements more per hold:
// refineHeadroom), each candidate planning floors
// (actuator.PredictionFloor, as the live planner does, with its step-down) from the forecasts
// that were in force then, which saw only their own past. A candidate qualifies when its
// replica-hours exceed the reactive replay's by at most DefaultBudgetShare of the budget (up
// to MaxBudgetShare where its cost was steady from day to day: budgetShare), by
// at most the whole budget on the window's last day (lastDayIncrease), it is never short more
// than the reactive HPA, it removes at least 5 % of the under-provisioning and no less than
// the share of replica-hours it adds, and it starts at most podsBudget times as many pods as
// the reactive replay, plus podsSlackPerDay a day (qualifies, calmEnough; the reason names
// the setting passed over for that alone that would have removed the most, where it would have
// removed more than the one chosen). Of the qualifying candidates removing
// the most under-provisioning, give or take reductionTie, the cheapest wins (budget and
// removal both measured without the day the candidate cost the most: withoutCostliestDay),
// the earlier in Candidates order on equal cost, unless one of them costing at most
// eventsCostTie more scales at least eventsTie less often (choose). Under-provisioning is
// counted within the HPA's max replicas (gains). When none qualifies, floors are off: load
// driven by what no forecast sees. With less than MinWindow of history covered by forecasts it
// keeps the defaults and says so. It is pure and deterministic.
func Calibrate(in CalibrationInput) CalibrationResult {
	if in.Budget <= 0 {
		in.Budget = DefaultBudget
	}
	if in.Window <= 0 {
		in.Window = DefaultCalibrationWindow
	}
	if in.MinWindow <= 0 {
		in.MinWindow = DefaultMinCalibrationWindow
	}
	if in.Step <= 0 {
		in.Step = replayStep(in.History.Step)
	}
	defaults := DefaultSettings(in.LeadTime)
	if in.Defaults != nil {
		defaults = *in.Defaults
	}
	res := CalibrationResult{Calibration: scaling.Calibration{FloorSettings: defaults, Budget: in.Budget, AvailabilityTarget: in.AvailabilityTarget}}
	if in.AvailabilityTarget > 0 {
		res.Budget = 0
	}

	preds := make([]scaling.Prediction, 0, len(in.Predictions))
	for _, p := range in.Predictions {
		if p.FittedAt < in.Now.UnixMilli() && p.ValidUntil > in.Now.Add(-in.Window).UnixMilli() {
			preds = append(preds, p)
		}
	}
	slices.SortStableFunc(preds, func(a, b scaling.Prediction) int { return cmp.Compare(a.FittedAt, b.FittedAt) })
	from := in.Now.Add(-in.Window)
	if len(preds) > 0 {
		from = maxTime(from, time.UnixMilli(preds[0].FittedAt))
	}
	from = maxTime(from, in.History.Start.Add(calibrationPreroll))
	covered := in.Now.Sub(from)
	if len(preds) == 0 || covered < in.MinWindow || in.HPA.CapacityPerReplica <= 0 {
		why := fmt.Sprintf("history too short to calibrate (%s replayable behind forecasts, need %s)", fmtDays(max(covered, 0)), fmtDays(in.MinWindow))
		switch {
		case in.HPA.CapacityPerReplica <= 0:
			why = "no capacity per replica to replay the HPA with"
		case len(preds) == 0:
			// The history may be long (a backfill), but there is nothing to replay it with yet.
			why = fmt.Sprintf("history too short to calibrate (no forecasts of the last %s to replay it with yet, need %s of them)", fmtDays(in.Window), fmtDays(in.MinWindow))
		}
		res.Reason = why + "; defaults: " + SettingsString(defaults)
		return res
	}

	step := time.Duration(preds[len(preds)-1].StepSeconds) * time.Second
	cands := Candidates(in.LeadTime, in.HPA.PodStartup, step, in.Surge, in.HPA.Behavior.ScaleUp.ScaleUpDefaults().Tolerance)
	// Each prediction as far as the planner reads it at the longest lead (each candidate's own
	// lead cuts it further): the floors each candidate asks for are the ones the planner would
	// ask for live, where the forecast runs a day ahead, and preparing all of a day-long
	// forecast for every candidate would be most of a calibration's cost.
	lead := maxLead(cands, in.LeadTime)
	for i := range preds {
		preds[i] = actuator.PlanningView(preds[i], lead)
	}
	// The replay grid, the load and the forecast in force at each step: shared by every run.
	start := from.Add(-calibrationPreroll)
	n := int(in.Now.Sub(start) / in.Step)
	times := make([]time.Time, n)
	loads := make([]float64, n)
	active := make([]int, n)
	k := -1
	for i := range n {
		t := start.Add(time.Duration(i) * in.Step)
		times[i] = t
		loads[i] = LoadAt(in.History, t)
		for k+1 < len(preds) && preds[k+1].FittedAt <= t.UnixMilli() {
			k++
		}
		active[i] = k
	}
	scored := int(from.Sub(start) / in.Step)
	cfg := in.HPA
	cfg.InitialReplicas = max(cfg.MinReplicas, forecast.ReplicasFor(firstFinite(loads), cfg.CapacityPerReplica))
	svc := actuator.ServiceConfig{LeadTime: in.LeadTime, CapacityPerReplica: cfg.CapacityPerReplica}

	every := planRounds(in.Step)
	base := make([]int32, n) // no forecast floor: the HPA's own minReplicas
	// Forecast floors by what they depend on (floorKey): a surge candidate beside the expected
	// load or the smoothed bound asks for the forecast floors of its twin without a surge floor,
	// and reading them again cost a twentieth of a calibration.
	forecastFloors := map[floorKey]replayedFloors{}
	pfs := make([]actuator.PredictionFloor, len(preds))
	round := time.Duration(every) * in.Step
	floorsOf := func(s *scaling.FloorSettings) replayedFloors {
		k := floorKeyOf(*s)
		if floors, ok := forecastFloors[k]; ok {
			return floors
		}
		for j := range preds {
			pfs[j] = actuator.NewPredictionFloor(preds[j], svc, s)
		}
		floors := predictionFloors(pfs, active, start, in.Step, every, actuator.HoldRounds(time.Duration(s.HoldSeconds)*time.Second, round))
		forecastFloors[k] = floors
		return floors
	}
	var surges map[int64]*surgeReplay // by horizon, read off the load the first time one is replayed
	var track *reactiveTrack          // recorded by the reactive run, the first; followed by the rest
	if !in.syncEveryStep {
		track = &reactiveTrack{}
	}
	collapses := collapseFloors(times, loads, active, preds, cfg.CapacityPerReplica, every)
	run := func(s *scaling.FloorSettings) (Summary, []Summary) {
		floors := replayedFloors{floors: base}
		if s != nil && !s.Off {
			floors = floorsOf(s)
			floors.collapsed = collapses
		}
		var surge *surgeReplay
		if s != nil && s.SurgeSeconds > 0 {
			if surges == nil {
				surges = surgeReplays(times, loads, cfg.CapacityPerReplica, every, cands)
			}
			gated := *surges[s.SurgeSeconds] // shared by the horizon's twins, each with its own tolerance
			gated.tolerance = s.SurgeTolerance
			surge = &gated
		}
		policy := in.StepDown
		policy.AtOnce = s != nil && s.StepDownAtOnce
		return replayFloors(cfg, times, loads, floors, surge, scored, in.Step, policy, track)
	}
	var reactiveDays []Summary
	res.Reactive, reactiveDays = run(nil)
	lastDay := scored + (len(reactiveDays)-1)*stepsPerDay(in.Step)
	overshoot := forecastOvershoot(times, loads, active, preds, lastDay, scored)
	res.lastDayOvershot = overshoot > in.Budget
	res.WindowMinutes = res.Reactive.EvaluatedMinutes
	score := func(s scaling.FloorSettings) Score {
		if s.FloorsOff() {
			return Score{Settings: s, Summary: res.Reactive, days: reactiveDays}
		}
		sum, days := run(&s)
		return Score{Settings: s, Summary: sum, days: days}
	}
	rank := func(s Score) (float64, bool) {
		red, _, ok := qualifies(res.Reactive, reactiveDays, s, in.Budget, res.lastDayOvershot)
		return red, ok
	}
	fits := func(s Score) bool { _, ok := rank(s); return ok }
	pays := func(s Score) (float64, bool) { // rank, however many pods the setting starts
		red, _, ok := paysWithinBudget(res.Reactive, reactiveDays, s, in.Budget, res.lastDayOvershot)
		return red, ok
	}
	overBudget := func(s Score) bool { return !withinBudget(reactiveDays, s, in.Budget, res.lastDayOvershot) }
	// Held twins (HoldSeconds) wait until their unheld family is seen to contend: else they are
	// a fifth of a calibration's replays spent on settings that cannot win. The shares of the
	// bound held throughout wait for refineHeadroom, which replays them from the lowest up to
	// the first over the budget. With an availability target every candidate is replayed.
	var held []Score
	for _, c := range cands {
		switch {
		case in.AvailabilityTarget > 0:
			res.Scores = append(res.Scores, score(c))
		case c.HoldSeconds > 0:
			held = append(held, Score{Settings: c, pending: true})
		case inHeadroomFamily(c):
			res.Scores = append(res.Scores, Score{Settings: c, pending: true})
		default:
			res.Scores = append(res.Scores, score(c))
		}
	}
	replayed := len(cands) // the settings replayed, less those refineHeadroom left pending
	if in.AvailabilityTarget <= 0 {
		res.Scores = refineHeadroom(res.Scores, fits, overBudget, score)
		if len(held) > 0 && headroomContends(res.Scores, pays) {
			res.Scores = append(res.Scores, refineHeadroom(held, fits, overBudget, score)...)
		} else {
			replayed -= len(held)
		}
		before := len(res.Scores)
		res.Scores = slices.DeleteFunc(res.Scores, func(s Score) bool { return s.pending })
		replayed -= before - len(res.Scores)
	}
	res.Candidates = len(res.Scores)
	best := choose(res.Reactive, reactiveDays, res.Scores, in, res.lastDayOvershot)
	res.FloorSettings = res.Scores[best].Settings
	red, inc := gains(res.Reactive, res.Scores[best].Summary)
	res.UnderProvisionedReduction, res.ReplicaHoursIncrease = red, inc
	hpa := "the HPA"
	if !cfg.Behavior.IsDefault() {
		hpa += " (its behavior " + cfg.Behavior.String() + ")"
	}
	res.PodStartupSeconds = int64(cfg.PodStartup / time.Second)
	what := fmt.Sprintf("replayed %s of history through %s, pods ready %s after they start, with %d settings", fmtDays(covered), hpa, cfg.PodStartup, replayed)
	switch {
	case !res.FloorsOff():
		_, robustInc := gains(withoutCostliestDay(reactiveDays, res.Scores[best].days))
		res.Reason = fmt.Sprintf("%s: %s removes %.0f%% of the reactive HPA's under-provisioned replica-minutes within its max replicas at %+.1f%% replica-hours (%+.1f%% without its costliest day, as the budget is measured)",
			what, SettingsString(res.FloorSettings), red*100, inc*100, robustInc*100)
	case res.Reactive.Provisionable() <= 0:
		res.Reason = what + ": the reactive HPA was never short within its max replicas; floors off, pattern and base only"
	case in.AvailabilityTarget > 0:
		res.Reason = fmt.Sprintf("%s: the reactive HPA meets the %.4g availability target or no floor does better; floors off, pattern and base only", what, in.AvailabilityTarget)
	default:
		res.Reason = fmt.Sprintf("%s: no floor removes %.0f%% of under-provisioning within max replicas, and no less than the share of replica-hours it adds, within %.0f%% of the %.0f%% budget (up to %.0f%% where its cost was steady day by day; the whole budget on its last day), starting at most %d times as many pods as the reactive HPA and %d a day more; floors off, pattern and base only",
			what, minGain*100, DefaultBudgetShare*100, in.Budget*100, MaxBudgetShare*100, podsBudget, podsSlackPerDay)
	}
	chosenRed, _ := gains(withoutCostliestDay(reactiveDays, res.Scores[best].days)) // as churnedMost measures it
	if s, red, ok := churnedMost(res.Reactive, reactiveDays, res.Scores, in.Budget, res.lastDayOvershot); ok && in.AvailabilityTarget <= 0 && red > chosenRed+reductionTie {
		r, run := withoutCostliestDay(reactiveDays, s.days)
		res.Reason += fmt.Sprintf("; %s would have removed %.0f%% but started %d pods to the reactive HPA's %d, more than %d times as many and %d a day more: pods started and stopped again for noise",
			SettingsString(s.Settings), red*100, run.PodsStarted, r.PodsStarted, podsBudget, podsSlackPerDay)
	}
	if res.lastDayOvershot {
		by := fmt.Sprintf("more load on the window's last day than came, by %.0f%% of that day's or the average day's load", overshoot*100)
		if math.IsInf(overshoot, 1) {
			by = "load on the window's last day and none came"
		}
		res.Reason += "; the forecasts expected " + by + " (perhaps a new level they have not caught up with), so that day's cost is measured against it alone"
	}
	if share := res.Reactive.BeyondMaxShare(); share >= beyondMaxNotice {
		res.Reason += fmt.Sprintf("; %.0f%% of the reactive HPA's under-provisioned replica-minutes was load above what its %d max replicas carry, which no floor serves: only a higher maxReplicas does",
			share*100, cfg.MaxReplicas)
	}
	return res
}

// choose returns the index of the winning score (scores[0] is off): with an availability
// target, the cheapest meeting it of those starting no more pods than calmEnough allows; else,
// of the qualifying scores removing the most shortfall (within reductionTie), the cheapest, or
// the one scaling least among those within eventsCostTie of its cost where that scales
// eventsTie less often.
func choose(reactive Summary, reactiveDays []Summary, scores []Score, in CalibrationInput, lastDayOvershot bool) int {
	if in.AvailabilityTarget > 0 {
		avail := Summary.Availability
		best := -1
		for i, s := range scores { // the cheapest that meets the target
			if startsFewPods(reactiveDays, s) && avail(s.Summary) >= in.AvailabilityTarget && (best < 0 || s.Summary.ReplicaHours < scores[best].Summary.ReplicaHours-1e-9) {
				best = i
			}
		}
		if best >= 0 {
			return best
		}
		best = 0
		for i, s := range scores { // else the most available, the cheaper on ties
			a, b := avail(s.Summary), avail(scores[best].Summary)
			if !startsFewPods(reactiveDays, s) {
				continue
			}
			if a > b+1e-12 || (math.Abs(a-b) <= 1e-12 && s.Summary.ReplicaHours < scores[best].Summary.ReplicaHours-1e-9) {
				best = i
			}
		}
		return best
	}
	type ranked struct {
		red, inc float64
		ok       bool
	}
	ranks := make([]ranked, len(scores))
	most := math.Inf(-1)
	for i, s := range scores {
		r := &ranks[i]
		if r.red, r.inc, r.ok = qualifies(reactive, reactiveDays, s, in.Budget, lastDayOvershot); r.ok {
			most = max(most, r.red)
		}
	}
	best := 0
	for i, r := range ranks {
		if r.ok && r.red >= most-reductionTie && (best == 0 || r.inc < ranks[best].inc-1e-9) {
			best = i
		}
	}
	if best == 0 {
		return 0
	}
	events := func(i int) int { return scores[i].Summary.ScaleEvents() }
	calmest := best
	for i, r := range ranks {
		if r.ok && r.red >= most-reductionTie && r.inc <= ranks[best].inc+eventsCostTie &&
			(events(i) < events(calmest) || (events(i) == events(calmest) && r.inc < ranks[calmest].inc-1e-9)) {
			calmest = i
		}
	}
	if float64(events(calmest)) <= (1-eventsTie)*float64(events(best)) {
		return calmest
	}
	return best
}

// eventsCostTie and eventsTie break ties among the candidates removing the most shortfall
// (reductionTie) in favour of scaling less: one costing at most eventsCostTie more of the
// reactive replica-hours than the cheapest of them wins if it scales at least eventsTie less
// often. Every scale event starts or stops pods (cold caches, connections drained); on a
// steady load with a nightly batch the bound held throughout scaled eight times as often as
// the reactive HPA, its held twin (FloorHold) less than half as often, removing as much.
const (
	eventsCostTie = 0.01
	eventsTie     = 0.1
)

// reductionTie is how much less of the shortfall a candidate may remove than the one removing
// the most and still count as removing as much: then the cheapest of them wins. Where every
// floor removes nearly all the shortfall (a smooth, well-forecast service), the bound held at
// three times its distance "won" by a hundredth of a percent at twice the replica-hours of a
// surge floor.
const reductionTie = 0.005

// qualifies reports whether a candidate's replay s may win under budget (see Calibrate), with
// the reduction and increase it is ranked by.
func qualifies(reactive Summary, reactiveDays []Summary, s Score, budget float64, lastDayOvershot bool) (red, inc float64, ok bool) {
	red, inc, ok = paysWithinBudget(reactive, reactiveDays, s, budget, lastDayOvershot)
	return red, inc, ok && startsFewPods(reactiveDays, s)
}

// paysWithinBudget is qualifies but for how many pods the candidate starts (calmEnough).
func paysWithinBudget(reactive Summary, reactiveDays []Summary, s Score, budget float64, lastDayOvershot bool) (red, inc float64, ok bool) {
	if s.Settings.FloorsOff() {
		return 0, 0, false
	}
	red, inc = gains(withoutCostliestDay(reactiveDays, s.days))
	ok = withinBudget(reactiveDays, s, budget, lastDayOvershot) &&
		s.Summary.UnderProvisionedReplicaMinutes <= reactive.UnderProvisionedReplicaMinutes && red >= max(minGain, inc)
	return red, inc, ok
}

// churnedMost is the score removing the most shortfall of those that would qualify but for
// how many pods they start (calmEnough), with that share; ok is false when there is none.
func churnedMost(reactive Summary, reactiveDays []Summary, scores []Score, budget float64, lastDayOvershot bool) (best Score, most float64, ok bool) {
	for _, s := range scores {
		red, _, pays := paysWithinBudget(reactive, reactiveDays, s, budget, lastDayOvershot)
		if pays && !startsFewPods(reactiveDays, s) && (!ok || red > most) {
			best, most, ok = s, red, true
		}
	}
	return best, most, ok
}

// startsFewPods is calmEnough for a candidate's replay s, measured as the budget is, without
// the day it cost the most. Floors off start the reactive replay's pods: always few enough.
func startsFewPods(reactiveDays []Summary, s Score) bool {
	return calmEnough(withoutCostliestDay(reactiveDays, s.days))
}

// calmEnough reports whether a run starts at most podsBudget times as many pods as the
// reactive replay of the same span, plus podsSlackPerDay a day (a steady load the reactive HPA
// never scales for leaves none to multiply). Every pod started is a cold cache and, once it
// stops again, connections drained. On flat noisy load a surge floor answering every rise of
// noise scaled the HPA six to eight times as often as the reactive HPA, a pod at a time, for
// under-provisioning within the HPA's tolerance that its user has already chosen to accept.
// Pods, not scale events: a floor following a daily ramp scales in smaller steps than the
// reactive HPA, which waits for its tolerance, so more often (three times on office ramps),
// but it starts no more pods than the ramp needs.
func calmEnough(reactive, run Summary) bool {
	days := reactive.EvaluatedMinutes / (24 * 60)
	return float64(run.PodsStarted) <= podsBudget*float64(reactive.PodsStarted)+podsSlackPerDay*days
}

// podsBudget and podsSlackPerDay bound how many pods floors may start: calmEnough.
const (
	podsBudget      = 4
	podsSlackPerDay = 2
)

// withinBudget reports whether a candidate's replay s keeps the budget as qualifies measures
// it: at most budgetShare of it without the costliest day, and all of it on the last.
func withinBudget(reactiveDays []Summary, s Score, budget float64, lastDayOvershot bool) bool {
	_, inc := gains(withoutCostliestDay(reactiveDays, s.days))
	return inc <= budget*budgetShare(reactiveDays, s.days, budget) && lastDayIncrease(reactiveDays, s.days, lastDayOvershot) <= budget
}

// budgetShare is the share of the budget a candidate may spend on the replayed window (its
// replica-hours over the reactive replay's, without its costliest day): DefaultBudgetShare,
// raised up to MaxBudgetShare as far as the candidate's cost is steady from day to day. The
// rest is headroom for the hours ahead, which the replay has not seen, and how far they may
// cost more than the window did shows in how much its days differed: the share leaves
// budgetShareZ standard errors of the window's mean daily increase (its days of at least
// half a day, without the costliest) unspent. On noisy per-minute load (simulate --generate
// noisy), where the floors cost about the same every day, 80 % removed 83 % of the shortfall
// at +7.9 % replica-hours, leaving two points of the budget unspent day after day; this
// share, 86 % at +8.8 %. A floor whose cost leaps with a burst day keeps to 80 %. With fewer
// than three such days it is DefaultBudgetShare.
func budgetShare(reactiveDays, runDays []Summary, budget float64) float64 {
	skip := costliestDay(reactiveDays, runDays)
	if skip < 0 || !(budget > 0) {
		return DefaultBudgetShare
	}
	var n, sum, sumSq float64
	for i, r := range reactiveDays {
		if i == skip || !(r.ReplicaHours > 0) || r.EvaluatedMinutes < 12*60 {
			continue
		}
		inc := runDays[i].ReplicaHours/r.ReplicaHours - 1
		n, sum, sumSq = n+1, sum+inc, sumSq+inc*inc
	}
	if n < 3 {
		return DefaultBudgetShare
	}
	variance := max(0, (sumSq-sum*sum/n)/(n-1))
	stdErr := math.Sqrt(variance / n)
	return min(MaxBudgetShare, max(DefaultBudgetShare, 1-budgetShareZ*stdErr/budget))
}

// budgetShareZ is how many standard errors of a candidate's mean daily increase in
// replica-hours budgetShare keeps unspent. Days of one window are not independent draws and
// the next ones need not resemble them (a trend, a new level), so it is four, not the two a
// one-sided 97.5 % bound of independent days would ask: on per-minute log-normal noise
// (simulate --generate heavytail), two spent +8.9 % replica-hours, four +8.5 %, of a 10 %
// budget.
const budgetShareZ = 4

// headroomRefinements is how many more replays refineHeadroom spends: each halves the gap
// between two bound shares, so four place the share within a sixteenth of the grid's step. On
// per-minute loads with 15-25 % noise, a fourth replay (a few percent of a calibration's CPU)
// removed 0.7-1.7 points more of the shortfall, within the same budget, than three.
const headroomRefinements = 4

// refineHeadroom replays the pending shares of the candidates that hold the bound throughout
// (headroom for noise the HPA lets through), family by family (each hold's), from the lowest
// up to the first that goes over the budget (overBudget): a higher share only keeps the floor
// higher, so it costs more still; on a steady noisy load the shares above were 5 of 31
// replays, on office ramps 3 of 23. The shares skipped stay pending. Then it bisects each family's
// share: between the highest share that qualifies and the next one on the grid, which does
// not, it replays the share half-way and keeps the half that still straddles the budget,
// headroomRefinements times, and returns scores with those replays appended. On a steady,
// noisy service shortfall falls and cost rises steeply with the share (one grid step can go
// from a third of the budget to more than all of it), so the grid alone leaves most of the
// budget, and of what it buys, unspent. Nothing is bisected for a hold when no share of its
// family qualifies or the highest does.
func refineHeadroom(scores []Score, fits, overBudget func(Score) bool, replay func(scaling.FloorSettings) Score) []Score {
	var holds []int64
	for _, s := range scores {
		if inHeadroomFamily(s.Settings) && !slices.Contains(holds, s.Settings.HoldSeconds) {
			holds = append(holds, s.Settings.HoldSeconds)
		}
	}
	for _, hold := range holds {
		scores = refineHeadroomFamily(scores, hold, fits, overBudget, replay)
	}
	return scores
}

// headroomContends reports whether a setting of the bound held throughout without a hold
// qualifies and removes as much of the shortfall, within reductionTie, as the most any
// qualifying setting removes (rank: the share removed, and whether it qualifies). Only then do
// its held twins, which cost a little more for as much removed, stand a chance: choose prefers
// one of them only among the settings removing the most. Calibrate ranks by paysWithinBudget,
// not qualifies: a held twin starts fewer pods than its unheld one, so it may be calm enough
// (calmEnough) where the unheld one is not.
func headroomContends(scores []Score, rank func(Score) (float64, bool)) bool {
	most, family := math.Inf(-1), math.Inf(-1)
	for _, s := range scores {
		if s.pending {
			continue
		}
		red, ok := rank(s)
		if !ok {
			continue
		}
		most = max(most, red)
		if inHeadroomFamily(s.Settings) && s.Settings.HoldSeconds == 0 {
			family = max(family, red)
		}
	}
	return family >= most-reductionTie
}

// inHeadroomFamily reports whether s is one of the settings refineHeadroom bisects.
func inHeadroomFamily(s scaling.FloorSettings) bool {
	return s.BoundThroughout && !s.RisesOnly && s.BoundShare != nil && s.SurgeSeconds == 0
}

// refineHeadroomFamily is refineHeadroom for the family of the given hold.
func refineHeadroomFamily(scores []Score, hold int64, fits, overBudget func(Score) bool, replay func(scaling.FloorSettings) Score) []Score {
	var family []int // indices into scores
	for i, s := range scores {
		if inHeadroomFamily(s.Settings) && s.Settings.HoldSeconds == hold {
			family = append(family, i)
		}
	}
	slices.SortStableFunc(family, func(a, b int) int { return cmp.Compare(*scores[a].Settings.BoundShare, *scores[b].Settings.BoundShare) })
	lo := -1
	for i, k := range family {
		if scores[k].pending {
			scores[k] = replay(scores[k].Settings)
		}
		if fits(scores[k]) {
			lo = i
		}
		if overBudget(scores[k]) {
			family = family[:i+1]
			break
		}
	}
	if lo < 0 || lo == len(family)-1 {
		return scores
	}
	low, high := scores[family[lo]].Settings, scores[family[lo+1]].Settings
	for range headroomRefinements {
		mid := low
		mid.BoundShare = share((*low.BoundShare + *high.BoundShare) / 2)
		s := replay(mid)
		scores = append(scores, s)
		if fits(s) {
			low = mid
		} else {
			high = mid
		}
	}
	return scores
}

// floorKey is what of a FloorSettings the forecast floors depend on
// (actuator.NewPredictionFloor reads all but the surge floor and how the floor comes down),
// with the bound share by value.
type floorKey struct {
	settings scaling.FloorSettings // without BoundShare, SurgeSeconds and StepDownAtOnce
	share    float64
	hasShare bool
}

func floorKeyOf(s scaling.FloorSettings) floorKey {
	k := floorKey{settings: s}
	k.settings.BoundShare, k.settings.SurgeSeconds, k.settings.StepDownAtOnce = nil, 0, false
	if s.BoundShare != nil {
		k.share, k.hasShare = *s.BoundShare, true
	}
	return k
}

// surgeReplays are the surge candidates' parts of a replay by horizon (SurgeSeconds), for
// every horizon among cands: refineHeadroom adds no surge floors.
func surgeReplays(times []time.Time, loads []float64, capacity float64, every int, cands []scaling.FloorSettings) map[int64]*surgeReplay {
	var horizons []time.Duration
	for _, c := range cands {
		if h := time.Duration(c.SurgeSeconds) * time.Second; h > 0 && !slices.Contains(horizons, h) {
			horizons = append(horizons, h)
		}
	}
	surges, release := surgeFloors(times, loads, capacity, every, horizons)
	out := make(map[int64]*surgeReplay, len(horizons))
	for k, floors := range surges {
		out[int64(horizons[k]/time.Second)] = &surgeReplay{floors: floors, release: release}
	}
	return out
}

// surgeFloors are the surge floors (actuator.SurgeFloor) of a replay at each of its planning
// rounds (every every-th of times) carried on by each of horizons, from the needs of the load
// up to the step before, and how far the floor of a service with a surge floor may come down
// at once then (actuator.ReleaseFloor): the HPA's metric reaches the planner a sync or a
// scrape after the load, and a calibration that read it sooner than the planner will would
// overrate surge floors. All are read in one pass: the planner's window of needs is the same
// for each.
func surgeFloors(times []time.Time, loads []float64, capacity float64, every int, horizons []time.Duration) (surges [][]int32, release []int32) {
	surges = make([][]int32, len(horizons))
	for k := range surges {
		surges[k] = make([]int32, len(times))
	}
	release = make([]int32, len(times))
	fromNeeds(times, loads, capacity, every, func(i int, window *actuator.NeedSweep, now int64) {
		release[i] = window.Release(now)
		for k, h := range horizons {
			s, ok := window.Surge(now, h)
			if !ok {
				break // the need did not rise, whatever the horizon: no surge floor
			}
			surges[k][i] = s.Floor
		}
	})
	return surges, release
}

// fromNeeds calls f at every every-th of times i (the planner's rounds) with the planner's
// window of needs (load / capacity), which gains one need per round, that of the step before;
// not at the first. Where the replay syncs as often as the HPA, the step before is the HPA's
// last sync, whose need the planner reads at its round (the cluster reports it as observed
// then); a coarser step's need is older than any the planner reads, and keeping its own time
// lets the surge floor's slope carry it to the round. Replayed so, surge floors scored as the
// simulator ran them: exactly at 15 s, and at a minute on two tweet traces (5 min samples)
// within 6 points of the shortfall removed and 1.3 of replica-hours. Instants are in
// nanoseconds since times[0] (actuator.NeedSweep).
func fromNeeds(times []time.Time, loads []float64, capacity float64, every int, f func(i int, window *actuator.NeedSweep, now int64)) {
	var window actuator.NeedSweep
	roundNeeds(times, loads, capacity, every, func(i int, seen, now int64, need float64) {
		window.Add(seen, need, seen)
		f(i, &window, now)
	})
}

// roundNeeds calls f at every every-th of times i but the first with the need the planner
// reads at that round (fromNeeds) and when it was observed (seen), in nanoseconds since
// times[0] as now is.
func roundNeeds(times []time.Time, loads []float64, capacity float64, every int, f func(i int, seen, now int64, need float64)) {
	for i := every; i < len(times); i += every {
		j := i - 1
		now, before := int64(times[i].Sub(times[0])), int64(times[j].Sub(times[0]))
		seen := before
		if time.Duration(now-before) <= DefaultSyncPeriod {
			seen = now
		}
		f(i, seen, now, loads[j]/capacity)
	}
}

// collapseFloors are, at each of a replay's planning rounds, the floor the planner sets where
// the load collapsed under the forecasts (actuator.LoadCollapsed: Collapse.Floor), and 0
// elsewhere; nil where it never did. They read the needs the planner reads (roundNeeds), each
// with what the prediction in force at its round (active, an index into preds) held the load
// to when it was observed (actuator.ForecastReplicas), and are the same for every candidate
// with a floor from the prediction, as the planner sets the prediction aside whatever its
// settings.
func collapseFloors(times []time.Time, loads []float64, active []int, preds []scaling.Prediction, capacity float64, every int) []int32 {
	var out []int32
	var window actuator.CollapseSweep
	reader, read := actuator.ForecastReader{}, -1 // the prediction in force's, read
	roundNeeds(times, loads, capacity, every, func(i int, seen, now int64, need float64) {
		var forecast float64
		if a := active[i]; a >= 0 {
			if a != read {
				reader, read = actuator.NewForecastReader(preds[a], capacity), a
			}
			forecast = reader.At(times[0].Add(time.Duration(seen)))
		}
		window.Add(seen, need, forecast)
		if floor, collapsed := window.Collapsed(now); collapsed {
			if out == nil {
				out = make([]int32, len(times))
			}
			out[i] = floor
		}
	})
	return out
}

// forecastOvershoot is how much more load the forecasts in force (active: an index into
// preds, -1 for none) expected over times[from:] than came, as a share of what came or of
// what the window (times[scored:]) brought on average over as many steps, whichever is more,
// as lastDayIncrease measures cost; 0 where nothing was forecast. Above the budget, the load
// has fallen below what the forecasts know. A forecast a few replicas high on a quiet day is
// a large share of that day's load, as those replicas are of its cost, and no new level.
func forecastOvershoot(times []time.Time, loads []float64, active []int, preds []scaling.Prediction, from, scored int) float64 {
	var expected, came, steps, windowLoad, windowSteps float64
	for i := max(scored, 0); i < len(times); i++ {
		if math.IsNaN(loads[i]) {
			continue
		}
		windowLoad, windowSteps = windowLoad+loads[i], windowSteps+1
		if i < from || active[i] < 0 {
			continue
		}
		if e, ok := expectedAt(preds[active[i]], times[i].UnixMilli()); ok {
			expected, came, steps = expected+e, came+loads[i], steps+1
		}
	}
	against := came
	if windowSteps > 0 {
		against = max(against, windowLoad/windowSteps*steps)
	}
	switch {
	case expected <= 0:
		return 0
	case against <= 0:
		return math.Inf(1)
	}
	return (expected - came) / against
}

// lastDayIncrease is the extra replica-hours the run spent over the reactive replay on the
// window's last day, as a share of what the reactive replay ran that day, or (unless the
// forecasts overshot that day: overshot) of what it ran on the window's average day over as
// long, whichever is more. Leaving out the costliest day keeps one anomalous day from turning
// floors off for a week; but when that day is the latest, it may be the first of a new level
// (a migration, a lost customer) that the forecasts have not caught up with, and floors sized
// for the old level would overspend every hour until they do. So the last day must keep the
// budget too: after a one-off day this costs a day of more cautious floors, after a lasting
// change it saves days of overspending. A quiet last day the forecasts foresaw (a Sunday on a
// weekday service) is no new level: it runs few replicas, and a replica of margin is a large
// share of that day but not of the budget, which is over the whole run. Measured against that
// day alone, a Sunday turned floors off for Monday morning's ramp. But the average day counts
// only as far as the last day's load fell short of the average's: on a steady load whose noise
// fell, the reactive HPA ran fewer replicas at the same load, and measured against the noisier
// days' average, floors sized for the noise cost 10-12 % a day for days while the rule saw 9-10 %.
func lastDayIncrease(reactive, run []Summary, overshot bool) float64 {
	if len(reactive) == 0 {
		return 0
	}
	last := reactive[len(reactive)-1]
	spent := last.ReplicaHours
	if !overshot {
		var window Summary
		for _, d := range reactive {
			window = window.plus(d)
		}
		if window.EvaluatedMinutes > 0 {
			share := last.EvaluatedMinutes / window.EvaluatedMinutes
			average := window.ReplicaHours * share
			if last.LoadReplicaHours > 0 {
				// What the last day would have run at the average day's load.
				average = min(average, last.ReplicaHours*window.LoadReplicaHours*share/last.LoadReplicaHours)
			}
			spent = max(spent, average)
		}
	}
	if spent <= 0 {
		return 0
	}
	return (run[len(run)-1].ReplicaHours - last.ReplicaHours) / spent
}

// gains are 1 - run/reactive under-provisioned replica-minutes within the HPA's bounds
// (Summary.Provisionable) and run/reactive replica-hours - 1. The load above maxReplicas'
// capacity is left out because no floor removes it: on a service whose news spikes overrun
// maxReplicas it is most of the shortfall, and counted in, it would hide what floors do
// about the rest (and keep them below minGain).
func gains(reactive, run Summary) (reduction, increase float64) {
	if r := reactive.Provisionable(); r > 0 {
		reduction = 1 - run.Provisionable()/r
	}
	if r := reactive.ReplicaHours; r > 0 {
		increase = run.ReplicaHours/r - 1
	}
	return reduction, increase
}

// replayStep is the step a history sampled every historyStep is replayed at: a quarter of
// that step, but no finer than the HPA's sync and no coarser than DefaultCalibrationStep. The
// HPA syncs every 15 s on a load that moves between samples (read linearly, as LoadAt and the
// simulator read it); a replay syncing once per sample holds each sample for the whole step.
// On noisy flat per-minute load replayed at a minute, the floors chosen ran 1.1-1.4 points of
// replica-hours above what the replay promised (2.8 where the noise fell: 9.3 % against the
// 10 % budget); replayed at 15 s, with the planner's rounds every 30 s, each
// setting scores as the simulator runs it (TestCalibrationReplaysAsTheSimulator). A minute's
// replay of a 15 s history read one sample in four and never saw the bursts between them. On
// a history at 5 min (the forecaster's default) a minute is little change between syncs, and
// on two tweet traces a 15 s replay foretold surge floors worse than a minute's. The cost is
// in proportion to the steps: BenchmarkCalibrateHistory1m, about three times the CPU.
func replayStep(historyStep time.Duration) time.Duration {
	if historyStep <= 0 {
		return DefaultCalibrationStep
	}
	return min(DefaultCalibrationStep, max(historyStep/syncsPerSample, DefaultSyncPeriod))
}

// syncsPerSample is how many HPA syncs a replay makes per history sample at least, as the
// HPA's 15 s sync makes on a per-minute history.
const syncsPerSample = 4

// planRounds is how many replay steps of length step pass between two of the planner's
// rounds (actuator.DefaultInterval): at least one.
func planRounds(step time.Duration) int { return max(1, int(actuator.DefaultInterval/step)) }

// stepsPerDay is how many replay steps replayFloors counts as a day (at least one).
func stepsPerDay(step time.Duration) int { return max(1, int(24*time.Hour/step)) }

// replayedFloors are a candidate's forecast floors at each of a replay's planning rounds
// (0: none, the base), and with a hold (FloorSettings.HoldSeconds) the highest floor the same
// prediction asks for over the hold's rounds (PredictionFloor.HeldFloor; nil without a hold).
type replayedFloors struct {
	floors, held []int32
	// collapsed is, where the load collapsed under the prediction (collapseFloors), the floor
	// the planner sets instead of the prediction's, to which it comes down at once; 0
	// elsewhere, nil where the load never collapsed.
	collapsed []int32
}

// predictionFloors reads pfs (one per prediction) at every every-th step of a replay grid from
// start, step apart, with active[i] the prediction in force at step i (-1: none): each planning
// round's floor from the prediction in force then, and with holdRounds > 0 its held floor, the
// highest of that prediction's floors at the round and the holdRounds rounds after it, as the
// planner reads them (PredictionFloor.HeldFloor). A prediction is read past its last round in
// force as far as its hold looks, once: a hold that read the rounds again for each round would
// cost holdRounds times as much.
func predictionFloors(pfs []actuator.PredictionFloor, active []int, start time.Time, step time.Duration, every, holdRounds int) replayedFloors {
	n := len(active)
	out := replayedFloors{floors: make([]int32, n)}
	if holdRounds > 0 {
		out.held = make([]int32, n)
	}
	// The rounds' instants in Unix ms (FloorAt), as start.Add(k×step).UnixMilli() has them.
	startMs := start.UnixMilli()
	subMs := int64(start.Sub(time.UnixMilli(startMs)))
	msAt := func(k int) int64 { return startMs + (subMs+int64(k)*int64(step))/int64(time.Millisecond) }
	// With a step of whole milliseconds the rounds are evenly spaced in ms and each
	// prediction's are read in one sweep (FloorsEvery).
	evenMs, roundMs := step%time.Millisecond == 0, int64(every)*step.Milliseconds()
	var ahead, held, queue []int32 // the floors of one prediction's rounds and holdRounds more; their window maxima; slidingMax's queue
	for i := 0; i < n; {
		a := active[i]
		j := i // the rounds [i, j) have prediction a in force
		for j < n && active[j] == a {
			j += every
		}
		if a < 0 {
			i = j
			continue
		}
		rounds := (j - i) / every
		ahead = slices.Grow(ahead[:0], rounds+holdRounds)[:rounds+holdRounds]
		if evenMs {
			pfs[a].FloorsEvery(ahead, msAt(i), roundMs)
		} else {
			for r := range ahead {
				ahead[r], _ = pfs[a].FloorAt(msAt(i + r*every))
			}
		}
		if holdRounds > 0 {
			held, queue = slidingMax(held[:0], queue[:0], ahead, holdRounds+1)
		}
		for r := range rounds {
			out.floors[i+r*every] = ahead[r]
			if holdRounds > 0 {
				out.held[i+r*every] = held[r]
			}
		}
		i = j
	}
	return out
}

// slidingMax appends to dst the highest of each width-long window of v, in order (one per
// start, len(v)-width+1 of them), and returns it with queue, the scratch it used (indices
// into v), for reuse. It keeps the indices of the values that may yet be a window's highest,
// each below the one before: every value is queued and dropped once, where taking each
// window's max afresh read all of an hour's rounds at every round of a held twin.
func slidingMax(dst, queue, v []int32, width int) ([]int32, []int32) {
	head := 0
	for i, x := range v {
		for len(queue) > head && v[queue[len(queue)-1]] <= x {
			queue = queue[:len(queue)-1]
		}
		queue = append(queue, int32(i))
		if int(queue[head]) <= i-width {
			head++
		}
		if i >= width-1 {
			dst = append(dst, v[queue[head]])
		}
	}
	return dst, queue
}

// surgeReplay is a surge candidate's part of a replay, at each of its times: the surge floor
// (0: the need is not rising) and how far the floor may come down at once (ReleaseFloor); and
// the tolerance within which it does not raise the floor (FloorSettings.SurgeTolerance).
type surgeReplay struct {
	floors, release []int32
	tolerance       float64
}

// replayFloors runs one HPA over times with the given loads, syncing once per step, its floor
// set before the sync at each of the planner's rounds (planRounds) as the planner decides: to
// floors.floors[i] (0: the base), kept up to floors.held[i] with a hold, raised at once and
// lowered through the actuator's step-down policy (at once with policy.AtOnce); for a surge
// candidate also to its surge floor and at once down to its release where that is lower, each
// once the floor has held as long as actuator.SurgeMay asks, and never lower while the need
// rises (actuator.HeldSurge). It scores from index scored on: in all, and day by day from
// there. It does not land the HPA as the planner does (actuator.Land; why, there). times
// are step apart (times[i] is times[0] + i×step, as Calibrate's grid is): the HPA and the
// floor's rules run on i×step since times[0] (the rules' time.Time arithmetic was 9 % of a
// calibration's instructions), so times serve only as the grid's length. With a track not yet recorded, the run must be the reactive one (floors base, no surge) and
// records it; with one recorded, it follows it where its floor does not bind (reactiveTrack);
// with none, it syncs its HPA at every step. It tallies in whole numbers (tally), so a
// stretch followed is metered from the track's running tallies at its end, to the bit.
func replayFloors(cfg Config, times []time.Time, loads []float64, floors replayedFloors, surge *surgeReplay, scored int, step time.Duration, policy actuator.StepDownPolicy, track *reactiveTrack) (Summary, []Summary) {
	perDay, every := stepsPerDay(step), planRounds(step)
	minutes, hours := step.Minutes(), step.Hours()
	h := NewHPA(cfg, times[0])
	base := h.cfg.MinReplicas
	cur, changed, changedAt := base, false, int64(0) // changedAt: when the floor last changed, in ns since times[0]
	// With a track recorded, the run starts in the reactive HPA's state and reads its decisions
	// while the floor does not bind (attached); without, it records one.
	recording := track != nil && !track.recorded
	following := track != nil && track.recorded
	var loadPerDay []loadDay
	switch {
	case recording:
		track.start(h, len(times), step, scored)
		loadPerDay = loadDays(loads, scored, perDay, cfg.CapacityPerReplica, cfg.MaxReplicas, hours)
		track.loadDays = loadPerDay
	case following:
		loadPerDay = track.loadDays
		h.deferAtFloor = true // its windows are read at the next sync that may scale
	default:
		loadPerDay = loadDays(loads, scored, perDay, cfg.CapacityPerReplica, cfg.MaxReplicas, hours)
	}
	days := make([]dayTally, len(loadPerDay))
	attached, agreed := following, 0
	followedFrom := 0        // the first step of the stretch followed, metered when it ends (meterFollowed)
	day, dayEnd := 0, scored // the day of the steps before dayEnd
	for round := 0; round < len(times); round += every {
		at := int64(round) * int64(step)
		want, rel := floors.floors[round], int32(0)
		collapsed := floors.collapsed != nil && floors.collapsed[round] > 0
		switch {
		case collapsed:
			want = floors.collapsed[round] // the prediction and its hold set aside, as the planner does
		case floors.held != nil:
			want = max(want, min(cur, floors.held[round])) // the hold keeps the floor, never raises it
		}
		if surge != nil {
			replicas := h.Replicas()
			if attached {
				replicas = track.current(round)
			}
			mayRaise, mayRelease := actuator.SurgeMayAfter(changed, time.Duration(at-changedAt))
			beyond := actuator.SurgeRaises(surge.floors[round], max(cur, replicas), surge.tolerance)
			want = max(want, actuator.HeldSurge(surge.floors[round], cur, mayRaise && beyond))
			if mayRelease {
				rel = surge.release[round]
			}
		}
		if collapsed {
			rel = floors.collapsed[round] // down at once to it, whatever a surge floor's hold
		}
		want = min(max(want, base), h.cfg.MaxReplicas)
		switch {
		case want > cur:
			cur, changed, changedAt = want, true, at
		case want < cur:
			if lowered, _ := actuator.LowerFloorAfter(cur, want, changed, time.Duration(at-changedAt), policy, rel); lowered < cur {
				cur, changed, changedAt = lowered, true, at
			}
		}
		h.SetMinReplicas(cur)
		i, end := round, min(round+every, len(times))
		if attached {
			i = track.nextBinding(i, end, h.min) // the steps before are the reactive HPA's, metered with the stretch
		}
		for ; i < end; i++ {
			if attached {
				if !track.binds(i, h.min) {
					continue // the reactive HPA's decision, metered with the stretch
				}
				track.meterFollowed(days, followedFrom, i, loads, perDay)
				track.restore(h, i, loads, step)
				attached, agreed = false, 0
			}
			now := int64(i) * int64(step)
			if recording {
				track.checkpoint(h, i, now)
			}
			r := h.sync(now, loads[i])
			ready := h.readyAt(now)
			switch {
			case recording:
				track.record(h, r, now)
			case following && track.follows(i, r):
				agreed++
				if attached = agreed >= track.converged; attached {
					followedFrom = i + 1
				}
			case following:
				agreed = 0
			}
			if i < scored {
				continue
			}
			if i >= dayEnd { // a new day, perhaps after a stretch followed over days
				day = (i - scored) / perDay
				dayEnd = scored + (day+1)*perDay
			}
			days[day].add(r.current, r.desired, ready, loads[i], cfg.CapacityPerReplica)
			if recording {
				t := track.tallies[len(track.tallies)-1]
				t.add(r.current, r.desired, ready, loads[i], cfg.CapacityPerReplica)
				track.tallies = append(track.tallies, t)
			}
		}
	}
	if attached {
		track.meterFollowed(days, followedFrom, len(times), loads, perDay)
	}
	if recording {
		track.recorded = true
		track.summarize(loads)
	}
	var all Summary
	out := make([]Summary, len(days))
	for i := range days {
		out[i] = days[i].summary(loadPerDay[i], minutes, hours)
		all = all.plus(out[i])
	}
	return all, out
}

// maxLead is the longest lead time among candidates and lead.
func maxLead(cands []scaling.FloorSettings, lead time.Duration) time.Duration {
	out := lead
	for _, c := range cands {
		out = max(out, time.Duration(c.LeadSeconds)*time.Second)
	}
	return out
}

// firstFinite is the first of v that is no gap (LoadAt), 0 when all are.
func firstFinite(v []float64) float64 {
	for _, x := range v {
		if !gap(x) {
			return x
		}
	}
	return 0
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fmtDays writes a duration in days (or hours below a day).
func fmtDays(d time.Duration) string {
	if d < 24*time.Hour {
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}
