package forecast

import (
	"fmt"
	"math"
	"slices"
)

// Phase shifts. A series recorded in UTC whose users keep local time moves its whole day an
// hour at each change of daylight saving time; a service whose users move, or whose nightly
// job is rescheduled, moves it too. The models fitted on weeks then forecast every ramp at the
// old hour for weeks: the weekly ones until the shift is a week old, the seasonal median, the
// profile, Holt-Winters and the harmonic regression until it has left their history. Where
// the latest days match the same weekdays a week before clearly better shifted by whole hours
// than not, the history before the shift is read shifted so (realigned), for the decisions
// that know it: the old weeks then forecast the new hours.
//
// Each decision finds the shifts in its own history (the days before its origin), so the
// backtest measures what the forecast at the end does. Decisions that know the same shifts
// share one realigned history and one pass of the models; where no shift is found, the one
// group is the history as it is. The bound's floor (anchorForecasts) reads the weeks before a
// shift realigned too, or it would hold the old peak's hours high. The repeating yardsticks
// (seasonal naive, naive) are not realigned: they repeat the observations, as everyone's do.

// phaseShift is a move of the load's daily shape found in the history: from at on, the load
// is the history before at read lag points later (y[t] ≈ y[t−W+lag] across it; a positive lag
// is a day come earlier, as a series in UTC does in spring). seen is the day's end at which it
// was found: the decisions at or after seen know it.
type phaseShift struct {
	at, lag, seen int
}

// phaseMaxHours, phaseGain, phaseFit, phaseStreak and phaseRunMax: a shift is phaseStreak days
// in a row that each match the same weekday a week before shifted by the same whole number of
// hours (any, up to half a day either way), with under phaseGain of the error of the match
// unshifted, after a day that matched its week unshifted clearly (every shift erred over
// 1/phaseGain times as much: the series' days are sharp enough to tell a shift), and no day
// since that erred over phaseFit times as much as that day did, shifted or not (errors as
// shares of the day's load), but the day before the shifted ones: the day of the move.
// On the tweet traces no day is that clear (one in 47 at most): a burst matches some shift by
// chance, and at 1 h one day in four matched one under phaseGain. A day that moved matched
// its shift at 0.11 to 0.62 of the unshifted error, on web and office curves with 4 % noise,
// and within 0.85 to 1.83 times the error of the steady day before. Where only part of the day
// moved (a nightly batch, a lunch peak rescheduled), the weekdays matched no shift well, at 2
// to 10 times that error, and a weekend without the rest of the day's shape matched the part's
// shift alone: read whole, the shift put the weekdays' ramps at the wrong hours. Two days, as
// for a lasting change of level or shape (breakStreak): one day shifted is an odd day. A
// single shift matches its week unshifted again a week after it; a run that outlasts
// phaseRunMax days, or moves on to another shift, is a drifting peak (yesterday's load
// forecasts it), and its shift is withdrawn.
const (
	phaseMaxHours = 12
	phaseGain     = 0.7
	phaseFit      = 2.0
	phaseStreak   = 2
	phaseRunMax   = 8
)

// dayMatch is how a day matched the same weekday a week before (dayPhase): lag is the shift
// in whole hours, as points, that matched it clearly best (phaseGain), else 0; steady says no
// shift came near matching it as well as none did.
type dayMatch struct {
	lag    int
	steady bool
	// err is the day's error at lag (a steady day's unshifted) over its mean load.
	err float64
}

// dayPhase is how the day ending at end matched the same weekday a week before, that day scaled
// to its mean.
func dayPhase(y []float64, p periods, end int) dayMatch {
	hour := p.D / 24
	start := end - p.D
	if start-p.W-phaseMaxHours*hour < 0 || end > len(y) {
		return dayMatch{}
	}
	day := y[start:end]
	dm := mean(day)
	errAt := func(lag int) float64 {
		ref := y[start-p.W+lag : end-p.W+lag]
		rm := mean(ref)
		if !(rm > 0) || !(dm > 0) {
			return math.NaN()
		}
		f, e := dm/rm, 0.0
		for i, v := range day {
			e += math.Abs(v - f*ref[i])
		}
		return e
	}
	e0 := errAt(0)
	if !(e0 > 0) {
		return dayMatch{}
	}
	best, bestErr := 0, math.Inf(1)
	for k := 1; k <= phaseMaxHours; k++ {
		for _, lag := range [2]int{-k * hour, k * hour} {
			e := errAt(lag)
			if math.IsNaN(e) {
				return dayMatch{}
			}
			if e < bestErr {
				best, bestErr = lag, e
			}
		}
	}
	// The errors as shares of the day's load: a quiet weekend errs less than a busy weekday.
	if bestErr < phaseGain*e0 {
		return dayMatch{lag: best, err: bestErr / dm}
	}
	return dayMatch{steady: bestErr*phaseGain >= e0, err: e0 / dm}
}

// phaseShiftsBefore is the shifts found in y's days ending on o's daily grid up to o, oldest
// first. days memoizes dayPhase by the day's end, shared by decisions on one grid.
func phaseShiftsBefore(y []float64, p periods, o int, days map[int]dayMatch) []phaseShift {
	hour := p.D / 24
	first := o - (o-p.W-p.D-phaseMaxHours*hour)/p.D*p.D // the earliest day's end with a week before it
	var shifts []phaseShift
	steady := false     // a clearly unshifted day came after the last run
	steadyErr := 0.0    // the latest such day's error
	odd, oddEnd := 0, 0 // the days since that matched nothing (oddDay), and the latest one's end
	run, runLag := 0, 0 // the days in a row ending at e that matched at runLag
	open := -1          // the index in shifts of the shift those days, or the run before, found
	for e := first; e <= o; e += p.D {
		d, ok := days[e]
		if !ok {
			d = dayPhase(y, p, e)
			days[e] = d
		}
		lag, oddDay := d.lag, d.err > phaseFit*steadyErr
		switch lag {
		case 0:
			switch {
			case d.steady:
				steady, steadyErr, odd = true, d.err, 0
			case oddDay:
				odd, oddEnd = odd+1, e
			}
			run, runLag, open = 0, 0, -1
			continue
		case runLag:
			run++
			if oddDay {
				steady = false // the shift does not fit the day: more than the hours moved
			}
		default:
			run, runLag = 1, lag
		}
		// The day a move happened holds hours of either phase, and may match neither; a week
		// later it is the reference of a day that may match some other shift.
		calm := odd == 0 || (odd == 1 && oddEnd == e-run*p.D)
		switch {
		case run == phaseStreak && open >= 0 && shifts[open].lag != lag, run > phaseRunMax && open >= 0:
			shifts, open = shifts[:open], -1 // it kept moving: a drift
		case run == phaseStreak && steady && calm:
			shifts = append(shifts, phaseShift{at: e - phaseStreak*p.D, lag: lag, seen: e})
			open, steady = len(shifts)-1, false
		}
	}
	return shifts
}

// phaseGroup is the decisions (their indices in the times given) that know the same shifts,
// and the history those shifts realign.
type phaseGroup struct {
	shifts []phaseShift
	y      []float64
	idx    []int
}

// phaseGroups groups the decisions at times (ascending) by the phase shifts each finds in y
// before it, each group with its history realigned; nil where none finds one, or where a day is
// not a whole number of hours.
func phaseGroups(mem *arena, y []float64, p periods, times []int) []phaseGroup {
	if p.D < 24 || p.D%24 != 0 {
		return nil
	}
	days := map[int]dayMatch{}
	var groups []phaseGroup
	for i, o := range times {
		shifts := phaseShiftsBefore(y, p, o, days)
		g := slices.IndexFunc(groups, func(g phaseGroup) bool { return slices.Equal(g.shifts, shifts) })
		if g < 0 {
			g = len(groups)
			groups = append(groups, phaseGroup{shifts: shifts, y: realigned(mem, y, shifts)})
		}
		groups[g].idx = append(groups[g].idx, i)
	}
	if len(groups) == 1 && len(groups[0].shifts) == 0 {
		return nil
	}
	return groups
}

// realigned is y with the history before each shift read as it was lag points later, the
// newest shift's phase throughout (realignedAt); y itself where there is no shift.
func realigned(mem *arena, y []float64, shifts []phaseShift) []float64 {
	if len(shifts) == 0 {
		return y
	}
	out := mem.floats(len(y))
	for t := range out {
		out[t] = y[realignedAt(shifts, t, len(y))]
	}
	return out
}

// fitByPhase runs fit once per phase group of the decisions at times (phaseGroups), on the
// group's history, its decisions' level shifts and origins, and gathers each model's forecasts
// for every decision (fit returns, per model, a forecast per origin given it), with the shifts
// each decision knows (nil: none knows one).
func fitByPhase(mem *arena, y []float64, adj []levelAdj, p periods, times []int,
	fit func(y []float64, adj []levelAdj, times []int) [][][]float64) ([][][]float64, [][]phaseShift) {
	groups := phaseGroups(mem, y, p, times)
	if groups == nil {
		return fit(y, adj, times), nil
	}
	var out [][][]float64
	known := make([][]phaseShift, len(times))
	for _, g := range groups {
		gt := make([]int, len(g.idx))
		ga := make([]levelAdj, len(g.idx))
		for j, i := range g.idx {
			gt[j], ga[j], known[i] = times[i], adjOf(adj, i), g.shifts
		}
		fc := fit(g.y, ga, gt)
		if out == nil {
			out = make([][][]float64, len(fc))
		}
		for m, f := range fc {
			if f == nil {
				continue
			}
			if out[m] == nil {
				out[m] = make([][]float64, len(times))
			}
			for j, i := range g.idx {
				out[m][i] = f[j]
			}
		}
	}
	return out, known
}

// finerShifts is known (fitByPhase's) on a grid f times as fine, whose point off is the coarse
// grid's first.
func finerShifts(known [][]phaseShift, f, off int) [][]phaseShift {
	if known == nil || f == 1 {
		return known
	}
	out := make([][]phaseShift, len(known))
	for i, shifts := range known {
		for _, s := range shifts {
			out[i] = append(out[i], phaseShift{at: off + s.at*f, lag: s.lag * f, seen: off + s.seen*f})
		}
	}
	return out
}

// realignedAt is the point of the history before end that the realigned history reads at t:
// t moved by the lags of the shifts after it, within [0, end). A decision knows a shift two
// days after it began (phaseStreak) and a lag is at most half a day, so a decision at end
// reads before it.
func realignedAt(shifts []phaseShift, t, end int) int {
	u := t
	for _, s := range shifts {
		if t < s.at {
			u += s.lag
		}
	}
	return min(end-1, max(0, u))
}

// phaseNote tells the user of a shift the forecast's history holds: how far the day moved, from
// which point of the series (at, at the series' own step; lag, in points per day perDay).
func phaseNote(at, lag, perDay int) string {
	way := "earlier"
	if lag < 0 {
		way = "later"
	}
	return fmt.Sprintf("the day's shape came %g h %s from point %d: the history before it is read shifted so",
		math.Abs(float64(lag))*24/float64(perDay), way, at)
}
