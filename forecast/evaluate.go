package forecast

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// ModelScores is one model's backtest.
type ModelScores struct {
	Model  string
	Scores Scores
}

// Evaluation is the rolling-origin backtest of every model a series' history allows.
type Evaluation struct {
	// Models holds each candidate model's scores on Auto's origins (on every scored origin
	// where Auto has none), simplest first, the combination (of the best few on the earlier
	// origins, at each origin) last. Coverage is of bounds calibrated on earlier origins only.
	Models []ModelScores
	// Auto scores automatic selection honestly: at each origin it selects, and calibrates its
	// upper bound, on earlier origins only (an origin with none before it is not scored).
	Auto Scores
	// Baseline scores weekly seasonal naive (daily when history is short) on Auto's origins,
	// the yardstick Auto must beat.
	Baseline ModelScores
	// Chosen is the model Forecast would choose on the whole history.
	Chosen string
	// Notes says what cleaning and fallbacks did.
	Notes []string
}

// Evaluate backtests every model the history of s allows on up to origins daily rolling
// origins (0 means DefaultOrigins) with opts.Horizon and opts.Quantile, as Forecast's auto
// selection does, and scores auto selection itself. opts.Model is ignored.
func Evaluate(s Series, opts Options, origins int) (Evaluation, error) {
	if opts.Horizon <= 0 {
		return Evaluation{}, fmt.Errorf("horizon must be positive, got %d", opts.Horizon)
	}
	if s.Step <= 0 {
		return Evaluation{}, fmt.Errorf("step must be positive, got %s", s.Step)
	}
	q := opts.Quantile
	if q == 0 {
		q = 0.9
	}
	if !(q > 0 && q < 1) {
		return Evaluation{}, fmt.Errorf("quantile must be between 0 and 1, got %v", opts.Quantile)
	}
	if origins <= 0 {
		origins = DefaultOrigins
	}
	if err := checkMagnitude(s.Values); err != nil {
		return Evaluation{}, err
	}
	// Earlier origins, up to selectOrigins of them, are where auto selection and the bound
	// learn before the first scored origin. With a horizon past a day, the origins less than a
	// horizon before a scored one have not ended by then, so as many more are backtested:
	// Forecast's final decision looks back on selectOrigins, and each scored one must too.
	mem := getArena()
	defer putArena(mem)
	unended := (opts.Horizon - 1) / periodsFor(s.Step).D
	ev, err := evaluate(s, opts.Horizon, q, origins+selectOrigins+unended, nil, mem)
	if err != nil {
		return Evaluation{}, err
	}
	out := Evaluation{Notes: ev.notes}
	if len(ev.models) == 0 {
		if len(ev.notFinite) > 0 {
			return Evaluation{}, fmt.Errorf("%w: every model overflowed (%s)", ErrNotFinite, strings.Join(ev.notFinite, ", "))
		}
		return out, nil
	}
	first := max(0, len(ev.origins)-origins)
	scoredOrigins := func(j int) bool { return j >= first && j < len(ev.origins) }
	ds := ev.decideZeroing(ev.selectAuto)
	out.Chosen = ds[len(ds)-1].m.name
	// Auto is scored where it had earlier origins to select on, and every model on the same
	// origins, so that a model's row and auto's compare like with like. With a short history the
	// first scored origins have none before them. Scored there too, weekly naive on FB (16 days,
	// summed to 1 h) averaged a quiet day auto was not scored on into 1.54, against auto's 2.46
	// on the stormy day after it alone, where naive scored 2.62. Only where auto was scored
	// nowhere are the models scored on every origin: that backtest is the only one there is.
	withLook := func(j int) bool { return scoredOrigins(j) && len(ds[j].look) > 0 }
	use := scoredOrigins
	if slices.ContainsFunc(ds[first:len(ev.origins)], func(d decision) bool { return len(d.look) > 0 }) {
		use = withLook
	}
	// Each model alone, and the combination of the best few at each origin, bounded as auto
	// bounds them (without adaptation: that is the procedure's).
	fixed := func(m *scored) selector { return func(int, []int) (*scored, string) { return m, "" } }
	for _, m := range ev.models {
		out.Models = append(out.Models, ModelScores{Model: m.name, Scores: ev.scoreDecisions(ev.decide(fixed(m)), use)})
	}
	if len(ev.models) >= 2 && len(ev.origins) > 1 {
		comb := func(at int, look []int) (*scored, string) {
			if c := ev.bestCombo(at, look); c != nil {
				return c, ""
			}
			if ranked := ev.rank(at, look); len(ranked) > 0 {
				return ranked[0], ""
			}
			return ev.fallback(), ""
		}
		out.Models = append(out.Models, ModelScores{Model: ModelCombination, Scores: ev.scoreDecisions(ev.decide(comb), use)})
	}
	out.Auto = ev.scoreDecisions(ds, withLook)
	if base := ev.baseline(); base != nil {
		out.Baseline = ModelScores{Model: base.name, Scores: ev.scoreDecisions(ev.decide(fixed(base)), withLook)}
	}
	return out, nil
}

// baseline is weekly seasonal naive, else daily, else naive.
func (e *evaluation) baseline() *scored {
	for _, n := range []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive} {
		if m := e.find(n); m != nil {
			return m
		}
	}
	return nil
}

// scoreDecisions scores the decisions' models on the origins use accepts: MASE and sMAPE of
// their forecasts, coverage of their bounds.
func (e *evaluation) scoreDecisions(ds []decision, use func(j int) bool) Scores {
	var a acc
	for j := range e.origins {
		if !use(j) {
			continue
		}
		a.addForecast(e, ds[j].mean(j), j)
		a.addCoverage(e, j, ds[j].upper)
	}
	return a.scores()
}

// acc accumulates scores over (model, origin) pairs.
type acc struct {
	mase, smape     float64
	origins, points int
	in, all         int
	pinball         float64
}

// addForecast adds the errors of forecast fc at origin j (a model's, or a decision's zeroed one).
func (a *acc) addForecast(e *evaluation, fc []float64, j int) {
	raw, o := e.cleaning.raw, e.origins[j]
	var ae float64
	var n int
	for k, f := range fc {
		if o+k >= len(raw) || math.IsNaN(raw[o+k]) {
			continue
		}
		err := raw[o+k] - f
		ae += math.Abs(err)
		if d := math.Abs(raw[o+k]) + math.Abs(f); d > 0 {
			a.smape += 200 * math.Abs(err) / d
		}
		a.points++
		n++
	}
	if n > 0 {
		a.mase += ae / float64(n) / e.scale
		a.origins++
	}
}

func (a *acc) addCoverage(e *evaluation, j int, upper []float64) {
	if upper == nil {
		return
	}
	raw, o := e.cleaning.raw, e.origins[j]
	for k, u := range upper {
		if o+k >= len(raw) || math.IsNaN(raw[o+k]) || math.IsNaN(u) {
			continue
		}
		a.all++
		if y := raw[o+k]; y <= u {
			a.in++
			a.pinball += (1 - e.q) * (u - y) / e.scale
		} else {
			a.pinball += e.q * (y - u) / e.scale
		}
	}
}

func (a *acc) scores() Scores {
	if a.origins == 0 {
		return Scores{}
	}
	s := Scores{MASE: a.mase / float64(a.origins), SMAPE: a.smape / float64(max(1, a.points)), Origins: a.origins}
	if a.all > 0 {
		s.Coverage = float64(a.in) / float64(a.all)
		s.Pinball = a.pinball / float64(a.all)
	}
	return s
}

// checkMagnitude refuses values so large that the backtest's arithmetic overflows: their sum
// scales every error (MASE's in-sample scale, sMAPE's denominator), and seasonal naive, which
// does not overflow, scored a series of 1e308 as a perfect MASE 0 with NaN bounds, while
// Forecast refuses it (issue 9). The headroom covers differences and sums of two values.
func checkMagnitude(values []float64) error {
	var sum float64
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum += math.Abs(v)
		}
	}
	if math.IsInf(4*sum, 0) {
		return fmt.Errorf("%w: values so large the arithmetic overflows (their sum is beyond float64)", ErrNotFinite)
	}
	return nil
}
