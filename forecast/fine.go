package forecast

import "math"

// finePatternGain is how much of the error left by the fitting grid's linear interpolation a
// pattern within its blocks must remove, out of sample, for the series to be fitted finer.
const finePatternGain = 0.1

// finePatternRatio is how much of the within-block error of v (the fine observations from its
// first whole block, off, on; NaN for gaps) is left after the pattern of the day's slots takes
// it out, out of sample: the residuals from the linear interpolation of f-point block medians
// (what a forecast fitted on that grid and spread back holds), less the median residual of the
// same slot on the days of the other parity, over the residuals themselves. Noise scores over 1
// (it adds the other days' noise); a job at :00 each hour that a 15-minute median cuts away
// scores well under it. NaN when under four whole days or nothing is left to measure.
func finePatternRatio(mem *arena, v []float64, off, day, f int) float64 {
	v = v[off:]
	nb := len(v) / f
	if nb*f < 4*day || day%f != 0 {
		return math.NaN()
	}
	c := coarsen(mem, v[:nb*f], f)
	interpolate(c)
	if math.IsNaN(c[0]) {
		return math.NaN()
	}
	r := expand(mem, c, f) // the spread-back blocks, then the residuals from them
	for t := range r {
		r[t] = v[t] - r[t]
	}
	// Per phase of the day (point t of v[off:] is at phase (off+t) mod day) and parity of the
	// day, the median residual.
	prof := [2][]float64{mem.floats(day), mem.floats(day)}
	buf := make([]float64, 0, len(r)/day+1)
	for phase := range day {
		for par := range 2 {
			buf = buf[:0]
			for t := (phase - off%day + day) % day; t < len(r); t += day {
				if ((off+t)/day)%2 == par && !math.IsNaN(r[t]) {
					buf = append(buf, r[t])
				}
			}
			prof[par][phase] = math.NaN()
			if len(buf) > 0 {
				prof[par][phase] = median(buf)
			}
		}
	}
	var left, all float64
	for t, x := range r {
		other := prof[1-((off+t)/day)%2][(off+t)%day]
		if math.IsNaN(x) || math.IsNaN(other) {
			continue
		}
		all += math.Abs(x)
		left += math.Abs(x - other)
	}
	if all == 0 {
		return math.NaN()
	}
	return left / all
}
