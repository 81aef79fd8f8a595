package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/scaling"
)

// simOptions are the flags of `kai-scaler simulate`.
type simOptions struct {
	Input              string        `json:"input"`
	Generate           string        `json:"generate,omitempty"`
	CapacityPerReplica float64       `json:"capacityPerReplica"`
	CapacityDerived    bool          `json:"capacityDerived"`
	MinReplicas        int32         `json:"minReplicas"`
	MaxReplicas        int32         `json:"maxReplicas"`
	LeadTime           time.Duration `json:"-"`
	PodStartup         time.Duration `json:"-"`
	Quantile           float64       `json:"quantile"`
	Model              string        `json:"model"`
	Refit              time.Duration `json:"-"`
	Warmup             time.Duration `json:"-"`
	History            time.Duration `json:"-"`
	StepDownInterval   time.Duration `json:"-"`
	StepDownFraction   float64       `json:"stepDownMaxFraction"`
	PlanEvery          time.Duration `json:"-"`
	Plot               string        `json:"plot,omitempty"`
	PlotDays           int           `json:"plotDays"`
}

// MarshalJSON writes durations as Go duration strings ("15m0s").
func (o simOptions) MarshalJSON() ([]byte, error) {
	type plain simOptions
	return json.Marshal(struct {
		plain
		LeadTime         string `json:"leadTime"`
		PodStartup       string `json:"podStartup"`
		Refit            string `json:"refitEvery"`
		Warmup           string `json:"warmup"`
		History          string `json:"history"`
		StepDownInterval string `json:"stepDownInterval"`
		PlanEvery        string `json:"planEvery"`
	}{plain: plain(o), LeadTime: o.LeadTime.String(), PodStartup: o.PodStartup.String(), Refit: o.Refit.String(),
		Warmup: o.Warmup.String(), History: o.History.String(), StepDownInterval: o.StepDownInterval.String(), PlanEvery: o.PlanEvery.String()})
}

// simReport is what `simulate` prints on stdout.
type simReport struct {
	Parameters simOptions        `json:"parameters"`
	Trace      traceInfo         `json:"trace"`
	Reactive   hpasim.Summary    `json:"reactive"`
	Predictive predictiveSummary `json:"predictive"`
	// UnderProvisionedReduction is 1 - predictive/reactive under-provisioned replica-minutes;
	// ReplicaHoursIncrease is predictive/reactive replica-hours - 1.
	UnderProvisionedReduction float64 `json:"underProvisionedReduction"`
	ReplicaHoursIncrease      float64 `json:"replicaHoursIncrease"`
}

type traceInfo struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Step          string    `json:"step"`
	Points        int       `json:"points"`
	EvaluatedFrom time.Time `json:"evaluatedFrom"`
	P95Load       float64   `json:"p95Load"`
}

type predictiveSummary struct {
	hpasim.Summary
	Forecasts        int `json:"forecasts"`
	ForecastFailures int `json:"forecastFailures"`
	// FloorRaisedMinutes is the evaluated time with the floor above the base.
	FloorRaisedMinutes float64 `json:"floorRaisedMinutes"`
	// FloorBindingMinutes is the evaluated time the floor held replicas above what the HPA's
	// metric asked for (the HPA reported ScalingLimited: TooFewReplicas): where it cost capacity.
	FloorBindingMinutes float64 `json:"floorBindingMinutes"`
	// FloorRaises and FloorLowers count the floor changes the actuator wrote in the evaluated
	// span: each raise that binds starts pods, each lowering may let the HPA remove them.
	FloorRaises int `json:"floorRaises"`
	FloorLowers int `json:"floorLowers"`
	// StaleMinutes is the evaluated time with no valid prediction (reactive only).
	StaleMinutes float64 `json:"staleMinutes"`
	// Models counts the models chosen by the forecaster.
	Models map[string]int `json:"models"`
	// BacktestCoverage is the mean backtest coverage the forecaster reported for its bound.
	BacktestCoverage float64 `json:"backtestCoverage"`
}

// runSimulate is `kai-scaler simulate`: replay a load trace through a simulated HPA, once
// reactive only and once with floors planned from forecasts of the trace's own past.
func runSimulate(ctx context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var o simOptions
	fs.StringVar(&o.Input, "input", "", "trace CSV: timestamp,value (or series,timestamp,value[,upper]: the first series)")
	fs.StringVar(&o.Generate, "generate", "", `instead of --input, replay a generated trace: "ramps" (office hours with sharp morning ramps)`)
	fs.Float64Var(&o.CapacityPerReplica, "capacity-per-replica", 0, "load one replica carries at its HPA target (0: the trace's p95 fills 80% of --max)")
	min := fs.Int("min", 1, "HPA minReplicas (the base floor)")
	max := fs.Int("max", 20, "HPA maxReplicas")
	fs.DurationVar(&o.LeadTime, "lead-time", 5*time.Minute, "how long before a forecast peak the floor rises")
	fs.DurationVar(&o.PodStartup, "pod-startup", 2*time.Minute, "time from a new pod to a ready one")
	fs.Float64Var(&o.Quantile, "quantile", 0.8, "forecast quantile the floor provisions for")
	fs.StringVar(&o.Model, "model", forecast.ModelAuto, "forecast model: auto or one of "+strings.Join(forecast.Models(), ", "))
	fs.DurationVar(&o.Refit, "refit", 6*time.Hour, "refit the forecast every this much trace time")
	fs.DurationVar(&o.Warmup, "warmup", 14*24*time.Hour, "history before the first forecast; both runs are scored after it only")
	fs.DurationVar(&o.History, "history", 8*7*24*time.Hour, "history each fit sees at most (0: all the past)")
	fs.DurationVar(&o.StepDownInterval, "step-down-interval", actuator.DefaultStepDown.Interval, "least time between two lowering steps of the floor")
	fs.Float64Var(&o.StepDownFraction, "step-down-fraction", actuator.DefaultStepDown.MaxFraction, "largest share of the floor removed in one step")
	fs.DurationVar(&o.PlanEvery, "plan-every", 30*time.Second, "how often the actuator plans floors")
	fs.StringVar(&o.Plot, "plot", "", "write a PNG of load, ready capacity of both runs and the floor")
	fs.IntVar(&o.PlotDays, "plot-days", 7, "days plotted, from the start of the evaluated span (0: all)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.MinReplicas, o.MaxReplicas = int32(*min), int32(*max)
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(c.stderr, "kai-scaler simulate: unexpected arguments %q\n", fs.Args())
		return 2
	case (o.Input == "") == (o.Generate == ""):
		fmt.Fprintln(c.stderr, "kai-scaler simulate: exactly one of --input and --generate is required")
		fs.Usage()
		return 2
	case o.Generate != "" && o.Generate != "ramps":
		fmt.Fprintf(c.stderr, "kai-scaler simulate: --generate %q: want ramps\n", o.Generate)
		return 2
	case o.MinReplicas < 1 || o.MaxReplicas < o.MinReplicas:
		fmt.Fprintf(c.stderr, "kai-scaler simulate: want 1 <= --min <= --max, got %d and %d\n", o.MinReplicas, o.MaxReplicas)
		return 2
	case !(o.Quantile > 0 && o.Quantile < 1):
		fmt.Fprintf(c.stderr, "kai-scaler simulate: --quantile must be between 0 and 1, got %v\n", o.Quantile)
		return 2
	case o.Refit <= 0 || o.Warmup <= 0 || o.LeadTime < 0 || o.PodStartup < 0 || o.PlanEvery <= 0 || o.CapacityPerReplica < 0:
		fmt.Fprintln(c.stderr, "kai-scaler simulate: --refit, --warmup and --plan-every must be positive; --lead-time, --pod-startup and --capacity-per-replica not negative")
		return 2
	case o.Model != forecast.ModelAuto && !slices.Contains(forecast.Models(), o.Model):
		fmt.Fprintf(c.stderr, "kai-scaler simulate: unknown --model %q\n", o.Model)
		return 2
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("cmd", "simulate")

	var trace forecast.Series
	if o.Generate != "" {
		trace = hpasim.GenerateRamps(hpasim.DefaultRamps(time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)))
	} else {
		var err error
		if trace, err = readTrace(o.Input); err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler simulate: %v\n", err)
			return 1
		}
	}
	rep, err := simulate(ctx, log, o, trace)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler simulate: %v\n", err)
		return 1
	}
	if o.Plot != "" {
		log.Info("plot written", "file", o.Plot)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler simulate: write report: %v\n", err)
		return 1
	}
	return 0
}

// readTrace reads a trace CSV; the forecast output format's upper column is dropped and the
// first series taken.
func readTrace(path string) (forecast.Series, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return forecast.Series{}, fmt.Errorf("read trace: %w", err)
	}
	header, _, _ := bytes.Cut(data, []byte("\n"))
	if h := strings.ToLower(strings.TrimSpace(string(header))); strings.ReplaceAll(h, " ", "") == "series,timestamp,value,upper" {
		var b bytes.Buffer
		for line := range strings.Lines(string(data)) {
			fields := strings.Split(strings.TrimRight(line, "\r\n"), ",")
			if len(fields) == 4 {
				fields = fields[:3]
			}
			b.WriteString(strings.Join(fields, ","))
			b.WriteByte('\n')
		}
		data = b.Bytes()
	}
	series, _, err := readSeriesCSV(bytes.NewReader(data), path)
	if err != nil {
		return forecast.Series{}, err
	}
	return series[0].series, nil
}

// simulate runs both replays over trace and scores them after the warm-up.
func simulate(ctx context.Context, log *slog.Logger, o simOptions, trace forecast.Series) (simReport, error) {
	n := len(trace.Values)
	if n < 2 {
		return simReport{}, fmt.Errorf("trace has %d points, need at least 2", n)
	}
	end := trace.End()
	evalFrom := trace.Start.Add(o.Warmup)
	if !evalFrom.Before(end) {
		return simReport{}, fmt.Errorf("trace spans %s, no longer than the %s warm-up", end.Sub(trace.Start), o.Warmup)
	}
	p95 := percentile(trace.Values, 0.95)
	if o.CapacityPerReplica == 0 {
		if !(p95 > 0) {
			return simReport{}, fmt.Errorf("cannot derive capacity per replica: the trace's p95 load is %v", p95)
		}
		o.CapacityPerReplica = p95 / (0.8 * float64(o.MaxReplicas))
		o.CapacityDerived = true
		log.Info("derived capacity per replica from the trace: its p95 load fills 80% of max replicas",
			"p95_load", p95, "max_replicas", o.MaxReplicas, "capacity_per_replica", o.CapacityPerReplica)
	}

	preds, stats, err := fitPredictions(ctx, log, o, trace, evalFrom)
	if err != nil {
		return simReport{}, err
	}

	var wg sync.WaitGroup
	var reactive, predictive runResult
	wg.Go(func() { reactive = replay(o, trace, evalFrom, nil) })
	wg.Go(func() { predictive = replay(o, trace, evalFrom, preds) })
	wg.Wait()

	rep := simReport{
		Parameters: o,
		Trace:      traceInfo{Start: trace.Start, End: end, Step: trace.Step.String(), Points: n, EvaluatedFrom: evalFrom, P95Load: p95},
		Reactive:   reactive.summary,
		Predictive: predictiveSummary{Summary: predictive.summary, Forecasts: stats.fits, ForecastFailures: stats.failures,
			FloorRaisedMinutes: predictive.floorRaisedMinutes, FloorBindingMinutes: predictive.floorBindingMinutes,
			FloorRaises: predictive.floorRaises, FloorLowers: predictive.floorLowers, StaleMinutes: predictive.staleMinutes, Models: stats.models,
			BacktestCoverage: stats.coverage},
	}
	if r := reactive.summary.UnderProvisionedReplicaMinutes; r > 0 {
		rep.UnderProvisionedReduction = 1 - predictive.summary.UnderProvisionedReplicaMinutes/r
	}
	if r := reactive.summary.ReplicaHours; r > 0 {
		rep.ReplicaHoursIncrease = predictive.summary.ReplicaHours/r - 1
	}
	if o.Plot != "" {
		if err := plotRuns(o, trace, evalFrom, reactive, predictive); err != nil {
			return simReport{}, fmt.Errorf("plot: %w", err)
		}
	}
	return rep, nil
}

type fitStats struct {
	fits, failures int
	models         map[string]int
	coverage       float64
}

// fitPredictions fits a forecast every o.Refit from evalFrom on, each on the history fully
// elapsed at its fit time only, and returns the predictions in fit order. Fits are
// independent, so they run on every core.
func fitPredictions(ctx context.Context, log *slog.Logger, o simOptions, trace forecast.Series, evalFrom time.Time) ([]scaling.Prediction, fitStats, error) {
	var at []time.Time
	for t := evalFrom; !t.After(trace.End()); t = t.Add(o.Refit) {
		at = append(at, t)
	}
	preds := make([]scaling.Prediction, len(at))
	errs := make([]error, len(at))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
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
		return nil, fitStats{}, fmt.Errorf("fit forecasts: %w", err)
	}
	stats := fitStats{models: map[string]int{}}
	var out []scaling.Prediction
	var covSum float64
	for i, err := range errs {
		if err != nil {
			// The replay then runs without a prediction until the next fit: reactive, as the
			// actuator does when a forecast is stale.
			stats.failures++
			log.Warn("forecast failed; that period runs reactive only", "at", at[i], "err", err)
			continue
		}
		stats.fits++
		stats.models[preds[i].Model]++
		covSum += preds[i].BacktestCoverage
		out = append(out, preds[i])
	}
	if stats.fits > 0 {
		stats.coverage = covSum / float64(stats.fits)
	}
	log.Info("forecasts fitted", "fits", stats.fits, "failures", stats.failures, "elapsed", time.Since(started).Round(time.Millisecond))
	return out, stats, nil
}

// fitAt forecasts from the samples fully elapsed at t: a sample at s covers [s, s+step), so it
// is known only from s+step on. The forecast covers until the next fit plus the lead time.
func fitAt(o simOptions, trace forecast.Series, t time.Time) (scaling.Prediction, error) {
	known := int(t.Sub(trace.Start) / trace.Step) // samples 0..known-1 have ended by t
	known = min(known, len(trace.Values))
	from := 0
	if o.History > 0 {
		from = max(0, known-int(o.History/trace.Step))
	}
	hist := forecast.Series{Start: trace.Start.Add(time.Duration(from) * trace.Step), Step: trace.Step, Values: trace.Values[from:known]}
	firstAt := hist.End().Add(trace.Step)
	validUntil := t.Add(o.Refit + trace.Step)
	horizon := int(validUntil.Add(o.LeadTime).Add(trace.Step).Sub(firstAt)/trace.Step) + 1
	r, err := forecast.Forecast(hist, forecast.Options{Horizon: horizon, Quantile: o.Quantile, Model: o.Model})
	if err != nil {
		return scaling.Prediction{}, fmt.Errorf("forecast at %s: %w", t.Format(time.RFC3339), err)
	}
	p := scaling.Prediction{Service: simService, Model: r.Model, ModelReason: r.Reason, FittedAt: t.UnixMilli(),
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
	return p, nil
}

const simService = "trace"

// runResult is one replay: its score and a coarse series for the plot.
type runResult struct {
	summary             hpasim.Summary
	floorRaisedMinutes  float64
	floorBindingMinutes float64
	staleMinutes        float64
	floorRaises         int
	floorLowers         int
	// samples every plotStep: ready capacity (load units) and floor (replicas).
	times  []time.Time
	ready  []float64
	floors []float64
}

const plotStep = 5 * time.Minute

// replay runs the trace through a simulated HPA at the controller's 15 s sync. With preds,
// an actuator plans the floor every o.PlanEvery from the predictions fitted so far (only those
// whose FittedAt has passed), through the real planner and the simulated cluster.
func replay(o simOptions, trace forecast.Series, evalFrom time.Time, preds []scaling.Prediction) runResult {
	now := trace.Start
	var res runResult
	meter := hpasim.Meter{Capacity: o.CapacityPerReplica}
	cluster := hpasim.NewCluster(func() time.Time { return now }, func(r hpasim.Record) {
		if !r.Time.Before(evalFrom) {
			meter.Count(r)
			if r.LimitedReason == hpasim.ReasonTooFewReplicas {
				res.floorBindingMinutes += hpasim.DefaultSyncPeriod.Minutes()
			}
		}
	})
	cluster.Add(hpasim.Service{Name: simService, Namespace: "sim", HPA: &hpasim.Config{
		MinReplicas: o.MinReplicas, MaxReplicas: o.MaxReplicas, CapacityPerReplica: o.CapacityPerReplica, PodStartup: o.PodStartup,
		InitialReplicas: max(o.MinReplicas, forecast.ReplicasFor(firstLoad(trace), o.CapacityPerReplica)),
	}})
	hpa := cluster.HPA("sim", simService)
	refs := []actuator.ServiceRef{{Service: simService, Namespace: "sim"}}
	in := actuator.PlanInput{
		Services:          []actuator.ServiceConfig{{Ref: refs[0], LeadTime: o.LeadTime, CapacityPerReplica: o.CapacityPerReplica}},
		PredictiveEnabled: true,
		StepDown:          actuator.StepDownPolicy{Interval: o.StepDownInterval, MaxFraction: o.StepDownFraction},
	}
	const tick = hpasim.DefaultSyncPeriod
	nextPred, lastPlan, nextPlot := 0, time.Time{}, evalFrom
	ctx := context.Background() // the simulated cluster does no I/O
	end := trace.End()
	for ; !now.After(end); now = now.Add(tick) {
		load := hpasim.LoadAt(trace, now)
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
			for _, d := range actuator.PlanFloors(in).Decisions {
				if !now.Before(evalFrom) && d.Changed() {
					if to := d.Floor; to > d.Workload.MinReplicas {
						res.floorRaises++
					} else if to < d.Workload.MinReplicas {
						res.floorLowers++
					}
				}
				if d.Restore {
					_ = cluster.Restore(ctx, d.Workload) // the simulated cluster knows every workload it was asked about
				} else if d.Floor != d.Workload.MinReplicas {
					_ = cluster.SetFloor(ctx, actuator.FloorChange{Workload: d.Workload, Floor: d.Floor, Reason: d.Reason})
				}
			}
		}
		cluster.Advance(map[string]float64{simService: load})
		if now.Before(evalFrom) {
			continue
		}
		total, ready := hpa.Replicas(), hpa.ReadyReplicas(now)
		meter.Observe(tick, load, ready, total)
		if hpa.MinReplicas() > o.MinReplicas {
			res.floorRaisedMinutes += tick.Minutes()
		}
		if preds != nil && (nextPred == 0 || now.UnixMilli() > preds[nextPred-1].ValidUntil) {
			res.staleMinutes += tick.Minutes()
		}
		if !now.Before(nextPlot) {
			nextPlot = nextPlot.Add(plotStep)
			res.times = append(res.times, now)
			res.ready = append(res.ready, float64(ready)*o.CapacityPerReplica)
			res.floors = append(res.floors, float64(hpa.MinReplicas()))
		}
	}
	res.summary = meter.Summary()
	return res
}

// firstLoad is the trace's first finite load.
func firstLoad(s forecast.Series) float64 {
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			return v
		}
	}
	return 0
}

// percentile is the q quantile of the finite values (nearest rank).
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

// plotRuns writes a PNG of the first o.PlotDays of the evaluated span: load, the ready
// capacity of both runs, and the predictive run's floor (as the capacity it guarantees).
func plotRuns(o simOptions, trace forecast.Series, evalFrom time.Time, reactive, predictive runResult) error {
	until := trace.End()
	if o.PlotDays > 0 {
		until = evalFrom.Add(time.Duration(o.PlotDays) * 24 * time.Hour)
	}
	pts := func(times []time.Time, vals func(i int) float64) plotter.XYs {
		var xy plotter.XYs
		for i, t := range times {
			if t.After(until) {
				break
			}
			xy = append(xy, plotter.XY{X: float64(t.Unix()), Y: vals(i)})
		}
		return xy
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("reactive vs predictive HPA (lead %s, pod start-up %s, q%.2f)", o.LeadTime, o.PodStartup, o.Quantile)
	p.X.Label.Text = "time (UTC)"
	p.Y.Label.Text = "load"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Mon 01-02\n15:04"}
	p.Legend.Top = true
	series := []struct {
		name  string
		xy    plotter.XYs
		color color.RGBA
		width vg.Length
		dash  []vg.Length
	}{
		{"load", pts(predictive.times, func(i int) float64 { return hpasim.LoadAt(trace, predictive.times[i]) }), color.RGBA{0, 0, 0, 255}, 1, nil},
		{"ready capacity, reactive", pts(reactive.times, func(i int) float64 { return reactive.ready[i] }), color.RGBA{220, 50, 47, 255}, 1, nil},
		{"ready capacity, predictive", pts(predictive.times, func(i int) float64 { return predictive.ready[i] }), color.RGBA{38, 139, 210, 255}, 1, nil},
		{"floor (predictive) x capacity", pts(predictive.times, func(i int) float64 { return predictive.floors[i] * o.CapacityPerReplica }), color.RGBA{133, 153, 0, 255}, 1, []vg.Length{vg.Points(4), vg.Points(3)}},
	}
	for _, s := range series {
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return fmt.Errorf("line %s: %w", s.name, err)
		}
		l.Color, l.Width, l.Dashes = s.color, s.width, s.dash
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	if err := p.Save(16*vg.Inch, 6*vg.Inch, o.Plot); err != nil {
		return fmt.Errorf("save %s: %w", o.Plot, err)
	}
	return nil
}
