package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

// backtestRow is one line of the backtest table: a model's scores averaged over the series
// it could run on.
type backtestRow struct {
	Model    string  `json:"model"`
	MASE     float64 `json:"mase"`
	SMAPE    float64 `json:"smape"`
	Coverage float64 `json:"coverage"`
	Series   int     `json:"series"`
	Origins  int     `json:"origins"`
}

// backtestReport is the --json output.
type backtestReport struct {
	Input string `json:"input"`
	// Query is --query, the PromQL the series were read with.
	Query    string        `json:"query,omitempty"`
	Series   int           `json:"series"`
	Horizon  int           `json:"horizon,omitempty"`
	Quantile float64       `json:"quantile"`
	Models   []backtestRow `json:"models"`
	// Auto is automatic selection scored honestly (each origin picked on earlier ones only);
	// Baseline is weekly seasonal naive on the same origins.
	Auto     backtestRow `json:"auto"`
	Baseline backtestRow `json:"baseline"`
	// Chosen counts the model auto selection picks on each series' whole history.
	Chosen map[string]int `json:"chosen"`
	Errors []string       `json:"errors,omitempty"`
}

// runBacktest is `kai-scaler backtest`: rolling-origin accuracy of every model on a CSV file.
func runBacktest(ctx context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	input := fs.String("input", "", "CSV file with series,timestamp,value rows (or timestamp,value, or two columns of other names or no header, or a Grafana panel's CSV export: Time and a column per series)")
	horizon := fs.Int("horizon", 0, fmt.Sprintf("points to forecast from each origin (default: one day of each series' step): at most %d (a year of minutes), and at most %s of a series' step", maxHorizon, maxHorizonSpanText))
	origins := fs.Int("origins", forecast.DefaultOrigins, "daily rolling origins, the latest ending at each series' end")
	quantile := fs.Float64("quantile", scaling.DefaultQuantile, "quantile of the upper bound, between 0 and 1")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	var query string
	var q queryFlags
	services := fs.String("services", "", "instead of --input, score each service of this services file (SERVICES_FILE), its query read as --query reads one (one series each), named by the service")
	addQueryFlags(fs, &query, &q, "instead of --input, score every series this PromQL expression returns (e.g. sum by (service) (...)), each named by its labels, read from --prometheus.url over --query-range at --query-step",
		forecaster.DefaultStep, "step --query is evaluated at: the series' step (5 minutes, the step of the service's forecasts)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kai-scaler backtest --input IN.csv (or --query PROMQL, or --services FILE) [flags]")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), exitCodesHelp)
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if code, extra := extraArgsExit(c.stderr, fs); extra {
		return code
	}
	if countTrue(*input != "", query != "", *services != "") != 1 {
		fmt.Fprintln(c.stderr, "kai-scaler backtest: exactly one of --input, --query and --services is required")
		fs.Usage()
		return exitUsage
	}
	flagErrs := checkFitFlags(fitFlags{backtest: true, horizon: *horizon, quantile: *quantile, origins: *origins}, givenFlags(fs, args))
	src, queryErrs := fitInput(c, fs, args, "backtest", *input, query, *services, q)
	if flagErrs = append(flagErrs, queryErrs...); len(flagErrs) > 0 {
		return flagsExit(c, "backtest", flagErrs)
	}
	tuneBatchGC(c.getenv)
	var names []string
	var evals []forecast.Evaluation
	var errs []error
	_, err := streamFit(ctx, c.stderr, "backtest", src,
		func(s namedSeries) (forecast.Evaluation, error) {
			h := *horizon
			if h == 0 {
				h = max(1, int(24*time.Hour/s.series.Step))
			}
			if err := checkHorizon(s.series, h, false); err != nil {
				return forecast.Evaluation{}, err
			}
			ev, err := forecast.Evaluate(s.series, forecast.Options{Horizon: h, Quantile: *quantile}, *origins)
			if err == nil {
				err = finiteScores(ev)
			}
			if err == nil && !scoredAny(ev) {
				err = notScored(s.series, h)
			}
			return ev, err
		},
		func(name string, _ timeFormat, noLoad bool, ev forecast.Evaluation, err error) error {
			if err == nil && noLoad {
				fmt.Fprintf(c.stderr, "kai-scaler backtest: series %q: every value is ≤ 0; load cannot be negative, so it is scored as 0 (perfect scores say nothing)\n", name)
			}
			names, evals, errs = append(names, name), append(evals, ev), append(errs, err)
			return nil
		})
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler backtest: %v\n", err)
		return exitFatal
	}
	rep := summarize(*input, *horizon, *quantile, names, evals, errs)
	rep.Query = query
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler backtest: %v\n", err)
			return exitFatal
		}
	} else {
		printBacktest(c.stdout, rep)
	}
	if len(rep.Errors) > 0 {
		for _, e := range rep.Errors {
			fmt.Fprintf(c.stderr, "kai-scaler backtest: %s\n", e)
		}
		if len(rep.Errors) == rep.Series {
			fmt.Fprintf(c.stderr, "kai-scaler backtest: none of the %d series could be scored\n", rep.Series)
		} else {
			fmt.Fprintf(c.stderr, "kai-scaler backtest: %d of %d series could not be scored; the scores are of the others\n", len(rep.Errors), rep.Series)
		}
		return exitPartial
	}
	return exitOK
}

// finiteScores refuses an evaluation with a NaN or Inf score: averaged in, it would turn a
// model's row into NaN, and JSON cannot encode one (issue 9).
func finiteScores(ev forecast.Evaluation) error {
	all := append([]forecast.ModelScores{{Model: "auto", Scores: ev.Auto}, ev.Baseline}, ev.Models...)
	for _, m := range all {
		s := m.Scores
		if s.Origins == 0 {
			continue // not scored: left out of the averages
		}
		for _, v := range []float64{s.MASE, s.SMAPE, s.Coverage} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: %s scores MASE %v, sMAPE %v, coverage %v", forecast.ErrNotFinite, m.Model, s.MASE, s.SMAPE, s.Coverage)
			}
		}
	}
	return nil
}

// errNotScored is a series' error when no model could be scored on it: such a series was
// summed in as zeros, which read as perfect forecasts.
var errNotScored = errors.New("nothing to score")

// notScored says why no model could be scored on s with a horizon of h points.
func notScored(s forecast.Series, h int) error {
	if n := len(s.Values); n <= h {
		return fmt.Errorf("%w: %d points of %s are too few for a horizon of %d points and a history before it", errNotScored, n, s.Step, h)
	}
	return fmt.Errorf("%w: no backtest origin has values in the %d points after it, or history enough before it", errNotScored, h)
}

// scoredAny reports whether any model of ev was scored on an origin.
func scoredAny(ev forecast.Evaluation) bool {
	if ev.Auto.Origins > 0 || ev.Baseline.Scores.Origins > 0 {
		return true
	}
	for _, m := range ev.Models {
		if m.Scores.Origins > 0 {
			return true
		}
	}
	return false
}

type rowAcc struct {
	row backtestRow
	n   int
}

func (a *rowAcc) add(s forecast.Scores) {
	if s.Origins == 0 {
		return
	}
	a.row.MASE += s.MASE
	a.row.SMAPE += s.SMAPE
	a.row.Coverage += s.Coverage
	a.row.Origins += s.Origins
	a.n++
}

func (a *rowAcc) done() backtestRow {
	r := a.row
	r.Series = a.n
	if a.n > 0 {
		r.MASE /= float64(a.n)
		r.SMAPE /= float64(a.n)
		r.Coverage /= float64(a.n)
	}
	return r
}

// summarize averages each model's per-series scores over the series it ran on.
func summarize(input string, horizon int, q float64, names []string, evals []forecast.Evaluation, errs []error) backtestReport {
	rep := backtestReport{Input: input, Series: len(names), Horizon: horizon, Quantile: q, Chosen: map[string]int{}}
	accs := map[string]*rowAcc{}
	var order []string
	auto, base := &rowAcc{}, &rowAcc{}
	for i, ev := range evals {
		if errs[i] != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("series %q: %v", names[i], errs[i]))
			continue
		}
		for _, m := range ev.Models {
			a := accs[m.Model]
			if a == nil {
				a = &rowAcc{row: backtestRow{Model: m.Model}}
				accs[m.Model] = a
				order = append(order, m.Model)
			}
			a.add(m.Scores)
		}
		// Auto and baseline only where both were scored, so they compare like with like.
		if ev.Auto.Origins > 0 && ev.Baseline.Scores.Origins > 0 {
			auto.add(ev.Auto)
			base.add(ev.Baseline.Scores)
		}
		if ev.Chosen != "" {
			rep.Chosen[ev.Chosen]++
		}
	}
	for _, name := range order {
		rep.Models = append(rep.Models, accs[name].done())
	}
	rep.Auto = auto.done()
	rep.Auto.Model = "auto"
	rep.Baseline = base.done()
	rep.Baseline.Model = "seasonal-naive (auto's origins)"
	return rep
}

func printBacktest(w io.Writer, rep backtestReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tMASE\tsMAPE %%\tcoverage %%\tseries\torigins\t\n")
	line := func(r backtestRow) {
		if r.Series == 0 { // scored nowhere: zeros would read as perfect scores
			fmt.Fprintf(tw, "%s\t-\t-\t-\t0\t0\t\n", r.Model)
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Model, num(r.MASE, 3), num(r.SMAPE, 2), num(100*r.Coverage, 1), r.Series, r.Origins)
	}
	for _, r := range rep.Models {
		line(r)
	}
	line(rep.Auto)
	line(rep.Baseline)
	tw.Flush()
	fmt.Fprintf(w, "quantile %.2f; auto selects and calibrates its bound at each origin on earlier origins only; chosen on full history:", rep.Quantile)
	for _, m := range forecast.Models() {
		if n := rep.Chosen[m]; n > 0 {
			fmt.Fprintf(w, " %s=%d", m, n)
		}
	}
	fmt.Fprintln(w)
}

func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, v)
}
