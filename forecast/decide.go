package forecast

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// A decision is what the forecasting procedure does at one backtest origin, or at the series'
// end for the final forecast, knowing only the origins whose horizons had passed by then:
// which model it uses and the upper bound it puts on that model's forecast. Forecast takes the
// last decision; Evaluate scores the earlier ones, so the backtest measures exactly what
// Forecast does, without peeking.
type decision struct {
	m      *scored
	why    string
	look   []int     // indices of the origins it looked back on
	alpha  float64   // the miss rate its bound aimed at (adaptive conformal inference)
	upper  []float64 // nil when no origin lies before it
	missed float64   // share of its actuals above the bound, NaN when unknown
	// zeroed is m's forecast with 0 where the look-back actuals were mostly 0 (nil when not
	// zeroing or no such slot); useZeroed says the decision forecasts it, not m's forecast: it
	// had the lower absolute error on the look-back decisions that had one.
	zeroed    []float64
	useZeroed bool
}

// mean is the decision's point forecast at origin j (or the final forecast).
func (d decision) mean(j int) []float64 {
	if d.useZeroed {
		return d.zeroed
	}
	return d.m.fc[j]
}

// selector picks a model for the decision at time index at from the origins in look
// (possibly none).
type selector func(at int, look []int) (*scored, string)

// at is the time index of origin j, or the series' length for the final forecast.
func (e *evaluation) at(j int) int {
	if j < len(e.origins) {
		return e.origins[j]
	}
	return e.n
}

// lookBack returns the latest selectOrigins origins before j whose horizons ended by then.
func (e *evaluation) lookBack(j int) []int {
	t := e.at(j)
	var out []int
	for i := j - 1; i >= 0 && len(out) < selectOrigins; i-- {
		if e.origins[i]+e.h <= t {
			out = append(out, i)
		}
	}
	slices.Reverse(out)
	return out
}

// meanMAE is m's mean scaled error over the origins in look (NaN when none has actuals).
func meanMAE(m *scored, look []int) float64 {
	var s float64
	var n int
	for _, i := range look {
		if !math.IsNaN(m.mae[i]) {
			s += m.mae[i]
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// rank orders the base models a decision at time index at may choose by mean error over look,
// the simpler first on ties. A model needing more history than at sits the decision out, as
// it would in a forecast from there: a backtest measures what Forecast would have done.
func (e *evaluation) rank(at int, look []int) []*scored {
	type r struct {
		m *scored
		v float64
	}
	rs := make([]r, 0, len(e.models))
	for _, m := range e.models {
		if m.from > at {
			continue
		}
		v := meanMAE(m, look)
		if math.IsNaN(v) {
			v = math.Inf(1)
		}
		rs = append(rs, r{m, v})
	}
	slices.SortStableFunc(rs, func(a, b r) int { return cmpFloat(a.v, b.v) })
	out := make([]*scored, len(rs))
	for i, x := range rs {
		out[i] = x.m
	}
	return out
}

// combo is the pointwise median of members' forecasts, built once per member set.
func (e *evaluation) combo(members []*scored) *scored {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.name
	}
	key := strings.Join(names, "+")
	if c := e.combos[key]; c != nil {
		return c
	}
	c := &scored{name: ModelCombination, members: members, fc: make([][]float64, len(members[0].fc))}
	var buf []float64 // the default case's scratch
	for i := range c.fc {
		f := e.mem.floats(e.h)
		// The usual sizes, the median of three and the pools of four and five, without a call
		// per point (the same values as median).
		switch len(members) {
		case 3:
			x, y, z := members[0].fc[i], members[1].fc[i], members[2].fc[i]
			for k := range f {
				_, f[k], _ = order3(x[k], y[k], z[k])
			}
		case 4:
			w, x, y, z := members[0].fc[i], members[1].fc[i], members[2].fc[i], members[3].fc[i]
			for k := range f {
				_, a, b, _ := order4(w[k], x[k], y[k], z[k])
				f[k] = a + 0.5*(b-a)
			}
		case 5:
			v, w, x, y, z := members[0].fc[i], members[1].fc[i], members[2].fc[i], members[3].fc[i], members[4].fc[i]
			for k := range f {
				f[k] = median5(v[k], w[k], x[k], y[k], z[k])
			}
		default:
			if buf == nil {
				buf = make([]float64, len(members))
			}
			for k := range f {
				for j, m := range members {
					buf[j] = m.fc[i][k]
				}
				f[k] = median(buf)
			}
		}
		c.fc[i] = f
	}
	e.score(c)
	e.combos[key] = c
	return c
}

// poolSize and poolWithin say how far the combination grows past combinationSize: up to
// poolSize members, each next-ranked model joining while its mean error over the look-back is
// within poolWithin of the combinationSize-th's. Models that close cannot be told apart on a
// week of origins, and leaving one out on so small a lead is mostly luck: a pool of the models
// not clearly worse than the best, combined equally, beats both selection and a combination
// of fixed size (Kourentzes, Barrow & Petropoulos, 2019, "Another look at forecast selection
// and combination: evidence from forecast pooling"). The pool grows only on a full week of
// look-back origins after an ordinary day (ordinaryLastDay).
//
// Tuned on the odd-numbered half of M4's 414 hourly series (the last 48 h of each training
// series forecast from the rest): mean sMAPE 9.72 → 9.55; confirmed on the even half, 10.36 →
// 10.20 (all 414: 10.04 → 9.87). A fixed median of four scored 9.65 and 10.13 there, and cost
// the traces at 1 h (median 0.702 → 0.722) and the dip family (1.044 → 1.104 × the best
// single model, seed 42). The twelve traces' medians moved 0.670 → 0.674 at their own
// step, 0.702 → 0.700 at 1 h and 0.636 → 0.627 at 1 h over 48 h, their worst at 1 h 0.989 →
// 0.966 (GOOG); the generated normal sets at 28 days 0.757 → 0.753.
const (
	poolSize   = 5
	poolWithin = 0.3
)

// calmDay and calmQuarter: the last day is ordinary when its load against the same day a
// week before is within a factor calmDay of the three days before it (the median of their
// own week-on-week ratios: a steady trend is ordinary), and its last quarter within
// calmQuarter. After a day unlike those (a collapse, a storm of some hours, a step to a new
// level) the models disagree most on what comes next, and their errors on ordinary days say
// nothing of which is right; a pool of five then took in the models that follow the
// departure, and they outvoted the robust ones. Pooled after every day, issue 9's dip family
// (the last day at 20–50 %) went from 1.044 to 1.095 × the best single model (seed 42), rise
// 0.977 → 1.062 and step 0.992 → 1.031, and a 6-hour storm at a tenth of the load was
// forecast at 0.44 of the usual load for the next hour, not 0.33; with this they are 1.038,
// 0.981, 0.992 and 0.33 again. On the odd half of M4, 1.3 and 1.5 scored alike (9.55) and
// 1.2 a little less (9.57); 1.5 let the rise family's pool grow (1.012).
const (
	calmDay     = 1.3
	calmQuarter = 2.0
)

// bestCombo is the median combination of the models best over look (comboOf; among those that
// know the weekday where forTheWeekday says so), nil when fewer than two models can run.
func (e *evaluation) bestCombo(at int, look []int) *scored {
	ranked, _ := e.forTheWeekday(at, look, e.rank(at, look))
	return e.comboOf(at, ranked, look)
}

// comboOf is the median combination of the first combinationSize of ranked, pooled with the
// next ones whose mean error over look is within poolWithin of the last of those (up to
// poolSize) when look is a full week and the day before at was ordinary; nil when ranked holds
// fewer than two.
func (e *evaluation) comboOf(at int, ranked []*scored, look []int) *scored {
	if len(ranked) < 2 {
		return nil
	}
	k := min(combinationSize, len(ranked))
	if len(look) >= selectOrigins && e.ordinaryLastDay(at) {
		limit := (1 + poolWithin) * meanMAE(ranked[k-1], look)
		for k < min(poolSize, len(ranked)) && meanMAE(ranked[k], look) <= limit {
			k++
		}
	}
	return e.combo(ranked[:k])
}

// ordinaryLastDay says whether the day before time index at moved against the same day a week
// before as the three days before it did (calmDay), and its last quarter too (calmQuarter).
// Without a week and four days of history, or a reference day without load, nothing tells an
// odd day apart, and it is taken as ordinary.
func (e *evaluation) ordinaryLastDay(at int) bool {
	y := e.cleaning.fit
	d, w := e.p.D, e.p.W
	if at < w+4*d || at > len(y) {
		return true
	}
	weekOnWeek := func(from, to int) float64 { // NaN when the week before had no load
		if ago := mean(y[from-w : to-w]); ago > 0 {
			return mean(y[from:to]) / ago
		}
		return math.NaN()
	}
	var before [3]float64
	for i := range before {
		end := at - (i+1)*d
		if before[i] = weekOnWeek(end-d, end); math.IsNaN(before[i]) {
			return true
		}
	}
	ref := median(before[:])
	like := func(r, factor float64) bool {
		return math.IsNaN(r) || (ref > 0 && math.Abs(math.Log(r/ref)) <= math.Log(factor))
	}
	return like(weekOnWeek(at-d, at), calmDay) && like(weekOnWeek(at-max(1, d/4), at), calmQuarter)
}

// forTheWeekday keeps only the models that know the weekday in ranked, with a clause for the
// reason, when the look-back holds under a week of origins, the day to forecast's weekday was
// unlike the days before it a week ago (weekdayLikeTheDaysBefore), and two or more such models
// can run. The daily models forecast that day from the days before it, and no origin in so
// short a look-back is of its weekday to show what that costs. In the weekly models' first
// days (16 to 18 days of history, one to three origins to look back on) one storm-like day,
// where every model erred and the daily ones a little less, put two daily models in the median,
// and they forecast a Saturday from the Friday at four times the seasonal median's error. A
// full week of look-back holds the weekday's last occurrence, and the ranking then says whether
// the daily models carry to it. The generated normal sets' next-day MASE at 16, 17 and 18 days
// went 0.729, 0.751, 0.756 → 0.690, 0.694, 0.697 (fresh seeds 0.727, 0.752, 0.726 → 0.682,
// 0.682, 0.688). The traces' median at 16–25 days of history moved −9 to +3 % at 1 h (lower at
// nine of the ten lengths), and −3 to +4 % at their own step, where the tweets' weekly models
// are noisier at 5 min; at 28 days only the bounds' calibration moved.
func (e *evaluation) forTheWeekday(at int, look []int, ranked []*scored) ([]*scored, string) {
	if len(look) >= selectOrigins || e.weekdayLikeTheDaysBefore(at) {
		return ranked, ""
	}
	weekly := slices.DeleteFunc(slices.Clone(ranked), func(m *scored) bool { return m.from < e.p.W })
	if len(weekly) < 2 {
		return ranked, ""
	}
	return weekly, fmt.Sprintf("; the daily models sat out: this weekday was unlike the days before it a week ago, and none of the %d origins looked back on is one", len(look))
}

// selectAuto is automatic selection: the median combination of the best few models over the
// look-back origins (of those that know the weekday, where forTheWeekday says so; or the lone
// model that knows the weekday, weekdayAlone), unless one model beat it clearly (marginFor) and
// consistently (more than combineWins of at least combineMinOrig origins) and not lost the
// latest origin by far (latestLossFactor), and, against the lone weekday model, unless the day
// to forecast's weekday was unlike the days before it (weekdayLikeTheDaysBefore): a daily
// model's wins on the weekdays do not carry to the Saturday after them. Without that, a daily
// Holt-Winters that had won on the weekdays forecast that Saturday at 2.6 times the weekly
// profile's error. On the generated normal sets (seven sets of 60, each weekday last; seeds
// 11–17) the next day's MASE at 9, 10, 11, 12 and 13 days of history went 0.43, 0.49, 0.52,
// 0.44, 0.40 → 0.40, 0.40, 0.40, 0.40, 0.39 (fresh seeds 101–107: 0.45, 0.49, 0.50, 0.44, 0.40
// → 0.42, 0.40, 0.40, 0.40, 0.39); no failure-mode family got worse there (seeds 42 and 7),
// plateau at 10 days 0.92 → 0.57; the traces' medians moved only at 14 days (0.743 → 0.734).
func (e *evaluation) selectAuto(at int, look []int) (*scored, string) {
	if len(look) == 0 {
		return e.fallback(), fmt.Sprintf("no backtest origin in %d points for a %d-point horizon", e.n, e.h)
	}
	ranked := e.rank(at, look)
	if len(ranked) == 0 {
		return e.fallback(), fmt.Sprintf("no model forecasts from %d points", at)
	}
	ranked, weekdayOnly := e.forTheWeekday(at, look, ranked)
	best := ranked[0]
	c := e.weekdayAlone(ranked)
	if c == nil {
		c = e.comboOf(at, ranked, look)
	}
	if c == nil {
		return best, fmt.Sprintf("only model that could be backtested, MASE %.3f over %d daily origins", meanMAE(best, look), len(look))
	}
	if b, ok := e.afterBreak(at, ranked, c, look); ok {
		since := look[len(look)-b.streak:]
		return b.m, fmt.Sprintf("the load changed: on the latest %d of %d daily origins the default erred over %g times its usual (MASE %.3f, against %.3f before), and %s under 1/%g of that (%.3f)",
			b.streak, len(look), breakFactor, meanMAE(c, since), b.usual, b.m.name, breakFactor, meanMAE(b.m, since))
	}
	mb, mc := meanMAE(best, look), meanMAE(c, look)
	wins := 0
	for _, i := range look {
		if best.mae[i] < c.mae[i] {
			wins++
		}
	}
	latest := look[len(look)-1]
	held := heldBack(mb, mc, wins, len(look), best.mae[latest], c.mae[latest])
	if held == "" {
		if c.members != nil || e.weekdayLikeTheDaysBefore(at) {
			return best, fmt.Sprintf("backtest MASE %.3f beat the combination's %.3f on %d of %d daily origins%s", mb, mc, wins, len(look), weekdayOnly)
		}
		held = ", but its wins were on days unlike the weekday to forecast"
	}
	if !(mb < mc) {
		held = "" // no better: nothing held it back
	}
	if c.members == nil {
		return c, fmt.Sprintf("the only model that knows the weekday from %d days of history (MASE %.3f over %d daily origins; best %s %.3f%s)",
			at/e.p.D, mc, len(look), best.name, mb, held)
	}
	names := make([]string, len(c.members))
	for i, m := range c.members {
		names[i] = m.name
	}
	return c, fmt.Sprintf("median of %s, the best over %d daily origins (MASE %.3f; best single %s %.3f%s)%s",
		strings.Join(names, ", "), len(look), mc, best.name, mb, held, weekdayOnly)
}

// aBreak is a model that followed a lasting change in the load (afterBreak): on the latest
// streak look-back origins, where the default erred over breakFactor times its usual error.
type aBreak struct {
	m      *scored
	streak int
	usual  float64
}

// afterBreak finds the model that has followed a lasting change in the load which the default c
// missed: on each of the latest look-back origins, at least breakStreak of them, it erred under
// 1/breakFactor of c's error, and c erred over breakFactor times its usual (its median error on
// the origins before them, at least breakUsualOrigins of them). Of several, the longest run
// wins, then the lower mean error over it. A model forecasting from the last days (m.from under a
// week) is not taken for a weekday unlike the days before it (weekdayLikeTheDaysBefore): it
// followed the change on the days it was scored on, and would forecast a Saturday from a Friday.
//
// After a lasting change (users moved six hours east, a cache in front flattened the rhythm),
// the models fitted on weeks keep forecasting the old days, and the combination with them. The
// rule of wins over a week of origins (heldBack) let yesterday's load take over only on the
// fifth day after the change, and the days before were forecast at ten to fifteen times its
// error. The first day of a change no model sees coming; on the second a model forecasting it
// from the first is right. Two such days in a row are asked for, so the rule acts on the third
// day: one day forecast right from the day before after a departure is a departure that lasted
// two days, which a storm or a burst of news may. Fresh traces no setting was tuned on (a daily
// office curve moved six hours, and flattened, on day 20 of 30): the week scored 4.0 and 2.7
// times daily seasonal naive's MASE before, 1.00 and 0.96 with this; the failure modes' moved
// family (seeds 1-8) 1.306 -> 1.236 times the best single model on the mean, 1.436 -> 1.323 at
// worst. The twelve traces, at their own step, at 1 h, over four windows each and reversed in
// time, and the other failure modes were unchanged but for drift (mean 1.066 -> 1.065). Acting
// after one such day, on any weekday, took yesterday's load onto the rise family's Saturdays
// (rise 0.981 -> 1.085 of the best single model, normal 0.974 -> 1.004).
func (e *evaluation) afterBreak(at int, ranked []*scored, c *scored, look []int) (aBreak, bool) {
	var best aBreak
	var bestErr float64
	weekdayLike := e.weekdayLikeTheDaysBefore(at)
	for _, m := range ranked {
		if m == c || (m.from < e.p.W && !weekdayLike) {
			continue
		}
		streak := 0
		for k := len(look) - 1; k >= breakUsualOrigins; k-- {
			if i := look[k]; !(m.mae[i]*breakFactor < c.mae[i]) {
				break
			}
			streak++
		}
		var usual float64
		for ; streak >= breakStreak; streak-- {
			var broke bool
			if usual, broke = brokeOn(c, look, streak); broke {
				break
			}
		}
		if streak < breakStreak {
			continue
		}
		err := meanMAE(m, look[len(look)-streak:])
		if streak > best.streak || (streak == best.streak && err < bestErr) {
			best, bestErr = aBreak{m: m, streak: streak, usual: usual}, err
		}
	}
	return best, best.m != nil
}

// brokeOn reports whether c erred over breakFactor times its usual error on each of the latest
// streak origins of look, and that usual: its median error on the origins before them (false
// with fewer than breakUsualOrigins of those).
func brokeOn(c *scored, look []int, streak int) (usual float64, broke bool) {
	var buf [selectOrigins]float64
	before := buf[:0]
	for _, i := range look[:len(look)-streak] {
		if !math.IsNaN(c.mae[i]) {
			before = append(before, c.mae[i])
		}
	}
	if len(before) < breakUsualOrigins {
		return 0, false
	}
	usual = median(before)
	for _, i := range look[len(look)-streak:] {
		if !(c.mae[i] > breakFactor*usual) {
			return usual, false
		}
	}
	return usual, true
}

// breakFactor, breakStreak and breakUsualOrigins: see afterBreak.
const (
	breakFactor       = 2.0
	breakStreak       = 2
	breakUsualOrigins = 3
)

// heldBack says why a single model with mean error mb and wins over n look-back origins may not
// replace the default with mean error mc (a clause for the reason selectAuto gives), or "" when
// it beat it clearly and consistently: a user reading "best single 0.183" beside a combination's
// 0.207 sees which rule held. A model exact on every look-back origin (mb 0) where the default
// was not is trusted on fewer than combineMinOrig too: noise does not repeat a day to the last
// point. On issue 9's plateau family (whole-number steps, no noise) with 16 and 17 days of
// history, one or two origins to look back on, the combination scored a MASE of millions (the
// in-sample scale is near zero) against weekly naive's exact 0, and 0 with this; no other
// family, normal set or trace moved. lb and lc are the two's errors on the latest origin: a
// model that erred there more than latestLossFactor times the default did is held back too
// (latestLossFactor).
func heldBack(mb, mc float64, wins, n int, lb, lc float64) string {
	switch {
	case n < combineMinOrig && !(mb == 0 && mc > 0):
		if n == 1 {
			return ", but one origin is too few to trust one model"
		}
		return fmt.Sprintf(", but %d origins are too few to trust one model", n)
	case !(mb < (1-marginFor(n))*mc):
		return fmt.Sprintf(", a lead of %.1f %%, under the %.1f %% asked over %d origins", 100*(1-mb/mc), 100*marginFor(n), n)
	case !(float64(wins) > combineWins*float64(n)):
		return fmt.Sprintf(", but it won only %d of %d origins", wins, n)
	case lb > latestLossFactor*lc && lc == 0:
		return ", but on the latest origin it erred where the default was exact"
	case lb > latestLossFactor*lc:
		return fmt.Sprintf(", but on the latest origin it erred %.1f times as much", lb/lc)
	}
	return ""
}

// latestLossFactor holds back a single model that led over the look-back but erred on its
// latest origin more than this many times the default did: the days it led on may be over.
// On NYC taxi's second week after New Year, yesterday's load (daily seasonal naive) had led
// over the week before, whose same days a week earlier were the holidays'; on the Saturday that
// ended it, forecast from the Friday, it erred 1.9 times as much as the combination, then was
// kept alone for the Sunday and the Monday after (3.1 times), and the week scored 1.72 × weekly
// naive's MASE (1.25 with this). A bad day of a model that is right costs little: the default
// is the combination, which it is in. Tuned on taxi's four weekly windows and the odd half of
// M4's hourly series (sMAPE 9.548 → 9.543); the even half (10.196 both ways), the other traces'
// windows and the failure modes (seeds 1–12) moved by 0.004 at most.
const latestLossFactor = 1.5

// marginFor is the lead over the combination a single model needs on n look-back origins:
// combineMargin on a full look-back (selectOrigins), more on fewer, as the noise of a mean grows
// (1/√n): 15 % on three. A few days' lead is mostly luck where one of them was a storm: on NYC
// taxi with 21 days of history, Holt-Winters led by 12 % over three origins, two of them the
// blizzard's, because it followed the collapse fastest; it was chosen for the day after, when the
// load was back, at nearly four times weekly naive's error (the trace scored 1.215 × the better
// naive, 1.010 with this). Elsewhere the traces moved only at 22 days (CRM 0.801 → 0.763), 24
// days (taxi 1.187 → 1.158, GOOG 0.806 → 0.819) and 1 h with a 48 h horizon at 20 and 25 days
// (GOOG 1.368 → 1.426, 1.136 → 1.085). The failure modes and normal sets at 9–21 days moved by
// under 0.5 %, but for drift at 18 days on seeds 42, 7 and 3 (0.516 → 0.530). One bound widened:
// AAPL summed to 1 h (pinball 0.395 → 0.585 at 40 days, 0.788 → 1.398 with a 48 h horizon). Its
// fifth and sixth origins, with three and four to look back on, now take the combination, whose
// bound missed more of a burst there (0.29 and 0.44 against 0.19 and 0.29), and the adaptive miss
// rate (aciGamma) widens the week after it further.
func marginFor(n int) float64 {
	return combineMargin * math.Sqrt(float64(selectOrigins)/float64(max(1, n)))
}

// weekdayLikeTheDaysBefore says whether at's weekday, a week before, carried about the load
// of the days before it (its mean within weekdayTolerance of their median): only then do the
// daily models' backtests, on days forecast from the days before them, say how they forecast
// at's weekday.
func (e *evaluation) weekdayLikeTheDaysBefore(at int) bool {
	y := e.cleaning.fit
	day := at - e.p.W
	k := min(3, day/e.p.D)
	if day < 0 || k < 1 || day+e.p.D > len(y) {
		return true // nothing to tell them apart by: the backtests decide, as on any day
	}
	dayMean := func(from int) float64 { return mean(y[from : from+e.p.D]) }
	var before [3]float64
	for i := range k {
		before[i] = dayMean(day - (i+1)*e.p.D)
	}
	ref, target := median(before[:k]), dayMean(day)
	return ref > 0 && target > 0 && math.Abs(math.Log(target/ref)) <= weekdayTolerance
}

// weekdayAlone is the one model among ranked that forecasts from a week of history when no
// other does (the weekly profile, before the weekly models' two weeks), else nil. Auto's
// default is then that model, not a median with the daily models: two of those in a median of
// three outvote it where it matters, and a Saturday was forecast from Friday, a Monday from
// Sunday. Its own shrinkage falls back to the daily shape where one week cannot tell the
// weekdays apart. On the generated normal set (60 services, each weekday scored), with the
// profile's departures read from the first week (runProfiles), the next day's MASE fell from
// 0.77, 0.68, 0.73, 0.66 and 0.87 to 0.58, 0.42, 0.50, 0.42 and 0.75 at 8, 9, 10, 12 and 14
// days of history; on an ordinary weekday after another it rose by up to a third (one week's
// weekday is noisier than seven days' median).
//
// One week cannot tell a weekday's own load from an outage, a burst or a holiday in it, and on
// real series of two weeks the lone profile forecast those again: an EC2 CPU trace of NAB back
// at its level a week after a six-hour dip scored 0.920 against the combination's 0.317. Three
// ways of trusting it less were measured at 7 to 13 days of history (7 daily origins) and none
// kept, as what they gained on the series they were shaped on did not carry:
//   - alone only where it beat the daily profile over the look-back: 18 NAB traces (not in the
//     shared ones) 0.642 → 0.587 median MASE, five hourly power, traffic, bike and network
//     traces over four windows 0.876 → 0.740, the shared traces cut to 14 days 0.750 → 0.725;
//     but the generated normal set 0.880 → 0.923, and its failure modes × the best single
//     model normal 1.00 → 1.29, rise 1.03 → 1.33, spike 1.00 → 1.51, step 1.00 → 1.41;
//   - alone only for a weekday unlike the days before it: the traces within 2 %, the generated
//     sets as above (normal 1.27, dip 1.46);
//   - its one week's departures shrunk by how far the days seen twice repeated theirs: NAB 0.642
//     → 0.596 (the dip's trace 0.451), the hourly traces 0.876 → 0.823 (a window with Labor
//     Day 1.231 → 1.406), the generated sets unchanged; but the shared traces cut to 14 days
//     0.750 → 0.759, to 11 days unchanged, and reversed in time 0.751 → 0.754, 0.722 → 0.737,
//     NAB reversed 0.607 → 0.613. A plainer form of it forecast the first Saturday of a series
//     begun on a Monday from the weekdays
//     (TestAutoForecastsTheWeekFromItsFirstWeekWhateverDayItStarts).
func (e *evaluation) weekdayAlone(ranked []*scored) *scored {
	var lone *scored
	for _, m := range ranked {
		if m.from < e.p.W {
			continue
		}
		if lone != nil {
			return nil
		}
		lone = m
	}
	return lone
}

// fallback is the preferred model when nothing could be backtested.
func (e *evaluation) fallback() *scored {
	for _, n := range fallbackOrder {
		if m := e.find(n); m != nil {
			return m
		}
	}
	return e.models[0]
}

// decide runs the procedure through every origin and the final forecast, in time order:
// each decision selects with sel on its look-back origins and bounds the chosen forecast by
// the conformal quantile of the scaled errors there, at a miss rate adapted to the misses of
// the earlier decisions whose horizons have passed (adaptive conformal inference).
func (e *evaluation) decide(sel selector) []decision { return e.decideWith(sel, false) }

// decideZeroing decides as decide does and sets to 0 the slots of each decision's forecast
// where the load was mostly 0, once that paid on the decisions before it (zeroed). Auto
// selection and the combination do; a model asked for by name forecasts as it is.
func (e *evaluation) decideZeroing(sel selector) []decision { return e.decideWith(sel, true) }

func (e *evaluation) decideWith(sel selector, zeroing bool) []decision {
	zeroing = zeroing && slices.Contains(e.cleaning.raw, 0) // most load never is
	ds := make([]decision, len(e.origins)+1)
	target := 1 - e.q
	for j := range ds {
		look := e.lookBack(j)
		alpha := target
		for _, i := range look {
			if !math.IsNaN(ds[i].missed) {
				alpha += aciGamma * (target - ds[i].missed)
			}
		}
		alpha = math.Max(0, math.Min(target, alpha)) // widen only (aciGamma)
		m, why := sel(e.at(j), look)
		d := decision{m: m, why: why, look: look, alpha: alpha, missed: math.NaN()}
		d.upper = e.bound(m, j, look, alpha)
		if zeroing && d.upper != nil {
			d.zeroed = e.zeroed(m, j, look)
			d.useZeroed = d.zeroed != nil && e.zeroedWins(ds, look)
		}
		if d.upper != nil && j < len(e.origins) {
			d.missed = e.missShare(j, d.upper)
		}
		ds[j] = d
	}
	return ds
}

// missShare is the share of origin j's actuals above upper (NaN when none is known).
func (e *evaluation) missShare(j int, upper []float64) float64 {
	raw := e.cleaning.raw
	o := e.origins[j]
	var miss, all int
	for k, u := range upper {
		if o+k >= len(raw) || math.IsNaN(raw[o+k]) {
			continue
		}
		all++
		if raw[o+k] > u {
			miss++
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return float64(miss) / float64(all)
}

// scaleOf is what an error at forecast f is divided by: errors grow with the level, and
// scaled errors let a bound learned on a quiet day transfer to a busy one.
func (e *evaluation) scaleOf(j int, f float64) float64 {
	return math.Abs(f) + e.levelEps[j]
}

// bucketWidth pools neighbouring horizons so each quantile rests on enough errors, and on
// at least a bucketsPerDay-th of a day of them.
func (e *evaluation) bucketWidth(origins int) int {
	return max(1, min(e.h, max((minBucketErrors+origins-1)/max(1, origins), e.p.D/bucketsPerDay)))
}

// bound is m's forecast at decision j plus, per horizon, the split-conformal quantile at level
// 1−alpha (rank ⌈(n+1)(1−alpha)⌉ of n) of m's scaled errors on the look-back origins, pooled
// over neighbouring horizons; never below the forecast nor the anchor. Nil when look is empty.
func (e *evaluation) bound(m *scored, j int, look []int, alpha float64) []float64 {
	if len(look) == 0 {
		return nil
	}
	f := m.fc[j]
	up := make([]float64, e.h)
	bw := e.bucketWidth(len(look))
	buf := make([]float64, 0, bw*len(look))
	zs := make([]float64, 0, (e.h+bw-1)/bw) // per bucket, NaN where no actual was known
	for b := 0; b < e.h; b += bw {
		hi := min(e.h, b+bw)
		buf = buf[:0]
		for _, i := range look {
			for k := b; k < hi; k++ {
				if err := m.errs[i][k]; !math.IsNaN(err) {
					buf = append(buf, err/e.scaleOf(j, m.fc[i][k]))
				}
			}
		}
		z := math.NaN()
		if n := len(buf); n > 0 {
			r := int(math.Ceil(float64(n+1)*(1-alpha) - 1e-9))
			z = rankValue(buf, max(1, min(n, r))-1)
		}
		zs = append(zs, z)
	}
	// A bucket whose look-back actuals were all gaps (the last day of history missing) takes
	// its neighbours' quantile; left NaN it made the whole bound NaN (issue 9). With no actual
	// anywhere there is no backtest bound: the caller falls back as if look were empty.
	interpolate(zs)
	if math.IsNaN(zs[0]) {
		return nil
	}
	for k := range up {
		up[k] = f[k] + math.Max(0, zs[k/bw]*e.scaleOf(j, f[k]))
	}
	// The bound never falls below the same slot's median over the last weeks (the anchor).
	// After a day or two of collapsed load the adaptive models' level has fallen with it and
	// their errors there say nothing of the rebound; the median of the same slot in earlier
	// weeks is what load returns to.
	if e.anchor != nil {
		for k := range up {
			up[k] = math.Max(up[k], e.anchor[j][k])
		}
	}
	return up
}

// zeroed is m's forecast at decision j with 0 in the slots where most look-back actuals were
// 0, pooled over neighbouring horizons as the bound pools its errors (nil when there are
// none such, or m forecast 0 there already). Load counted in small numbers is mostly 0 in
// its quiet hours, while the models' forecasts there are small positive means (0.02, 0.3).
// The absolute error rewards the median, and that is 0; sMAPE scores every such point
// 200 against an actual 0, and the forecasts lost to seasonal naive, which repeats the
// zeros, on every trace of counts this sparse (CVS, PFE, UPS).
func (e *evaluation) zeroed(m *scored, j int, look []int) []float64 {
	raw, f := e.cleaning.raw, m.fc[j]
	bw := e.bucketWidth(len(look))
	var out []float64
	for b := 0; b < e.h; b += bw {
		hi := min(e.h, b+bw)
		var zeros, known int
		for _, i := range look {
			for _, y := range raw[e.origins[i]+b : e.origins[i]+hi] {
				if !math.IsNaN(y) {
					known++
					if y == 0 {
						zeros++
					}
				}
			}
		}
		if 2*zeros <= known {
			continue
		}
		for k := b; k < hi; k++ {
			if f[k] > 0 {
				if out == nil {
					out = slices.Clone(f)
				}
				out[k] = 0
			}
		}
	}
	return out
}

// zeroedWins says the look-back decisions' zeroed forecasts had the lower absolute error
// than their models' own (false when none had one).
func (e *evaluation) zeroedWins(ds []decision, look []int) bool {
	raw := e.cleaning.raw
	var own, zeroed float64
	for _, i := range look {
		z := ds[i].zeroed
		if z == nil {
			continue
		}
		f, o := ds[i].m.fc[i], e.origins[i]
		for k, y := range raw[o : o+e.h] {
			if !math.IsNaN(y) {
				own += math.Abs(y - f[k])
				zeroed += math.Abs(y - z[k])
			}
		}
	}
	return zeroed < own
}

// naiveSpread is the q quantile of the in-sample weekly (daily, one-step) changes: what a
// seasonal naive forecast would have missed by, the bound's fallback without a backtest.
func (e *evaluation) naiveSpread() float64 {
	raw := e.cleaning.fit
	lag := seasonalLag(len(raw), e.p)
	d := make([]float64, 0, len(raw))
	for i := lag; i < len(raw); i++ {
		d = append(d, raw[i]-raw[i-lag])
	}
	if len(d) == 0 {
		return 0
	}
	return quantile(d, e.q)
}

func forecast(s Series, h int, q float64, name string, mem *arena) (Result, error) {
	chain, err := resolve(name)
	if err != nil {
		return Result{}, err
	}
	if repeatsOnly(chain) {
		return forecastRepeat(s, h, q, name, chain)
	}
	ev, err := evaluate(s, h, q, selectOrigins, chain, mem)
	if err != nil {
		return Result{}, err
	}
	if len(ev.models) == 0 {
		if len(ev.notFinite) > 0 {
			return Result{}, fmt.Errorf("%w: every model that fits %d points overflowed (%s)", ErrNotFinite, len(s.Values), strings.Join(ev.notFinite, ", "))
		}
		return Result{}, fmt.Errorf("no model fits a series of %d points", len(s.Values))
	}
	var sel selector
	switch {
	case chain != nil:
		// An asked-for model, or the first of its fallbacks the history allows.
		var chosen *scored
		for _, n := range chain {
			if chosen = ev.find(n); chosen != nil {
				break
			}
		}
		if chosen == nil {
			return Result{}, fmt.Errorf("%s: no model of its fallback chain %s could forecast this series (%s)",
				name, strings.Join(chain, ", "), strings.Join(ev.notes, "; "))
		}
		why := "asked for " + name
		if chosen.name != name && !(name == ModelSeasonalNaive && chosen.name == ModelNaiveWeekly) {
			why += fmt.Sprintf("; history of %d points too short for it, fell back to %s", len(s.Values), chosen.name)
		}
		sel = func(int, []int) (*scored, string) { return chosen, why }
	case name == ModelCombination:
		sel = func(at int, look []int) (*scored, string) {
			if c := ev.bestCombo(at, look); c != nil {
				return c, "asked for combination"
			}
			m, why := ev.selectAuto(at, look)
			return m, "asked for combination; fewer than two models could be backtested; " + why
		}
	default:
		sel = ev.selectAuto
	}
	var ds []decision
	if chain == nil {
		ds = ev.decideZeroing(sel)
	} else {
		ds = ev.decide(sel)
	}
	final := ds[len(ds)-1]
	why := final.why
	if len(ev.notes) > 0 {
		why += "; " + strings.Join(ev.notes, "; ")
	}
	mean := slices.Clone(final.mean(len(ev.origins))) // out of the arena
	upper := final.upper
	if upper == nil {
		upper = make([]float64, h)
		spread := math.Max(0, ev.naiveSpread())
		for k, v := range mean {
			upper[k] = v + spread
		}
	}
	return Result{
		Model:    final.m.name,
		Reason:   why,
		Start:    s.End().Add(s.Step),
		Step:     s.Step,
		Mean:     mean,
		Upper:    upper,
		Backtest: ev.procedureScores(final.m, ds),
	}, nil
}

// procedureScores scores model m on every origin, and the procedure's bound by the share of
// actuals it covered on the origins where it had earlier ones to learn from.
func (e *evaluation) procedureScores(m *scored, ds []decision) Scores {
	var a acc
	for j := range e.origins {
		a.addForecast(e, m.fc[j], j)
	}
	s := a.scores()
	var c acc
	for j := range e.origins {
		c.addCoverage(e, j, ds[j].upper)
	}
	if c.all > 0 {
		s.Coverage = float64(c.in) / float64(c.all)
	}
	return s
}

// rankValue returns the k-th smallest (0-based) of v, reordering v. The bound's ranks sit near
// the top (the 64th of 70 at 90 %): a scan keeping the few largest beats a quickselect there.
func rankValue(v []float64, k int) float64 {
	m := len(v) - k // the m-th largest
	if m > 16 {
		return kth(v, k)
	}
	var store [16]float64
	top := store[:0] // the largest seen so far, ascending
	for _, x := range v {
		if len(top) == m {
			if x <= top[0] {
				continue
			}
			copy(store[:m-1], store[1:m]) // drop the smallest; x goes in below
			top = store[:m-1]
		}
		i := len(top)
		top = append(top, x)
		for ; i > 0 && top[i-1] > x; i-- {
			top[i] = top[i-1]
		}
		top[i] = x
	}
	return top[0]
}

// repeatsOnly reports whether every model of an asked-for chain repeats observations
// (seasonal naive and naive): those fit nothing, so nothing is backtested for them.
func repeatsOnly(chain []string) bool {
	if len(chain) == 0 {
		return false
	}
	for _, n := range chain {
		m, ok := modelNamed(n)
		if !ok || !m.fine {
			return false
		}
	}
	return true
}

func modelNamed(name string) (model, bool) {
	for _, m := range baseModels {
		if m.name == name {
			return m, true
		}
	}
	return model{}, false
}

// forecastRepeat is an asked-for seasonal naive (or naive) forecast: the first model of the
// chain the history allows repeats the gap-filled observations, and the bound adds the q
// quantile of the same lag's in-sample changes. It fits and backtests nothing: it is the
// floor of what a forecast costs, and the yardstick the other models are scored against.
func forecastRepeat(s Series, h int, q float64, name string, chain []string) (Result, error) {
	raw := sanitize(nil, s.Values)
	if !slices.ContainsFunc(raw, func(v float64) bool { return !math.IsNaN(v) }) {
		return Result{}, ErrNoData
	}
	filled := slices.Clone(raw)
	interpolate(filled)
	p := periodsFor(s.Step)
	n := len(raw)
	var m model
	for _, c := range chain {
		if cm, _ := modelNamed(c); cm.need.points(p) <= n && runsAt(cm, p, s.Step) {
			m = cm
			break
		}
	}
	why := "asked for " + name + "; repeats observations, nothing fitted or backtested"
	if m.name != name && !(name == ModelSeasonalNaive && m.name == ModelNaiveWeekly) {
		why += fmt.Sprintf("; history of %d points too short for %s, fell back to %s", n, name, m.name)
	}
	mean := m.run(nil, filled, nil, p, []int{n}, h)[0]
	lag := 1
	switch m.name {
	case ModelNaiveWeekly:
		lag = p.W
	case ModelNaiveDaily:
		lag = p.D
	}
	d := make([]float64, 0, n)
	for i := lag; i < n; i++ {
		if !math.IsNaN(raw[i]) && !math.IsNaN(raw[i-lag]) { // raw keeps its gaps
			d = append(d, raw[i]-raw[i-lag])
		}
	}
	spread := 0.0
	if len(d) > 0 {
		spread = math.Max(0, quantile(d, q))
	}
	upper := make([]float64, h)
	for k, v := range mean {
		upper[k] = v + spread
	}
	return Result{Model: m.name, Reason: why, Start: s.End().Add(s.Step), Step: s.Step, Mean: mean, Upper: upper}, nil
}
