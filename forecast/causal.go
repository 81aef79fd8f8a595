package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// Causal cleaning. Every decision (each backtest origin, and the final forecast at the
// series' end) must fit a history cleaned with data before it only, or the backtest measures
// a forecaster that knew the future. Cleaning every origin's history from scratch costs a
// full clean and a full model fit per origin; instead the history is cleaned once, in time
// order, so that each point's cleaned value depends only on data up to the end of its day:
//
//   - the warm-up, everything before the earliest origin, is cleaned in one batch (clean):
//     it lies before every decision;
//   - then day by day (blocks ending on the origins' grid), each new day is compared with the
//     median of the same slot in the last weeks of the cleaned history (the seasonal profile
//     known then; before a week of history, in the last days), shifted by the day's own median
//     offset from it (so a level shift or a busy day is not cut away as outliers); a point
//     whose residual lies beyond 3 IQR of the last week's residuals and whose load is more
//     than twice the highest expectation within cleanBand of it (a spike, far outside the
//     seasonal band; never a dip, a drifting peak or a plateau's edge) becomes a gap, and gaps
//     are filled from the profile, the offset and the residuals either side within the day;
//   - a run of outliers, or of load over twice its slot's usual (a step beside a peak stays
//     inside the band), that reaches a day's end, has lasted newLevelRun (cutRun; the previous
//     day's part counts, and stays cut) and holds a steady multiple of the usual load or a
//     steady amount over it (steadyLevel; a burst of news does neither) is kept: it is a new
//     level, and for the decisions at that end and the next few days' while it holds it is
//     the level shift, scaled as far as the load's swing over the run says (keepNewLevel),
//     and measured from the day's load before it where it holds most of the day (runLift);
//   - a whole day far below its usual load, against the scatter of the series' own days, is
//     taken for a one-off (a holiday, an outage) and replaced by the usual day but for its
//     last hours (lowDays); the third such day in a row is a drop that lasts, and is kept;
//   - a level shift is looked for at each decision in the daily levels before it only; the
//     history before a shift is brought to the new level for that decision's models (levelAdj:
//     scaled as far as the days' swing changed, then moved), which the models apply on the
//     fly (a prefix shift is cheap to fold into a harmonic regression's X'y and into a
//     Holt-Winters state), so every decision shares one cleaned array.
//
// Forecast uses the same procedure at the series' end, so the backtest measures it exactly.

// levelAdj is the level shift one decision found: the history before at is multiplied by
// scale (0 stands for 1) and moves by by.
type levelAdj struct {
	at    int
	by    float64
	scale float64
}

// String says how the history before the shift moved, for the forecast's notes.
func (a levelAdj) String() string {
	if f := a.factor(); f != 1 {
		return fmt.Sprintf("×%.3g", f)
	}
	return fmt.Sprintf("%+.4g", a.by)
}

// factor is what the history before the shift is multiplied by.
func (a levelAdj) factor() float64 {
	if a.scale == 0 {
		return 1
	}
	return a.scale
}

// value is base[t] as a decision with adjustment a sees it. Unclamped: a shifted history
// keeps its shape (forecasts are clamped at zero afterwards), and it keeps the models'
// shortcuts exact.
func (a levelAdj) value(base []float64, t int) float64 {
	if t < a.at {
		return base[t]*a.factor() + a.by
	}
	return base[t]
}

// causalPool is the span of past residuals that, with the day's own, set the day's outlier
// thresholds: a week, every weekday once; poolPast is about how many of them are used.
func causalPool(p periods) int { return p.W }

const poolPast = 250

// cleanCausal cleans raw (sanitized) for the decisions at times (ascending; the last is
// normally len(raw)), streaming from w (a decision time on the daily grid of the decisions,
// at most the earliest of them). It returns the cleaned series, with fit the shared history,
// adj the level shift of each decision, and shift that of the last.
func cleanCausal(mem *arena, raw []float64, p periods, w int, times []int) cleaned {
	n := len(raw)
	w = min(w, n)
	warm := clean(mem, raw[:w], p)
	if w == n {
		warm.adj = make([]levelAdj, len(times))
		return warm // no decision before the end: the batch clean is causal
	}
	c := cleaned{raw: raw, fit: mem.floats(n), outliers: warm.outliers, gaps: warm.gaps}
	copy(c.fit, warm.fit)
	copy(c.fit[w:], raw[w:]) // gaps and outliers are replaced day by day below
	if w < n && (w == 0 || math.IsNaN(c.fit[0])) {
		// Nothing observed before the first decision: there is no past to clean against, so
		// the whole series is cleaned at once (the one case where early origins see later data).
		c = clean(mem, raw, p)
		c.adj = make([]levelAdj, len(times))
		return c
	}
	base := c.fit
	resid := mem.floats(n) // residuals from the profile at their time, NaN where none
	for i := range resid {
		resid[i] = math.NaN()
	}
	ref := make([]float64, p.D)
	bandW := int(math.Round(cleanBand.Seconds() * float64(p.D) / 86400))
	top := make([]float64, p.D)
	ext := make([]float64, 0, p.D+2*bandW)
	dq := make([]int, 0, 2*bandW+1)
	var kbuf [medianWeeks]float64
	pool := make([]float64, 0, causalPool(p)+p.D)
	mPrev := 0.0
	absSum, absN, absT := 0.0, 0, 0 // running Σ|raw| for the IQR floor, up to the day's end
	stride := max(1, causalPool(p)/poolPast)
	runMin := int(math.Ceil(newLevelRun.Seconds() * float64(p.D) / 86400))
	carried := 0                    // outliers in a row at the end of the previous day
	newLevels := map[int]levelAdj{} // by the day's end: the new level a run reaching it set
	var level levelAdj              // the newest such level while it holds
	levelRise := 0.0                // and its rise over the expectation
	expect := make([]float64, p.D)
	low := lowDays{recent: int(math.Round(persistenceLag * float64(p.D) / 86400))}
	// Blocks of a day on the grid of w; those before w only score residuals for the pool.
	first := w - causalPool(p)/p.D*p.D
	for first < 2*p.D && first < w {
		first += p.D
	}
	for a := first; a < n; a += p.D {
		b := min(n, a+p.D)
		period := 0
		switch {
		case a >= p.W:
			// The same slot a week before as soon as there is one, not from the second week
			// on: on a service quiet at weekends, the last days' slots put a Saturday at the
			// weekdays' load, so a new level of 2.7 times its own came to 1.4 times that and
			// was not taken for one (issue 9's step family with two weeks of history).
			period = p.W
		case a >= 2*p.D && p.D > 1:
			period = p.D
		}
		if period == 0 {
			if a >= w {
				c.gaps += fillLinear(base, a, b)
			}
			continue
		}
		k := min(medianWeeks, a/period)
		refAt := func(t int) float64 {
			kb := kbuf[:0]
			for j := 1; j <= k; j++ {
				if u := t - j*period; u >= 0 && u < b {
					kb = append(kb, base[u])
				}
			}
			return median(kb)
		}
		ref = ref[:b-a]
		for t := a; t < b; t++ {
			ref[t-a] = refAt(t)
		}
		// The band's top: the highest expectation within bandW either side, so a peak that
		// drifts (earlier each day, later each week) stays inside it.
		ext = ext[:0]
		for t := a - bandW; t < b+bandW; t++ {
			if t >= a && t < b {
				ext = append(ext, ref[t-a])
			} else {
				ext = append(ext, refAt(t))
			}
		}
		top = slidingMax(top[:b-a], ext, 2*bandW+1, dq)
		// The day's offset from the profile: its median, so a shifted or busy day keeps its level.
		pool = pool[:0]
		for t := a; t < b; t++ {
			if !math.IsNaN(raw[t]) {
				pool = append(pool, raw[t]-ref[t-a])
			}
		}
		m := mPrev
		if len(pool) > 0 {
			m = median(pool)
		}
		mPrev = m
		for t := a; t < b; t++ {
			if !math.IsNaN(raw[t]) {
				resid[t] = raw[t] - ref[t-a] - m
			}
		}
		lowDay := low.judge(raw[a:b], ref, period == p.W && b-a == p.D)
		if a < w {
			// Warm-up: cleaned already, residuals kept for the thresholds. It lies before
			// every decision, so a day far below is replaced as soon as it is judged.
			low.take(base[a:b], ref, a, lowDay)
			continue
		}
		// Thresholds from the last week's residuals (every stride-th: a few hundred estimate
		// a quartile well, and the quantiles are the cost of this loop) and all of this day's.
		pool = pool[:0]
		for t := max(0, a-causalPool(p)); t < a; t += stride {
			if !math.IsNaN(resid[t]) {
				pool = append(pool, resid[t])
			}
		}
		for t := a; t < b; t++ {
			if !math.IsNaN(resid[t]) {
				pool = append(pool, resid[t])
			}
		}
		blk := resid[a:b:b]
		for ; absT < b; absT++ {
			if !math.IsNaN(raw[absT]) {
				absSum += math.Abs(raw[absT])
				absN++
			}
		}
		lvl := cleanLevel * absSum / float64(max(1, absN))
		far := func(i int) bool { return raw[a+i]-m > (1+cleanFar)*(top[i]+lvl) }
		// Most days have no point far outside the band: the quartiles, the cost of this loop,
		// are needed only to judge one that is.
		if anyFar(blk, far) && len(pool) >= 8 {
			q1, q3 := quartiles(pool)
			if iqr := q3 - q1; iqr > 1e-9*absSum/float64(max(1, absN)) { // as iqrFloor
				hi := q3 + cleanIQR*iqr
				for i, r := range blk {
					if !math.IsNaN(r) && r > hi && far(i) {
						blk[i] = math.NaN()
						c.outliers++
					}
				}
			}
		}
		// A run of outliers reaching the day's end that has lasted newLevelRun is a new level;
		// it holds for the decisions after while each day sits nearer it than the old one,
		// until dayShift can see it.
		if levelRise > 0 && m >= levelRise/2 && a-level.at < shiftMinDays*p.D+p.D {
			newLevels[b] = level
		} else {
			level, levelRise = levelAdj{}, 0
		}
		// A new level's points sit far above the usual load, some of them inside the band
		// where a peak is near, and they hold a steady level over it (a multiple, or an amount
		// added): a burst of news swings.
		over := func(i int) bool { return math.IsNaN(blk[i]) || raw[a+i] > (1+cleanFar)*(ref[i]+lvl) }
		run := cutRun(raw[a:b], over, carried)
		if run >= runMin && steadyLevel(raw[a:b], ref, lvl, run) {
			for i := range blk {
				expect[i] = ref[i] + m
			}
			span := min(run, b-a)
			lift := runLift(raw[a:b], ref, base[a-p.D:b-p.D], span, runMin, m, lvl)
			if adj, rise, restored, ok := keepNewLevel(blk, raw[a:b], expect[:len(blk)], a, span, lift); ok {
				newLevels[b], level, levelRise = adj, adj, rise
				c.outliers -= restored
			}
		}
		carried = run
		fill := mem.floats(len(blk))
		copy(fill, blk)
		// interpolate leaves an all-gap slice as it is (and says it filled nothing): a day
		// without one usable residual is the profile at the offset, or its gaps stay NaN.
		interpolate(fill)
		if math.IsNaN(fill[0]) {
			for i := range fill {
				fill[i] = 0
			}
		}
		for i, r := range blk {
			if math.IsNaN(r) {
				base[a+i] = math.Max(0, ref[i]+m+fill[i])
				if math.IsNaN(raw[a+i]) {
					c.gaps++
				}
			}
		}
		low.take(base[a:b], ref, a, lowDay)
	}
	c.lowDays = len(low.starts)
	c.adj = make([]levelAdj, len(times))
	if p.D > 1 {
		// Level shifts are judged on the days as they were: a drop that lasts is a shift
		// from its first day, though its first days were taken for one-offs.
		seen := low.restored(mem, base)
		days := map[int][]float64{}   // daily medians of seen per alignment
		swings := map[int][]float64{} // and the days' swings (daySwing)
		var buf []float64
		var scratch shiftScratch
		for i, t := range times {
			if t < 4*p.D {
				continue
			}
			off := t % p.D
			med, ok := days[off]
			if !ok {
				var sw []float64
				for s := off; s+p.D <= n; s += p.D {
					buf = append(buf[:0], seen[s:s+p.D]...)
					m := median(buf)
					med = append(med, m)
					sw = append(sw, daySwing(seen[s:s+p.D], m))
				}
				days[off], swings[off] = med, sw
			}
			if adj, ok := newLevels[t]; ok {
				c.adj[i] = adj // the newest level: it started after any day's shift
				continue
			}
			nd := (t - off) / p.D
			if at, before, after := dayShift(med[:nd], p, &scratch); at > 0 {
				// The history brought to the new level must end where the days taken for
				// one-offs (replaced at the old level) do.
				from := low.after(off+at*p.D, t)
				c.adj[i] = shiftBetween(from, before, after, swingRatio(swings[off][:nd], at))
			}
		}
	}
	if len(c.adj) > 0 {
		c.shift = c.adj[len(c.adj)-1]
	}
	return c
}

// lowDays takes a whole day far below its usual load for a one-off (a holiday, an outage, a
// storm) and replaces it in the models' history by the usual day at the recent days' level, so
// it is not forecast again tomorrow nor a week later. Far below is against the series' own
// days: the day's load over its slots' usual (the weeks' median the outlier rule compares
// with), as a log ratio, below the recent days' median ratio by lowDayDrop and by lowDayMADs of
// their spread, so the noisy days of a bursty series are load. A drop that lasts shiftMinDays
// days is a new level: its first days stay replaced (the decisions after them saw them so), the
// days from the third on are kept, and the level shift, judged on the days as they were, moves
// the history before them, the replaced days with it.
type lowDays struct {
	logs   []float64 // each judged day's log ratio of load to its usual, oldest first
	run    int       // days far below in a row up to the last judged one
	starts []int     // the first points of the replaced days, ascending
	saved  []float64 // their values before replacement, a day after another
	recent int       // points at a replaced day's end kept as observed
	buf    []float64 // scratch for the medians
}

// judge says whether the day raw (observations; NaN for gaps), whose slots' usual load is
// ref, is one to replace: far below, and not the third or later such day in a row. A day is
// judged only when judgeable (a whole day, its usual from the weeks before) and half
// observed; every judged day but a replaced one joins the recent days.
func (l *lowDays) judge(raw, ref []float64, judgeable bool) bool {
	if !judgeable {
		return false
	}
	var load, usual float64
	seen := 0
	for i, x := range raw {
		if !math.IsNaN(x) {
			load += x
			usual += ref[i]
			seen++
		}
	}
	if 2*seen < len(raw) || usual <= 0 {
		return false
	}
	lr := math.Log(math.Max(load/usual, lowDayFloor))
	past := l.logs[max(0, len(l.logs)-lowDayPool):]
	l.logs = append(l.logs, lr)
	if len(past) < lowDayMinPast {
		return false
	}
	l.buf = append(l.buf[:0], past...)
	mid := median(l.buf)
	for i, x := range l.buf {
		l.buf[i] = math.Abs(x - mid)
	}
	spread := 1.4826 * median(l.buf)
	if lr >= mid-math.Max(lowDayDrop, lowDayMADs*spread) {
		l.run = 0
		return false
	}
	l.run++
	if l.run >= shiftMinDays {
		return false // from the third day in a row, a lasting drop: kept
	}
	// A one-off is not the series' usual scatter: the days after are judged without it.
	l.logs = l.logs[:len(l.logs)-1]
	return true
}

// take replaces the day day (cleaned, starting at point a, its usual load ref) when told to: it
// is saved and overwritten by its usual load at the last lowDayLevel days' level (the median of
// their ratios to their usual), but for its last persistenceLag. The decision at the day's end
// sees those hours as the current level, as the profile's offset and Holt-Winters' level read
// it: a storm of six hours at a tenth of the load (the day at 0.73 of its usual) is followed in
// the first hour and gone by night, as without the rule. The decisions after it see a dip of
// three hours, which the seasonal models carry no further than any.
func (l *lowDays) take(day, ref []float64, a int, replace bool) {
	if !replace {
		return
	}
	l.starts = append(l.starts, a)
	l.saved = append(l.saved, day...)
	l.buf = append(l.buf[:0], l.logs[max(0, len(l.logs)-lowDayLevel):]...)
	level := math.Exp(median(l.buf))
	for i := range day[:max(0, len(day)-l.recent)] {
		day[i] = ref[i] * level
	}
}

// restored is base with the replaced days as they were (base itself when none was).
func (l *lowDays) restored(mem *arena, base []float64) []float64 {
	if len(l.starts) == 0 {
		return base
	}
	out := mem.clone(base)
	d := l.dayLen()
	for i, a := range l.starts {
		copy(out[a:a+d], l.saved[i*d:(i+1)*d])
	}
	return out
}

// dayLen is how many points each replaced day spans (all are whole days of one length); it
// is asked only when some days were replaced.
func (l *lowDays) dayLen() int { return len(l.saved) / len(l.starts) }

// after moves at, the first point of a level shift found for the decision at t, past the
// replaced days that start there: they hold the old level, so the history to bring to the
// new one ends after them.
func (l *lowDays) after(at, t int) int {
	if len(l.starts) == 0 {
		return at
	}
	d := l.dayLen()
	for _, a := range l.starts {
		if a == at && a+d <= t {
			at += d
		}
	}
	return at
}

// cutRun is how many observed points the run of outliers at the end of a day spans: the
// longest span reaching the day's end, starting on an outlier, at least runShare of whose
// points were cut (a new level with noise has a few points inside the band, which must not
// break it), plus carried (the previous day's run) when it spans the whole day. raw holds the
// day's observations, and isCut says which of them count as cut.
func cutRun(raw []float64, isCut func(i int) bool, carried int) int {
	obs, cut, run := 0, 0, 0
	for i := len(raw) - 1; i >= 0; i-- {
		if math.IsNaN(raw[i]) {
			continue
		}
		obs++
		if isCut(i) {
			cut++
			if float64(cut) >= runShare*float64(obs) {
				run = obs
			}
		}
		if obs >= 4 && 2*cut < obs {
			return run // most of the last points in the band: the run ended
		}
	}
	if run == obs {
		return run + carried
	}
	return run
}

// steadyLevel says whether the last span observed points of a day's load raw hold a steady
// level over their slots' usual load ref: a steady multiple of it (users scaled) or a steady
// amount over it (a job added), each within steadySpread of its median (median absolute
// deviation), shortRunSpread on fewer than shortRun points. A burst of news is neither.
func steadyLevel(raw, ref []float64, lvl float64, span int) bool {
	ratios := make([]float64, 0, span)
	diffs := make([]float64, 0, span)
	for i := len(raw) - 1; i >= 0 && len(ratios) < span; i-- {
		if !math.IsNaN(raw[i]) {
			ratios = append(ratios, raw[i]/(ref[i]+lvl))
			diffs = append(diffs, raw[i]-ref[i])
		}
	}
	limit := steadySpread
	if len(ratios) < shortRun {
		limit = shortRunSpread
	}
	return relSpread(ratios) <= limit || relSpread(diffs) <= limit
}

// relSpread is the median absolute deviation of v over its median, +Inf unless the median is
// positive. It overwrites v.
func relSpread(v []float64) float64 {
	m := median(v)
	if !(m > 0) {
		return math.Inf(1)
	}
	for i, x := range v {
		v[i] = math.Abs(x - m)
	}
	return median(v) / m
}

// keepNewLevel restores the outliers among the last span observed points of a day that
// starts at a (the previous day's part of a run stays cut: the decisions before this day saw
// it so). blk holds the day's residuals with the outliers cut (NaN), raw its observations and
// expect the expectation each residual is from. It returns the level shift the span is for
// the decision at the day's end (the history before its first point brought to the span's
// median residual over the expectation, scaled as far as the span's swing says), that rise,
// how many points it restored, and whether the span is a new level at all. lift is how far the
// span itself raised the day's offset in expect (runLift): the rise and the load it rose from
// are measured without it.
func keepNewLevel(blk, raw, expect []float64, a, span int, lift float64) (adj levelAdj, rise float64, restored int, ok bool) {
	first, kept := len(blk), make([]float64, 0, span)
	exp := make([]float64, 0, span)
	load := make([]float64, 0, span)
	for i := len(blk) - 1; i >= 0 && len(kept) < span; i-- {
		if math.IsNaN(raw[i]) {
			continue
		}
		if math.IsNaN(blk[i]) {
			blk[i] = raw[i] - expect[i]
			restored++
		}
		first = i
		kept = append(kept, blk[i]+lift)
		exp = append(exp, expect[i]-lift)
		load = append(load, expect[i]+blk[i])
	}
	if len(kept) == 0 {
		return levelAdj{}, 0, 0, false
	}
	// How much wider the new level swings than the usual load: the slope of the load on its
	// expectation over the span (a tenant's users scale the day; a batch job adds). Where the
	// usual load hardly moves over the span (its sd under swingSpread of its mean) the slope
	// is mostly noise: the swing is left unknown.
	swing := math.NaN()
	if me, sd := stat.PopMeanStdDev(exp, nil); len(kept) >= 3 && sd > swingSpread*math.Abs(me) {
		_, swing = stat.LinearRegression(exp, load, nil, false)
	}
	rise = median(kept)
	before := median(exp)
	// A span whose points were all inside the band is a new level only while it stands out
	// of the day's expectation: once the day's offset has taken it in (a whole day at the
	// level), the level held from before, or a shift of the days, says where it began.
	ok = restored > 0 || rise >= cleanFar*before
	return shiftBetween(a+first, before, before+rise, swing), rise, restored, ok
}

// runLift is how far a run of span observed points at the end of a day raw lifted the day's
// offset m from its slots' usual load ref, where the run holds half the day or more: m less
// the offset of the points before the run (at least least of them). There m is mostly the
// run's own, and the run measured against ref+m hardly rises: a step of ×2.9 seen for 13 hours
// was taken for no new level, and every model forecast the next day at the old one. Only a run
// that also stands over the same hours yesterday (prev) by cleanFar lifts: a run over ref alone
// is a day back at its level after a dip the week before.
func runLift(raw, ref, prev []float64, span, least int, m, lvl float64) float64 {
	before := make([]float64, 0, len(raw))
	rise := make([]float64, 0, span)
	for i := len(raw) - 1; i >= 0; i-- {
		switch {
		case math.IsNaN(raw[i]):
		case len(rise) < span:
			rise = append(rise, raw[i]/(prev[i]+lvl))
		default:
			before = append(before, raw[i]-ref[i])
		}
	}
	if len(before) < least || len(rise) < len(before) || !(median(rise) > 1+cleanFar) {
		return 0 // a run of under half the day is not what m mostly measures
	}
	return m - median(before)
}

// dayShift looks for a level shift in the daily medians med (oldest first): with two weeks or
// more, the weekday effects (the median over weeks of each weekday's departure from the
// centred weekly mean) are taken out first so weekends are not shifts. It returns the first
// day at the new level and the levels before and after it, or zeros. Weekday effects are
// amounts first (a constant added to every day keeps them); where that finds no shift, they
// are shares, on the medians' logarithms: users leaving scale a weekend down with the week.
// A weekly load scaled to 30 %, its weekends at half its weekdays, had the weeks' effects as
// amounts (weekends 50 below) taken out of days whose weekends were 15 below: its weekends
// stood far above its weekdays, and after the drop's first day no shift was found.
func dayShift(med []float64, p periods, sc *shiftScratch) (int, float64, float64) {
	nd := len(med)
	if nd < 4 {
		return 0, 0, 0
	}
	if at, before, after := levelShiftDays(sc.withoutWeekdays(med, p)); at > 0 {
		return at, before, after
	}
	logs := sc.logs[:0]
	for _, m := range med {
		if m <= 0 {
			return 0, 0, 0 // an empty day has no share
		}
		logs = append(logs, math.Log(m))
	}
	sc.logs = logs
	at, before, after := levelShiftStep(sc.withoutWeekdays(logs, p), math.Log1p(shiftMinStep))
	if at == 0 {
		return 0, 0, 0
	}
	return at, math.Exp(before), math.Exp(after)
}

// shiftScratch is dayShift's scratch space, reused over a cleaning's decisions.
type shiftScratch struct {
	dev       [7][]float64
	out, logs []float64
}

// withoutWeekdays is the daily levels lv less their weekday effects, given two weeks or
// more (else lv itself): each weekday's median departure from the centred weekly mean,
// less their mean. The result is valid until the next call.
func (sc *shiftScratch) withoutWeekdays(lv []float64, p periods) []float64 {
	nd := len(lv)
	if nd < 14 || p.W <= p.D {
		return lv
	}
	var eff [7]float64
	for i := range sc.dev {
		sc.dev[i] = sc.dev[i][:0]
	}
	for d := 3; d+3 < nd; d++ {
		ma := mean(lv[d-3 : d+4])
		sc.dev[d%7] = append(sc.dev[d%7], lv[d]-ma)
	}
	for i := range eff {
		eff[i] = median(sc.dev[i])
	}
	em := mean(eff[:])
	out := sc.out[:0]
	for d := range lv {
		out = append(out, lv[d]-(eff[d%7]-em))
	}
	sc.out = out
	return out
}

// fillLinear fills the gaps of v[a:b] causally: linearly between finite neighbours within
// v[:b], flat after the last. It returns how many points it filled.
func fillLinear(v []float64, a, b int) int {
	lo := a
	if a > 0 {
		lo = a - 1 // the previous point is filled already
	}
	return interpolate(v[lo:b])
}

// adjOf is adj[i], or no shift when adj is nil.
func adjOf(adj []levelAdj, i int) levelAdj {
	if adj == nil {
		return levelAdj{}
	}
	return adj[i]
}

// slidingMax sets out[i] to the largest of in[i : i+w] (len(in) = len(out)+w-1), in linear time
// with a deque of indices of decreasing values; dq is scratch space.
func slidingMax(out, in []float64, w int, dq []int) []float64 {
	dq = dq[:0]
	for j, x := range in {
		for len(dq) > 0 && in[dq[len(dq)-1]] <= x {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, j)
		if dq[0] <= j-w {
			dq = dq[1:]
		}
		if i := j - w + 1; i >= 0 {
			out[i] = in[dq[0]]
		}
	}
	return out
}
