package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// --query reads simulate's trace, or forecast's and backtest's series, from Prometheus as the
// forecaster reads a service's history: a platform engineer replays or scores the service
// they mean to switch floors on without exporting a CSV first (a Grafana panel's export
// holds the points Grafana drew, about the panel's width in pixels: four weeks at a 20- to
// 40-minute step).

// Bounds of --query-step and --query-range.
const (
	// minQueryStep is Prometheus' own resolution: it evaluates on milliseconds, and a step
	// under a second is finer than any scrape interval.
	minQueryStep = time.Second
	// maxQueryStep is the coarsest step that still sees a daily season in the forecaster.
	maxQueryStep = time.Hour
	// maxQueryRange is a year, as a CSV's span (maxStep): the service's fits read four weeks.
	maxQueryRange = 366 * 24 * time.Hour
)

// defaultQueryRange is the history the forecaster reads (so simulate scores two weeks after
// its default two-week warm-up).
const defaultQueryRange = forecaster.DefaultHistoryWindow

// rangeQuerier is what --query needs of Prometheus: *promquery.Client.
type rangeQuerier interface {
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]promquery.Series, error)
	QueryRangeOne(ctx context.Context, query string, start, end time.Time, step time.Duration) (promquery.Series, error)
}

// queryTrace evaluates query on the grid of step ending at end (truncated to the step) and
// spanning span, as one series; a point without a sample is a gap (NaN), as in the
// forecaster. The gaps before the first sample and after the last are cut: a series younger
// than span, or a Prometheus that keeps less (15 days by default), starts at its first sample,
// as a CSV export of it would. It returns the series' labels too.
func queryTrace(ctx context.Context, q rangeQuerier, query string, end time.Time, span, step time.Duration) (forecast.Series, map[string]string, error) {
	start, end, err := queryGrid(query, end, span, step)
	if err != nil {
		return forecast.Series{}, nil, err
	}
	s, err := q.QueryRangeOne(ctx, query, start, end, step)
	if err != nil {
		var count *promquery.SeriesCountError
		if errors.As(err, &count) && count.Count == 0 {
			return forecast.Series{}, nil, noSeriesError(query, start, end)
		}
		return forecast.Series{}, nil, err
	}
	trace, ok := trimGaps(s.Grid(start, end, step))
	if !ok {
		return forecast.Series{}, nil, fmt.Errorf("query %q returned %w from %s to %s",
			query, errNoFiniteValue, start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return trace, s.Labels, nil
}

// errNoFiniteValue: a query's series held only gaps over the range.
var errNoFiniteValue = errors.New("no finite value")

// servicesSeries is forecast's and backtest's --services source: each service's query read
// as queryTrace reads simulate's, in the file's order, named by the service. A query that
// Prometheus refuses or that returns no series, several, or only gaps is that service's
// error, handed on for the command to name while the others go on; any other failure
// (Prometheus unreachable, a timeout) stops the run, as it would fail every service.
func servicesSeries(q rangeQuerier, services []scaling.ManagedService, end time.Time, span, step time.Duration) seriesSource {
	return func(ctx context.Context, emit func(namedSeries, timeFormat) error) error {
		for _, svc := range services {
			s, _, err := queryTrace(ctx, q, svc.Query, end, span, step)
			if err != nil && !errors.Is(err, promquery.ErrBadQuery) && !errors.Is(err, promquery.ErrNotOneSeries) &&
				!errors.Is(err, errNoSeries) && !errors.Is(err, errNoFiniteValue) {
				return fmt.Errorf("service %s: %w", svc.Name, err)
			}
			if err := emit(namedSeries{name: svc.Name, series: s, err: err}, timeRFC3339); err != nil {
				return err
			}
		}
		return nil
	}
}

// queryGrid is the first and last point of span's grid of step ending at end, truncated to
// the step.
func queryGrid(query string, end time.Time, span, step time.Duration) (time.Time, time.Time, error) {
	if step <= 0 || span < step {
		return time.Time{}, time.Time{}, fmt.Errorf("query %q: want a positive step no longer than the range, got step %s and range %s", query, step, span)
	}
	end = end.Truncate(step)
	return end.Add(-time.Duration(int64(span/step)-1) * step), end, nil
}

// noSeriesError says a query returned nothing over the grid, and where to look.
func noSeriesError(query string, start, end time.Time) error {
	return fmt.Errorf("query %q returned %w from %s to %s: check its metric names and labels, and that Prometheus keeps that far back",
		query, errNoSeries, start.Format(time.RFC3339), end.Format(time.RFC3339))
}

// errNoSeries: a query returned nothing over the range.
var errNoSeries = errors.New("no series")

// allSeries is forecast's and backtest's --query source: every series query returns, in
// label order, each named by its labels ({service="checkout"}) and its timestamps written
// as RFC 3339, its gaps before the first sample and after the last cut as queryTrace's.
// A series without a finite value is handed on whole, for the fit to refuse by its name.
func allSeries(q rangeQuerier, query string, end time.Time, span, step time.Duration) seriesSource {
	return func(ctx context.Context, emit func(namedSeries, timeFormat) error) error {
		start, end, err := queryGrid(query, end, span, step)
		if err != nil {
			return err
		}
		ss, err := q.QueryRange(ctx, query, start, end, step)
		if err != nil {
			return err
		}
		if len(ss) == 0 {
			return noSeriesError(query, start, end)
		}
		for _, s := range ss {
			grid := s.Grid(start, end, step)
			if trimmed, ok := trimGaps(grid); ok {
				grid = trimmed
			}
			if err := emit(namedSeries{name: labelText(s.Labels), series: grid}, timeRFC3339); err != nil {
				return err
			}
		}
		return nil
	}
}

// trimGaps cuts s's gaps (NaN, ±Inf) before its first finite value and after its last; false
// when it holds none.
func trimGaps(s forecast.Series) (forecast.Series, bool) {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	first := slices.IndexFunc(s.Values, finite)
	if first < 0 {
		return forecast.Series{Start: s.Start, Step: s.Step}, false
	}
	last := len(s.Values) - 1
	for !finite(s.Values[last]) {
		last--
	}
	return forecast.Series{
		Start:  s.Start.Add(time.Duration(first) * s.Step),
		Step:   s.Step,
		Values: s.Values[first : last+1],
	}, true
}

// labelText is labels as PromQL writes them, {a="1", b="2"}: a series' name in forecast's
// and backtest's output, and in simulate's log.
func labelText(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.String()
}

// queryFlags are the flags of --query (simulate, forecast, backtest), as given.
type queryFlags struct {
	url, headers, end string
	span, step        time.Duration
}

// querySource is where and how --query reads: checked, the environment's defaults applied.
type querySource struct {
	url     string
	headers map[string]string
	end     time.Time
	span    time.Duration
	step    time.Duration
}

// queryOnlyFlags mean something only with --query.
var queryOnlyFlags = []string{"prometheus.url", "prometheus.headers", "query-range", "query-step", "query-end"}

// resolve checks the flags of --query (withQuery: it was given) and applies the environment's
// PROMETHEUS_URL and PROMETHEUS_HEADERS, as serve reads them, where a flag is not set. set
// says whether a flag was given, given its text as written; now bounds --query-end. A URL or
// header value is never echoed whole: either may hold a credential.
func (q queryFlags) resolve(withQuery bool, set func(name string) bool, given func(name string) string, getenv func(string) string, now time.Time) (querySource, []error) {
	var errs []error
	if !withQuery {
		for _, name := range queryOnlyFlags {
			if set(name) {
				errs = append(errs, fmt.Errorf("--%s: only read with --query (the input is another)", name))
			}
		}
		return querySource{}, errs
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	src := querySource{url: q.url, span: q.span, step: q.step, end: now}
	urlFrom := "--prometheus.url"
	if !set("prometheus.url") {
		src.url, urlFrom = getenv("PROMETHEUS_URL"), "PROMETHEUS_URL"
	}
	switch {
	case src.url == "":
		errs = append(errs, errors.New("--prometheus.url: --query needs the Prometheus to read from: give --prometheus.url or set PROMETHEUS_URL"))
	case checkPrometheusURL(src.url) != nil:
		errs = append(errs, fmt.Errorf("%s %q: %w", urlFrom, promquery.RedactURL(src.url), checkPrometheusURL(src.url)))
	}
	headers, headersFrom := q.headers, "--prometheus.headers"
	if !set("prometheus.headers") {
		headers, headersFrom = getenv("PROMETHEUS_HEADERS"), "PROMETHEUS_HEADERS"
	}
	var err error
	if src.headers, err = parsePrometheusHeaders(headers); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", headersFrom, err))
	}
	stepOK := q.step >= minQueryStep && q.step <= maxQueryStep
	if !stepOK {
		errs = append(errs, fmt.Errorf("--query-step %q: must be from %s to %s (the coarsest step a daily season is fitted on)", given("query-step"), minQueryStep, maxQueryStep))
	}
	switch {
	case q.span <= 0 || q.span > maxQueryRange:
		errs = append(errs, fmt.Errorf("--query-range %q: must be positive and at most %s (a year)", given("query-range"), maxQueryRange))
	case stepOK && q.span < q.step:
		errs = append(errs, fmt.Errorf("--query-range %q: must be at least --query-step (%s)", given("query-range"), q.step))
	case stepOK && int64(q.span/q.step) > maxSeriesPoints:
		errs = append(errs, fmt.Errorf("--query-range %q: spans %d steps of --query-step %s, more than %d: give a coarser step or a shorter range",
			given("query-range"), int64(q.span/q.step), q.step, maxSeriesPoints))
	}
	if q.end != "" {
		end, err := time.Parse(time.RFC3339, q.end)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--query-end %q: must be an RFC 3339 time, e.g. 2025-03-01T00:00:00Z", q.end))
		case end.After(now):
			errs = append(errs, fmt.Errorf("--query-end %q: must not be in the future (Prometheus holds no load yet after now, %s)", q.end, now.UTC().Format(time.RFC3339)))
		default:
			src.end = end
		}
	}
	return src, errs
}

// client is a Prometheus client of the source's URL and headers.
func (src querySource) client(log *slog.Logger) (*promquery.Client, error) {
	return promquery.New(promquery.Options{URL: src.url, Headers: src.headers, Logger: log})
}

// read reads query's trace from the source's Prometheus.
func (src querySource) read(ctx context.Context, log *slog.Logger, query string) (forecast.Series, map[string]string, error) {
	client, err := src.client(log)
	if err != nil {
		return forecast.Series{}, nil, err
	}
	return queryTrace(ctx, client, query, src.end, src.span, src.step)
}

// addQueryFlags adds --query (usage says what the command does with it) and the flags of
// where and how it reads to fs; step is --query-step's default.
func addQueryFlags(fs *flag.FlagSet, query *string, q *queryFlags, usage string, step time.Duration, stepUsage string) {
	fs.StringVar(query, "query", "", usage)
	fs.StringVar(&q.url, "prometheus.url", "", "base URL of Prometheus (or Thanos, Mimir, VictoriaMetrics) for --query (default: $PROMETHEUS_URL)")
	fs.StringVar(&q.headers, "prometheus.headers", "", "extra headers on --query's requests, name=value,name=value (default: $PROMETHEUS_HEADERS)")
	fs.DurationVar(&q.span, "query-range", defaultQueryRange, "history --query reads, ending at --query-end (the gaps before its first sample are cut)")
	fs.DurationVar(&q.step, "query-step", step, stepUsage)
	fs.StringVar(&q.end, "query-end", "", "end of --query's range, RFC 3339 (default: now)")
}

// countTrue counts the true ones: how many of simulate's trace sources were given.
func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// fitInput is forecast's and backtest's input, resolved from their flags: --input's CSV,
// --query's series, or each query of --services; with the errors of the query's flags (none
// without a query), to be reported with the command's others.
func fitInput(c cli, fs *flag.FlagSet, args []string, what, input, query, services string, q queryFlags) (seriesSource, []error) {
	fromProm := query != "" || services != ""
	src, errs := q.resolve(fromProm, func(name string) bool { return flagSet(fs, name) }, givenFlags(fs, args), c.getenv, time.Now())
	var list []scaling.ManagedService
	if services != "" {
		var err error
		if list, err = readServices(services); err != nil {
			errs = append(errs, err)
		}
	}
	if !fromProm || len(errs) > 0 {
		return csvSource(input), errs
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("cmd", what)
	client, err := src.client(log)
	if err != nil {
		return nil, []error{err}
	}
	if services != "" {
		return servicesSeries(client, list, src.end, src.span, src.step), nil
	}
	return allSeries(client, query, src.end, src.span, src.step), nil
}
