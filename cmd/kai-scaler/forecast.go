package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

// progressAfter is how long a run is quiet before it reports progress on stderr.
const progressAfter = 3 * time.Second

// runForecast is `kai-scaler forecast`: fit every series of a CSV file and write its forecast.
func runForecast(ctx context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	input := fs.String("input", "", "CSV file with series,timestamp,value rows (or timestamp,value, or two columns of other names or no header, or a Grafana panel's CSV export: Time and a column per series)")
	output := fs.String("output", "", "CSV file to write series,timestamp,value,upper to (- for stdout)")
	horizon := fs.Int("horizon", 0, fmt.Sprintf("points to forecast per series, on each series' step: at most %d (a year of minutes), and at most %s of a series' step", maxHorizon, maxHorizonSpanText))
	model := fs.String("model", forecast.ModelAuto, "auto (select by backtest) or one of "+strings.Join(forecast.Models(), ", "))
	quantile := fs.Float64("quantile", scaling.DefaultQuantile, "quantile of the upper bound, between 0 and 1")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (hack/pgo.sh makes the build's default.pgo with it)")
	var query string
	var q queryFlags
	services := fs.String("services", "", "instead of --input, forecast each service of this services file (SERVICES_FILE), its query read as --query reads one (one series each), named by the service")
	addQueryFlags(fs, &query, &q, "instead of --input, forecast every series this PromQL expression returns (e.g. sum by (service) (...)), each named by its labels, read from --prometheus.url over --query-range at --query-step",
		forecaster.DefaultStep, "step --query is evaluated at: the series' step (5 minutes, the step of the service's forecasts)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kai-scaler forecast --input IN.csv (or --query PROMQL, or --services FILE) --horizon N --output OUT.csv [flags]")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), exitCodesHelp)
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if code, extra := extraArgsExit(c.stderr, fs); extra {
		return code
	}
	if countTrue(*input != "", query != "", *services != "") != 1 || *output == "" {
		fmt.Fprintln(c.stderr, "kai-scaler forecast: --output and exactly one of --input, --query and --services are required")
		fs.Usage()
		return exitUsage
	}
	errs := checkFitFlags(fitFlags{horizon: *horizon, model: *model, quantile: *quantile}, givenFlags(fs, args))
	src, queryErrs := fitInput(c, fs, args, "forecast", *input, query, *services, q)
	if errs = append(errs, queryErrs...); len(errs) > 0 {
		return flagsExit(c, "forecast", errs)
	}
	opts := forecast.Options{Horizon: *horizon, Quantile: *quantile, Model: *model}
	if *output != "-" && sameFile(*input, *output) {
		fmt.Fprintf(c.stderr, "kai-scaler forecast: --output %s is the --input file: it would be overwritten by its own forecast\n", *output)
		return exitUsage
	}
	if *cpuProfile != "" && (sameFile(*input, *cpuProfile) || sameFile(*cpuProfile, *output) || *cpuProfile == *output) {
		fmt.Fprintf(c.stderr, "kai-scaler forecast: --cpuprofile %s is the --input or --output file: one would overwrite the other\n", *cpuProfile)
		return exitUsage
	}
	out := io.Writer(c.stdout)
	var file *outputFile
	if *output != "-" {
		// Created before the input is read, so an unwritable --output fails before the fits.
		f, err := createOutput(ctx, *output)
		if err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler forecast: --output: %v\n", err)
			return exitFatal
		}
		defer f.discard() // a partial forecast must not pass for a whole one
		file, out = f, f
	}
	var profile *outputFile
	if *cpuProfile != "" {
		f, err := startCPUProfile(ctx, *cpuProfile)
		if err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler forecast: %v\n", err)
			return exitFatal
		}
		// A run that fails keeps the profile that was there, as it keeps the output.
		defer func() {
			pprof.StopCPUProfile()
			f.discard()
		}()
		profile = f
	}
	tuneBatchGC(c.getenv)
	w := bufio.NewWriterSize(out, 1<<20)
	w.WriteString("series,timestamp,value,upper\n")
	failed := 0
	n, err := streamFit(ctx, c.stderr, "forecast", src,
		func(s namedSeries) (forecast.Result, error) {
			if err := checkHorizon(s.series, *horizon, true); err != nil {
				return forecast.Result{}, err
			}
			return forecast.Forecast(s.series, opts)
		},
		func(name string, format timeFormat, noLoad bool, r forecast.Result, err error) error {
			if err != nil {
				failed++
				fmt.Fprintf(c.stderr, "kai-scaler forecast: series %q: %v\n", name, err)
				return nil
			}
			if noLoad {
				fmt.Fprintf(c.stderr, "kai-scaler forecast: series %q: every value is ≤ 0; load cannot be negative, so the forecast is 0\n", name)
			}
			writeForecastCSV(w, name, r, format)
			return nil
		})
	if err == nil {
		err = w.Flush()
	}
	if err == nil && profile != nil {
		// Before the output: a profile that cannot be written fails the run while the
		// output can still be left as it was.
		pprof.StopCPUProfile()
		if err = profile.commit(); err != nil {
			err = fmt.Errorf("cpu profile: %w", err)
		}
	}
	if err == nil && file != nil {
		err = file.commit()
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler forecast: %v\n", err)
		return exitFatal
	}
	if failed > 0 {
		fmt.Fprintf(c.stderr, "kai-scaler forecast: %d of %d series could not be forecast; the others are written\n", failed, n)
		return exitPartial
	}
	return exitOK
}

// noPositiveLoad reports whether v holds a negative value and none above zero (gaps and
// ±Inf, which the forecast package also reads as gaps, aside). The forecast package reads a
// negative sample as zero load (a counter reset, a rate artefact), so such a series, most
// likely a metric of something other than load, is forecast as a flat zero that would
// otherwise pass without a word. An all-zero series is not flagged: zero is what it says.
func noPositiveLoad(v []float64) bool {
	negative := false
	for _, x := range v {
		switch {
		case math.IsInf(x, 0):
		case x > 0:
			return false
		case x < 0:
			negative = true
		}
	}
	return negative
}

// The horizon is counted in points of each series' own step, which is known only once the
// series is read: --horizon is bounded in points up front (a year of one-minute steps), and
// each series' horizon in time. A forecast of load a year ahead is about the most that means
// anything; unbounded, --horizon 100000000 took 2.4 GB and wrote timestamps that wrapped past
// time.Duration's 292 years.
const (
	maxHorizon         = 366 * 24 * 60
	maxHorizonSpan     = 366 * 24 * time.Hour
	maxHorizonSpanText = "366 days"
)

// errHorizonTooFar is a series' error when the horizon reaches beyond maxHorizonSpan of its
// step or past the year 9999.
var errHorizonTooFar = errors.New("horizon too far")

// fitFlags are the flags of forecast and backtest, as parsed.
type fitFlags struct {
	// backtest: the flags are backtest's, whose --horizon 0 is a day of each series' step
	// (forecast has no default) and which alone has --origins.
	backtest bool
	horizon  int
	model    string
	quantile float64
	origins  int
}

// checkFitFlags returns one error for each of f's flags out of range, in the order they are
// defined, in simulate's form (--flag "as given": must be …), all at once.
func checkFitFlags(f fitFlags, given func(name string) string) []error {
	var errs []error
	check := func(ok bool, name, want string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("--%s %q: %s", name, given(name), fmt.Sprintf(want, args...)))
		}
	}
	if f.backtest {
		check(f.horizon >= 0, "horizon", "must be 0 (a day of each series' step) or a positive number of points")
	} else {
		check(f.horizon > 0, "horizon", "must be a positive number of points, on each series' step")
	}
	check(f.horizon <= maxHorizon, "horizon", "must be at most %d points (a year of one-minute steps)", maxHorizon)
	check(f.model == "" || f.model == forecast.ModelAuto || slices.Contains(forecast.Models(), f.model),
		"model", "must be %s or one of %s", forecast.ModelAuto, strings.Join(forecast.Models(), ", "))
	check(f.quantile > 0 && f.quantile < 1, "quantile", "must be between 0 and 1")
	if f.backtest {
		check(f.origins > 0, "origins", "must be a positive number of daily origins")
	}
	return errs
}

// flagsExit prints each of errs on its own line and returns the usage exit status.
func flagsExit(c cli, cmd string, errs []error) int {
	for _, err := range errs {
		fmt.Fprintf(c.stderr, "kai-scaler %s: %v\n", cmd, err)
	}
	return exitUsage
}

// checkHorizon refuses a horizon of h points on s's step reaching more than maxHorizonSpan
// ahead, or, with timestamped (when the forecast's rows carry their times), past the year
// 9999, which no output time format writes.
func checkHorizon(s forecast.Series, h int, timestamped bool) error {
	step := int64(s.Step / time.Second) // the reader's grid is whole seconds, at most a year
	span := int64(h) * step             // at most maxHorizon * maxStep: no overflow
	if span > int64(maxHorizonSpan/time.Second) {
		return fmt.Errorf("%w: %d points of %s reach %.1f days ahead, more than %s", errHorizonTooFar,
			h, s.Step, float64(span)/86400, maxHorizonSpanText)
	}
	if timestamped && s.End().Unix()+span > maxUnix {
		return fmt.Errorf("%w: the forecast would end after the year 9999", errHorizonTooFar)
	}
	return nil
}

// startCPUProfile profiles the process into path, an output as createOutput opens it: a
// regular file is written beside and replaced only when the caller, after
// pprof.StopCPUProfile, commits it (os.Create emptied an existing profile, or a symbolic
// link's target, before a run that could still fail).
func startCPUProfile(ctx context.Context, path string) (*outputFile, error) {
	f, err := createOutput(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.discard()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return f, nil
}

// Batch GC settings (tuneBatchGC): a fit allocates about 1 MB that is garbage as soon as the
// series is written, and only the series in flight are live, so the default GOGC=100 collects
// every few series for little; GOGC=400 under a 150 MiB soft limit spends about a fifth less
// CPU on 10,000 series and stays well inside the 200 MB the speed target allows.
const (
	batchGCPercent  = 400
	batchMemLimitMB = 150
)

// tuneBatchGC applies the batch GC settings unless the environment sets GOGC or GOMEMLIMIT,
// which the runtime has then applied already and which win. It also stops the heap profile's
// sampling, which a batch run never reads: at the default rate it records a stack every
// 512 KiB allocated, about 1.5 % of a 10,000-series run's CPU.
func tuneBatchGC(getenv func(string) string) {
	runtime.MemProfileRate = 0
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(batchGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(batchMemLimitMB << 20)
	}
}

// fitted is one series' result on its way to the writer.
type fitted[R any] struct {
	idx    int
	name   string
	format timeFormat
	noLoad bool // noPositiveLoad: the series is read as zero load
	r      R
	err    error
}

// seriesSource reads series one at a time and hands each to emit, in order, with the time
// format its timestamps were written in; it stops at emit's first error and returns it, or
// its own.
type seriesSource func(ctx context.Context, emit func(namedSeries, timeFormat) error) error

// csvSource reads the series of the CSV file at path (scanSeriesCSV).
func csvSource(path string) seriesSource {
	return func(_ context.Context, emit func(namedSeries, timeFormat) error) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = scanSeriesCSV(bufio.NewReaderSize(f, 1<<20), path, emit)
		return err
	}
}

// streamFit reads the series of src one at a time and fits each on GOMAXPROCS workers as soon
// as it is read (fitting is CPU-bound and independent per series), handing the results to
// done in input order, with whether the series has no positive value (noPositiveLoad, so a
// command can say what it made of it): only the series in flight are in memory. It
// reports progress on stderr when it takes longer than progressAfter and returns how many
// series it read; a read error, done's error or ctx's end stops it.
func streamFit[R any](ctx context.Context, stderr io.Writer, what string, src seriesSource,
	fit func(namedSeries) (R, error), done func(name string, format timeFormat, noLoad bool, r R, err error) error) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		idx    int
		s      namedSeries
		format timeFormat
	}
	jobs := make(chan job, workers)
	results := make(chan fitted[R], workers)
	var read int
	var readErr error
	go func() {
		defer close(jobs)
		readErr = src(ctx, func(s namedSeries, format timeFormat) error {
			select {
			case jobs <- job{idx: read, s: s, format: format}:
				read++
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				res := fitted[R]{idx: j.idx, name: j.s.name, format: j.format, noLoad: noPositiveLoad(j.s.series.Values)}
				switch {
				case ctx.Err() != nil:
				case j.s.err != nil:
					res.err = j.s.err
				default:
					res.r, res.err = fit(j.s)
				}
				results <- res
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var count atomic.Int64
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(progressAfter)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(stderr, "kai-scaler %s: %d series fitted in %s\n", what, count.Load(), time.Since(start).Round(time.Second))
			}
		}
	}()
	pending := map[int]fitted[R]{}
	next := 0
	for res := range results {
		pending[res.idx] = res
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			count.Add(1)
			if ctx.Err() == nil {
				if err := done(r.name, r.format, r.noLoad, r.r, r.err); err != nil {
					cancel(err)
				}
			}
		}
	}
	// results is closed: the reader has returned, so read and readErr are settled.
	if err := context.Cause(ctx); err != nil {
		return read, err
	}
	if readErr != nil {
		return read, readErr
	}
	return read, nil
}
