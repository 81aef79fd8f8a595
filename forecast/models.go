package forecast

import (
	"math"
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
	ModelCombination    = "combination"
	ModelNaive          = "naive"
	medianWeeks         = 4 // seasonal-median looks back this many weeks at most
	combinationSize     = 3 // the combination is the median of this many best models
	minDailyCycles      = 2
	minWeeklyCycles     = 2
	holtWintersHuberK   = 2.0 // Gelper, Fried & Croux (2010)
	arMaxPhi            = 0.99
)

// need says how much history a model needs.
type need int

const (
	needPoint need = iota // any history
	needDays              // two days
	needWeeks             // two weeks
)

// model fits y (cleaned, no gaps) up to each origin and forecasts h points from it.
// origins are ascending and at most len(y); out[i] is the forecast from origins[i].
type model struct {
	name string
	need need
	run  func(y []float64, p periods, origins []int, h int) [][]float64
}

// models lists the base models auto selects from, simplest first (ties go to the simpler).
var baseModels = []model{
	{ModelNaive, needPoint, runNaive},
	{ModelNaiveDaily, needDays, func(y []float64, p periods, o []int, h int) [][]float64 { return runLag(y, p.D, o, h) }},
	{ModelNaiveWeekly, needWeeks, func(y []float64, p periods, o []int, h int) [][]float64 { return runLag(y, p.W, o, h) }},
	{ModelSeasonalMedian, needWeeks, runSeasonalMedian},
	{ModelHoltWintersDay, needDays, func(y []float64, p periods, o []int, h int) [][]float64 { return runHoltWinters(y, p, false, o, h) }},
	{ModelHoltWinters, needWeeks, func(y []float64, p periods, o []int, h int) [][]float64 { return runHoltWinters(y, p, true, o, h) }},
	{ModelHarmonicDaily, needDays, func(y []float64, p periods, o []int, h int) [][]float64 { return runHarmonic(y, p, false, o, h) }},
	{ModelHarmonic, needWeeks, func(y []float64, p periods, o []int, h int) [][]float64 { return runHarmonic(y, p, true, o, h) }},
}

// Models returns the names Options.Model accepts besides "auto".
func Models() []string {
	names := []string{ModelSeasonalNaive}
	for _, m := range baseModels {
		names = append(names, m.name)
	}
	return append(names, ModelCombination)
}

func (n need) points(p periods) int {
	switch n {
	case needWeeks:
		return minWeeklyCycles * p.W
	case needDays:
		return minDailyCycles * p.D
	}
	return 1
}

// runNaive repeats the last value.
func runNaive(y []float64, _ periods, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	for i, o := range origins {
		f := make([]float64, h)
		for k := range f {
			f[k] = y[o-1]
		}
		out[i] = f
	}
	return out
}

// runLag repeats the last cycle of length lag.
func runLag(y []float64, lag int, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	for i, o := range origins {
		f := make([]float64, h)
		for k := range f {
			f[k] = y[o-lag+k%lag]
		}
		out[i] = f
	}
	return out
}

// runSeasonalMedian forecasts each slot as the median of the same slot over the last
// (up to medianWeeks) weeks: robust to one bad week.
func runSeasonalMedian(y []float64, p periods, origins []int, h int) [][]float64 {
	out := make([][]float64, len(origins))
	var buf [medianWeeks]float64
	for i, o := range origins {
		m := min(medianWeeks, o/p.W)
		f := make([]float64, h)
		for k := range f {
			b := buf[:0]
			for j := 1; j <= m; j++ {
				b = append(b, y[o-j*p.W+k%p.W])
			}
			f[k] = median(b)
		}
		out[i] = f
	}
	return out
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
func runHoltWinters(y []float64, p periods, weekly bool, origins []int, h int) [][]float64 {
	init := p.D
	if weekly {
		init = p.W
	}
	stepsPerHour := float64(p.D) / 24
	alpha := 1 - math.Exp(-1/(6*stepsPerHour))
	delta := 1 - math.Exp(-1.0/5)
	omega := 1 - math.Exp(-1.0/3)
	// Initial state from the first cycle: level = its mean, daily index = the mean profile
	// of its days, weekly index = what is left.
	level := mean(y[:init])
	d := make([]float64, p.D)
	nd := init / p.D
	for i := 0; i < init; i++ {
		d[i%p.D] += (y[i] - level) / float64(nd)
	}
	w := make([]float64, p.W)
	if weekly {
		for i := 0; i < p.W; i++ {
			w[i] = y[i] - level - d[i%p.D]
		}
	}
	// Robust scale of one-step errors, started from the first cycle's residuals.
	sigma := 0.0
	for i := 0; i < init; i++ {
		sigma += math.Abs(y[i] - level - d[i%p.D] - w[i%p.W])
	}
	sigma = math.Max(1.25*sigma/float64(init), 1e-9*(math.Abs(level)+1))
	const lambda = 0.02 // scale forgets in about 50 steps

	arWin := p.D
	if weekly {
		arWin = p.W
	}
	errs := make([]float64, len(y))
	out := make([][]float64, len(origins))
	oi := 0
	for oi < len(origins) && origins[oi] < init {
		oi++ // no state yet: left nil
	}
	si, wi := init%p.D, init%p.W // t's slots, stepped rather than divided for
	for t := init; t <= len(y); t++ {
		for oi < len(origins) && origins[oi] == t {
			f := make([]float64, h)
			phi := arPhi(errs[max(init, t-arWin):t])
			e := 0.0
			if t > init {
				e = errs[t-1]
			}
			pk := phi
			for k := range f {
				f[k] = level + d[(t+k)%p.D] + w[(t+k)%p.W] + pk*e
				pk *= phi
			}
			out[oi] = f
			oi++
		}
		if t == len(y) {
			break
		}
		yhat := level + d[si] + w[wi]
		e := y[t] - yhat
		lim := holtWintersHuberK * sigma
		ec := math.Max(-lim, math.Min(lim, e))
		errs[t] = ec
		sigma = math.Max(lambda*1.25*math.Abs(ec)+(1-lambda)*sigma, 1e-9*(math.Abs(level)+1))
		yc := yhat + ec
		newLevel := alpha*(yc-d[si]-w[wi]) + (1-alpha)*level
		d[si] = delta*(yc-newLevel-w[wi]) + (1-delta)*d[si]
		if weekly {
			w[wi] = omega*(yc-newLevel-d[si]) + (1-omega)*w[wi]
		}
		level = newLevel
		if si++; si == p.D {
			si = 0
		}
		if wi++; wi == p.W {
			wi = 0
		}
	}
	return out
}

// arPhi is the lag-1 autocorrelation coefficient of e (least squares through the origin),
// clamped to [0, arMaxPhi]: a negative or explosive correction is not worth its risk.
func arPhi(e []float64) float64 {
	var num, den float64
	for i := 1; i < len(e); i++ {
		num += e[i] * e[i-1]
		den += e[i-1] * e[i-1]
	}
	if den == 0 {
		return 0
	}
	return math.Max(0, math.Min(arMaxPhi, num/den))
}
