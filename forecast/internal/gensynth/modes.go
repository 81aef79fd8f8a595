package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// The failure-mode set (issue 9): one family of series per way a forecaster has been seen to
// fail, so `make accuracy` scores each failure separately. Every series has historyDays days
// of history and one day more, the horizon's actuals, at its end: a rolling-origin backtest
// with 7 daily origins and a 24 h horizon puts its last origin at the end of the history and
// scores the day after against the truth.
const (
	historyDays = 28 // four weeks
	horizonDays = 1
)

// synthSeries is one generated series on the regular grid from start; NaN is a missing row.
type synthSeries struct {
	name   string
	values []float64
}

// family is one failure mode: gen makes the i-th series of it from rng.
type family struct {
	prefix string
	gen    func(rng *rand.Rand, g grid) []float64
}

// grid is what a generator needs to know of the time axis.
type grid struct {
	perDay int // points per day
	n      int // points in all: history and horizon
}

// hist is the first point of the horizon (the end of the history).
func (g grid) hist() int { return historyDays * g.perDay }

// families lists the failure-mode families, in output order. Each comment says what failure
// the family carries and what a good forecaster does on it.
var families = []family{
	// normal: a daily and weekly shape with a sharp morning step, 8 % noise, 0.2 % outliers
	// (×5), 1 % missing rows and one holiday (a weekday shaped like a Sunday), as the default
	// set. Nothing unusual: a good forecaster follows the weekly shape, ignores the outliers
	// and the holiday, and is the yardstick for the other families.
	{"normal", genNormal},
	// dip: the last day of history collapses to 20–50 % of its usual load (an outage, a
	// storm), and the horizon is back to normal. A forecaster that takes the dip for a level
	// shift forecasts the collapse again; a good one forecasts the usual day, and its upper
	// bound at least covers it.
	{"dip", genDip},
	// drift: smooth, nearly noise-free (0.3 %) daily cycles whose peak height and time drift
	// a little from day to day (a random walk of about 1 % and 2 min a day). Clean data with
	// nothing to clean: outlier and gap handling must not rewrite it, and a good forecast is
	// within a few percent, with a narrow bound.
	{"drift", genDrift},
	// plateau: step-shaped load, whole-number levels held for hours (batch windows, fixed
	// pools) with a weekly pattern, no noise. The steps are real, not outliers: cleaning must
	// keep them sharp, and a good forecast repeats them at the right times.
	{"plateau", genPlateau},
	// rise: the last 2–3 days of history sit 30–100 % above last week's level, and the new
	// level persists through the horizon (a launch, a migration of traffic). A forecaster
	// that trusts the weekly pattern over the level forecasts last week's load and is far
	// too low; a good one follows the new level.
	{"rise", genRise},
	// earlypeak: a daily peak that moves 10–30 min earlier every day (seasonal daylight,
	// a user base shifting time zones). Last week's peak is hours late by now: seasonal
	// naive on the week misses it; a good forecaster leans on the latest days' timing.
	{"earlypeak", genEarlyPeak},
	// lowcount: Poisson counts with a mean of 1–20 per 5 minutes and a mild daily shape
	// (±30 %): zeros are common and the noise is as big as the signal. A good forecaster
	// forecasts the mean shape, never negative, with a bound that covers the count noise
	// rather than chasing it.
	{"lowcount", genLowCount},
	// spike: one burst of 5–20× lasting 30–120 min somewhere in the last week of history,
	// not recurring. A forecaster that copies last week, or fits the burst, forecasts it
	// again; a good one treats it as an outlier and forecasts the usual day.
	{"spike", genSpike},
	// step: the last 4–12 hours of history jump to 2.5–4× the usual load and stay there
	// through the horizon (a tenant moved onto the service, a database's CPU after a change).
	// Hours at that height look like a burst to an outlier rule: one that cuts them
	// forecasts the old level; a good forecaster follows the new one.
	{"step", genStep},
	// sparse: Poisson counts that are mostly 0 for 7–11 quiet hours a day (a mean of
	// 0.05–0.4 per 5 minutes) and 2–6 by day, a little lower at weekends (mentions of a quiet
	// subject, jobs of a small tenant). A forecast of the mean puts 0.1 where the count is 0
	// on most days, and sMAPE scores every such slot 200 against seasonal naive's 0; a good
	// forecaster forecasts 0 there, the median the absolute error rewards.
	{"sparse", genSparse},
	// moved: from 3–6 days before the end of the history on, the day's shape comes 4–8 hours
	// earlier (users moved east, traffic rerouted to another region), and stays so through
	// the horizon. The models fitted on weeks forecast the old day, and so does a combination
	// they are in; a good forecaster follows the new day once it has lasted.
	{"moved", genMoved},
	// jobs: a job at the top of every hour (cron, a timer-triggered function) lifts the load
	// to 2–3× for its first 5 or 10 minutes, under 4 % noise. Fitted on a grid of 15-minute
	// medians it is cut away, and the forecast is a smooth day that misses it every hour; a
	// good forecaster repeats it.
	{"jobs", genJobs},
}

// failureModes generates perMode series of every family: deterministic in seed (each series
// has its own stream, so perMode does not change the series generated before it).
func failureModes(perMode int, seed uint64, step time.Duration) []synthSeries {
	perDay := int(24 * time.Hour / step)
	g := grid{perDay: perDay, n: (historyDays + horizonDays) * perDay}
	out := make([]synthSeries, 0, perMode*len(families))
	for fi, f := range families {
		for i := range perMode {
			rng := rand.New(rand.NewPCG(seed, uint64(fi)<<32|uint64(i)))
			out = append(out, synthSeries{name: fmt.Sprintf("%s-%03d", f.prefix, i), values: f.gen(rng, g)})
		}
	}
	return out
}

// writeCSV writes ss as series,timestamp,value rows, leaving out the missing ones.
func writeCSV(w io.Writer, ss []synthSeries, start time.Time, step time.Duration) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("series,timestamp,value\n")
	for _, s := range ss {
		for i, v := range s.values {
			if math.IsNaN(v) {
				continue
			}
			bw.WriteString(s.name)
			bw.WriteByte(',')
			bw.WriteString(start.Add(time.Duration(i) * step).Format(time.RFC3339))
			bw.WriteByte(',')
			bw.WriteString(strconv.FormatFloat(v, 'f', 3, 64))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// weekly is shape() scaled to a random amplitude with a random phase: the families' base load.
type weekly struct {
	amp   float64
	shift int
}

func newWeekly(rng *rand.Rand, g grid) weekly {
	return weekly{amp: 50 + 100*rng.Float64(), shift: rng.IntN(g.perDay / 4)}
}

func (w weekly) at(i int, g grid) float64 { return w.amp * shape(i+w.shift, g.perDay) / 100 }

// noisy multiplies v by 1 + sd·N(0,1), never below zero.
func noisy(rng *rand.Rand, v, sd float64) float64 { return math.Max(0, v*(1+sd*rng.NormFloat64())) }

func genNormal(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	holiday := g.perDay * (7 + rng.IntN(historyDays-8))
	v := make([]float64, g.n)
	for i := range v {
		j := i
		if i >= holiday && i < holiday+g.perDay {
			j = i%g.perDay + g.perDay*7 // a Sunday
		}
		x := noisy(rng, w.at(j, g), 0.08)
		switch {
		case i >= g.hist():
			// The horizon's actuals are the truth: no outlier or gap to score against.
		case rng.Float64() < 0.002:
			x *= 5
		case rng.Float64() < 0.01:
			x = math.NaN()
		}
		v[i] = x
	}
	return v
}

func genDip(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	factor := 0.2 + 0.3*rng.Float64()
	dip := g.hist() - g.perDay
	v := make([]float64, g.n)
	for i := range v {
		x := noisy(rng, w.at(i, g), 0.03)
		if i >= dip && i < g.hist() {
			x *= factor
		}
		v[i] = x
	}
	return v
}

func genDrift(rng *rand.Rand, g grid) []float64 {
	base := 50 + 100*rng.Float64()
	amp := (0.3 + 0.4*rng.Float64()) * base
	peak := rng.Float64() * float64(g.perDay) // slot of the peak, drifting
	height := 1.0
	v := make([]float64, g.n)
	for i := range v {
		if i%g.perDay == 0 && i > 0 {
			height *= 1 + 0.01*rng.NormFloat64()
			peak += 2 * rng.NormFloat64() * float64(g.perDay) / (24 * 60) // about 2 min a day
		}
		x := base + height*amp*math.Cos(2*math.Pi*(float64(i%g.perDay)-peak)/float64(g.perDay))
		v[i] = noisy(rng, x, 0.003)
	}
	return v
}

func genPlateau(rng *rand.Rand, g grid) []float64 {
	// 3–6 levels a day, changing at whole hours, the same every weekday; weekends lower.
	k := 3 + rng.IntN(4)
	levels := make([]float64, k)
	for j := range levels {
		levels[j] = float64(10 + rng.IntN(200))
	}
	bounds := make([]int, k) // start hour of each level, ascending, bounds[0] = 0
	for j := 1; j < k; j++ {
		bounds[j] = bounds[j-1] + 1 + rng.IntN(max(1, (24-bounds[j-1])/(k-j+1)))
	}
	weekend := math.Round((0.3+0.5*rng.Float64())*10) / 10
	v := make([]float64, g.n)
	for i := range v {
		hour := (i % g.perDay) * 24 / g.perDay
		j := k - 1
		for j > 0 && hour < bounds[j] {
			j--
		}
		x := levels[j]
		if day := (i / g.perDay) % 7; day == 0 || day == 6 {
			x = math.Round(x * weekend)
		}
		v[i] = x
	}
	return v
}

func genRise(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	factor := 1.3 + 0.7*rng.Float64()
	from := g.hist() - (2+rng.IntN(2))*g.perDay
	return scaledFrom(rng, g, w, from, factor)
}

// scaledFrom is w with 4 % noise, times factor from point from on.
func scaledFrom(rng *rand.Rand, g grid, w weekly, from int, factor float64) []float64 {
	v := make([]float64, g.n)
	for i := range v {
		x := noisy(rng, w.at(i, g), 0.04)
		if i >= from {
			x *= factor
		}
		v[i] = x
	}
	return v
}

func genStep(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	factor := 2.5 + 1.5*rng.Float64()
	perMin := float64(g.perDay) / (24 * 60)
	from := g.hist() - max(1, int(math.Round((4+8*rng.Float64())*60*perMin)))
	return scaledFrom(rng, g, w, from, factor)
}

func genEarlyPeak(rng *rand.Rand, g grid) []float64 {
	base := 30 + 70*rng.Float64()
	amp := (1 + 2*rng.Float64()) * base
	perMin := float64(g.perDay) / (24 * 60)
	earlier := (10 + 20*rng.Float64()) * perMin // slots a day
	width := (60 + 120*rng.Float64()) * perMin  // the peak's sd, 1–3 h
	peak0 := float64(g.perDay) * (0.5 + 0.3*rng.Float64())
	v := make([]float64, g.n)
	for i := range v {
		day := i / g.perDay
		peak := math.Mod(peak0-float64(day)*earlier, float64(g.perDay))
		d := math.Abs(float64(i%g.perDay) - peak)
		d = math.Min(d, float64(g.perDay)-d) // circular: a peak near midnight spills over
		v[i] = noisy(rng, base+amp*math.Exp(-d*d/(2*width*width)), 0.03)
	}
	return v
}

func genMoved(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	from := g.hist() - (3+rng.IntN(4))*g.perDay
	by := int(float64(g.perDay) * (4 + 4*rng.Float64()) / 24)
	v := make([]float64, g.n)
	for i := range v {
		j := i
		if i >= from {
			j = i + by
		}
		v[i] = noisy(rng, w.at(j, g), 0.04)
	}
	return v
}

func genJobs(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	lift := 2 + rng.Float64()
	perHour := max(1, g.perDay/24)
	long := max(1, perHour*(5+5*rng.IntN(2))/60)
	v := make([]float64, g.n)
	for i := range v {
		x := w.at(i, g)
		if i%perHour < long {
			x *= lift
		}
		v[i] = noisy(rng, x, 0.04)
	}
	return v
}

func genLowCount(rng *rand.Rand, g grid) []float64 {
	m := 1 + 19*rng.Float64()
	phase := rng.Float64() * 2 * math.Pi
	v := make([]float64, g.n)
	for i := range v {
		lambda := m * (1 + 0.3*math.Sin(2*math.Pi*float64(i%g.perDay)/float64(g.perDay)+phase))
		v[i] = float64(poisson(rng, lambda))
	}
	return v
}

func genSparse(rng *rand.Rand, g grid) []float64 {
	quiet := int(float64(g.perDay) * (7 + 4*rng.Float64()) / 24)
	from := rng.IntN(g.perDay)
	night := 0.05 + 0.35*rng.Float64()
	day := 2 + 4*rng.Float64()
	v := make([]float64, g.n)
	for i := range v {
		slot := (i%g.perDay - from + g.perDay) % g.perDay
		lambda := night
		if slot >= quiet {
			lambda = day * (0.7 + 0.3*math.Sin(math.Pi*float64(slot-quiet)/float64(g.perDay-quiet)))
			if wd := (i / g.perDay) % 7; wd == 0 || wd == 6 {
				lambda *= 0.7
			}
		}
		v[i] = float64(poisson(rng, lambda))
	}
	return v
}

// poisson draws a Poisson count with mean lambda (Knuth: fine for the small means here).
func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func genSpike(rng *rand.Rand, g grid) []float64 {
	w := newWeekly(rng, g)
	factor := 5 + 15*rng.Float64()
	perMin := float64(g.perDay) / (24 * 60)
	length := max(1, int(math.Round((30+90*rng.Float64())*perMin)))
	at := g.hist() - 7*g.perDay + rng.IntN(7*g.perDay-length)
	v := make([]float64, g.n)
	for i := range v {
		x := noisy(rng, w.at(i, g), 0.04)
		if i >= at && i < at+length {
			x *= factor
		}
		v[i] = x
	}
	return v
}
