package forecast

import (
	"fmt"
	"math"
)

// ModelScores is one model's backtest.
type ModelScores struct {
	Model  string
	Scores Scores
}

// Evaluation is the rolling-origin backtest of every model a series' history allows.
type Evaluation struct {
	// Models holds each candidate model's scores, simplest first, the combination last.
	Models []ModelScores
	// Auto scores automatic selection honestly: at each origin it uses the model that scored
	// best on the earlier origins only (so the first origin is not scored).
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
	ev, err := evaluate(s, opts.Horizon, q, origins, nil)
	if err != nil {
		return Evaluation{}, err
	}
	out := Evaluation{Notes: ev.notes}
	for _, m := range ev.models {
		ev.fillCoverage(m)
		out.Models = append(out.Models, ModelScores{Model: m.name, Scores: m.scores})
	}
	if len(ev.models) > 0 {
		out.Chosen = ev.best().name
	}
	out.Auto, out.Baseline = ev.nested()
	return out, nil
}

// nested scores auto selection at each origin by the models' scores on the earlier origins
// whose horizons ended by then, and the seasonal naive baseline on the same origins.
func (e *evaluation) nested() (Scores, ModelScores) {
	base := e.find(ModelNaiveWeekly)
	if base == nil {
		base = e.find(ModelNaiveDaily)
	}
	if base == nil {
		base = e.find(ModelNaive)
	}
	var auto, bl acc
	for j, o := range e.origins {
		var pick *scored
		bestMASE := math.Inf(1)
		for _, m := range e.models {
			var sum float64
			var cnt int
			for i := 0; i < j; i++ {
				if e.origins[i]+e.h > o {
					continue
				}
				if v, ok := originMAE(m.errs[i]); ok {
					sum += v
					cnt++
				}
			}
			if cnt > 0 && sum/float64(cnt) < bestMASE {
				pick, bestMASE = m, sum/float64(cnt)
			}
		}
		if pick == nil {
			continue
		}
		auto.add(e, pick, j)
		if base != nil {
			bl.add(e, base, j)
		}
	}
	var b ModelScores
	if base != nil {
		b = ModelScores{Model: base.name, Scores: bl.scores()}
	}
	return auto.scores(), b
}

func originMAE(errs []float64) (float64, bool) {
	var s float64
	var n int
	for _, v := range errs {
		if !math.IsNaN(v) {
			s += math.Abs(v)
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return s / float64(n), true
}

// acc accumulates scores over chosen (model, origin) pairs.
type acc struct {
	mase, smape     float64
	origins, points int
	in, all         int
}

func (a *acc) add(e *evaluation, m *scored, j int) {
	mae, ok := originMAE(m.errs[j])
	if !ok {
		return
	}
	a.mase += mae / maseScale(e.cleaning.raw, e.p)
	a.origins++
	off := e.looOffsets(m)[j]
	for k, err := range m.errs[j] {
		if math.IsNaN(err) {
			continue
		}
		act := m.fc[j][k] + err
		if d := math.Abs(act) + math.Abs(m.fc[j][k]); d > 0 {
			a.smape += 200 * math.Abs(err) / d
		}
		a.points++
		if !math.IsNaN(off[k]) {
			a.all++
			if err <= math.Max(0, off[k]) {
				a.in++
			}
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
	}
	return s
}
