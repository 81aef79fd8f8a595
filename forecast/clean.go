package forecast

import (
	"math"
	"slices"
)

// periods are the seasonal cycle lengths of a series, in points.
type periods struct {
	// D is the number of points in a day (1 when the step is a day or more).
	D int
	// W is the number of points in a week, 7*D.
	W int
}

// cleaned is a series prepared for fitting.
type cleaned struct {
	// raw holds the observations: finite, non-negative, NaN for gaps. Backtests score against it.
	raw []float64
	// fit is raw with gaps filled, outliers replaced and level shifts removed: models fit on it.
	fit []float64
	// outliers and gaps count the points replaced in fit, lowDays the whole days (lowDays).
	outliers, gaps, lowDays int
	// shift is the detected level shift: where the recent level starts and how the history
	// before it was moved (at 0: none).
	shift levelAdj
	// adj is each decision's level shift (cleanCausal), nil for a batch clean: fit is shared
	// by every decision and each moves the history before its shift by its own amount.
	adj []levelAdj
}

// sanitize copies v, turning NaN and ±Inf into gaps and clamping negatives to zero: load is
// never negative, a negative sample is a counter reset or a rate artefact, and zero is the
// value that neither invents load nor loses the point.
func sanitize(mem *arena, v []float64) []float64 {
	out := mem.floats(len(v))
	for i, x := range v {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			out[i] = math.NaN()
		case x < 0:
			out[i] = 0
		default:
			out[i] = x
		}
	}
	return out
}

// clean prepares raw (already sanitized) for fitting:
//  1. a robust decomposition: centred moving average over the longest usable period (trend)
//     plus the median of each slot across cycles and its neighbours (seasonal);
//  2. residuals beyond Q1 − 3·IQR or Q3 + 3·IQR (as R forecast's tsoutliers) and farther
//     from the expectation than the expectation itself become gaps;
//  3. gaps are filled with trend + seasonal + the residual interpolated between neighbours,
//     so a missing day looks like a typical day at the local level, not a straight line;
//  4. a level shift in the daily means of the deseasonalised series (the last segment at
//     least a day long and clearly apart from before) is removed from the history, so models
//     fit the recent level.
func clean(mem *arena, raw []float64, p periods) cleaned {
	n := len(raw)
	c := cleaned{raw: raw, fit: mem.floats(n)}
	copy(c.fit, raw)
	period := 0
	switch {
	case p.W > 1 && n >= 2*p.W:
		period = p.W
	case p.D > 1 && n >= 2*p.D:
		period = p.D
	}
	if period == 0 {
		// Too short for a seasonal decomposition: fill gaps linearly.
		c.gaps = interpolate(c.fit)
		return c
	}
	// A level shift first: left in, the moving average smears it and the outlier rule would
	// cut the new level's first days away as outliers.
	var trend, seas []float64
	if p.D > 1 && n >= 4*p.D {
		trend, seas = decompose(mem, c.fit, period)
		c.shift = levelShift(c.fit, seas, period, p.D)
		for i := 0; i < c.shift.at; i++ {
			if !math.IsNaN(c.fit[i]) {
				c.fit[i] = math.Max(0, c.shift.value(c.fit, i))
			}
		}
	}
	if trend == nil || c.shift.at > 0 {
		trend, seas = decompose(mem, c.fit, period) // of the history at its new level
	}
	base := mem.floats(n)
	resid := mem.floats(n)
	finite := mem.floats(n)[:0]
	for i := range raw {
		base[i] = trend[i] + seas[i%period]
		resid[i] = c.fit[i] - base[i]
		if !math.IsNaN(resid[i]) {
			finite = append(finite, resid[i])
		}
	}
	lvl := cleanLevel * meanAbs(raw)
	far := func(i int) bool { return math.Abs(resid[i]) > cleanFar*(math.Abs(base[i])+lvl) }
	// The quartiles are needed only to judge a point far from its expectation: most
	// histories have none.
	if anyFar(resid, far) && len(finite) >= 8 {
		q1, q3 := quartiles(finite)
		iqr := q3 - q1
		if iqr > iqrFloor(raw) {
			lo, hi := q1-cleanIQR*iqr, q3+cleanIQR*iqr
			for i, r := range resid {
				if !math.IsNaN(r) && (r < lo || r > hi) && far(i) {
					resid[i] = math.NaN()
					c.outliers++
				}
			}
		}
	}
	bad := make([]bool, n)
	for i, r := range resid {
		bad[i] = math.IsNaN(r)
	}
	c.gaps = interpolate(resid) - c.outliers
	for i := range c.fit {
		if bad[i] {
			c.fit[i] = math.Max(0, base[i]+resid[i])
		}
	}
	return c
}

// anyFar says whether far holds for the index of some residual of resid that is not a gap.
func anyFar(resid []float64, far func(i int) bool) bool {
	for i, r := range resid {
		if !math.IsNaN(r) && far(i) {
			return true
		}
	}
	return false
}

// iqrFloor is the spread of residuals below which none is an outlier: rounding error of a
// series that repeats exactly.
func iqrFloor(v []float64) float64 {
	return 1e-9 * meanAbs(v)
}

// meanAbs is the mean of |x| over the finite values of v (0 when there are none).
func meanAbs(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += math.Abs(x)
			n++
		}
	}
	return s / float64(max(1, n))
}

// decompose returns a robust trend (centred moving average over period, extended linearly at
// the edges) and seasonal profile (per-slot median of the detrended series) of v.
func decompose(mem *arena, v []float64, period int) (trend, seas []float64) {
	trend = movingAverage(mem, v, period)
	detr := mem.floats(len(v))
	for i := range v {
		detr[i] = v[i] - trend[i]
	}
	return trend, seasonalMedian(detr, period)
}

// levelShift looks for one shift of level in the daily means of fit minus its seasonal
// component, with at least one day after it and two before. A shift counts when it is larger
// than four robust standard deviations of the day-to-day changes and than 10 % of the level,
// and the days after it stay on their side (no trend mistaken for a step). It returns the index
// where the new level starts and how the history before it moves (shiftBetween).
func levelShift(fit, seas []float64, period, day int) levelAdj {
	nd := len(fit) / day
	off := len(fit) - nd*day // align days to the end: the most recent day is whole
	// Daily medians of the deseasonalised series: one spike does not move them.
	means := make([]float64, 0, nd)
	swings := make([]float64, 0, nd)
	buf := make([]float64, 0, day)
	for d := 0; d < nd; d++ {
		buf = buf[:0]
		for i := off + d*day; i < off+(d+1)*day; i++ {
			if !math.IsNaN(fit[i]) {
				buf = append(buf, fit[i])
			}
		}
		if len(buf) == 0 {
			return levelAdj{} // a day with no data: too little to tell a shift
		}
		swings = append(swings, daySwing(buf, median(buf)))
		for j, i := 0, off+d*day; i < off+(d+1)*day; i++ {
			if !math.IsNaN(fit[i]) {
				buf[j] = fit[i] - seas[i%period]
				j++
			}
		}
		means = append(means, median(buf))
	}
	k, before, after := levelShiftDays(means)
	if k == 0 {
		return levelAdj{}
	}
	return shiftBetween(off+k*day, before, after, swingRatio(swings, k))
}

// daySwing is the mean absolute departure of a day's load v (gaps skipped) from its median m:
// how far the day swings about its level. NaN for a day without load.
func daySwing(v []float64, m float64) float64 {
	sum, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			sum += math.Abs(x - m)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// swingRatio is how much wider the days from k on swing than the days before them: the
// median over the days from k of each one's swing over that of the latest day before k on the
// same weekday (else the last day before k). NaN when it cannot be told.
func swingRatio(swings []float64, k int) float64 {
	var ratios []float64
	for d := k; d < len(swings); d++ {
		ref := d - 7*((d-k)/7+1)
		if ref < 0 {
			ref = k - 1
		}
		if r := swings[d] / swings[ref]; swings[ref] > 0 && !math.IsNaN(r) && !math.IsInf(r, 0) {
			ratios = append(ratios, r)
		}
	}
	if len(ratios) == 0 {
		return math.NaN()
	}
	return median(ratios)
}

// unseenSwingScale bounds the scaling of a shift whose swing cannot be measured yet (a new
// level seen for hours): beyond it, the rest of the new level is taken as added. Hours tell
// the new level, not the new day's shape: a near-idle service that became busy would otherwise
// have its idle days' noise scaled a hundredfold into the forecast.
const unseenSwingScale = 4

// shiftBetween is the adjustment that brings the history before at from level before to
// level after, its daily swing widened by swing (the ratio of the swings after and before; NaN
// when unknown). Load moves between two extremes: a constant added or taken away (a batch
// job, a health check) keeps the day's swing, while users arriving or leaving (a migration, a
// new market) scale the whole day, trough and peak alike. Moved by the level alone, a history
// that fell to 30 % kept its old swing: its troughs went negative and were cut at zero, and its
// peaks stood at twice the new ones. So the history is scaled by the swings' ratio, held
// between 1 (a constant) and the levels' ratio (a pure scaling), and then moved to the new
// level; where the swing cannot be measured the load is taken to have scaled, by at most
// unseenSwingScale.
func shiftBetween(at int, before, after, swing float64) levelAdj {
	if before <= 0 || after < 0 {
		return levelAdj{at: at, by: after - before}
	}
	r := after / before
	f := math.Max(1.0/unseenSwingScale, math.Min(unseenSwingScale, r))
	if !math.IsNaN(swing) {
		f = math.Max(min(1, r), math.Min(max(1, r), swing))
	}
	f = math.Max(f, 1e-3)
	if f == 1 {
		return levelAdj{at: at, by: after - before}
	}
	return levelAdj{at: at, scale: f, by: after - f*before}
}

// levelShiftDays looks for one shift of level in daily levels: it returns the index of the
// first day at the new level and the mean levels before and after it, or zeros for none. The
// rules are levelShift's.
func levelShiftDays(means []float64) (k int, before, after float64) {
	return levelShiftStep(means, shiftMinStep*math.Abs(mean(means)))
}

// shiftMinStep is the smallest shift, as a share of the level.
const shiftMinStep = 0.1

// levelShiftStep is levelShiftDays with the smallest step given: minStep.
func levelShiftStep(means []float64, minStep float64) (k int, before, after float64) {
	nd := len(means)
	if nd < 3 {
		return 0, 0, 0
	}
	diffs := make([]float64, nd-1)
	for i := 1; i < nd; i++ {
		diffs[i-1] = math.Abs(means[i] - means[i-1])
	}
	sigma := 1.4826 * median(diffs) / math.Sqrt2
	best, bestK := 0.0, 0
	for k := 2; k <= nd-shiftMinDays; k++ {
		before := mean(means[:k])
		after := mean(means[k:])
		if d := after - before; math.Abs(d) > math.Abs(best) {
			best, bestK = d, k
		}
	}
	if bestK == 0 {
		return 0, 0, 0
	}
	if math.Abs(best) <= 4*sigma || math.Abs(best) <= minStep {
		return 0, 0, 0
	}
	// A step must explain the daily means far better than a straight line would: a trend is
	// not a shift (the models carry trends themselves).
	var sseStep, sseLine float64
	before0, after0 := mean(means[:bestK]), mean(means[bestK:])
	xm, ym := float64(nd-1)/2, mean(means)
	var sxy, sxx float64
	for i, m := range means {
		sxy += (float64(i) - xm) * (m - ym)
		sxx += (float64(i) - xm) * (float64(i) - xm)
	}
	slope := sxy / sxx
	for i, m := range means {
		l := ym + slope*(float64(i)-xm)
		sseLine += (m - l) * (m - l)
		st := before0
		if i >= bestK {
			st = after0
		}
		sseStep += (m - st) * (m - st)
	}
	if sseStep > 0.25*sseLine {
		return 0, 0, 0
	}
	// Every day after the shift must sit nearer the new level than the old one.
	for _, m := range means[bestK:] {
		if math.Abs(m-after0) > math.Abs(m-before0) {
			return 0, 0, 0
		}
	}
	return bestK, before0, after0
}

// movingAverage returns the centred mean of v over a window of period points, skipping gaps
// and shrinking at the edges. With no finite value in a window it carries the nearest.
func movingAverage(mem *arena, v []float64, period int) []float64 {
	n := len(v)
	cs := mem.floats(n + 1)
	cs[0] = 0
	cn := make([]int, n+1)
	for i, x := range v {
		cs[i+1], cn[i+1] = cs[i], cn[i]
		if !math.IsNaN(x) {
			cs[i+1] += x
			cn[i+1]++
		}
	}
	out := mem.floats(n)
	half := period / 2
	first, last := half, n-period+half // full windows only
	for i := range out {
		out[i] = math.NaN()
		if i < first || i > last {
			continue
		}
		lo, hi := i-half, i-half+period
		if k := cn[hi] - cn[lo]; k > 0 {
			out[i] = (cs[hi] - cs[lo]) / float64(k)
		}
	}
	interpolate(out)
	// Beyond the first and last full windows, continue the trend's slope over one period
	// rather than holding it flat: a flat end turns a trend into end "outliers".
	if last-first >= 1 {
		span := min(period, last-first)
		sl := (out[first+span] - out[first]) / float64(span)
		for i := 0; i < first; i++ {
			out[i] = out[first] - sl*float64(first-i)
		}
		sl = (out[last] - out[last-span]) / float64(span)
		for i := last + 1; i < n; i++ {
			out[i] = out[last] + sl*float64(i-last)
		}
	}
	return out
}

// seasonalMedian returns, per slot of the period, the median of v at that slot over all
// cycles, centred to mean zero. Slots with no data get zero.
func seasonalMedian(v []float64, period int) []float64 {
	out := make([]float64, period)
	if len(v)/period < 3 {
		// With two cycles the slot's own median is their mean, not robust: the median of the
		// two and of the neighbouring slots' median is. It keeps a shape that repeats exactly
		// (it lies between the two) and outvotes one bad cycle with the neighbours.
		own := make([]float64, 0, 4)
		nb := make([]float64, 0, 8)
		for s := 0; s < period; s++ {
			own, nb = own[:0], nb[:0]
			for i := s; i < len(v); i += period {
				if !math.IsNaN(v[i]) {
					own = append(own, v[i])
				}
			}
			for _, d := range []int{-1, 1} {
				for i := s + d; i < len(v); i += period {
					if i >= 0 && !math.IsNaN(v[i]) {
						nb = append(nb, v[i])
					}
				}
			}
			switch {
			case len(own) == 0:
				out[s] = median(nb)
			case len(own) == 2 && len(nb) > 0:
				out[s] = median([]float64{own[0], own[1], median(nb)})
			default:
				out[s] = median(own)
			}
		}
	} else {
		buf := make([]float64, 0, len(v)/period+1)
		for s := 0; s < period; s++ {
			buf = buf[:0]
			for i := s; i < len(v); i += period {
				if !math.IsNaN(v[i]) {
					buf = append(buf, v[i])
				}
			}
			if len(buf) > 0 {
				out[s] = median(buf)
			}
		}
	}
	m := mean(out)
	for i := range out {
		out[i] -= m
	}
	return out
}

// interpolate fills NaNs in v in place, linearly between the nearest finite neighbours and
// flat beyond the ends. It returns how many points it filled. All-NaN v is left as is.
func interpolate(v []float64) int {
	filled := 0
	last := -1
	for i, x := range v {
		if math.IsNaN(x) {
			continue
		}
		switch {
		case last == -1:
			for j := 0; j < i; j++ {
				v[j] = x
			}
			filled += i
		case i-last > 1:
			a := v[last]
			for j := last + 1; j < i; j++ {
				v[j] = a + (x-a)*float64(j-last)/float64(i-last)
			}
			filled += i - last - 1
		}
		last = i
	}
	if last >= 0 {
		for j := last + 1; j < len(v); j++ {
			v[j] = v[last]
		}
		filled += len(v) - 1 - last
	}
	return filled
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// median reorders v in place and returns its median (0 for empty v).
func median(v []float64) float64 {
	switch len(v) {
	case 0:
		return 0
	case 1:
		return v[0]
	case 2:
		a, b := minmax(v[0], v[1])
		return a + 0.5*(b-a) // as quantileSorted: the same bits
	case 3:
		_, m, _ := order3(v[0], v[1], v[2])
		return m
	case 4:
		_, a, b, _ := order4(v[0], v[1], v[2], v[3])
		return a + 0.5*(b-a)
	}
	if len(v) <= 16 {
		// Insertion sort: the profile's per-slot medians of a week of days are this size,
		// and it is several times cheaper than selection there.
		for i := 1; i < len(v); i++ {
			x := v[i]
			j := i
			for ; j > 0 && v[j-1] > x; j-- {
				v[j] = v[j-1]
			}
			v[j] = x
		}
		return quantileSorted(v, 0.5)
	}
	return quantile(v, 0.5)
}

// minmax orders a and b (no NaN: plain comparisons, inlined, unlike math.Min).
func minmax(a, b float64) (float64, float64) {
	if b < a {
		return b, a
	}
	return a, b
}

// order3 is the smallest, the median and the largest of three values (no NaN), inlined: the
// hot medians of three (combinations, coarsening, three weeks) use it.
func order3(x, y, z float64) (lo, med, hi float64) {
	a, b := minmax(x, y)
	return min(a, z), max(a, min(b, z)), max(b, z)
}

// order4 is the smallest, the middle two and the largest of four values (no NaN), by one
// sorting network: the pairs' minima and maxima give the extremes, and the larger minimum and
// the smaller maximum the middle two.
func order4(w, x, y, z float64) (lo, m1, m2, hi float64) {
	a0, b0 := minmax(w, x)
	a1, b1 := minmax(y, z)
	m1, m2 = minmax(max(a0, a1), min(b0, b1))
	return min(a0, a1), m1, m2, max(b0, b1)
}

// median5 is the middle of five values (no NaN) by a sorting network: of two pairs, the larger
// minimum and the smaller maximum leave out the two extremes of the four, and the median of
// those two and the fifth value is the median of all five.
func median5(a, b, c, d, e float64) float64 {
	lo1, hi1 := minmax(a, b)
	lo2, hi2 := minmax(c, d)
	_, m, _ := order3(e, max(lo1, lo2), min(hi1, hi2))
	return m
}

// quantile reorders v in place and returns its q quantile, as quantileSorted would on sorted
// v, by selection rather than a full sort (linear time: it is on every series' hot path).
// v must hold no NaN.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return quantileAt(v, q*float64(len(v)-1))
}

// quantileAt is v's order statistic at the fractional position pos (0 ≤ pos, below len(v)),
// interpolated linearly, reordering v.
func quantileAt(v []float64, pos float64) float64 {
	i := int(pos)
	if i >= len(v)-1 {
		return kth(v, len(v)-1)
	}
	a := kth(v, i)
	f := pos - float64(i)
	if f == 0 {
		return a
	}
	// After selecting the i-th, everything right of it is at least as large: the next order
	// statistic is their minimum.
	b := v[i+1]
	for _, x := range v[i+2:] {
		if x < b { // no NaN here: plain comparisons (math.Min is a call, this is hot)
			b = x
		}
	}
	return a + f*(b-a)
}

// quartiles are quantile(v, 0.25) and quantile(v, 0.75), reordering v: the upper quartile is
// selected among the values right of the lower one only, which already lie above it.
func quartiles(v []float64) (q1, q3 float64) {
	n := len(v)
	if n < 3 {
		return quantile(v, 0.25), quantile(v, 0.75)
	}
	q1 = quantile(v, 0.25)
	// The upper quartile reads the order statistics at int(pos) and the next, both right of
	// the lower quartile's i1 when n ≥ 3; pos less a whole number is exact.
	i1 := int(0.25 * float64(n-1))
	return q1, quantileAt(v[i1+1:], 0.75*float64(n-1)-float64(i1+1))
}

// kth reorders v so that v[k] is its k-th smallest element (0-based), everything before it
// no larger and everything after it no smaller, and returns it (quickselect with a
// median-of-three pivot; a sort finishes a range that refuses to shrink). v must hold no NaN.
func kth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	budget := 2 * bitsLen(len(v))
	for hi-lo > 16 {
		if budget == 0 {
			slices.Sort(v[lo : hi+1])
			return v[k]
		}
		budget--
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k] // between j and i: equal to the pivot
		}
	}
	slices.Sort(v[lo : hi+1])
	return v[k]
}

func bitsLen(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

// quantileSorted returns the q quantile of sorted v by linear interpolation (type 7).
func quantileSorted(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	f := pos - float64(i)
	return v[i] + f*(v[i+1]-v[i])
}
