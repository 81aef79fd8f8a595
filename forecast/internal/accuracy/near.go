package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/kai-platform/kai-scaler/forecast"
)

// nearRow is one series' near-term scores: 24 h forecasts refitted every hour, as the service
// refits them, scored over their first hours only, the part the planner's floors read. The
// daily table's midnight origins cannot show how fast a forecast takes up a load that has left
// its usual course (an outage, a storm, a surge) in the hours since.
type nearRow struct {
	name, family string
	// MASE over the first hours of auto's forecasts, of the same slot a week before (a day
	// before under two weeks of history) and of the last value seen, on the same points.
	auto, seasonal, last float64
	coverage             float64 // of auto's upper bound over those hours
	origins              int
	err                  error
}

// scoreNear refits in every `every` over the last `days` days of its history and scores each
// forecast's first `lead`.
func scoreNear(in input, q float64, days int, lead, every time.Duration) nearRow {
	s := in.series
	r := nearRow{name: in.name, family: family(in.name)}
	perDay := int(24 * time.Hour / s.Step)
	leadPts, everyPts := max(1, int(lead/s.Step)), max(1, int(every/s.Step))
	n := len(s.Values)
	lag := perDay
	if n >= 14*perDay {
		lag = 7 * perDay
	}
	scale := naiveScale(s.Values, lag)
	var autoErr, seasonalErr, lastErr float64
	var points, covered int
	for o := max(2*perDay, n-days*perDay); o+leadPts <= n; o += everyPts {
		hist := forecast.Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]}
		f, err := forecast.Forecast(hist, forecast.Options{Horizon: perDay, Quantile: q})
		if err != nil {
			r.err = fmt.Errorf("origin %s: %w", s.Start.Add(time.Duration(o)*s.Step).Format(time.RFC3339), err)
			return r
		}
		last := lastFinite(s.Values[:o])
		for k := range leadPts {
			a, seasonal := s.Values[o+k], s.Values[o+k-lag]
			if math.IsNaN(a) || math.IsNaN(seasonal) || math.IsNaN(last) {
				continue
			}
			autoErr += math.Abs(a - f.Mean[k])
			seasonalErr += math.Abs(a - seasonal)
			lastErr += math.Abs(a - last)
			points++
			if a <= f.Upper[k] {
				covered++
			}
		}
		r.origins++
	}
	if points == 0 {
		r.err = fmt.Errorf("no scored point in the last %d days", days)
		return r
	}
	d := float64(points) * scale
	r.auto, r.seasonal, r.last = autoErr/d, seasonalErr/d, lastErr/d
	r.coverage = float64(covered) / float64(points)
	return r
}

// naiveScale is the in-sample mean absolute error of repeating the value lag points back, the
// MASE yardstick (at least a billionth of the mean level, so a flat series does not divide by
// zero).
func naiveScale(v []float64, lag int) float64 {
	var sum, level float64
	var cnt, lc int
	for i, x := range v {
		if math.IsNaN(x) {
			continue
		}
		level += x
		lc++
		if i >= lag && !math.IsNaN(v[i-lag]) {
			sum += math.Abs(x - v[i-lag])
			cnt++
		}
	}
	floor := 1e-9 * math.Max(1, level/math.Max(1, float64(lc)))
	if cnt == 0 {
		return floor
	}
	return math.Max(sum/float64(cnt), floor)
}

func lastFinite(v []float64) float64 {
	for i := len(v) - 1; i >= 0; i-- {
		if !math.IsNaN(v[i]) {
			return v[i]
		}
	}
	return math.NaN()
}

// reportNear prints a row per trace and their median, then each generated family's mean, and
// the medians of the traces tuned on and of the others when tune is given.
func reportNear(w io.Writer, rows []nearRow, lead, every time.Duration, tune []string) {
	fmt.Fprintf(w, "first %s of 24 h forecasts refitted every %s (MASE; seasonal: the same slot a week before; last: the last value seen)\n", lead, every)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "series\torigins\tauto MASE\tcover\tseasonal MASE\tlast MASE\tauto/better\t")
	var traces []nearRow
	fams := map[string][]nearRow{}
	for _, r := range rows {
		switch {
		case r.err != nil:
			fmt.Fprintf(tw, "%s\terror: %v\t\n", r.name, r.err)
		case r.family != "":
			fams[r.family] = append(fams[r.family], r)
		default:
			traces = append(traces, r)
			printNear(tw, r.name, r)
		}
	}
	if len(traces) > 1 {
		printNear(tw, "MEDIAN", medianNear(traces))
	}
	names := make([]string, 0, len(fams))
	for f := range fams {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		var m nearRow
		for _, r := range fams[f] {
			k := float64(len(fams[f]))
			m.auto += r.auto / k
			m.coverage += r.coverage / k
			m.seasonal += r.seasonal / k
			m.last += r.last / k
			m.origins += r.origins
		}
		printNear(tw, f+" (mean)", m)
	}
	tw.Flush()
	if len(tune) == 0 || len(traces) == 0 {
		return
	}
	tuned, held := splitTuned(traces, func(r nearRow) string { return r.name }, tune)
	for _, g := range []struct {
		name string
		rows []nearRow
	}{{"tuned on", tuned}, {"confirmed on", held}} {
		if len(g.rows) > 0 {
			m := medianNear(g.rows)
			fmt.Fprintf(w, "%s (%d traces): median auto MASE %.3f, seasonal %.3f, last value %.3f\n", g.name, len(g.rows), m.auto, m.seasonal, m.last)
		}
	}
}

func printNear(w io.Writer, name string, r nearRow) {
	fmt.Fprintf(w, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", name, r.origins, r.auto, r.coverage, r.seasonal, r.last, r.auto/math.Min(r.seasonal, r.last))
}

func medianNear(rs []nearRow) nearRow {
	med := func(get func(nearRow) float64) float64 { return medianOf(rs, get) }
	return nearRow{
		origins:  int(med(func(r nearRow) float64 { return float64(r.origins) })),
		auto:     med(func(r nearRow) float64 { return r.auto }),
		coverage: med(func(r nearRow) float64 { return r.coverage }),
		seasonal: med(func(r nearRow) float64 { return r.seasonal }),
		last:     med(func(r nearRow) float64 { return r.last }),
	}
}
