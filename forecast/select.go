package forecast

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultOrigins is the number of daily rolling origins Evaluate scores by default: a week,
// so every weekday is scored once.
const DefaultOrigins = 7

// selectOrigins is how many of the latest daily origins auto selection and the upper bound's
// calibration look back over: a week, every weekday once. Two weeks scored the same on the
// traces (with 28 days of history the first scored origins have a week behind them anyway)
// at twice the work per series.
const selectOrigins = 7

// minBucketErrors is how many backtest errors, at least, estimate one upper quantile: the
// horizons are pooled in buckets of neighbours until a bucket holds that many.
const minBucketErrors = 60

// bucketsPerDay caps how many buckets a day of horizons is pooled in: a bucket spans at least
// two hours. Neighbouring errors of one origin are not independent: a burst of a quarter of an
// hour on one day is fifteen errors at a one-minute step. In the 15 to 30 minute buckets that
// 60 errors made over the two to four daily origins of a 4-week trace's first days, the burst
// held more of a bucket than its 0.8 quantile may miss, and that bucket's bound sat at the
// burst, twice the load, on the next days (at a 5 min step, an hour's burst on one of four
// days set it 30 times as far above the forecast as without it). The floors read from it held
// replicas at that hour for a burst no day repeated. Pooled over two hours, one burst widens
// its hours' bound a little. A trace at a step of 15 min or more already pools that much.
const bucketsPerDay = 12

// combineMargin and combineWins say when a single model replaces the median combination: its
// mean error over a full week of look-back origins is this much lower (more over fewer,
// marginFor), and it beat the combination on more than this share of them. A combination is the
// robust default (FORECASTING.md): a single model's lead over a handful of days is mostly luck.
// A majority, not two thirds: on smooth load whose daily peak wanders a little (issue 9's drift
// family), yesterday's load was a third more accurate than the combination over a week, yet the
// combination's averaged members won three of seven days by luck, and it was kept. At seven
// origins that is four wins instead of five; at three to six origins the two rules agree but at
// five.
const (
	combineMargin  = 0.10
	combineWins    = 1.0 / 2
	combineMinOrig = 3
)

// weekdayTolerance is how far (in log) the day to forecast's weekday, a week before, may have
// been from the days before it for a daily model that beat the lone weekly model to replace
// it (weekdayLikeTheDaysBefore). On the generated normal sets (seeds 11–17, each weekday
// last) and failure modes (seed 42) at 9–13 days of history, 0.08, 0.15 and 0.3 scored within
// 3 % of each other, the smaller a little better; the fresh seeds (101–107, modes seed 7)
// ranked them alike.
const weekdayTolerance = 0.1

// aciGamma is the step of adaptive conformal inference (Gibbs & Candès, 2021) per origin:
// the miss rate the bound aims at moves by aciGamma × (target − observed miss share) after
// each origin whose horizon has passed, so a bound that missed too often widens. It only
// widens: a run of origins with no miss is most often a dip in load (a holiday, a storm),
// when every forecast is too high, and narrowing the bound then is exactly wrong for the
// rebound that follows; with a dozen origins the conformal rank already aims at the nominal
// rate.
const aciGamma = 0.1

func periodsFor(step time.Duration) periods {
	d := int(math.Round(float64(24*time.Hour) / float64(step)))
	d = max(1, d)
	return periods{D: d, W: 7 * d}
}

// scored is one model's backtest and final forecast.
type scored struct {
	name    string
	from    int         // the fewest points of history it forecasts from: no decision before may choose it
	members []*scored   // a combination's models
	fc      [][]float64 // per backtest origin (time ascending), then the final forecast last
	errs    [][]float64 // actual − forecast per origin and horizon, NaN where no actual
	mae     []float64   // per origin: mean absolute error / MASE scale, NaN where no actual
}

// evaluation is everything a forecast decided, for Forecast and Evaluate.
type evaluation struct {
	p        periods
	h        int
	q        float64
	n        int
	scale    float64   // MASE scale
	levelEps []float64 // per decision: added to |forecast| when errors are scaled to the level
	origins  []int     // time ascending
	models   []*scored
	combos   map[string]*scored
	anchor   [][]float64 // per origin and the final forecast: the bound's floor, nil for none
	// phase is, per origin and the final forecast, the moves of the day's shape its history
	// is realigned by (phaseGroups), at the series' own step; nil where none knows one.
	phase    [][]phaseShift
	notes    []string
	cleaning cleaned
	// notFinite names the models that sat out because a forecast of theirs was NaN or ±Inf.
	notFinite []string
	// mem holds the series-length buffers, the combinations' forecasts and the errors.
	mem *arena
}

func (e *evaluation) find(name string) *scored {
	for _, m := range e.models {
		if m.name == name {
			return m
		}
	}
	return nil
}

// evaluate cleans s, picks the candidate models its history allows (only names when
// non-empty), backtests each on up to k daily origins and adds their median combination.
func evaluate(s Series, h int, q float64, k int, names []string, mem *arena) (*evaluation, error) {
	raw := sanitize(mem, s.Values)
	finite := 0
	for _, v := range raw {
		if !math.IsNaN(v) {
			finite++
		}
	}
	if finite == 0 {
		return nil, ErrNoData
	}
	p := periodsFor(s.Step)
	n := len(raw)
	ev := &evaluation{p: p, h: h, q: q, n: n, combos: map[string]*scored{}, mem: mem}
	var cands []model
	best := needPoint
	for _, m := range baseModels {
		if names != nil && !slices.Contains(names, m.name) {
			continue
		}
		if m.need.points(p) > n || !runsAt(m, p, s.Step) {
			continue
		}
		cands = append(cands, m)
		best = max(best, m.need)
	}
	if len(cands) == 0 {
		ev.cleaning = clean(mem, raw, p)
		ev.cleanNotes()
		return ev, nil
	}
	// Origins every day back from the last one whose horizon ends at the series' end, all of
	// them late enough for every candidate. When the most demanding candidates leave no
	// origin, they are dropped: a model that cannot be scored cannot be chosen fairly.
	// warm is where causal cleaning starts streaming: the earliest origin the candidates
	// allow, whatever k, so Forecast and Evaluate clean alike.
	warm := n
	for {
		ev.origins = ev.origins[:0]
		minO := max(1, best.firstOrigin(p))
		for j := 0; ; j++ {
			o := n - h - j*p.D
			if o < minO {
				break
			}
			if j < k {
				ev.origins = append(ev.origins, o)
			}
			warm = o
		}
		if len(ev.origins) > 0 || best == needPoint {
			break
		}
		var kept []model
		for _, m := range cands {
			if m.need < best {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			break // nothing simpler: no backtest, the caller says so
		}
		ev.notes = append(ev.notes, fmt.Sprintf("history of %d points leaves no backtest origin for %s models", n, best))
		cands, best = kept, best-1
	}
	if names == nil {
		cands = slices.DeleteFunc(cands, func(m model) bool {
			twin, ok := weeklyTwin[m.name]
			return ok && slices.ContainsFunc(cands, func(c model) bool { return c.name == twin })
		})
	}
	slices.Reverse(ev.origins)
	all := append(slices.Clone(ev.origins), n)
	ev.scale = maseScale(raw, p)
	// Seasonal naive and naive repeat the observations themselves (gaps filled), never the
	// cleaned history: they are the textbook yardsticks, spikes and all.
	var filled []float64
	repeat := func(m model) {
		if filled == nil {
			filled = mem.clone(raw)
			interpolate(filled)
		}
		ev.add(m, m.run(mem, filled, nil, p, all, h))
	}
	// The daily and weekly profile models share the daily profile: one pass makes both.
	withWeeklyProfile := slices.ContainsFunc(cands, func(m model) bool { return m.name == ModelProfile })
	var weeklyProfile [][]float64
	run := func(m model, y []float64, adj []levelAdj, p periods, origins []int, h int) [][]float64 {
		switch {
		case m.name == ModelProfileDaily && withWeeklyProfile:
			var daily [][]float64
			daily, weeklyProfile = runProfiles(mem, y, adj, p, true, origins, h)
			return daily
		case m.name == ModelProfile && weeklyProfile != nil:
			return weeklyProfile
		}
		return m.run(mem, y, adj, p, origins, h)
	}
	// fitAll runs every candidate but the repeating ones on one history for the decisions at
	// times: per candidate, a forecast per decision.
	fitAll := func(p periods, h int) func(y []float64, adj []levelAdj, times []int) [][][]float64 {
		return func(y []float64, adj []levelAdj, times []int) [][][]float64 {
			weeklyProfile = nil
			out := make([][][]float64, len(cands))
			for ci, m := range cands {
				if !m.fine {
					out[ci] = run(m, y, adj, p, times, h)
				}
			}
			return out
		}
	}
	f := fitFactor(s.Step, p, n, h)
	if f > 1 && finePatternRatio(mem, raw[:warm], warm%f, p.D, f) < 1-finePatternGain {
		// Judged on the history before the earliest decision, so every decision fits the
		// grid the final forecast does without having seen its future.
		f = 1
		ev.notes = append(ev.notes, fmt.Sprintf("fitted at the series' own step, not on a %g-minute grid: a pattern within its blocks repeats from day to day", fitStep.Minutes()))
	}
	if f == 1 {
		ev.cleaning = cleanCausal(mem, raw, p, warm, all)
		ev.cleanNotes()
		y := ev.cleaning.fit
		ev.levelEps = levelEps(y, ev.cleaning.adj, all)
		var fcs [][][]float64
		fcs, ev.phase = fitByPhase(mem, y, ev.cleaning.adj, p, all, fitAll(p, h))
		ev.phaseNotes(p.D)
		for ci, m := range cands {
			if m.fine {
				repeat(m)
				continue
			}
			ev.add(m, fcs[ci])
		}
		ev.setAnchor(raw, all)
		return ev, nil
	}
	// Fit on the coarser grid, score on the series' own: the models and their cleaning see
	// the medians of f points (less noise, f times less work), their forecasts are spread
	// back over the fine grid, and every error, bound and score is of the fine observations.
	off := n % f
	cp := periods{D: p.D / f, W: p.W / f}
	cr := coarsen(mem, raw[off:], f)
	call := make([]int, len(all))
	for i, t := range all {
		call[i] = (t - off) / f
	}
	cc := cleanCausal(mem, cr, cp, (warm-off)/f, call)
	ev.cleaning = cleaned{raw: raw, fit: spread(mem, cc.fit, f, off, n), outliers: cc.outliers * f, gaps: cc.gaps * f,
		lowDays: cc.lowDays, shift: cc.shift, adj: make([]levelAdj, len(cc.adj))}
	if cc.shift.at > 0 {
		ev.cleaning.shift.at = off + cc.shift.at*f
	}
	for i, a := range cc.adj {
		ev.cleaning.adj[i] = levelAdj{at: off + a.at*f, by: a.by, scale: a.scale}
		if a.at == 0 {
			ev.cleaning.adj[i] = levelAdj{}
		}
	}
	ev.cleanNotes()
	ev.levelEps = levelEps(cc.fit, cc.adj, call)
	fcs, known := fitByPhase(mem, cc.fit, cc.adj, cp, call, fitAll(cp, h/f))
	ev.phase = finerShifts(known, f, off)
	ev.phaseNotes(p.D)
	for ci, m := range cands {
		if m.fine {
			repeat(m)
			continue
		}
		fc := fcs[ci]
		for i, c := range fc {
			if c != nil {
				fc[i] = expand(mem, c, f)
			}
		}
		ev.add(m, fc)
	}
	ev.setAnchor(raw, all)
	return ev, nil
}

// setAnchor sets the upper bound's floor at times all (anchorForecasts) when a weekly model
// runs: from the observations when the seasonal median does (two weeks and more), else from
// the cleaned history. With one week a slot's anchor is one observation, and a burst there
// would come back as the next week's floor; cleaning has cut it. Without an anchor under two
// weeks the bound followed a collapsed last day down: on issue 9's dip family at 14 days of
// history it covered 22 to 26 % of the rebound (seeds 7, 42, 3), 59 to 61 % with it.
func (e *evaluation) setAnchor(raw []float64, all []int) {
	switch {
	case e.find(ModelSeasonalMedian) != nil:
		e.anchor = anchorForecasts(raw, e.p, all, e.h, e.cleaning.adj, e.phase)
	case e.find(ModelProfile) != nil:
		e.anchor = anchorForecasts(e.cleaning.fit, e.p, all, e.h, e.cleaning.adj, e.phase)
	}
}

// phaseNotes tells the user of the moves of the day's shape the final forecast's history was
// realigned by (phaseGroups), at the series' own step of perDay points a day.
func (e *evaluation) phaseNotes(perDay int) {
	if e.phase == nil {
		return
	}
	for _, s := range e.phase[len(e.phase)-1] {
		e.notes = append(e.notes, phaseNote(s.at, s.lag, perDay))
	}
}

// add scores a candidate's forecasts and keeps it, unless a forecast failed: a numerical
// failure sits the model out rather than guess.
func (e *evaluation) add(m model, fc [][]float64) {
	name := m.name
	if slices.ContainsFunc(fc, func(f []float64) bool { return f == nil }) {
		return
	}
	// Values near the float64 limit overflow sums and squares (NaN, ±Inf): such a model
	// sits out too, or one NaN would poison the combination's median and the bound.
	if slices.ContainsFunc(fc, func(f []float64) bool { return !allFinite(f) }) {
		e.notFinite = append(e.notFinite, name)
		e.notes = append(e.notes, name+" left out: its forecast overflowed")
		return
	}
	for _, f := range fc {
		for i, x := range f {
			if x <= 0 { // finite here: math.Max(0, x), -0 included, without the call
				f[i] = 0
			}
		}
	}
	sc := &scored{name: name, from: m.need.points(e.p), fc: fc}
	e.score(sc)
	e.models = append(e.models, sc)
}

// weeklyTwin names the weekly model that holds a daily one: auto runs the daily model only
// when the weekly one cannot run (on the traces the pair's daily half never earned its cost).
// The daily profile stays: without weekday departures it is the better member of a
// combination on several of them.
var weeklyTwin = map[string]string{
	ModelHoltWintersDay: ModelHoltWinters,
	ModelHarmonicDaily:  ModelHarmonic,
}

// fitStep is the coarsest step models need for load: finer series are fitted on its grid.
const fitStep = 15 * time.Minute

// fitFactor is how many points of the series make one point of the fitting grid: fitStep's
// worth when the day, the horizon and the history's length allow it whole, else 1.
func fitFactor(step time.Duration, p periods, n, h int) int {
	if step <= 0 || step >= fitStep || fitStep%step != 0 {
		return 1
	}
	f := int(fitStep / step)
	if p.D%f != 0 || h%f != 0 || n < 4*f {
		return 1
	}
	return f
}

// coarsen is the median of each run of f points of v (gaps skipped, NaN when all are gaps):
// the median, not the mean, because forecasts are judged by absolute error, which the
// median of the fine points minimises, and skewed load (sparse counts, bursts) has its
// median well below its mean.
func coarsen(mem *arena, v []float64, f int) []float64 {
	out := mem.floats(len(v) / f)
	buf := make([]float64, 0, f)
	for i := range out {
		if f == 3 { // 5-minute load on the 15-minute grid, the usual case: no gaps, no call
			x, y, z := v[3*i], v[3*i+1], v[3*i+2]
			if !math.IsNaN(x) && !math.IsNaN(y) && !math.IsNaN(z) {
				_, out[i], _ = order3(x, y, z) // as median
				continue
			}
		}
		buf = buf[:0]
		for _, x := range v[i*f : (i+1)*f] {
			if !math.IsNaN(x) {
				buf = append(buf, x)
			}
		}
		out[i] = math.NaN()
		if len(buf) > 0 {
			out[i] = median(buf)
		}
	}
	return out
}

// spread is the fine series (length n) of coarse values, each repeated f times after off
// points that copy the first.
func spread(mem *arena, c []float64, f, off, n int) []float64 {
	out := mem.floats(n)
	for i := range out {
		j := max(0, i-off) / f
		out[i] = c[min(j, len(c)-1)]
	}
	return out
}

// expand turns a coarse forecast into f points per coarse point, linear between the coarse
// points' centres, so a rise climbs through the hour instead of in steps; before the first
// centre and after the last the neighbouring pair's slope continues.
func expand(mem *arena, c []float64, f int) []float64 {
	out := mem.floats(len(c) * f)
	centre := float64(f-1) / 2
	for k := range c {
		for j := 0; j < f; j++ {
			x := float64(j) - centre
			var v float64
			switch {
			case len(c) == 1:
				v = c[k]
			case x < 0 && k > 0 || k+1 == len(c):
				k0 := max(1, k)
				v = c[k] + (c[k0]-c[k0-1])*x/float64(f)
			default:
				v = c[k] + (c[k+1]-c[k])*x/float64(f)
			}
			out[k*f+j] = v
		}
	}
	return out
}

// minShiftHeld is how long a level shift must have held at an origin before the anchor
// follows it: a day or two of collapsed load is far more often a storm or an outage than a
// new level, and the rebound is what the bound must cover.
const minShiftHeld = 2 // days

// anchorForecasts is, per origin, the median of the same slot over the last (up to
// medianWeeks) weeks of the history before it (raw: the observations), gaps skipped: the
// floor of the upper bound. Read from the observations, not the cleaned history, a dip that
// cleaning took for a level shift does not lower it, until the shift has held minShiftHeld
// days at that origin; then the history before the shift counts at the new level. An origin
// that knows moves of the day's shape (phase, per origin; nil for none) reads the weeks before
// them realigned, as its models do.
func anchorForecasts(raw []float64, p periods, origins []int, h int, adj []levelAdj, phase [][]phaseShift) [][]float64 {
	out := make([][]float64, len(origins))
	var buf [medianWeeks]float64
	for i, o := range origins {
		var moves []phaseShift
		if phase != nil {
			moves = phase[i]
		}
		shift := adjOf(adj, i)
		shiftAt := shift.at
		// The shift is found to the day: its first day may be partly at the old level, so it
		// counts as held from the day after.
		follow := shiftAt > 0 && o-shiftAt-p.D >= minShiftHeld*p.D
		f := make([]float64, h)
		for k := range f {
			b := buf[:0]
			for j := 1; j <= medianWeeks; j++ {
				t := o - j*p.W + k%p.W
				if t < 0 {
					break
				}
				if moves != nil {
					t = realignedAt(moves, t, o)
				}
				v := raw[t]
				if math.IsNaN(v) {
					continue
				}
				if follow && t < shiftAt {
					v = math.Max(0, shift.value(raw, t))
				}
				b = append(b, v)
			}
			f[k] = median(b) // 0 when every week had a gap there: no floor
		}
		out[i] = f
	}
	return out
}

// runsAt reports whether model m runs on a series at step, whose day is p.D points: every
// model where a day holds two points or more. At a day's step or coarser no model sees a day's
// shape: besides naive, only the weekly models run, where a week is a whole number of steps
// (page views or requests counted per day, whose weekdays differ). Seven generated daily sets
// (weekday patterns, a trend, a level shift, a yearly season, noise alone, a random walk; 60 to
// 730 days) scored a median MASE of 3.68 with naive alone and 1.06 with them; the random walk,
// which naive forecasts best, went from 1.11 to 1.61.
func runsAt(m model, p periods, step time.Duration) bool {
	if m.need == needPoint || p.D >= 2 {
		return true
	}
	return m.need >= needWeek && time.Duration(p.W)*step == 7*24*time.Hour
}

func (n need) String() string {
	switch n {
	case needWeeks:
		return "weekly"
	case needWeek:
		return "one-week"
	case needDays:
		return "daily"
	case needDay:
		return "one-day"
	}
	return "point"
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seasonalLag is the longest period a history of n points holds twice: the week, else the
// day, else one step.
func seasonalLag(n int, p periods) int {
	switch {
	case n >= 2*p.W:
		return p.W
	case n >= 2*p.D:
		return p.D
	}
	return 1
}

// maseScale is the in-sample mean absolute error of the seasonal naive forecast at the
// longest period the history holds twice (week, else day, else one step); never zero.
func maseScale(raw []float64, p periods) float64 {
	lag := seasonalLag(len(raw), p)
	var sum, level float64
	var cnt, lc int
	for i := range raw {
		if !math.IsNaN(raw[i]) {
			level += raw[i]
			lc++
		}
		if i >= lag && !math.IsNaN(raw[i]) && !math.IsNaN(raw[i-lag]) {
			sum += math.Abs(raw[i] - raw[i-lag])
			cnt++
		}
	}
	floor := 1e-9 * math.Max(1, level/math.Max(1, float64(lc)))
	if cnt == 0 {
		return floor
	}
	return math.Max(sum/float64(cnt), floor)
}

// levelEps is, per decision at times[j], what scaled errors add to |forecast| so slots
// forecast near zero do not blow up the ratio: 30 % of the mean level of the history that
// decision saw, shifted as it was (on the traces, 0.1 to 1 cover alike).
func levelEps(y []float64, adj []levelAdj, times []int) []float64 {
	out := make([]float64, len(times))
	sum, t0 := 0.0, 0
	for j, t := range times {
		for ; t0 < t; t0++ {
			sum += y[t0]
		}
		a := adjOf(adj, j)
		moved := sum + a.by*float64(a.at)
		if f := a.factor(); f != 1 {
			before := 0.0
			for _, v := range y[:a.at] {
				before += v
			}
			moved += (f - 1) * before
		}
		out[j] = math.Max(1e-9, 0.3*math.Abs(moved/float64(max(1, t))))
	}
	return out
}

// cleanNotes says what cleaning did to the history the final forecast saw.
func (e *evaluation) cleanNotes() {
	c := e.cleaning
	if c.outliers+c.gaps+c.lowDays > 0 || c.shift.at > 0 {
		note := fmt.Sprintf("cleaned %d outliers and %d gaps", c.outliers, c.gaps)
		switch {
		case c.lowDays == 1:
			note += ", 1 day far below its usual load taken for a one-off"
		case c.lowDays > 1:
			note += fmt.Sprintf(", %d days far below their usual load taken for one-offs", c.lowDays)
		}
		if c.shift.at > 0 {
			note += fmt.Sprintf(", level shift (%s) at point %d", c.shift, c.shift.at)
		}
		e.notes = append(e.notes, note)
	}
}

// score fills m.errs and m.mae from the backtest origins.
func (e *evaluation) score(m *scored) {
	raw := e.cleaning.raw
	m.errs = make([][]float64, len(e.origins))
	m.mae = make([]float64, len(e.origins))
	block := e.mem.floats(len(e.origins) * e.h) // one block for every origin's errors
	for j, o := range e.origins {
		errs := block[j*e.h : (j+1)*e.h : (j+1)*e.h]
		var ae float64
		var cnt int
		for k := range errs {
			errs[k] = math.NaN()
			if o+k >= len(raw) || math.IsNaN(raw[o+k]) {
				continue
			}
			errs[k] = raw[o+k] - m.fc[j][k]
			ae += math.Abs(errs[k])
			cnt++
		}
		m.errs[j] = errs
		m.mae[j] = math.NaN()
		if cnt > 0 {
			m.mae[j] = ae / float64(cnt) / e.scale
		}
	}
}

// fallbackOrder is the preference among models when nothing could be backtested.
var fallbackOrder = []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}

// resolve maps an Options.Model to the base model names to consider and a fallback chain.
func resolve(name string) ([]string, error) {
	switch name {
	case "", ModelAuto:
		return nil, nil
	case ModelSeasonalNaive:
		return []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}, nil
	case ModelNaiveWeekly:
		return []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}, nil
	case ModelNaiveDaily:
		return []string{ModelNaiveDaily, ModelNaive}, nil
	case ModelSeasonalMedian:
		return []string{ModelSeasonalMedian, ModelNaiveDaily, ModelNaive}, nil
	case ModelHarmonic:
		return []string{ModelHarmonic, ModelHarmonicDaily, ModelNaive}, nil
	case ModelHarmonicDaily:
		return []string{ModelHarmonicDaily, ModelNaive}, nil
	case ModelHoltWinters:
		return []string{ModelHoltWinters, ModelHoltWintersDay, ModelNaive}, nil
	case ModelHoltWintersDay:
		return []string{ModelHoltWintersDay, ModelNaive}, nil
	case ModelProfile:
		return []string{ModelProfile, ModelProfileDaily, ModelNaive}, nil
	case ModelProfileDaily:
		return []string{ModelProfileDaily, ModelNaive}, nil
	case ModelNaive:
		return []string{ModelNaive}, nil
	case ModelCombination:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown model %q (want auto or one of %s)", name, strings.Join(Models(), ", "))
}
