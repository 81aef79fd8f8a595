package forecast

import (
	"math"
	"time"
)

// The profile model: a robust seasonal profile with a local level on top, fitted on the
// square root of the load.
//
//   - The daily profile of each slot is the median of the same slot over the last
//     profileDays days, averaged over the slots within profileHalfWindow either side: medians,
//     because accuracy is judged by absolute error (the median is what minimises it) and a
//     burst in one day's slot must not move it.
//   - With weekly, the weekday's departure from that profile is the median over the last (up
//     to medianWeeks) weeks of the same week-slot's departure, smoothed narrowly
//     (profileWeekNarrow: a weekend night's own shape) and widely (profileWeekSmooth: the
//     weekday's level), the narrow shape shrunk towards the wide one by the share of its
//     variation the weeks' own noise explains. It runs from the first week of history on:
//     before the weekly models' second week, it is the only model that knows a Saturday
//     from a Friday.
//   - A local level: the offset of the last profileRecent of history from the profile (its
//     median) decays towards the offset of the last days (the median of the last
//     profileLevelDays daily offsets, hedged towards the last day's: one odd day,
//     a dip or a burst, moves it a little, a new level moves it once it has held two days)
//     over the first persistenceLag at the rate the series' own offsets have lasted
//     (levelPersistence), then with a half-life of profileHalfLife.
//   - The square root: load that is counted (requests, messages) has a spread that grows with
//     its level, and in square roots it is about even, so a quiet night's noise and a busy
//     noon's weigh alike; weekday and level effects act between added and multiplied. Medians
//     commute with it, so the forecast is still the median of the load.
//
// It is the seasonal median made local: Taylor's finding that the same-slot historical mean is
// hard to beat beyond a few hours, with the first hours taken from the current level.
//
// The durations were chosen on six of the twelve traces of shared/data/traces (taxi, AAPL,
// AMZN, CRM, CVS, FB) and confirmed on the other six; see hack/accuracy.sh.
const (
	profileDays       = 7
	profileLevelDays  = 3
	profileHalfWindow = 30 * 60      // seconds either side of a slot averaged into its profile
	profileWeekNarrow = 60 * 60      // seconds either side: a weekday's own shape
	profileWeekSmooth = 12 * 60 * 60 // seconds either side: a weekday's level
	profileRecent     = 60 * 60      // seconds of history whose offset is the current level
	profileHalfLife   = 3 * 60 * 60  // seconds for the current offset to decay halfway, beyond persistenceLag
)

// The current offset's decay over the first persistenceLag is measured on the series itself
// (levelPersistence): the least-squares slope of an hour's offset persistenceLag later on its
// own, each taken from the lasting level the forecast would have decayed towards then, over
// the last profileDays days, bounded to half-lives from minPersistence to maxPersistence. A
// day's own level (a busy news day, a sale, a rainy evening in a city) holds for hours on
// some services and is a burst gone within the hour on others. With the fixed half-life, the
// absolute error over the first three hours ahead (forecasts every two hours for a week) was
// 8 % higher on the taxi trace and on a per-minute service whose days differ by up to 30 % in
// amplitude, and within 2 % either way on the tweet traces; it was 2-3 % lower on one-off
// events of some hours, which the slope, set by the many quiet hours, lets go too soon, and on
// a level wandering at random over hours. Beyond persistenceLag the fixed half-life takes
// over: a slope measured three hours out says nothing of tomorrow, and a day that collapsed
// (measured as lasting all day) would otherwise hold tomorrow's forecast down.
const (
	persistenceLag = 3 * 60 * 60  // seconds
	minPersistence = 60 * 60      // seconds: the shortest measured half-life
	maxPersistence = 24 * 60 * 60 // seconds: the longest
)

// Cleaning: a point is an outlier when its residual from the seasonal expectation lies beyond
// cleanIQR interquartile ranges of the recent residuals, and its load (less the day's offset)
// is more than 1+cleanFar times the highest expectation within cleanBand either side: far
// outside a robust band, never a drifting peak or the edge of a plateau, and never a dip (a
// quiet day is load too). A level shift counts once it has held shiftMinDays days: on the taxi
// trace a two-day blizzard was taken for a new level at two. A run of outliers reaching a
// decision that has lasted newLevelRun, runShare of its points cut (a new level's noise puts
// a few inside the band) or over twice their slot's usual load (a step beside the day's peak
// stays inside the band), at a steady level over the usual load, is load at a new level, not
// a spike: on the twelve traces no run of outliers lasted over 75 minutes, and a database's
// CPU that stepped to 2.5× its level seven hours before a decision was cut away and forecast
// at the old level, eight times the error of naive.
const (
	cleanIQR     = 3.0
	cleanFar     = 1.0
	cleanBand    = 3 * time.Hour
	cleanLevel   = 0.1 // share of the mean level added to the expectation for slots near zero
	shiftMinDays = 3
	newLevelRun  = 3 * time.Hour
	runShare     = 0.75
	// steadySpread is how far (median absolute deviation over the median) the run's load ÷
	// its usual, or load − usual, may scatter for the run to be a level. A generated step with
	// 4 % noise scatters under 0.1; the hours-long bursts of the tweet traces that reached
	// twice their usual load scattered 0.2 to 1. A noisier step than 0.15 allows is left to
	// the day-level shift and the profile's local level, as before.
	steadySpread = 0.15
	// shortRun and shortRunSpread: newLevelRun at a step of an hour is three points, and the
	// median absolute deviation of three says little; a burst of news on KO's tweets summed to the
	// hour (436, 662 and 709 against about 95, a spread of 0.088) passed as a new level, and the
	// next 48 h were forecast at seven times the load (that origin's MASE 5.2, daily and weekly
	// naive's 1.4 and 1.1). Under five points the run must hold its level twice as tightly. At
	// 5 min and 30 min the run is 36 and 6 points: nothing changes there. At 1 h, KO ending a week
	// early scored 1.43 × the better naive over 48 h and 0.78 with this; the generated steps at
	// 1 h (a new level for the last 4–12 hours, 4 % noise; seeds 1–4 and 42) and M4's hourly
	// series did not move.
	shortRun       = 5
	shortRunSpread = steadySpread / 2
	// lowDayDrop, lowDayMADs, lowDayPool, lowDayMinPast: a day is far below its usual load
	// (lowDays) when its load over its slots' usual, as a log ratio, is under the median of
	// the last lowDayPool days' by lowDayDrop (a quarter) and by lowDayMADs robust standard
	// deviations of theirs (1.4826 MAD), once a week of days (every weekday once) has been
	// judged. On the taxi trace's last four weeks that is the blizzard's two days: with them
	// in the history the next days were forecast low, and auto scored 0.986 × weekly naive,
	// 0.818 with them replaced (at 1 h, 0.895 and 0.836). Ending 14 and 21 days earlier, its
	// Christmas is judged only at 1 h with 40 days of history (1.016 → 0.815, 0.766 → 0.716):
	// in the 28 days at its own step it lies in the first eleven, before a week has been
	// judged. The generated dip family (its last day at 20–50 %) went from 1.10–1.15 × the
	// best single model to 0.97–0.98 at 1 h, and gained at 5 min. At 3 and 4 of these
	// deviations, GOOG's tweets ending 14 days early lost 0.09 and 0.05 × weekly naive, where
	// Fridays and Saturdays stood out against earlier weeks' bursts; at 5 no tweet day is
	// replaced at their own step. Judged after four days, the spread of so few put FB's
	// ordinary weekends 9 to 12 deviations below, and FB ending 7 days early lost 0.15 at 1 h.
	lowDayDrop    = 0.2877 // −log(0.75)
	lowDayMADs    = 5.0
	lowDayPool    = 28
	lowDayMinPast = 7
	lowDayFloor   = 0.01 // the lowest ratio a day counts at: an empty day is not −∞
	// lowDayLevel: a replaced day is its usual load at the level of the last week's days
	// (every weekday once; their median ratio to their usual). KO's tweets fell by a quarter
	// in the week before Good Friday, which the 28 days' median did not see: its replaced
	// Friday stood at March's level, and the 48 h two weeks later scored 0.733 × weekly naive
	// (0.650 with the Friday kept; 0.690 at the week's level). Taxi's figures moved by 0.004
	// at most, its hourly refits' first 4 h from 1.122 to 1.101.
	lowDayLevel = 7
	// swingSpread: below this sd of the usual load over the run (share of its mean), the
	// run's swing is not measured; the load is taken as scaled (shiftBetween).
	swingSpread = 0.1
)

func runProfile(mem *arena, y []float64, adj []levelAdj, p periods, weekly bool, origins []int, h int) [][]float64 {
	daily, week := runProfiles(mem, y, adj, p, weekly, origins, h)
	if weekly {
		return week
	}
	return daily
}

// runProfiles is the daily profile model's forecasts and, with weekly, the weekly one's: the
// two share the daily profile, most of their cost.
func runProfiles(mem *arena, y []float64, adj []levelAdj, p periods, weekly bool, origins []int, h int) (daily, week [][]float64) {
	stepSec := 86400 / float64(p.D)
	hw := int(math.Floor(profileHalfWindow/stepSec + 1e-9))
	ws := int(math.Round(profileWeekSmooth / stepSec))
	recent := max(1, int(math.Round(profileRecent/stepSec)))
	phi := math.Pow(0.5, stepSec/profileHalfLife)
	daily = make([][]float64, len(origins))
	if weekly {
		week = make([][]float64, len(origins))
	}
	buf := make([]float64, 0, profileDays*(2*hw+1))
	prof := make([]float64, p.D)
	slotMed := make([]float64, p.D)
	var wdev []float64
	var wraw, wnarrow []float64
	wsNarrow := max(0, int(math.Round(profileWeekNarrow/stepSec)))
	if weekly {
		wdev, wraw, wnarrow = make([]float64, p.W), make([]float64, p.W), make([]float64, p.W)
	}
	off := make([]float64, 0, p.D)
	sq := mem.floats(len(y)) // the square roots of y
	for t, x := range y {
		sq[t] = math.Sqrt(math.Max(0, x))
	}
	var moved []float64
	for i, o := range origins {
		z := sq
		if a := adjOf(adj, i); a.at > 0 {
			// The history before a level shift, moved by it: rare, so built when needed.
			if moved == nil {
				moved = make([]float64, len(y))
			}
			for t := range o {
				moved[t] = math.Sqrt(math.Max(0, a.value(y, t)))
			}
			z = moved
		}
		days := min(profileDays, o/p.D)
		if days < 1 {
			continue
		}
		// Daily profile by slot of day, indexed by t mod D: the median over the days of each
		// slot, then averaged over the slots within hw either side (cheaper than one median
		// of the pooled values, and as good on the traces).
		// t runs over the last day before o, the latest time of each slot; its slot is
		// stepped, not divided for (this loop and the weekly one are the model's cost).
		dayBase := profileBase{prof: slotMed}
		s, _ := dayBase.slots(o - p.D)
		for t := o - p.D; t < o; t++ {
			buf = buf[:0]
			for j := 0; j < days; j++ { // days ≤ o/D: t - j·D ≥ 0
				buf = append(buf, z[t-j*p.D])
			}
			slotMed[s] = median(buf)
			s, _ = dayBase.next(s, 0)
		}
		circularMean(prof, slotMed, hw)
		var lvl float64
		for _, x := range prof {
			lvl += x
		}
		eps := math.Max(1e-9, 0.1*lvl/float64(p.D)) // keeps ratios of slots near zero finite
		daily[i] = profileLevel(mem, z, o, h, p, recent, phi, eps, prof, nil, &off)
		if weekly && o < p.W {
			week[i] = daily[i] // no week of history yet: no weekday departures to add
		} else if weekly {
			weeks := min(medianWeeks, o/p.W)
			var wb [medianWeeks]float64
			var spread float64 // Σ over slots of the squared spread of the weeks' departures
			// As the daily profile: t over the last week, slot of the day and of the week
			// stepped; t - j·W has t's slot of the day. With one week of history (under two),
			// the departures are read from the first seven days, not the last: read from the
			// last days themselves, their base was their own load, the local level measured
			// against it was nil whatever the load had done, and the profile forecast the
			// next day at last week's level however far the load had moved since (issue 9's
			// rise family at 10 days of history, chosen alone: MASE 0.91, read from the week
			// before 0.18). Read from the week before, the last days are measured against the
			// same weekdays a week earlier, as the median of the weeks does from two weeks on;
			// a collapsed last day then counts as a fall, hedged (levelHedgeDown).
			weekBase := profileBase{prof: prof, wdev: wraw}
			sd, s := weekBase.slots(o - p.W)
			for t := o - p.W; t < o; t++ {
				latest := t // the newest time of t's week-slot read
				if weeks == 1 && t >= p.W {
					latest = t - p.W
				}
				b := wb[:0]
				for j := 0; j < weeks; j++ { // weeks ≤ o/W: latest - j·W ≥ 0
					b = append(b, z[latest-j*p.W]-prof[sd])
				}
				var lo, hi float64
				wraw[s], lo, hi = medianRange(b)
				spread += (hi - lo) * (hi - lo)
				sd, s = weekBase.next(sd, s)
			}
			// The weekday's departure, smoothed narrowly (it keeps a weekend night's own
			// shape) and widely (a weekday's level), and the narrow one shrunk towards the
			// wide one by how much of its variation the weeks' own noise explains: with
			// few noisy weeks the narrow shape is mostly noise (the busy count series),
			// with clean weeks it is the signal (weekend nights of a city's traffic).
			circularMean(wnarrow, wraw, wsNarrow)
			circularMean(wdev, wraw, ws)
			var diff float64
			for s := range wdev {
				d := wnarrow[s] - wdev[s]
				diff += d * d
			}
			diff /= float64(p.W)
			var noise float64
			if weeks >= 2 {
				// Noise of one slot's median of k weeks, then of the narrow mean of 2w+1
				// slots; the range of k normal draws is about rangeSD[k] standard deviations.
				sd2 := spread / float64(p.W) / (rangeSD[weeks] * rangeSD[weeks])
				noise = math.Pi / 2 * sd2 / float64(weeks) / float64(2*wsNarrow+1)
			} else {
				// One week has no spread between weeks to tell its noise by: the slots'
				// scatter about the narrow mean tells it instead (σ²·2w/(2w+1) for white
				// noise; a sharp edge within the hour counts as noise, so it errs towards
				// the wide level). Left at the wide level, a quiet Saturday's departure was
				// smoothed into Friday's, and the day was forecast from one week at 1.17 to
				// 1.34 times its load (two generated services quiet at weekends), against
				// 1.01 to 1.03 shrunk. With no narrow window (a step over 2 h) there is
				// nothing to shrink.
				var rough float64
				for s := range wraw {
					d := wraw[s] - wnarrow[s]
					rough += d * d
				}
				noise = math.Inf(1)
				if wsNarrow > 0 {
					noise = rough / float64(p.W) / float64(2*wsNarrow)
				}
			}
			lambda := 0.0
			if diff > noise {
				lambda = (diff - noise) / diff
			}
			for s := range wdev {
				wdev[s] += lambda * (wnarrow[s] - wdev[s])
			}
			week[i] = profileLevel(mem, z, o, h, p, recent, phi, eps, prof, wdev, &off)
		}
	}
	return daily, week
}

// profileLevel is the forecast of h points from o of a profile base (in square roots) with the
// local level on top: the ratio of the load to the base (so that a level learnt on busy
// weekdays carries to a quiet weekend in proportion) now, from the last points, decaying by
// phi a step towards the lasting level, from the median of the last days' medians. The base
// at t is prof[t mod D], plus wdev[t mod W] unless wdev is nil.
func profileLevel(mem *arena, z []float64, o, h int, p periods, recent int, phi, eps float64, prof, wdev []float64, scratch *[]float64) []float64 {
	base := profileBase{prof: prof, wdev: wdev}
	off := (*scratch)[:0]
	defer func() { *scratch = off }()
	off = base.appendRatios(off, z, max(0, o-recent), o, eps)
	c0 := median(off)
	var dl [profileLevelDays]float64
	nd := min(profileLevelDays, o/p.D)
	for d := 0; d < nd; d++ {
		off = base.appendRatios(off[:0], z, o-(d+1)*p.D, o-d*p.D, eps)
		dl[d] = median(off)
	}
	cInf := lastingLevel(dl[:nd])
	near, nearSteps := phi, 0
	if m, steps, ok := levelPersistence(mem, z, o, p, base, recent, eps); ok {
		near, nearSteps = m, steps
	}
	f := mem.floats(h)
	pk := near
	sd, sw := base.slots(o)
	for k := range f {
		b := base.at(sd, sw)
		r := math.Max(0, b+(b+eps)*(cInf+(c0-cInf)*pk))
		f[k] = r * r
		if k+1 < nearSteps {
			pk *= near
		} else {
			pk *= phi
		}
		sd, sw = base.next(sd, sw)
	}
	return f
}

// lastingLevel is the level the current offset decays towards, from the offsets of the last
// days, newest first (reordered): their median, hedged towards the newest's.
func lastingLevel(days []float64) float64 {
	if len(days) == 0 {
		return 0
	}
	newest := days[0]
	m := median(days)
	return hedged(m, newest)
}

// profileBase is the profile model's expectation by slot of the day (prof) and of the week
// (wdev, nil for the daily model), read at consecutive times with the slots stepped rather
// than divided for.
type profileBase struct{ prof, wdev []float64 }

// slots are t's slot of the day and of the week.
func (b profileBase) slots(t int) (sd, sw int) {
	if b.wdev != nil {
		sw = t % len(b.wdev)
	}
	return t % len(b.prof), sw
}

func (b profileBase) at(sd, sw int) float64 {
	if b.wdev == nil {
		return b.prof[sd]
	}
	return b.prof[sd] + b.wdev[sw]
}

// next are the slots of the time after the one of sd and sw.
func (b profileBase) next(sd, sw int) (int, int) {
	if sd++; sd == len(b.prof) {
		sd = 0
	}
	if b.wdev != nil {
		if sw++; sw == len(b.wdev) {
			sw = 0
		}
	}
	return sd, sw
}

// appendRatios appends to dst the ratio of z to the base, (z - base) / (base + eps), at each
// time from from to to.
func (b profileBase) appendRatios(dst, z []float64, from, to int, eps float64) []float64 {
	sd, sw := b.slots(from)
	for t := from; t < to; t++ {
		x := b.at(sd, sw)
		dst = append(dst, (z[t]-x)/(x+eps))
		sd, sw = b.next(sd, sw)
	}
	return dst
}

// medianRange is median(b) with b's smallest and largest values, reordering b. Three values
// (the backtest origins of four weeks' history, the usual case) and four (a month of weeks)
// get them from median's own sorting networks.
func medianRange(b []float64) (med, lo, hi float64) {
	switch len(b) {
	case 3:
		lo, med, hi = order3(b[0], b[1], b[2])
		return med, lo, hi
	case 4:
		lo, a, c, hi := order4(b[0], b[1], b[2], b[3])
		return a + 0.5*(c-a), lo, hi // as median: the same bits
	}
	lo, hi = b[0], b[0]
	for _, x := range b[1:] { // no NaN here: plain comparisons, math.Min is a call
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return median(b), lo, hi
}

// circularMean sets out[s] to the mean of in over s-w..s+w, wrapping around.
func circularMean(out, in []float64, w int) {
	n := len(in)
	w = min(w, (n-1)/2)
	var sum float64
	for d := -w; d <= w; d++ {
		sum += in[((d%n)+n)%n]
	}
	// add and drop are the indices entering and leaving the window, wrapped without a division.
	add, drop := w+1, n-w
	for add >= n {
		add -= n
	}
	for drop >= n {
		drop -= n
	}
	for s := 0; s < n; s++ {
		out[s] = sum / float64(2*w+1)
		sum += in[add] - in[drop]
		if add++; add == n {
			add = 0
		}
		if drop++; drop == n {
			drop = 0
		}
	}
}

// rangeSD is the expected range of k standard normal draws, in standard deviations (k ≤ 4):
// how the spread of a slot's weekly departures gives their standard deviation.
var rangeSD = [...]float64{1, 1, 1.128, 1.693, 2.059}

// levelPersistence is the current offset's decay per step over the first persistenceLag
// (see persistenceLag) and how many steps that is, measured on the history before o in blocks
// of recent points; ok is false where that history is too short to tell (under two days: an
// offset is measured from the days before its own), and the fixed half-life serves
// throughout.
func levelPersistence(mem *arena, z []float64, o int, p periods, base profileBase, recent int, eps float64) (phi float64, steps int, ok bool) {
	if o < 2*p.D {
		return 0, 0, false
	}
	stepSec := 86400 / float64(p.D)
	lag := max(1, int(math.Round(persistenceLag/stepSec/float64(recent)))) // in blocks
	// x[j] is the offset of the block ending j blocks before o (of its mean: c0 is the
	// median of its points' offsets, but this is read at every backtest origin, and sorts
	// cost a fifth of a forecast), over the profileDays days the slope is taken on and the
	// profileLevelDays before them.
	x := mem.floats(min((profileDays+profileLevelDays)*p.D, o) / recent)
	t := o - len(x)*recent
	sd, sw := base.slots(t)
	for j := len(x) - 1; j >= 0; j-- {
		var load, expected float64
		for range recent {
			load += z[t]
			expected += base.at(sd, sw)
			sd, sw = base.next(sd, sw)
			t++
		}
		x[j] = (load - expected) / (expected + float64(recent)*eps)
	}
	// dm[k] is the offset of the day ending k days before o: the mean of its blocks'. A
	// block's lasting level is taken, as cInf is, from the days before the day it lies in.
	dayOf := func(j int) int { return j * recent / p.D }
	days := dayOf(len(x)-1) + 1
	dm := mem.floats(days)
	for k, j := 0, 0; k < days; k++ {
		var sum float64
		from := j
		for ; j < len(x) && dayOf(j) == k; j++ {
			sum += x[j]
		}
		dm[k] = sum / float64(j-from)
	}
	// lasting[k] is the lasting level of a block in day k (NaN: no day before it).
	lasting := mem.floats(days)
	var dl [profileLevelDays]float64
	for k := range lasting {
		nd := min(profileLevelDays, days-k-1)
		if nd < 1 {
			lasting[k] = math.NaN()
			continue
		}
		copy(dl[:nd], dm[k+1:k+1+nd])
		lasting[k] = lastingLevel(dl[:nd])
	}
	var sxy, sxx float64
	for j := lag; j < min(len(x), profileDays*p.D/recent); j++ {
		l := lasting[dayOf(j)]
		if math.IsNaN(l) {
			continue
		}
		then, later := x[j]-l, x[j-lag]-l
		sxy += then * later
		sxx += then * then
	}
	if !(sxx > 0) || math.IsNaN(sxy) {
		return 0, 0, false
	}
	steps = lag * recent
	span := float64(steps) * stepSec
	slope := min(max(sxy/sxx, math.Pow(0.5, span/minPersistence)), math.Pow(0.5, span/maxPersistence))
	return math.Pow(slope, 1/float64(steps)), steps, true
}
