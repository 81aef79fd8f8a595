package forecast

import (
	"math"
	"slices"
)

// Model names, as Result.Model and Options.Model spell them.
const (
	ModelAuto           = "auto"
	ModelSeasonalNaive  = "seasonal-naive" // weekly, daily when history is short
	ModelNaiveWeekly    = "seasonal-naive-weekly"
	ModelNaiveDaily     = "seasonal-naive-daily"
	ModelSeasonalMedian = "seasonal-median"
	ModelHarmonic       = "harmonic"
	ModelHarmonicDaily  = "harmonic-daily"
	ModelHoltWinters    = "holt-winters"
	ModelHoltWintersDay = "holt-winters-daily"
	ModelProfile        = "profile"
	ModelProfileDaily   = "profile-daily"
	ModelCombination    = "combination"
	ModelNaive          = "naive"
	medianWeeks         = 4 // seasonal-median looks back this many weeks at most
	combinationSize     = 3 // the combination is the median of this many best models, pooled with up to poolSize
	levelDays           = 3 // the local level is the median of this many days' levels
	// levelHedgeUp and levelHedgeDown are how far the local level moves from that median
	// towards the last day's (hedged): the last day alone cannot tell a dip or a burst (gone
	// tomorrow) from a new level (there to stay). 0.2 keeps the generated dip and rise
	// families within 8 % of the best single model (0 favours dips, 0.5 rises). A day above
	// the median moves it further: upwards 0.3 took the rise family from 0.995–1.030× the
	// best single model to 0.979–1.005 and the step family from 0.987–1.005 to 0.982–1.000
	// (12 seeds each), and left the twelve traces' median where it was (0.673 → 0.672; 1 h
	// 0.702 either way), their worst at taxi 0.973 → 0.970; the floors' replay of 29 traces
	// was unmoved (median shortfall −56.2 % → −56.1 % at +7.07 % → +7.11 % replica-hours).
	// Downwards below 0.2 took the dips from 1.07 to 1.01 but taxi (its blizzard) to 1.03 and
	// GOOG at 1 h to 1.04.
	levelHedgeUp      = 0.3
	levelHedgeDown    = 0.2
	minDailyCycles    = 2
	minWeeklyCycles   = 2
	holtWintersHuberK = 2.0         // Gelper, Fried & Croux (2010)
	arHalfLife        = 3 * 60 * 60 // seconds: the longest half-life of an AR(1) correction
	// growthAgree is how many of the last 14 days must each have moved the same way against
	// the same weekday a week before for weeklyGrowth to call it a trend: noise alone agrees
	// that often about once in 80 (a two-sided sign test), and on the twelve traces the gate
	// opened at 3 % of hourly refits on taxi and almost never on the tweets.
	growthAgree = 12
	// maxGrowth caps the trend read (5 % a day either way).
	maxGrowth = 1.05
)

// need says how much history a model needs.
type need int

const (
	needPoint need = iota // any history
	needDay               // a day: yesterday's load repeated
	needDays              // two days
	needWeek              // a week
	needWeeks             // two weeks
)

// model fits y (cleaned, no gaps) up to each origin and forecasts h points from it, in mem.
// origins are ascending and at most len(y); out[i] is the forecast from origins[i], fitted on
// y as adj[i] moves it (adj nil: no shift).
type model struct {
	name string
	need need
	run  func(mem *arena, y []float64, adj []levelAdj, p periods, origins []int, h int) [][]float64
	// fine models repeat observations: they run on the series' own observations (gaps
	// filled, never cleaned or coarsened), so seasonal naive is the yardstick every
	// forecaster knows.
	fine bool
}

// models lists the base models auto selects from, simplest first (ties go to the simpler).
var baseModels = []model{
	{ModelNaive, needPoint, runNaive, true},
	{ModelNaiveDaily, needDay, func(mem *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runLag(mem, y, a, p.D, o, h)
	}, true},
	{ModelNaiveWeekly, needWeeks, func(mem *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runLag(mem, y, a, p.W, o, h)
	}, true},
	{ModelSeasonalMedian, needWeeks, func(_ *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runSeasonalMedian(y, a, p, o, h)
	}, false},
	{ModelHoltWintersDay, needDays, func(_ *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runHoltWinters(y, a, p, false, o, h)
	}, false},
	{ModelHoltWinters, needWeeks, func(_ *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runHoltWinters(y, a, p, true, o, h)
	}, false},
	{ModelHarmonicDaily, needDays, func(_ *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runHarmonic(y, a, p, false, o, h)
	}, false},
	{ModelHarmonic, needWeeks, func(_ *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runHarmonic(y, a, p, true, o, h)
	}, false},
	{ModelProfileDaily, needDays, func(mem *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runProfile(mem, y, a, p, false, o, h)
	}, false},
	{ModelProfile, needWeek, func(mem *arena, y []float64, a []levelAdj, p periods, o []int, h int) [][]float64 {
		return runProfile(mem, y, a, p, true, o, h)
	}, false},
}

// Models returns the names Options.Model accepts besides "auto".
func Models() []string {
	names := []string{ModelSeasonalNaive}
	for _, m := range baseModels {
		names = append(names, m.name)
	}
	return append(names, ModelCombination)
}

// points is the history a model needs to forecast.
func (n need) points(p periods) int {
	switch n {
	case needWeeks:
		return minWeeklyCycles * p.W
	case needWeek:
		return p.W
	case needDays:
		return minDailyCycles * p.D
	case needDay:
		return p.D
	}
	return 1
}

// firstOrigin is the earliest backtest origin that scores a model fairly. A one-week model
// (the weekly profile) is scored from the daily models' first origin: before its week it
// forecasts as its daily half does, and a backtest from the first week on left one to six
// origins to choose and bound by under two weeks (at 9 and 10 days of history, the
// generated normal set's auto MASE was 16 % and 1 % higher, its coverage 0.79 and 0.83
// against 0.89 and 0.96).
func (n need) firstOrigin(p periods) int {
	if n == needWeek {
		return needDays.points(p)
	}
	return n.points(p)
}

// runNaive repeats the last value.
func runNaive(mem *arena, y []float64, adj []levelAdj, _ periods, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	for i, o := range origins {
		f := mem.floats(h)
		v := adjOf(adj, i).value(y, o-1)
		for k := range f {
			f[k] = v
		}
		out[i] = f
	}
	return out
}

// runLag repeats the last cycle of length lag.
func runLag(mem *arena, y []float64, adj []levelAdj, lag int, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	for i, o := range origins {
		a := adjOf(adj, i)
		f := mem.floats(h)
		for k := range f {
			f[k] = a.value(y, o-lag+k%lag)
		}
		out[i] = f
	}
	return out
}

// runSeasonalMedian forecasts each slot as the median of the same slot over the last
// (up to medianWeeks) weeks, robust to one bad week, times the level of the last days: the
// median over the last levelDays days of each day's load over what the same medians said of
// it, hedged towards the last day's. One odd day (a dip, a burst) moves it a little, a day
// collapsed to under half (levelCollapse) less still; a new level moves it once it has held
// two of the three days, where the weekly medians alone would repeat last week's. A load
// that grows steadily is forecast at its growth: the ratio carries the medians' lag. A median
// of m weeks lags 3.5(m+1) days, so a level day with fewer weeks before it than the forecast
// reads (a history whose length in weeks changed within the level's days: 21, 22, 28 or 29
// days) measured less of the lag than the forecast needs. Where weeklyGrowth confirms a trend,
// that day's medians are moved back by the growth over the missing weeks' lag. Without it, 2 %
// a day was forecast 4.5–7 % low at those lengths, and the service's 28-day history is one of
// them. Under three weeks (15 days: 4.5 % low) there is too little history to confirm a
// trend, and the lag stays.
func runSeasonalMedian(y []float64, adj []levelAdj, p periods, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	var buf [medianWeeks]float64
	sm := func(a levelAdj, t, m int) float64 { // the median of the same slot over m weeks before t
		b := buf[:0]
		for j := 1; j <= m; j++ {
			b = append(b, a.value(y, t-j*p.W))
		}
		return median(b)
	}
	num, den := make([]float64, 0, p.D), make([]float64, 0, p.D)
	for i, o := range origins {
		a := adjOf(adj, i)
		m := min(medianWeeks, o/p.W)
		g := 1.0
		if o-levelDays*p.D < m*p.W { // some level days have fewer weeks before them
			g = weeklyGrowth(y, a, p, o, num, den)
		}
		var ratios [levelDays]float64
		nd := 0
		for d := 0; d < levelDays; d++ {
			// The day's median over its medians': the ratio of a day that is its weeks'
			// shape scaled, untouched by a dead hour or a spike within it.
			num, den = num[:0], den[:0]
			for t := o - (d+1)*p.D; t < o-d*p.D; t++ {
				if mt := min(medianWeeks, t/p.W); t >= 0 && mt > 0 {
					num = append(num, a.value(y, t))
					ref := sm(a, t, mt)
					if mt < m && g != 1 {
						ref *= math.Pow(g, -3.5*float64(m-mt))
					}
					den = append(den, ref)
				}
			}
			if dm := median(den); len(den) > 0 && dm > 0 {
				ratios[nd] = median(num) / dm
				nd++
			}
		}
		level := 1.0
		if nd > 0 {
			l := median(ratios[:nd])
			if ratios[0] >= levelCollapse*l {
				l = hedged(l, ratios[0])
			} else {
				l += levelHedgeCollapse * (ratios[0] - l)
			}
			level = math.Max(0.2, math.Min(5, l))
		}
		f := make([]float64, h)
		for k := range f {
			f[k] = level * sm(a, o+k%p.W, m)
		}
		out[i] = f
	}
	return out
}

// weeklyGrowth is the load's daily growth factor when it has grown (or shrunk) week over week
// on nearly every one of the last two weeks' days (growthAgree of 14), by about as much in
// each week, else 1: noise does not agree for that long, and a level shift within them moved
// one week's ratios and not the other's.
func weeklyGrowth(y []float64, a levelAdj, p periods, o int, num, den []float64) float64 {
	if p.D < 2 || o < 3*p.W {
		return 1
	}
	var weeks [2]float64
	up, down := 0, 0
	for w := range weeks {
		var qs [7]float64
		for d := range qs {
			num, den = num[:0], den[:0]
			end := o - (7*w+d)*p.D
			for t := end - p.D; t < end; t++ {
				num = append(num, a.value(y, t))
				den = append(den, a.value(y, t-p.W))
			}
			dm := median(den)
			if !(dm > 0) {
				return 1
			}
			qs[d] = median(num) / dm
			if qs[d] > 1 {
				up++
			} else if qs[d] < 1 {
				down++
			}
			if min(up, down) > 14-growthAgree { // neither way can agree enough any more
				return 1
			}
		}
		weeks[w] = math.Log(median(qs[:]))
	}
	la, lb := weeks[0], weeks[1]
	if max(up, down) < growthAgree || la*lb <= 0 ||
		math.Min(math.Abs(la), math.Abs(lb)) < 0.5*math.Max(math.Abs(la), math.Abs(lb)) {
		return 1
	}
	g := math.Exp((la + lb) / 2 / 7)
	return math.Max(1/maxGrowth, math.Min(maxGrowth, g))
}

// levelCollapse and levelHedgeCollapse: a last day under half the level of the days before
// it (an outage, a storm, a holiday) moves the seasonal median's level only levelHedgeCollapse
// of the way, half as far as a smaller fall does. Such a day is more often gone the next day
// than a new level, and a floor should not fall on one bad day; a second one moves the median
// of the days itself. Hedged as a fall, a collapse to 20–50 % put the next day 10–16 % low.
// With this the generated dip family went from 1.077× the best single model to 1.015 (the
// worst of 13 seeds 1.097 → 1.044), the normal sets and the other families did not move, and
// the twelve traces' median went 0.672 → 0.670 (at 1 h, and at 1 h over 48 h, unchanged).
// Taxi's blizzard, whose first day did stay low a second, cost 0.970 → 0.984 of weekly naive
// at its own step, and 1.091 → 1.150 MASE over the first 4 h of hourly refits. Leaving
// collapses out entirely (a hedge of 0) took the dips to 1.019 but taxi to 1.003 and 1.204.
const (
	levelCollapse      = 0.5
	levelHedgeCollapse = 0.1
)

// hedged is the local level from the median m of the last days' levels and the newest
// day's: levelHedgeUp of the way to a higher newest, levelHedgeDown to a lower one.
func hedged(m, newest float64) float64 {
	if newest > m {
		return m + levelHedgeUp*(newest-m)
	}
	return m + levelHedgeDown*(newest-m)
}

// runHoltWinters is Taylor's (2003) double seasonal Holt-Winters, additive, without trend
// (a trend extrapolated a day ahead costs more than it earns on load), with the robust
// update of Gelper, Fried & Croux (2010): each observation is Huber-clipped against its
// one-step forecast before it updates the state, and the scale of those errors is tracked.
// Forecasts add an AR(1) correction of the last one-step error, φ^k·e (Taylor's adjustment),
// φ estimated on the one-step errors of the last week (or day).
//
// Smoothing constants are set as time constants, so they mean the same at any step: the
// level forgets in about 6 hours, the daily profile in about 5 days, the weekly in 3 weeks.
// With weekly false the weekly index stays zero (single daily seasonality).
//
// A decision whose history moves by a level shift before index s needs no second pass:
// the robust updates are translation and scale equivariant (moving every observation before s
// by c moves the level by c and leaves the indices and errors as they were; scaling them by f
// scales the level, the indices, the errors and their scale by f), so the pass over the shared
// history snapshots its state at s, the decision continues from the snapshot scaled and moved
// as its history was, over the points from s to its origin.
func runHoltWinters(y []float64, adj []levelAdj, p periods, weekly bool, origins []int, h int) [][]float64 {
	init := p.D
	if weekly {
		init = p.W
	}
	hw := newHWState(y[:init], p, weekly)
	arWin := p.D
	if weekly {
		arWin = p.W
	}
	errs := make([]float64, len(y))
	out := make([][]float64, len(origins))
	// Snapshots wanted: the shift points of decisions that have one after the first cycle.
	snaps := map[int]*hwState{}
	var snapAt []int // the same, ascending
	var rerun []int  // decisions whose shift falls inside the first cycle: their own pass
	for i := range origins {
		a := adjOf(adj, i)
		switch {
		case a.at == 0 || origins[i] < init:
		case a.at > init:
			if _, ok := snaps[a.at]; !ok {
				snaps[a.at] = nil
				snapAt = append(snapAt, a.at)
			}
		default:
			rerun = append(rerun, i)
		}
	}
	slices.Sort(snapAt)
	next := 0
	oi := 0
	for oi < len(origins) && origins[oi] < init {
		oi++ // no state yet: left nil
	}
	for t := init; t <= len(y); t++ {
		if next < len(snapAt) && snapAt[next] == t {
			snaps[t] = hw.clone()
			next++
		}
		for oi < len(origins) && origins[oi] == t {
			if adjOf(adj, oi).at == 0 {
				out[oi] = hw.forecast(errs, t, init, arWin, h)
			}
			oi++
		}
		if t == len(y) {
			break
		}
		errs[t] = hw.update(y[t])
	}
	// Decisions with a shift: continue from the snapshot at the shift, level moved.
	var errs2 []float64
	for i, o := range origins {
		a := adjOf(adj, i)
		st := snaps[a.at]
		if a.at <= init || o < init || st == nil {
			continue
		}
		st = st.clone()
		errs2 = append(errs2[:0], errs[:o]...)
		if f := a.factor(); f != 1 {
			st.scaleBy(f)
			for t := range a.at {
				errs2[t] *= f
			}
		}
		st.level += a.by
		for t := a.at; t < o; t++ {
			errs2[t] = st.update(y[t])
		}
		out[i] = st.forecast(errs2, o, init, arWin, h)
	}
	for _, i := range rerun {
		o := origins[i]
		ya := make([]float64, o)
		for t := range ya {
			ya[t] = adj[i].value(y, t)
		}
		out[i] = runHoltWinters(ya, nil, p, weekly, []int{o}, h)[0]
	}
	return out
}

// hwState is the state of a robust double seasonal Holt-Winters pass at one time.
type hwState struct {
	alpha, delta, omega float64
	weekly              bool
	level, sigma        float64
	floor               float64 // least sigma: from the first cycle's spread, so shifts keep it
	d, w                []float64
	si, wi              int // the slots of the next observation
}

// newHWState starts a pass from the first cycle y: level = its mean, daily index = the mean
// profile of its days, weekly index = what is left.
func newHWState(y []float64, p periods, weekly bool) *hwState {
	init := len(y)
	stepsPerHour := float64(p.D) / 24
	hw := &hwState{
		alpha:  1 - math.Exp(-1/(6*stepsPerHour)),
		delta:  1 - math.Exp(-1.0/5),
		omega:  1 - math.Exp(-1.0/3),
		weekly: weekly,
		level:  mean(y),
		d:      make([]float64, p.D),
		w:      make([]float64, p.W),
	}
	nd := init / p.D
	for i := 0; i < init; i++ {
		hw.d[i%p.D] += (y[i] - hw.level) / float64(nd)
	}
	if weekly {
		for i := 0; i < p.W; i++ {
			hw.w[i] = y[i] - hw.level - hw.d[i%p.D]
		}
	}
	// Robust scale of one-step errors, started from the first cycle's departures from the
	// level and the daily profile: with the weekly index, which is the remainder of exactly
	// these, the residuals would be zero by construction, the scale would start at its floor,
	// every later error would be clipped to nothing, and the state would freeze (a trend was
	// never followed).
	for i := 0; i < init; i++ {
		hw.sigma += math.Abs(y[i] - hw.level - hw.d[i%p.D])
	}
	// The floor keeps sigma positive: a hundredth of the cycle's spread about its level. It
	// scales with the spread, not the level, so a history moved by a constant runs the same
	// (the shift shortcut relies on it).
	for i := 0; i < init; i++ {
		hw.floor += math.Abs(y[i] - hw.level)
	}
	hw.floor = 1e-2*hw.floor/float64(init) + 1e-9
	hw.sigma = math.Max(1.25*hw.sigma/float64(init), hw.floor)
	hw.si, hw.wi = init%p.D, init%p.W
	return hw
}

func (hw *hwState) clone() *hwState {
	c := *hw
	c.d = append([]float64(nil), hw.d...)
	c.w = append([]float64(nil), hw.w...)
	return &c
}

// scaleBy makes the state the one a pass over the history multiplied by f would have reached:
// the updates are scale equivariant (errors, their clip and their scale's floor all move with
// the load).
func (hw *hwState) scaleBy(f float64) {
	hw.level *= f
	hw.sigma *= f
	hw.floor *= f
	for i := range hw.d {
		hw.d[i] *= f
	}
	for i := range hw.w {
		hw.w[i] *= f
	}
}

// update takes the next observation and returns its one-step error before the clip. The clip
// keeps an odd point out of the state, but the AR(1) correction must see what the load did:
// clipped, the error is at most two scales, and a collapse was not followed in the next hours
// at all (cleaning has cut the spikes before; a run that reaches the origin is kept only once
// it has lasted three hours). A weekly template whose last six hours fell to a tenth was
// forecast at 0.74 of its usual load for the next hour, by Holt-Winters and by auto; now at
// 0.08 and 0.11. Refitted every hour and scored over the first 4 h (accuracy -near 4h) on the
// failure modes (seed 42), the step family's MASE is 25 % lower and dip's 7 %; scored from
// midnight over the next day, dip's is 0.7 % higher and rise's 1.4 % lower. No trace's MASE
// moves, either way.
func (hw *hwState) update(yt float64) float64 {
	const lambda = 0.02 // scale forgets in about 50 steps
	si, wi := hw.si, hw.wi
	yhat := hw.level + hw.d[si] + hw.w[wi]
	e := yt - yhat
	lim := holtWintersHuberK * hw.sigma
	ec := math.Max(-lim, math.Min(lim, e))
	hw.sigma = math.Max(lambda*1.25*math.Abs(ec)+(1-lambda)*hw.sigma, hw.floor)
	yc := yhat + ec
	newLevel := hw.alpha*(yc-hw.d[si]-hw.w[wi]) + (1-hw.alpha)*hw.level
	hw.d[si] = hw.delta*(yc-newLevel-hw.w[wi]) + (1-hw.delta)*hw.d[si]
	if hw.weekly {
		hw.w[wi] = hw.omega*(yc-newLevel-hw.d[si]) + (1-hw.omega)*hw.w[wi]
	}
	hw.level = newLevel
	if hw.si++; hw.si == len(hw.d) {
		hw.si = 0
	}
	if hw.wi++; hw.wi == len(hw.w) {
		hw.wi = 0
	}
	return e
}

// forecast is h points from time t, with the AR(1) correction of the last one-step error,
// φ estimated on the errors of the last arWin points (errs[:t] are the pass's errors).
func (hw *hwState) forecast(errs []float64, t, init, arWin, h int) []float64 {
	f := make([]float64, h)
	phi := arPhi(errs[max(init, t-arWin):t], periods{D: len(hw.d), W: len(hw.w)})
	e := 0.0
	if t > init {
		e = errs[t-1]
	}
	pk := phi
	D, W := len(hw.d), len(hw.w)
	for k := range f {
		f[k] = hw.level + hw.d[(t+k)%D] + hw.w[(t+k)%W] + pk*e
		pk *= phi
	}
	return f
}

// arPhi is the lag-1 autocorrelation coefficient of e (least squares through the origin),
// clamped to [0, maxPhi(p)]: a negative or explosive correction is not worth its risk.
func arPhi(e []float64, p periods) float64 {
	var num, den float64
	for i := 1; i < len(e); i++ {
		num += e[i] * e[i-1]
		den += e[i-1] * e[i-1]
	}
	if den == 0 {
		return 0
	}
	return math.Max(0, math.Min(maxPhi(p), num/den))
}

// maxPhi is the largest AR(1) coefficient at p's step: the last error's effect halves within
// arHalfLife at most. A last error that lasts longer is a level, which the models' own level
// and the backtest judge; carried by φ near 1 at a fine step, one collapsed day (an outage,
// a holiday) dragged the whole next day down with it.
func maxPhi(p periods) float64 {
	return math.Pow(0.5, 86400/float64(p.D)/arHalfLife)
}
