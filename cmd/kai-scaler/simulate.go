package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// simOptions are the flags of `kai-scaler simulate`.
type simOptions struct {
	Input    string `json:"input"`
	Generate string `json:"generate,omitempty"`
	// Query is --query, the PromQL the trace was read with, from PrometheusURL (without its
	// user info and parameters: the report is shared, the credentials are not).
	Query         string `json:"query,omitempty"`
	PrometheusURL string `json:"prometheusURL,omitempty"`
	// Services and Service are --services and --service: the settings the file gave.
	Services           string        `json:"services,omitempty"`
	Service            string        `json:"service,omitempty"`
	CapacityPerReplica float64       `json:"capacityPerReplica"`
	CapacityDerived    bool          `json:"capacityDerived"`
	MinReplicas        int32         `json:"minReplicas"`
	MaxReplicas        int32         `json:"maxReplicas"`
	LeadTime           time.Duration `json:"-"`
	PodStartup         time.Duration `json:"-"`
	Quantile           float64       `json:"quantile"`
	Model              string        `json:"model"`
	Refit              time.Duration `json:"-"`
	Horizon            time.Duration `json:"-"`
	Warmup             time.Duration `json:"-"`
	History            time.Duration `json:"-"`
	StepDownInterval   time.Duration `json:"-"`
	StepDownFraction   float64       `json:"stepDownMaxFraction"`
	PlanEvery          time.Duration `json:"-"`
	Calibrate          bool          `json:"calibrate"`
	Budget             float64       `json:"budget"`
	AvailabilityTarget float64       `json:"availabilityTarget,omitempty"`
	Plot               string        `json:"plot,omitempty"`
	PlotDays           int           `json:"plotDays"`

	// HPA is the manifest --hpa names; Behavior its spec.behavior (without one, the zero value:
	// autoscaling/v2's defaults), reported resolved.
	HPA      string            `json:"hpa,omitempty"`
	Behavior actuator.Behavior `json:"-"`
}

// MarshalJSON writes durations as Go duration strings ("15m0s").
func (o simOptions) MarshalJSON() ([]byte, error) {
	type plain simOptions
	return json.Marshal(struct {
		plain
		LeadTime         string `json:"leadTime"`
		PodStartup       string `json:"podStartup"`
		Refit            string `json:"refitEvery"`
		Horizon          string `json:"horizon"`
		Warmup           string `json:"warmup"`
		History          string `json:"history"`
		StepDownInterval string `json:"stepDownInterval"`
		PlanEvery        string `json:"planEvery"`

		Behavior behaviorReport `json:"behavior"`
	}{plain: plain(o), Behavior: reportBehavior(o.Behavior), LeadTime: o.LeadTime.String(), PodStartup: o.PodStartup.String(), Refit: o.Refit.String(),
		Horizon: o.Horizon.String(), Warmup: o.Warmup.String(), History: o.History.String(), StepDownInterval: o.StepDownInterval.String(), PlanEvery: o.PlanEvery.String()})
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
	// ReactiveAvailability and PredictiveAvailability are each run's share of evaluated
	// minutes without a shortfall, as --availability-target measures it.
	ReactiveAvailability   float64 `json:"reactiveAvailability"`
	PredictiveAvailability float64 `json:"predictiveAvailability"`
	// ReactiveUnderBeyondBoundShare is the share of the reactive run's under-provisioned
	// replica-minutes that came while the load was above the upper bound of the forecast in
	// force: surprises (news, a burst) that no floor within the bound provisions for. Near 1,
	// floors cannot pay on this load, whatever their settings.
	ReactiveUnderBeyondBoundShare float64 `json:"reactiveUnderBeyondBoundShare"`
	// ReactiveUnderBeyondMaxShare is the share of the reactive run's under-provisioned
	// replica-minutes above what --max ready replicas carry (Summary.BeyondMaxReplicaMinutes,
	// the same in both runs): load no scaler within the HPA's bounds serves, which caps
	// UnderProvisionedReduction at 1 minus it. ProvisionableReduction is the reduction of
	// the rest, what floors can remove.
	ReactiveUnderBeyondMaxShare float64 `json:"reactiveUnderBeyondMaxShare"`
	ProvisionableReduction      float64 `json:"provisionableUnderProvisionedReduction"`
	// Calibration is the floor settings chosen at the refits (with --calibrate).
	Calibration *calibrationReport `json:"calibration,omitempty"`
}

// calibrationReport summarises the settings calibration chose at each refit.
type calibrationReport struct {
	Refits int `json:"refits"`
	// MostFrequent is the commonest chosen setting; Settings counts each.
	MostFrequent string         `json:"mostFrequent"`
	Settings     map[string]int `json:"settings"`
	// Defaults counts refits with too little history to calibrate; Off those where floors did
	// not pay for themselves.
	Defaults int `json:"defaults"`
	Off      int `json:"off"`
	// ReplayReduction and ReplayIncrease are the mean scores of the chosen settings on their
	// calibration windows (the past), to compare with the run's own (the future).
	ReplayReduction float64 `json:"replayReduction"`
	ReplayIncrease  float64 `json:"replayIncrease"`
	LastReason      string  `json:"lastReason"`
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
	// SetAsideMinutes is the evaluated time the prediction was set aside as the load had
	// collapsed under it (an outage, traffic moved elsewhere).
	SetAsideMinutes float64 `json:"setAsideMinutes"`
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
	fs.StringVar(&o.Input, "input", "", "trace CSV: timestamp,value (or two columns of other names or no header, or series,timestamp,value[,upper], or a Grafana panel's CSV export: the first series)")
	fs.StringVar(&o.Generate, "generate", "", `instead of --input, replay a generated trace: "ramps" (office hours with sharp morning ramps), or a stand-in for load the real traces lack: `+
		`"smooth" or "noisy" (a per-minute daily curve with 3 % or 25 % noise), "weekly", "hourly" (three months sampled hourly), "growth" (3 % a day), "shift" (a fall to 60 % on day 21), "events" (one-off events at 2–4×), "batch" (a nightly batch at 5× a steady load), "bursts" (per-minute request counts with bursts), "weblog" (a web server's log counted per minute), "outages" (the same with outages upstream), "heavytail" (per-minute log-normal noise), "localtime" (users on New York time across a daylight-saving change), "weeklypeak" (Mondays 09:00–10:00 at 2×), "jobs" (the first ten minutes of every hour at 3×), "sparse" (counts near zero)`)
	var q queryFlags
	addQueryFlags(fs, &o.Query, &q, "instead of --input, replay the load this PromQL expression returns (one series, e.g. your service's query in the services file), read from --prometheus.url over --query-range at --query-step",
		time.Minute, "step --query is evaluated at: the trace's step (a minute: the replay sees the load the HPA reacts to, not 5-minute means)")
	fs.Float64Var(&o.CapacityPerReplica, "capacity-per-replica", 0, "load one replica carries at its HPA target (0: the trace's p95 fills 80% of --max; its largest load, where the p95 is 0)")
	min := fs.Int("min", 1, "HPA minReplicas (the base floor); given with --hpa, it overrides the manifest's")
	max := fs.Int("max", 20, "HPA maxReplicas; given with --hpa, it overrides the manifest's")
	fs.StringVar(&o.HPA, "hpa", "", "an autoscaling/v2 HorizontalPodAutoscaler manifest, YAML or JSON (kubectl get hpa NAME -o yaml): the replay uses its "+
		"spec.minReplicas, spec.maxReplicas (unless --min or --max is given) and spec.behavior (none: the controller's older rules, scale-ups to at most 2× or 4 replicas a sync); without it, --min, --max and autoscaling/v2's default behavior")
	fs.DurationVar(&o.LeadTime, "lead-time", scaling.DefaultLeadTimeSeconds*time.Second, "how long before a forecast peak the floor rises (a service's leadTime)")
	fs.DurationVar(&o.PodStartup, "pod-startup", scaling.DefaultPodStartup, "time from a new pod to a ready one, which calibration also replays with (a service's podStartup)")
	fs.Float64Var(&o.Quantile, "quantile", scaling.DefaultQuantile, "forecast quantile the floor provisions for (a service's quantile)")
	fs.StringVar(&o.Model, "model", forecast.ModelAuto, "forecast model: auto or one of "+strings.Join(forecast.Models(), ", "))
	fs.DurationVar(&o.Refit, "refit", time.Hour, "refit the forecast every this much trace time (the service's FORECAST_SCHEDULE defaults to @hourly)")
	fs.DurationVar(&o.Horizon, "horizon", forecaster.DefaultHorizon, "how far ahead each forecast is fitted for, as the service's are: the model is chosen and the bound set over it (the planner reads the first hours)")
	fs.DurationVar(&o.Warmup, "warmup", 14*24*time.Hour, "history before the first forecast; both runs are scored after it only")
	fs.DurationVar(&o.History, "history", forecaster.DefaultHistoryWindow, "history each fit sees at most, as the service's (0: all the past)")
	fs.DurationVar(&o.StepDownInterval, "step-down-interval", actuator.DefaultStepDown.Interval, "least time between two lowering steps of the floor")
	fs.Float64Var(&o.StepDownFraction, "step-down-fraction", actuator.DefaultStepDown.MaxFraction, "largest share of the floor removed in one step")
	fs.DurationVar(&o.PlanEvery, "plan-every", actuator.DefaultInterval, "how often the actuator plans floors")
	fs.BoolVar(&o.Calibrate, "calibrate", true, "at each refit, choose the floor settings by replaying the trace's past within --budget (false: the planner's defaults)")
	fs.Float64Var(&o.Budget, "budget", hpasim.DefaultBudget, "extra replica-hours over the reactive HPA the floors may cost (0.1 is 10%), as calibration measures it")
	fs.Float64Var(&o.AvailabilityTarget, "availability-target", 0, "instead of --budget, the share of minutes without a shortfall calibration aims at, at the least cost, as a service's availabilityTarget (0: none, the budget)")
	fs.StringVar(&o.Services, "services", "", "a services file (SERVICES_FILE): with --service, replay that service's query (unless --input, --generate or --query is given), capacity per replica, lead time, pod start-up, quantile and budget or availability target, each unless its flag is given")
	fs.StringVar(&o.Service, "service", "", "the name of the service of --services to replay")
	fs.StringVar(&o.Plot, "plot", "", "write a PNG of load, ready capacity of both runs and the floor")
	fs.IntVar(&o.PlotDays, "plot-days", 7, "days plotted, from the start of the evaluated span (0: all)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if code, extra := extraArgsExit(c.stderr, fs); extra {
		return code
	}
	given := givenFlags(fs, args)
	set := func(name string) bool { return flagSet(fs, name) }
	if (o.Services == "") != (o.Service == "") {
		return simFlagsExit(c, errors.New("--services and --service go together: the file and the service in it to replay"))
	}
	var fromServices []string // the flags the services file stood for, for the log
	if o.Services != "" {
		svc, err := loadService(o.Services, o.Service)
		if err != nil {
			return simFlagsExit(c, err)
		}
		fromServices = applyService(&o, svc, set, o.Input != "" || o.Generate != "" || o.Query != "")
	}
	if sources := countTrue(o.Input != "", o.Generate != "", o.Query != ""); sources != 1 {
		fmt.Fprintln(c.stderr, "kai-scaler simulate: exactly one of --input, --generate and --query is required")
		fs.Usage()
		return 2
	}
	errs := checkSimFlags(o, *min, *max, given)
	src, queryErrs := q.resolve(o.Query != "", set, given, c.getenv, time.Now())
	errs = append(errs, queryErrs...)
	if o.AvailabilityTarget > 0 {
		if flagSet(fs, "budget") {
			errs = append(errs, errors.New("set --budget or --availability-target, not both: a target replaces the budget"))
		}
		o.Budget = 0 // not in force: the report says so
	}
	minReplicas, maxReplicas := *min, *max
	var hpa hpaManifest
	if o.HPA != "" {
		var err error
		if hpa, err = loadHPAManifest(o.HPA, given("hpa")); err == nil {
			minReplicas, maxReplicas, err = hpa.replicaBounds(*min, *max, flagSet(fs, "min"), flagSet(fs, "max"), given)
			o.Behavior = hpa.Behavior
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return simFlagsExit(c, errs...)
	}
	o.MinReplicas, o.MaxReplicas = int32(minReplicas), int32(maxReplicas) // checked within int32
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("cmd", "simulate")
	if o.Services != "" {
		log.Info("settings from the services file", "services", o.Services, "service", o.Service, "flags", strings.Join(fromServices, " "))
	}
	if o.HPA != "" {
		logHPAManifest(log, fs, o, hpa)
	}
	var plotFile *outputFile
	if o.Plot != "" {
		// Created now, so a plot that cannot be written fails before the run, not after it:
		// checkSimFlags saw its folder, but only creating a file there proves it writable
		// (permissions, ACLs, a read-only mount, a link to elsewhere).
		f, err := createOutput(ctx, o.Plot)
		if err != nil {
			return simFlagsExit(c, fmt.Errorf("--plot %q: cannot be written: %w", given("plot"), err))
		}
		defer f.discard()
		plotFile = f
	}

	var trace forecast.Series
	switch {
	case o.Generate != "":
		trace, _ = hpasim.Generated(o.Generate) // the name was checked above
	case o.Query != "":
		o.PrometheusURL = promquery.RedactURL(src.url)
		var labels map[string]string
		var err error
		if trace, labels, err = src.read(ctx, log, o.Query); err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler simulate: %v\n", err)
			return 1
		}
		log.Info("trace read from Prometheus", "query", o.Query, "series", labelText(labels),
			"start", trace.Start.Format(time.RFC3339), "step", trace.Step, "points", len(trace.Values))
	default:
		var err error
		var name string
		var others int
		if trace, name, others, err = readTrace(o.Input); err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler simulate: %v\n", err)
			return 1
		}
		if others > 0 {
			log.Info("the trace file holds several series: simulating the first", "series", name, "others", others)
		}
	}
	if !flagSet(fs, "refit") && o.Refit < trace.Step {
		// The default refits hourly; a trace at a coarser step gets a new point only every step.
		log.Info("refitting once a trace step, not at the default --refit", "refit", trace.Step, "default", o.Refit)
		o.Refit = trace.Step
	}
	warmupSet := flagSet(fs, "warmup")
	var traceErrs []error
	if err := checkRefitStep(o.Refit, trace.Step, given("refit")); err != nil {
		traceErrs = append(traceErrs, err)
	}
	if warmupSet {
		if err := checkWarmupSpan(o.Warmup, traceSpan(trace), given("warmup")); err != nil {
			traceErrs = append(traceErrs, err)
		}
	}
	if len(traceErrs) > 0 {
		return simFlagsExit(c, traceErrs...)
	}
	if !warmupSet {
		w, shortened := fitWarmup(traceSpan(trace), o.Warmup)
		if w >= traceSpan(trace) {
			// No flag given is at fault, so it is the input's error (exit 1); the replay's own
			// named a warm-up nobody gave.
			fmt.Fprintf(c.stderr, "kai-scaler simulate: the trace spans %s, no longer than %s, the least warm-up simulate picks: give a --warmup shorter than the trace, or a longer trace\n",
				traceSpan(trace), w)
			return 1
		}
		if shortened {
			log.Info("trace too short for the default warm-up: shortened so a week is scored",
				"span", traceSpan(trace), "default_warmup", o.Warmup, "warmup", w)
			o.Warmup = w
		}
	}
	hpaFile, b := o.HPA, reportBehavior(o.Behavior)
	if hpaFile == "" {
		hpaFile = "none: --min, --max and autoscaling/v2's default behavior"
	}
	log.Info("replaying the HPA", "hpa", hpaFile, "min_replicas", o.MinReplicas, "max_replicas", o.MaxReplicas,
		"scale_up", b.ScaleUp, "scale_down", b.ScaleDown)
	rep, cmp, err := simulate(ctx, log, o, trace)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler simulate: %v\n", err)
		return 1
	}
	var plotErr error
	if plotFile != nil {
		if plotErr = writePlot(plotFile, rep.Parameters, trace, cmp); plotErr == nil {
			log.Info("plot written", "file", o.Plot)
		}
	}
	log.Info("scale events", "reactive_ups", rep.Reactive.ScaleUps, "reactive_downs", rep.Reactive.ScaleDowns,
		"predictive_ups", rep.Predictive.ScaleUps, "predictive_downs", rep.Predictive.ScaleDowns,
		"reactive_pods_started", rep.Reactive.PodsStarted, "predictive_pods_started", rep.Predictive.PodsStarted)
	availability := []any{"reactive", fmt.Sprintf("%.4f", rep.ReactiveAvailability), "predictive", fmt.Sprintf("%.4f", rep.PredictiveAvailability)}
	if o.AvailabilityTarget > 0 {
		availability = append(availability, "target", o.AvailabilityTarget)
	}
	log.Info("availability: the share of evaluated minutes without a shortfall", availability...)
	log.Info("reactive under-provisioning beyond the forecast's upper bound (surprises no floor within it provisions for)",
		"share", fmt.Sprintf("%.0f%%", 100*rep.ReactiveUnderBeyondBoundShare))
	log.Info("reactive under-provisioning beyond max replicas (load no scaler within the HPA's bounds serves; floors remove at most the rest)",
		"share", fmt.Sprintf("%.0f%%", 100*rep.ReactiveUnderBeyondMaxShare),
		"reduction_within_max", fmt.Sprintf("%.1f%%", 100*rep.ProvisionableReduction))
	if cal := rep.Calibration; cal != nil {
		log.Info("calibrated floor settings", "most_frequent", cal.MostFrequent, "refits", cal.Refits,
			"defaults", cal.Defaults, "off", cal.Off, "last_reason", cal.LastReason)
	}
	return printSimReport(c, rep, plotErr)
}

// logHPAManifest logs what of the --hpa manifest the replay does not take: the bounds --min
// and --max override, and its metrics, for which --capacity-per-replica stands.
func logHPAManifest(log *slog.Logger, fs *flag.FlagSet, o simOptions, hpa hpaManifest) {
	if flagSet(fs, "min") {
		log.Info("--min overrides the manifest's spec.minReplicas", "hpa", o.HPA, "min", o.MinReplicas, "manifest_min_replicas", hpa.MinReplicas)
	}
	if flagSet(fs, "max") {
		log.Info("--max overrides the manifest's spec.maxReplicas", "hpa", o.HPA, "max", o.MaxReplicas, "manifest_max_replicas", hpa.MaxReplicas)
	}
	if hpa.Metrics > 0 {
		log.Info("the manifest's metrics are not replayed: one replica carries --capacity-per-replica at the HPA's target",
			"hpa", o.HPA, "metrics", hpa.Metrics)
	}
}

// simFlagsExit reports errs, one a line, and returns the exit status of bad flags.
func simFlagsExit(c cli, errs ...error) int {
	return flagsExit(c, "simulate", errs)
}

// printSimReport prints the report, even when the plot failed (plotErr): the run it scores
// took minutes and the plot is only a picture of it. Either failure is exit status 1.
func printSimReport(c cli, rep simReport, plotErr error) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	code := 0
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler simulate: write report: %v\n", err)
		code = 1
	}
	if plotErr != nil {
		fmt.Fprintf(c.stderr, "kai-scaler simulate: plot: %v\n", plotErr)
		code = 1
	}
	return code
}

// writePlot writes the PNG plotRuns draws into f and puts it in place.
func writePlot(f *outputFile, o simOptions, trace forecast.Series, cmp hpasim.Comparison) error {
	if err := plotRuns(f, o, trace, cmp); err != nil {
		return err
	}
	return f.commit()
}

// minScored is the least span simulate scores when it picks the warm-up itself: a week, so
// every weekday is replayed once.
const minScored = 7 * 24 * time.Hour

// minWarmup is the least warm-up simulate shortens to: two days, the least history the
// daily models fit on.
const minWarmup = 2 * 24 * time.Hour

// fitWarmup shortens the default warm-up on a trace too short to score a week after it (a
// two-week trace scored 35 minutes, nothing a budget or a reduction can be read from): the
// warm-up becomes the span less a week, at least minWarmup. It reports whether it shortened.
func fitWarmup(span, warmup time.Duration) (time.Duration, bool) {
	if span-warmup >= minScored {
		return warmup, false
	}
	w := max(minWarmup, span-minScored)
	return w, w < warmup
}

// traceSpan is the time from the trace's first point to its last.
func traceSpan(s forecast.Series) time.Duration {
	return time.Duration(max(0, len(s.Values)-1)) * s.Step
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Bounds of simulate's flags beyond their sign, each where a larger (or smaller) value runs
// for hours or models nothing the service does.
const (
	// minRefit: the replay fits one forecast per --refit of trace time, so --refit 1ns asked
	// for billions of fits and ran out of memory. A minute is the finest step a trace has.
	minRefit = time.Minute
	// maxLeadTime is the services file's bound (a prediction's horizon: a longer lead reads
	// past it); the replay fits each forecast out to the lead, and --lead-time 100000h ran for
	// minutes per fit.
	maxLeadTime = scaling.MaxLeadTime
	// maxPodStartup: an hour is past any pod's start-up; more is a typo for seconds.
	maxPodStartup = time.Hour
	// maxSimReplicas: Kubernetes supports 150,000 pods in a cluster; the replay keeps each.
	maxSimReplicas = 150_000
	// minHistory: a fit reads the daily season, so it needs a day of history at least.
	minHistory = 24 * time.Hour
	// minPlanEvery: the replay steps at the HPA's sync, so a shorter plan interval plans at
	// every sync, as this one does, while the report would show the shorter one.
	minPlanEvery = hpasim.DefaultSyncPeriod
	// maxSimHorizon is forecast's and backtest's bound on a horizon: a forecast of load more
	// than a year ahead means nothing, and each of the replay's fits runs out to it.
	maxSimHorizon = maxHorizonSpan
	// maxPlotDays: the plot is 16 inches wide, where a year of 5-minute samples is already a
	// blur (0 plots all of it); and days past 106,751 wrapped the plotted span's end around.
	maxPlotDays = 366
)

// checkSimFlags returns one error for each of o's flags (and --min and --max as parsed, before
// they are narrowed to int32) out of range, in the order they are defined; given is each
// flag's text as written, which the errors quote. All are reported at once, one a line, so a
// run corrected once is not refused again for the next flag. A --plot is looked at on disk
// too (its folder), since a missing one is as much a typo in the flag as a bad number.
func checkSimFlags(o simOptions, minReplicas, maxReplicas int, given func(name string) string) []error {
	var errs []error
	check := func(ok bool, name, want string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("--%s %q: %s", name, given(name), fmt.Sprintf(want, args...)))
		}
	}
	check(o.Generate == "" || slices.Contains(hpasim.GeneratedNames(), o.Generate), "generate", "must be one of %s", strings.Join(hpasim.GeneratedNames(), ", "))
	// NaN passes every comparison's negation and ±Inf every lower bound; either ran the whole
	// simulation and then could not be written as JSON.
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	check(finite(o.CapacityPerReplica) && o.CapacityPerReplica >= 0, "capacity-per-replica", "must be a finite number, 0 or more (0: derived from the trace)")
	// An int32 conversion wrapped --max 4294967297 to 1, and the replay keeps each pod: at
	// 2147483647, with the capacity derived, it asked for 17 GB of them.
	inReplicas := func(n int) bool { return n >= 1 && n <= maxSimReplicas }
	check(inReplicas(minReplicas), "min", "must be an integer from 1 to %d", maxSimReplicas)
	check(inReplicas(maxReplicas), "max", "must be an integer from 1 to %d (the pods of Kubernetes' largest supported cluster)", maxSimReplicas)
	// With --hpa, hpaManifest.replicaBounds compares them, the manifest's where they are not given.
	if o.HPA == "" && inReplicas(minReplicas) && inReplicas(maxReplicas) && maxReplicas < minReplicas {
		errs = append(errs, fmt.Errorf("want 1 <= --min <= --max, got %d and %d", minReplicas, maxReplicas))
	}
	check(o.LeadTime >= 0 && o.LeadTime <= maxLeadTime, "lead-time", "must be from 0s to %s, the span of the service's forecasts", maxLeadTime)
	check(o.PodStartup >= 0 && o.PodStartup <= maxPodStartup, "pod-startup", "must be from 0s to %s", maxPodStartup)
	check(o.Quantile > 0 && o.Quantile < 1, "quantile", "must be between 0 and 1")
	check(o.Model == forecast.ModelAuto || slices.Contains(forecast.Models(), o.Model), "model", "must be %s or one of %s", forecast.ModelAuto, strings.Join(forecast.Models(), ", "))
	check(o.Refit >= minRefit, "refit", "must be at least %s (one forecast is fitted every --refit of trace time)", minRefit)
	check(o.Horizon >= 0 && o.Horizon <= maxSimHorizon, "horizon", "must be from 0s to %s (%s): a forecast of load further ahead means nothing, and every fit runs out to it", maxSimHorizon, maxHorizonSpanText)
	check(o.Warmup > 0, "warmup", "must be positive")
	check(o.History == 0 || o.History >= minHistory, "history", "must be 0 (all the past) or at least %s: a fit on less sees no daily season, and --history 1ns failed every fit", minHistory)
	// actuator.StepDownPolicy reads 0 as its default: the run would lower every 5m while the
	// report said 0s.
	check(o.StepDownInterval > 0, "step-down-interval", "must be positive (the actuator reads 0 as its default, %s)", actuator.DefaultStepDown.Interval)
	check(o.StepDownFraction > 0 && o.StepDownFraction <= 1, "step-down-fraction", "must be more than 0 and at most 1 (a share of the floor)")
	check(o.PlanEvery >= minPlanEvery, "plan-every", "must be at least %s: the simulated HPA syncs every %s, and the replay plans at most once a sync", minPlanEvery, hpasim.DefaultSyncPeriod)
	check(finite(o.Budget) && o.Budget > 0, "budget", "must be a finite number greater than 0")
	check(o.AvailabilityTarget >= 0 && o.AvailabilityTarget < 1, "availability-target", "must be 0 (none: the budget) or between 0 and 1, a share of minutes")
	if o.Plot != "" {
		if err := checkPlotPath(o.Plot); err != nil {
			errs = append(errs, fmt.Errorf("--plot %q: %w", given("plot"), err))
		}
	}
	check(o.PlotDays >= 0 && o.PlotDays <= maxPlotDays, "plot-days", "must be from 0 (all) to %d: a plot 16 inches wide shows nothing more of a longer span", maxPlotDays)
	return errs
}

// checkPlotPath refuses a plot path whose extension names no format the plot library draws,
// or whose folder does not exist: both were found only after the run, which can take minutes.
// Whether the folder is writable is left to creating the file, the one test that is sure.
func checkPlotPath(path string) error {
	if _, err := plotFormat(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("must be in an existing folder, and %s is not one", dir)
	}
	return nil
}

// checkWarmupSpan refuses a --warmup (given as written) at least as long as the trace's span,
// known only once the trace is read: nothing would be left to score, and the replay failed
// with exit status 1 after the flags had been accepted.
func checkWarmupSpan(warmup, span time.Duration, given string) error {
	if warmup < span {
		return nil
	}
	return fmt.Errorf("--warmup %q: must be shorter than the trace, which spans %s (%.1f days): give a shorter --warmup, "+
		"or leave it out and simulate picks one that leaves a week to score where the trace allows", given, span, span.Hours()/24)
}

// checkRefitStep refuses a --refit (given as written) shorter than the trace's step, known
// only once the trace is read: fits between two samples see the same history, so each is
// the last one again, fitted for nothing.
func checkRefitStep(refit, step time.Duration, given string) error {
	if refit < step {
		return fmt.Errorf("--refit %q: must be at least the trace's step, %s", given, step)
	}
	return nil
}

// givenFlags returns the text each flag of fs was set from in args, so that an error quotes
// a value as it was written ("90s", "4294967297"), not as Go prints it back ("1m30s", or
// after a narrowing, 1); an unset flag's text is its default. fs has parsed args already.
// A second flag set reads args for it, since a wrapped flag.Value loses the types -h prints.
func givenFlags(fs *flag.FlagSet, args []string) func(name string) string {
	text := map[string]string{}
	again := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	again.SetOutput(io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		again.Var(&textValue{name: f.Name, text: text, isBool: ok && b.IsBoolFlag()}, f.Name, "")
	})
	_ = again.Parse(args) // fs parsed the same args without an error
	return func(name string) string {
		if s, ok := text[name]; ok {
			return s
		}
		if f := fs.Lookup(name); f != nil {
			return f.DefValue
		}
		return ""
	}
}

// textValue is a flag.Value that keeps the text it is set from in text[name].
type textValue struct {
	name   string
	text   map[string]string
	isBool bool
}

func (v *textValue) String() string {
	if v == nil || v.text == nil {
		return ""
	}
	return v.text[v.name]
}
func (v *textValue) Set(s string) error { v.text[v.name] = s; return nil }
func (v *textValue) IsBoolFlag() bool   { return v.isBool }

// readTrace reads a trace CSV; the forecast output format's upper column is dropped and the
// first series taken. It returns that series' name and how many other series the file holds.
func readTrace(path string) (trace forecast.Series, name string, others int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return forecast.Series{}, "", 0, fmt.Errorf("read trace: %w", err)
	}
	header, _, _ := bytes.Cut(data, []byte("\n"))
	if h := strings.ToLower(strings.TrimSpace(string(header))); strings.ReplaceAll(h, " ", "") == "series,timestamp,value,upper" {
		var b bytes.Buffer
		for line := range strings.Lines(string(data)) {
			// The upper bound is the last field; a series name may hold commas (quoted).
			line = strings.TrimRight(line, "\r\n")
			if i := strings.LastIndexByte(line, ','); i >= 0 {
				line = line[:i]
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
		data = b.Bytes()
	}
	series, _, err := readSeriesCSV(bytes.NewReader(data), path)
	if err != nil {
		return forecast.Series{}, "", 0, err
	}
	return series[0].series, series[0].name, len(series) - 1, nil
}

// simulate runs hpasim.Compare with the flags' options and turns the comparison into the
// report; the comparison is returned too, for the plot.
func simulate(ctx context.Context, log *slog.Logger, o simOptions, trace forecast.Series) (simReport, hpasim.Comparison, error) {
	cmp, err := hpasim.Compare(ctx, log, o.replayOptions(), trace)
	if err != nil {
		return simReport{}, hpasim.Comparison{}, err
	}
	o.CapacityPerReplica, o.CapacityDerived = cmp.CapacityPerReplica, cmp.CapacityDerived
	return newSimReport(o, cmp), cmp, nil
}

// replayOptions are the flags that matter to the simulation.
func (o simOptions) replayOptions() hpasim.ReplayOptions {
	return hpasim.ReplayOptions{
		CapacityPerReplica: o.CapacityPerReplica, MinReplicas: o.MinReplicas, MaxReplicas: o.MaxReplicas,
		Behavior: o.Behavior, LeadTime: o.LeadTime, PodStartup: o.PodStartup, Quantile: o.Quantile, Model: o.Model,
		Refit: o.Refit, Horizon: o.Horizon, Warmup: o.Warmup, History: o.History,
		StepDown:  actuator.StepDownPolicy{Interval: o.StepDownInterval, MaxFraction: o.StepDownFraction},
		PlanEvery: o.PlanEvery, Calibrate: o.Calibrate, Budget: o.Budget, AvailabilityTarget: o.AvailabilityTarget,
	}
}

// newSimReport lays the comparison out in the report's JSON shape, which other tools read.
func newSimReport(o simOptions, cmp hpasim.Comparison) simReport {
	tr, p := cmp.Trace, cmp.Predictive
	var cal *calibrationReport
	if o.Calibrate {
		c := cmp.Calibration
		cal = &calibrationReport{Refits: c.Calibrations, MostFrequent: c.MostFrequent, Settings: c.Settings, Defaults: c.Defaults,
			Off: c.Off, ReplayReduction: c.ReplayReduction, ReplayIncrease: c.ReplayIncrease, LastReason: c.LastReason}
	}
	return simReport{
		Calibration: cal,
		Parameters:  o,
		Trace: traceInfo{Start: tr.Start, End: tr.End, Step: tr.Step.String(), Points: tr.Points,
			EvaluatedFrom: tr.EvaluatedFrom, P95Load: tr.P95Load},
		Reactive: cmp.Reactive.Summary,
		Predictive: predictiveSummary{Summary: p.Summary, Forecasts: cmp.Fits.Fits, ForecastFailures: cmp.Fits.Failures,
			FloorRaisedMinutes: p.FloorRaisedMinutes, FloorBindingMinutes: p.FloorBindingMinutes,
			FloorRaises: p.FloorRaises, FloorLowers: p.FloorLowers, StaleMinutes: p.StaleMinutes, SetAsideMinutes: p.SetAsideMinutes, Models: cmp.Fits.Models,
			BacktestCoverage: cmp.Fits.BacktestCoverage},
		UnderProvisionedReduction:     cmp.UnderProvisionedReduction,
		ReplicaHoursIncrease:          cmp.ReplicaHoursIncrease,
		ReactiveAvailability:          cmp.Reactive.Summary.Availability(),
		PredictiveAvailability:        p.Summary.Availability(),
		ReactiveUnderBeyondBoundShare: beyondBoundShare(cmp.Reactive),
		ReactiveUnderBeyondMaxShare:   cmp.Reactive.Summary.BeyondMaxShare(),
		ProvisionableReduction:        cmp.ProvisionableReduction,
	}
}

// beyondBoundShare is r's under-provisioning above the forecast's upper bound as a share of
// all of it (0 when it was never short).
func beyondBoundShare(r hpasim.Run) float64 {
	if u := r.Summary.UnderProvisionedReplicaMinutes; u > 0 {
		return r.BeyondBoundUnderProvisionedReplicaMinutes / u
	}
	return 0
}

// plotRuns writes a PNG of the first o.PlotDays of the evaluated span: load, the ready
// capacity of both runs, and the predictive run's floor (as the capacity it guarantees).
func plotRuns(w io.Writer, o simOptions, trace forecast.Series, cmp hpasim.Comparison) error {
	until := cmp.Trace.End
	if o.PlotDays > 0 {
		until = cmp.Trace.EvaluatedFrom.Add(time.Duration(o.PlotDays) * 24 * time.Hour)
	}
	pts := func(samples []hpasim.Sample, val func(hpasim.Sample) float64) plotter.XYs {
		var xy plotter.XYs
		for _, s := range samples {
			if s.Time.After(until) {
				break
			}
			xy = append(xy, plotter.XY{X: float64(s.Time.Unix()), Y: val(s)})
		}
		return xy
	}
	reactive, predictive := cmp.Reactive.Samples, cmp.Predictive.Samples
	capacity := cmp.CapacityPerReplica
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
		{"load", pts(predictive, func(s hpasim.Sample) float64 { return hpasim.LoadAt(trace, s.Time) }), color.RGBA{0, 0, 0, 255}, 1, nil},
		{"ready capacity, reactive", pts(reactive, func(s hpasim.Sample) float64 { return s.ReadyCapacity }), color.RGBA{220, 50, 47, 255}, 1, nil},
		{"ready capacity, predictive", pts(predictive, func(s hpasim.Sample) float64 { return s.ReadyCapacity }), color.RGBA{38, 139, 210, 255}, 1, nil},
		{"floor (predictive) x capacity", pts(predictive, func(s hpasim.Sample) float64 { return float64(s.Floor) * capacity }), color.RGBA{133, 153, 0, 255}, 1, []vg.Length{vg.Points(4), vg.Points(3)}},
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
	format, err := plotFormat(o.Plot)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Plot, err)
	}
	// p.WriterTo, with the canvas at hand before drawing to make room for the legend.
	canvas, err := draw.NewFormattedCanvas(plotWidth, plotHeight, format)
	if err != nil {
		return fmt.Errorf("draw %s: %w", o.Plot, err)
	}
	dc := draw.New(canvas)
	leaveRoomForLegend(p, dc)
	p.Draw(dc)
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("write %s: %w", o.Plot, err)
	}
	return nil
}

// The plot's size, shared with leaveRoomForLegend's test.
const (
	plotWidth  = 16 * vg.Inch
	plotHeight = 6 * vg.Inch
)

// leaveRoomForLegend raises the y axis's top so that the lines stay below the legend, which
// gonum draws inside the data area, at its top: the load's peaks reach that top, and on a
// trace whose plotted span ends at a peak the legend hid them.
func leaveRoomForLegend(p *plot.Plot, c draw.Canvas) {
	area := p.DataCanvas(c).Size().Y
	legend := p.Legend.Rectangle(c).Size().Y + p.Legend.TextStyle.Font.Size/2
	span := p.Y.Max - p.Y.Min
	if span <= 0 || legend >= area/2 {
		return // gonum draws a flat line mid-height; a legend this tall would squash the lines
	}
	p.Y.Max = p.Y.Min + span*float64(area/(area-legend))
}

// plotFormat is the image format of a plot file, named by its extension as plot.Save names
// it (.png, .svg, .pdf, ...); an error when the plot library draws no such format.
func plotFormat(path string) (string, error) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if _, err := draw.NewFormattedCanvas(vg.Points(1), vg.Points(1), format); err != nil {
		return "", fmt.Errorf("must be a file name ending in .png, .svg, .pdf, .jpg, .tif or .eps: %w", err)
	}
	return format, nil
}
