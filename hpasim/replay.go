package hpasim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

// ErrInvalidReplayOptions is returned by Compare for options it cannot run with.
var ErrInvalidReplayOptions = errors.New("invalid replay options")

// ReplayOptions configure Compare: the HPA under test, the forecaster that feeds the predictive
// run, and the actuator that turns its predictions into floors.
type ReplayOptions struct {
	// CapacityPerReplica is the load one replica carries at its HPA target; 0 derives it from
	// the trace so that its p95 load (its largest, where the p95 is 0) fills 80 % of MaxReplicas.
	CapacityPerReplica float64
	// MinReplicas is the HPA's base floor, MaxReplicas its ceiling.
	MinReplicas, MaxReplicas int32
	// Behavior is the HPA's spec.behavior; the zero value is the autoscaling/v2 default.
	Behavior actuator.Behavior
	// LeadTime is how long before a forecast peak the floor rises; PodStartup the time from a
	// new pod to a ready one.
	LeadTime, PodStartup time.Duration
	// Quantile is the forecast quantile the floor provisions for, in (0, 1).
	Quantile float64
	// Model is forecast.ModelAuto or one of forecast.Models().
	Model string
	// Refit is how much trace time passes between two fits.
	Refit time.Duration
	// Horizon is how far ahead each forecast is fitted for: the forecast chooses its model and
	// sets its bound by how they did over that span, so it is the service's (a day) for the
	// forecasts the service would have made. It is kept only as far as the planner reads
	// (actuator.PlanningEnd), which is also the least it is fitted for.
	Horizon time.Duration
	// Warmup is the history before the first fit; both runs are scored after it only.
	Warmup time.Duration
	// History is the most history one fit sees (0 or less: all of the past).
	History time.Duration
	// StepDown limits how fast the actuator lowers a floor.
	StepDown actuator.StepDownPolicy
	// PlanEvery is how often the actuator plans floors.
	PlanEvery time.Duration
	// Calibrate chooses the floor settings at every refit by replaying the trace's past
	// (Calibrate) within Budget (0: DefaultBudget), or for AvailabilityTarget where it is
	// positive, as a service's budget or availabilityTarget; without it every forecast is
	// planned with the planner's defaults. Forecasts are then also fitted during the last
	// DefaultCalibrationWindow of the warm-up, so the first refits have history to calibrate on.
	Calibrate          bool
	Budget             float64
	AvailabilityTarget float64
}

func (o ReplayOptions) validate() error {
	switch {
	case o.MinReplicas < 1 || o.MaxReplicas < o.MinReplicas:
		return fmt.Errorf("%w: want 1 <= min replicas <= max replicas, got %d and %d", ErrInvalidReplayOptions, o.MinReplicas, o.MaxReplicas)
	case !(o.Quantile > 0 && o.Quantile < 1):
		return fmt.Errorf("%w: quantile must be between 0 and 1, got %v", ErrInvalidReplayOptions, o.Quantile)
	case o.Refit <= 0 || o.Warmup <= 0 || o.PlanEvery <= 0:
		// A zero refit or plan interval would never advance the replay's clock.
		return fmt.Errorf("%w: refit, warm-up and plan interval must be positive", ErrInvalidReplayOptions)
	case o.Budget < 0 || math.IsNaN(o.Budget):
		return fmt.Errorf("%w: budget must not be negative, got %v", ErrInvalidReplayOptions, o.Budget)
	case !(o.AvailabilityTarget >= 0 && o.AvailabilityTarget < 1):
		return fmt.Errorf("%w: availability target must be 0 (none) or between 0 and 1, got %v", ErrInvalidReplayOptions, o.AvailabilityTarget)
	case o.LeadTime < 0 || o.PodStartup < 0 || o.CapacityPerReplica < 0:
		return fmt.Errorf("%w: lead time, pod start-up and capacity per replica must not be negative", ErrInvalidReplayOptions)
	}
	return nil
}

// Comparison is what Compare found: the trace's span, the scores of both runs over the
// evaluated span (after the warm-up), and what the forecaster did.
type Comparison struct {
	// CapacityPerReplica is the capacity both runs used; CapacityDerived says Compare derived
	// it from the trace because the options left it 0.
	CapacityPerReplica float64
	CapacityDerived    bool
	Trace              TraceInfo
	// Reactive ran the HPA alone; Predictive ran it with floors planned by actuator.PlanFloors
	// from forecasts of the trace's own past.
	Reactive, Predictive Run
	Fits                 FitStats
	// Calibration summarises the settings chosen at each refit (Calibrate only).
	Calibration CalibrationStats
	// UnderProvisionedReduction is 1 - predictive/reactive under-provisioned replica-minutes
	// and ReplicaHoursIncrease predictive/reactive replica-hours - 1; each stays 0 when the
	// reactive run's value is 0.
	UnderProvisionedReduction float64
	ReplicaHoursIncrease      float64
	// ProvisionableReduction is UnderProvisionedReduction within the HPA's max replicas
	// (Summary.Provisionable): of what a floor could remove, the share it did.
	ProvisionableReduction float64
}

// TraceInfo describes the replayed trace.
type TraceInfo struct {
	Start, End    time.Time
	Step          time.Duration
	Points        int
	EvaluatedFrom time.Time
	// P95Load is the 95th percentile (nearest rank) of the trace's finite loads.
	P95Load float64
}

// FitStats counts the forecaster's work in the predictive run.
type FitStats struct {
	// Fits succeeded; Failures left their period without a prediction (reactive only).
	Fits, Failures int
	// Models counts the models chosen.
	Models map[string]int
	// BacktestCoverage is the mean backtest coverage the forecaster reported for its bound.
	BacktestCoverage float64
}

// CalibrationStats count the settings chosen at the predictive run's refits.
type CalibrationStats struct {
	// Calibrations is the number of refits calibrated (those in the evaluated span).
	Calibrations int
	// Settings counts each chosen setting (SettingsString), MostFrequent is the commonest.
	Settings     map[string]int
	MostFrequent string
	// Defaults counts refits with too little history (the defaults kept); Off those where
	// floors did not pay.
	Defaults, Off int
	// ReplayReduction and ReplayIncrease are the means, over calibrated refits, of what the
	// chosen settings scored on their replay windows: compare with the run's own result to see
	// how well a window's replay foretold the next hours.
	ReplayReduction, ReplayIncrease float64
	// LastReason is the reason given at the last refit.
	LastReason string
}

// Run is one replay: its score over the evaluated span and a coarse series for plots.
type Run struct {
	Summary Summary
	// FloorRaisedMinutes is the evaluated time with the floor above the base.
	FloorRaisedMinutes float64
	// FloorBindingMinutes is the evaluated time the floor held replicas above what the HPA's
	// metric asked for (the HPA reported ScalingLimited: TooFewReplicas): where it cost capacity.
	FloorBindingMinutes float64
	// StaleMinutes is the evaluated time with no valid prediction (predictive run only).
	StaleMinutes float64
	// SetAsideMinutes is the evaluated time the prediction was set aside as the load had
	// collapsed under it (actuator.LoadCollapsed; predictive run only).
	SetAsideMinutes float64
	// BeyondBoundUnderProvisionedReplicaMinutes is the part of Summary's under-provisioned
	// replica-minutes during which the load was above the upper bound of the forecast in
	// force everywhere within a lead time (or a forecast step) either side: surprises that a
	// floor within the bound cannot provision for, not a rise foreseen a little early or late.
	BeyondBoundUnderProvisionedReplicaMinutes float64
	// FloorRaises and FloorLowers count the floor changes the actuator wrote in the evaluated
	// span: each raise that binds starts pods, each lowering may let the HPA remove them.
	FloorRaises, FloorLowers int
	// Samples are taken every SampleStep of the evaluated span.
	Samples []Sample
}

// Sample is a run's state at one instant.
type Sample struct {
	Time time.Time
	// ReadyCapacity is the load the ready replicas carry (ready × capacity per replica).
	ReadyCapacity float64
	// Floor is the HPA's minReplicas.
	Floor int32
}

// SampleStep is the interval between two Samples of a Run.
const SampleStep = 5 * time.Minute

// Compare replays trace through a simulated HPA twice, once reactive only and once with floors
// the real planner (actuator.PlanFloors) derives from forecasts refitted every opts.Refit on
// the trace's own past, and scores both after opts.Warmup. A fit never sees a sample that had
// not ended at its fit time, and the replay uses a prediction only from its fit time on. Fits
// run on every core; a failed fit is logged and leaves its period reactive, as the actuator
// does with a stale forecast. Compare ends early with an error when ctx is done.
func Compare(ctx context.Context, log *slog.Logger, opts ReplayOptions, trace forecast.Series) (Comparison, error) {
	if err := opts.validate(); err != nil {
		return Comparison{}, err
	}
	n := len(trace.Values)
	if n < 2 {
		return Comparison{}, fmt.Errorf("trace has %d points, need at least 2", n)
	}
	if trace.Step <= 0 {
		return Comparison{}, fmt.Errorf("trace step is %s, want a positive step", trace.Step)
	}
	end := trace.End()
	evalFrom := trace.Start.Add(opts.Warmup)
	if !evalFrom.Before(end) {
		return Comparison{}, fmt.Errorf("trace spans %s, no longer than the %s warm-up", end.Sub(trace.Start), opts.Warmup)
	}
	cmp := Comparison{
		CapacityPerReplica: opts.CapacityPerReplica,
		Trace:              TraceInfo{Start: trace.Start, End: end, Step: trace.Step, Points: n, EvaluatedFrom: evalFrom, P95Load: percentile(trace.Values, 0.95)},
	}
	if opts.CapacityPerReplica == 0 {
		capacity, load, of, err := derivedCapacity(trace.Values, opts.MaxReplicas)
		if err != nil {
			return Comparison{}, err
		}
		if of != "p95" {
			log.Warn("the trace's p95 load is 0 (it is mostly idle): capacity per replica derived from its largest load instead",
				"largest_load", load)
		}
		opts.CapacityPerReplica = capacity
		cmp.CapacityPerReplica, cmp.CapacityDerived = opts.CapacityPerReplica, true
		log.Info("derived capacity per replica from the trace: its "+of+" load fills 80% of max replicas",
			"load", load, "max_replicas", opts.MaxReplicas, "capacity_per_replica", opts.CapacityPerReplica)
	}

	preds, stats, err := fitPredictions(ctx, log, opts, trace, evalFrom)
	if err != nil {
		return Comparison{}, err
	}
	cmp.Fits = stats
	if opts.Calibrate {
		cmp.Calibration = calibrateAll(ctx, opts, trace, evalFrom, preds)
		if err := ctx.Err(); err != nil {
			return Comparison{}, fmt.Errorf("calibrate floor settings: %w", err)
		}
		// The forecasts fitted during the warm-up served calibration only: the predictive run
		// plans from the evaluated span's, as without calibration.
		first := slices.IndexFunc(preds, func(p scaling.Prediction) bool { return p.FittedAt >= evalFrom.UnixMilli() })
		if first < 0 {
			first = len(preds)
		}
		preds = preds[first:]
	}

	var wg sync.WaitGroup
	wg.Go(func() { cmp.Reactive = replay(opts, trace, evalFrom, nil, preds) })
	wg.Go(func() { cmp.Predictive = replay(opts, trace, evalFrom, preds, preds) })
	wg.Wait()

	if r := cmp.Reactive.Summary.UnderProvisionedReplicaMinutes; r > 0 {
		cmp.UnderProvisionedReduction = 1 - cmp.Predictive.Summary.UnderProvisionedReplicaMinutes/r
	}
	cmp.ProvisionableReduction, cmp.ReplicaHoursIncrease = gains(cmp.Reactive.Summary, cmp.Predictive.Summary)
	return cmp, nil
}

// fitPredictions fits a forecast every o.Refit from evalFrom on, each on the history fully
// elapsed at its fit time only, and returns the predictions in fit order. Fits are
// independent, so they run on every core.
func fitPredictions(ctx context.Context, log *slog.Logger, o ReplayOptions, trace forecast.Series, evalFrom time.Time) ([]scaling.Prediction, FitStats, error) {
	first := evalFrom
	if o.Calibrate {
		// Forecasts for the first refits' calibration, each still fitted on its own past only.
		earliest := trace.Start.Add(minCalibrationFitHistory)
		for first.Add(-o.Refit).After(earliest) && evalFrom.Sub(first) < DefaultCalibrationWindow {
			first = first.Add(-o.Refit)
		}
	}
	var at []time.Time
	for t := first; !t.After(trace.End()); t = t.Add(o.Refit) {
		at = append(at, t)
	}
	preds := make([]scaling.Prediction, len(at))
	errs := make([]error, len(at))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	started := time.Now() // wall clock for progress logs only; the replay runs on trace time
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(at) {
					return
				}
				preds[i], errs[i] = fitAt(o, trace, at[i])
				if d := done.Add(1); d%100 == 0 {
					log.Info("fitting forecasts", "done", d, "of", len(at), "elapsed", time.Since(started).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, FitStats{}, fmt.Errorf("fit forecasts: %w", err)
	}
	stats := FitStats{Models: map[string]int{}}
	var out []scaling.Prediction
	var covSum float64
	for i, err := range errs {
		if err != nil && at[i].Before(evalFrom) {
			log.Debug("forecast for calibration failed", "at", at[i], "err", err)
			continue
		}
		if err != nil {
			// The replay then runs without a prediction until the next fit: reactive, as the
			// actuator does when a forecast is stale.
			stats.Failures++
			log.Warn("forecast failed; that period runs reactive only", "at", at[i], "err", err)
			continue
		}
		out = append(out, preds[i])
		if at[i].Before(evalFrom) {
			continue // fitted for calibration only: not counted as the predictive run's
		}
		stats.Fits++
		stats.Models[preds[i].Model]++
		covSum += preds[i].BacktestCoverage
	}
	if stats.Fits > 0 {
		stats.BacktestCoverage = covSum / float64(stats.Fits)
	}
	log.Info("forecasts fitted", "fits", stats.Fits, "failures", stats.Failures, "elapsed", time.Since(started).Round(time.Millisecond))
	return out, stats, nil
}

// fitAt forecasts from the samples fully elapsed at t: a sample at s covers [s, s+step), so it
// is known only from s+step on. Like the service's forecaster by default, the prediction is
// valid for twice the refit interval (one failed fit does not leave the service without one),
// it is fitted for o.Horizon, and it keeps as much as the planner reads (actuator.PlanningEnd):
// it plans the floors the service's day-long forecast would.
func fitAt(o ReplayOptions, trace forecast.Series, t time.Time) (scaling.Prediction, error) {
	known := int(t.Sub(trace.Start) / trace.Step) // samples 0..known-1 have ended by t
	known = min(known, len(trace.Values))
	from := 0
	if o.History > 0 {
		from = max(0, known-int(o.History/trace.Step))
	}
	hist := forecast.Series{Start: trace.Start.Add(time.Duration(from) * trace.Step), Step: trace.Step, Values: trace.Values[from:known]}
	firstAt := hist.End().Add(trace.Step)
	validUntil := t.Add(2 * o.Refit)
	lead := o.LeadTime
	if o.Calibrate {
		lead = maxLead(Candidates(o.LeadTime, o.PodStartup, trace.Step, true, o.Behavior.ScaleUp.ScaleUpDefaults().Tolerance), o.LeadTime) // every candidate's lead is covered
	}
	end := time.UnixMilli(actuator.PlanningEnd(scaling.Prediction{ValidUntil: validUntil.UnixMilli(), StepSeconds: int64(trace.Step / time.Second)}, lead))
	horizon := max(int(end.Sub(firstAt)/trace.Step)+1, int(o.Horizon/trace.Step))
	r, err := forecast.Forecast(hist, forecast.Options{Horizon: horizon, Quantile: o.Quantile, Model: o.Model})
	if err != nil {
		return scaling.Prediction{}, fmt.Errorf("forecast at %s: %w", t.Format(time.RFC3339), err)
	}
	p := scaling.Prediction{Service: traceService, Model: r.Model, ModelReason: r.Reason, FittedAt: t.UnixMilli(),
		ValidUntil: validUntil.UnixMilli(), StepSeconds: int64(r.Step / time.Second), Quantile: o.Quantile,
		BacktestMASE: r.Backtest.MASE, BacktestSMAPE: r.Backtest.SMAPE, BacktestCoverage: r.Backtest.Coverage}
	for i := range r.Mean {
		p.Points = append(p.Points, scaling.PredictionPoint{
			Timestamp:              r.Start.Add(time.Duration(i) * r.Step).UnixMilli(),
			ExpectedLoad:           r.Mean[i],
			UpperLoad:              r.Upper[i],
			RecommendedMinReplicas: forecast.ReplicasFor(r.Upper[i], o.CapacityPerReplica),
		})
	}
	return actuator.PlanningView(p, lead), nil
}

// minCalibrationFitHistory is the least history a forecast fitted for calibration only sees.
const minCalibrationFitHistory = 2 * 24 * time.Hour

// calibrateAll calibrates every prediction fitted from evalFrom on, on the trace and the
// predictions before its fit time only, and attaches the chosen settings to it. Calibrations
// are independent, so they run on every core.
func calibrateAll(ctx context.Context, o ReplayOptions, trace forecast.Series, evalFrom time.Time, preds []scaling.Prediction) CalibrationStats {
	cals := make([]*scaling.Calibration, len(preds))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(preds) {
					return
				}
				if preds[i].FittedAt < evalFrom.UnixMilli() {
					continue // fitted for calibration only
				}
				now := time.UnixMilli(preds[i].FittedAt)
				known := min(int(now.Sub(trace.Start)/trace.Step), len(trace.Values))
				r := Calibrate(CalibrationInput{
					History:     forecast.Series{Start: trace.Start, Step: trace.Step, Values: trace.Values[:known]},
					Predictions: preds[:i],
					HPA: Config{MinReplicas: o.MinReplicas, MaxReplicas: o.MaxReplicas, CapacityPerReplica: o.CapacityPerReplica,
						PodStartup: o.PodStartup, Behavior: o.Behavior},
					LeadTime: o.LeadTime,
					Now:      now,
					Budget:   o.Budget, AvailabilityTarget: o.AvailabilityTarget,
					StepDown: o.StepDown,
					Surge:    true, // the simulated HPA reports its metric's need
				})
				cals[i] = &r.Calibration
			}
		})
	}
	wg.Wait()
	st := CalibrationStats{Settings: map[string]int{}}
	var calibrated int
	for i, c := range cals {
		if c == nil {
			continue
		}
		preds[i].Calibration = c
		st.Calibrations++
		st.Settings[SettingsString(c.FloorSettings)]++
		st.LastReason = c.Reason
		switch {
		case c.WindowMinutes == 0:
			st.Defaults++
			continue
		case c.FloorsOff():
			st.Off++
		}
		calibrated++
		st.ReplayReduction += c.UnderProvisionedReduction
		st.ReplayIncrease += c.ReplicaHoursIncrease
	}
	if calibrated > 0 {
		st.ReplayReduction /= float64(calibrated)
		st.ReplayIncrease /= float64(calibrated)
	}
	for k, v := range st.Settings {
		if v > st.Settings[st.MostFrequent] || (v == st.Settings[st.MostFrequent] && k < st.MostFrequent) {
			st.MostFrequent = k
		}
	}
	return st
}

// traceService and traceNamespace name the one service a replay simulates.
const (
	traceService   = "trace"
	traceNamespace = "sim"
)

// replay runs the trace through a simulated HPA at the controller's 15 s sync. With preds,
// an actuator plans the floor every o.PlanEvery from the predictions fitted so far (only those
// whose FittedAt has passed), through the real planner and the simulated cluster.
func replay(o ReplayOptions, trace forecast.Series, evalFrom time.Time, preds, bounds []scaling.Prediction) Run {
	now := trace.Start
	var res Run
	meter := Meter{Capacity: o.CapacityPerReplica, MaxReplicas: o.MaxReplicas}
	cluster := NewCluster(func() time.Time { return now }, func(r Record) {
		if !r.Time.Before(evalFrom) {
			meter.Count(r)
			if r.LimitedReason == ReasonTooFewReplicas {
				res.FloorBindingMinutes += DefaultSyncPeriod.Minutes()
			}
		}
	})
	cluster.Add(Service{Name: traceService, Namespace: traceNamespace, HPA: &Config{
		MinReplicas: o.MinReplicas, MaxReplicas: o.MaxReplicas, CapacityPerReplica: o.CapacityPerReplica, PodStartup: o.PodStartup,
		Behavior: o.Behavior, InitialReplicas: max(o.MinReplicas, forecast.ReplicasFor(firstFinite(trace.Values), o.CapacityPerReplica)),
	}})
	hpa := cluster.HPA(traceNamespace, traceService)
	refs := []actuator.ServiceRef{{Service: traceService, Namespace: traceNamespace}}
	in := actuator.PlanInput{
		Services:          []actuator.ServiceConfig{{Ref: refs[0], LeadTime: o.LeadTime, CapacityPerReplica: o.CapacityPerReplica}},
		PredictiveEnabled: true,
		StepDown:          o.StepDown,
	}
	const tick = DefaultSyncPeriod
	nextPred, nextBound, lastPlan, nextSample := 0, 0, time.Time{}, evalFrom
	var need []actuator.NeedSample
	setAside := false           // at the last planning round
	ctx := context.Background() // the simulated cluster does no I/O
	end := trace.End()
	for ; !now.After(end); now = now.Add(tick) {
		load := LoadAt(trace, now)
		if preds != nil && (lastPlan.IsZero() || now.Sub(lastPlan) >= o.PlanEvery) {
			lastPlan = now
			for nextPred < len(preds) && preds[nextPred].FittedAt <= now.UnixMilli() {
				nextPred++
			}
			in.Predictions = nil
			if nextPred > 0 {
				in.Predictions = preds[nextPred-1 : nextPred]
			}
			ws, _ := cluster.Workloads(ctx, refs)
			in.Now, in.Workloads = now, ws
			for _, w := range ws {
				var forecast float64
				if len(in.Predictions) > 0 {
					forecast = actuator.ForecastReplicas(in.Predictions[0], o.CapacityPerReplica, w.ObservedAt)
				}
				need = actuator.AddNeed(need, w, forecast, now)
			}
			in.Need = map[string][]actuator.NeedSample{traceService: need}
			for _, d := range actuator.PlanFloors(in).Decisions {
				setAside = d.PredictionSetAside
				if !now.Before(evalFrom) && d.Changed() {
					if to := d.Floor; to > d.Workload.MinReplicas {
						res.FloorRaises++
					} else if to < d.Workload.MinReplicas {
						res.FloorLowers++
					}
				}
				if d.Restore {
					_ = cluster.Restore(ctx, d.Workload) // the simulated cluster knows every workload it was asked about
				} else if d.Floor != d.Workload.MinReplicas {
					_ = cluster.SetFloor(ctx, actuator.FloorChange{Workload: d.Workload, Floor: d.Floor, Reason: d.Reason})
				}
			}
		}
		cluster.Advance(map[string]float64{traceService: load})
		if now.Before(evalFrom) {
			continue
		}
		total, ready := hpa.Replicas(), hpa.ReadyReplicas(now)
		meter.Observe(tick, load, ready, total)
		for nextBound < len(bounds) && bounds[nextBound].FittedAt <= now.UnixMilli() {
			nextBound++
		}
		if short := load - float64(ready)*o.CapacityPerReplica; short > 0 && nextBound > 0 {
			b := bounds[nextBound-1]
			w := max(o.LeadTime, time.Duration(b.StepSeconds)*time.Second).Milliseconds()
			if up, ok := upperWithin(b, now.UnixMilli()-w, now.UnixMilli()+w); ok && load > up {
				res.BeyondBoundUnderProvisionedReplicaMinutes += short / o.CapacityPerReplica * tick.Minutes()
			}
		}
		if hpa.MinReplicas() > o.MinReplicas {
			res.FloorRaisedMinutes += tick.Minutes()
		}
		if preds != nil && (nextPred == 0 || now.UnixMilli() > preds[nextPred-1].ValidUntil) {
			res.StaleMinutes += tick.Minutes()
		}
		if setAside {
			res.SetAsideMinutes += tick.Minutes()
		}
		if !now.Before(nextSample) {
			nextSample = nextSample.Add(SampleStep)
			res.Samples = append(res.Samples, Sample{Time: now, ReadyCapacity: float64(ready) * o.CapacityPerReplica, Floor: hpa.MinReplicas()})
		}
	}
	res.Summary = meter.Summary()
	return res
}

// upperAt is p's upper bound at t (Unix ms), read linearly between its points (which are in
// time order); false outside them or when p has expired.
func upperAt(p scaling.Prediction, t int64) (float64, bool) {
	return readAt(p, t, func(pt scaling.PredictionPoint) float64 { return pt.UpperLoad })
}

// expectedAt is p's expected load at t, read as upperAt reads its bound.
func expectedAt(p scaling.Prediction, t int64) (float64, bool) {
	return readAt(p, t, func(pt scaling.PredictionPoint) float64 { return pt.ExpectedLoad })
}

// readAt is value (one of its fields) of p's points at t (Unix ms), linear between them;
// false outside them or when p has expired.
func readAt(p scaling.Prediction, t int64, value func(scaling.PredictionPoint) float64) (float64, bool) {
	pts := p.Points
	if t > p.ValidUntil || len(pts) == 0 || t < pts[0].Timestamp || t > pts[len(pts)-1].Timestamp {
		return 0, false
	}
	j := sort.Search(len(pts), func(i int) bool { return pts[i].Timestamp >= t })
	if pts[j].Timestamp == t || j == 0 {
		return value(pts[j]), true
	}
	a, b := pts[j-1], pts[j]
	f := float64(t-a.Timestamp) / float64(b.Timestamp-a.Timestamp)
	return value(a) + f*(value(b)-value(a)), true
}

// upperWithin is the highest of p's upper bound over [from, to] (Unix ms), read as upperAt
// does (linear between points, so the highest is at an end or a point); false when no
// instant of it is covered.
func upperWithin(p scaling.Prediction, from, to int64) (float64, bool) {
	out, ok := math.Inf(-1), false
	for _, t := range [2]int64{from, to} {
		if v, in := upperAt(p, t); in {
			out, ok = max(out, v), true
		}
	}
	for _, pt := range p.Points {
		if pt.Timestamp > from && pt.Timestamp < to && pt.Timestamp <= p.ValidUntil {
			out, ok = max(out, pt.UpperLoad), true
		}
	}
	return out, ok
}

// derivedCapacity is the capacity per replica at which the trace's p95 load (of: "p95") fills
// 80 % of maxReplicas; on a mostly idle trace, whose p95 is 0 (load only in bursts), its
// largest load ("largest") does, so the bursts it is made of are replayed rather than the
// trace refused. It fails when no load is positive.
func derivedCapacity(values []float64, maxReplicas int32) (capacity, load float64, of string, err error) {
	load, of = percentile(values, 0.95), "p95"
	if !(load > 0) {
		load, of = percentile(values, 1), "largest"
	}
	if !(load > 0) {
		return 0, load, of, fmt.Errorf("cannot derive capacity per replica: the trace has no positive load (largest %v)", load)
	}
	return load / (0.8 * float64(maxReplicas)), load, of, nil
}

// percentile is the q quantile of the finite values (nearest rank), NaN when there are none.
func percentile(v []float64, q float64) float64 {
	f := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			f = append(f, x)
		}
	}
	if len(f) == 0 {
		return math.NaN()
	}
	slices.Sort(f)
	i := int(math.Ceil(q*float64(len(f)))) - 1
	return f[min(max(i, 0), len(f)-1)]
}
