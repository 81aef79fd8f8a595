package forecast

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultOrigins is the number of daily rolling origins of the backtest: a week, so every
// weekday is scored once.
const DefaultOrigins = 7

// minBucketErrors is how many backtest errors, at least, estimate one upper quantile: the
// horizons are pooled in buckets of neighbours until a bucket holds that many.
const minBucketErrors = 60

func periodsFor(step time.Duration) periods {
	d := int(math.Round(float64(24*time.Hour) / float64(step)))
	d = max(1, d)
	return periods{D: d, W: 7 * d}
}

// scored is one model's backtest and final forecast.
type scored struct {
	name   string
	fc     [][]float64 // per backtest origin (time ascending), then the final forecast last
	errs   [][]float64 // actual − forecast per origin and horizon, NaN where no actual
	scores Scores
	loo    [][]float64 // looOffsets, computed once
}

// evaluation is everything a forecast decided, for Forecast and Evaluate.
type evaluation struct {
	p        periods
	h        int
	q        float64
	origins  []int // time ascending
	models   []*scored
	notes    []string
	cleaning cleaned
}

func (e *evaluation) find(name string) *scored {
	for _, m := range e.models {
		if m.name == name {
			return m
		}
	}
	return nil
}

// evaluate cleans s, picks the candidate models its history allows (only names when
// non-empty), backtests each on up to k daily origins and adds their median combination.
func evaluate(s Series, h int, q float64, k int, names []string) (*evaluation, error) {
	raw := sanitize(s.Values)
	finite := 0
	for _, v := range raw {
		if !math.IsNaN(v) {
			finite++
		}
	}
	if finite == 0 {
		return nil, ErrNoData
	}
	p := periodsFor(s.Step)
	n := len(raw)
	ev := &evaluation{p: p, h: h, q: q, cleaning: clean(raw, p)}
	if c := ev.cleaning; c.outliers+c.gaps > 0 || c.shiftAt > 0 {
		note := fmt.Sprintf("cleaned %d outliers and %d gaps", c.outliers, c.gaps)
		if c.shiftAt > 0 {
			note += fmt.Sprintf(", level shift of %.4g at point %d", -c.shift, c.shiftAt)
		}
		ev.notes = append(ev.notes, note)
	}
	var cands []model
	best := needPoint
	for _, m := range baseModels {
		if names != nil && !slices.Contains(names, m.name) {
			continue
		}
		if m.need.points(p) > n || (m.need >= needDays && p.D < 2) {
			continue
		}
		cands = append(cands, m)
		best = max(best, m.need)
	}
	if len(cands) == 0 {
		return ev, nil
	}
	// Origins every day back from the last one whose horizon ends at the series' end, all of
	// them late enough for every candidate. When the most demanding candidates leave no
	// origin, they are dropped: a model that cannot be scored cannot be chosen fairly.
	for {
		ev.origins = ev.origins[:0]
		minO := best.points(p)
		for j := 0; j < k; j++ {
			o := n - h - j*p.D
			if o < minO || o < 1 {
				break
			}
			ev.origins = append(ev.origins, o)
		}
		if len(ev.origins) > 0 || best == needPoint {
			break
		}
		var kept []model
		for _, m := range cands {
			if m.need < best {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			break // nothing simpler: no backtest, the caller says so
		}
		ev.notes = append(ev.notes, fmt.Sprintf("history of %d points leaves no backtest origin for %s models", n, best))
		cands, best = kept, best-1
	}
	slices.Reverse(ev.origins)
	all := append(slices.Clone(ev.origins), n)
	y := ev.cleaning.fit
	scale := maseScale(raw, p)
	for _, m := range cands {
		sc := &scored{name: m.name, fc: m.run(y, p, all, h)}
		if slices.ContainsFunc(sc.fc, func(f []float64) bool { return f == nil }) {
			continue // a numerical failure: the model sits out rather than guess
		}
		for _, f := range sc.fc {
			for i := range f {
				f[i] = math.Max(0, f[i])
			}
		}
		ev.score(sc, raw, scale)
		ev.models = append(ev.models, sc)
	}
	if names == nil || slices.Contains(names, ModelCombination) {
		if c := ev.combine(); c != nil {
			ev.score(c, raw, scale)
			ev.models = append(ev.models, c)
		}
	}
	return ev, nil
}

func (n need) String() string {
	switch n {
	case needWeeks:
		return "weekly"
	case needDays:
		return "daily"
	}
	return "point"
}

// combine is the pointwise median of the best combinationSize scored models (at least two).
func (e *evaluation) combine() *scored {
	if len(e.origins) == 0 {
		return nil
	}
	ranked := slices.Clone(e.models)
	slices.SortStableFunc(ranked, func(a, b *scored) int { return cmpFloat(a.scores.MASE, b.scores.MASE) })
	ranked = ranked[:min(combinationSize, len(ranked))]
	if len(ranked) < 2 {
		return nil
	}
	c := &scored{name: ModelCombination, fc: make([][]float64, len(ranked[0].fc))}
	buf := make([]float64, len(ranked))
	for i := range c.fc {
		f := make([]float64, e.h)
		for k := range f {
			for j, m := range ranked {
				buf[j] = m.fc[i][k]
			}
			f[k] = median(buf)
		}
		c.fc[i] = f
	}
	return c
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maseScale is the in-sample mean absolute error of the seasonal naive forecast at the
// longest period the history holds twice (week, else day, else one step); never zero.
func maseScale(raw []float64, p periods) float64 {
	lag := 1
	switch {
	case len(raw) >= 2*p.W:
		lag = p.W
	case len(raw) >= 2*p.D:
		lag = p.D
	}
	var sum, level float64
	var cnt, lc int
	for i := range raw {
		if !math.IsNaN(raw[i]) {
			level += raw[i]
			lc++
		}
		if i >= lag && !math.IsNaN(raw[i]) && !math.IsNaN(raw[i-lag]) {
			sum += math.Abs(raw[i] - raw[i-lag])
			cnt++
		}
	}
	floor := 1e-9 * math.Max(1, level/math.Max(1, float64(lc)))
	if cnt == 0 {
		return floor
	}
	return math.Max(sum/float64(cnt), floor)
}

// score fills m.errs and m.scores from the backtest origins.
func (e *evaluation) score(m *scored, raw []float64, scale float64) {
	m.errs = make([][]float64, len(e.origins))
	var mase, smape float64
	var nm, ns int
	for j, o := range e.origins {
		errs := make([]float64, e.h)
		var ae float64
		var cnt int
		for k := range errs {
			errs[k] = math.NaN()
			if o+k >= len(raw) || math.IsNaN(raw[o+k]) {
				continue
			}
			a, f := raw[o+k], m.fc[j][k]
			errs[k] = a - f
			ae += math.Abs(a - f)
			cnt++
			if d := math.Abs(a) + math.Abs(f); d > 0 {
				smape += 200 * math.Abs(a-f) / d
			}
			ns++
		}
		m.errs[j] = errs
		if cnt > 0 {
			mase += ae / float64(cnt) / scale
			nm++
		}
	}
	if nm == 0 {
		return
	}
	m.scores = Scores{MASE: mase / float64(nm), SMAPE: smape / float64(max(1, ns)), Origins: nm}
	// Coverage is filled in (e.fillCoverage) only for the models that report it.
}

// fillCoverage sets m's backtest coverage.
func (e *evaluation) fillCoverage(m *scored) {
	if m.scores.Origins > 0 {
		m.scores.Coverage = e.coverage(m)
	}
}

// bucketWidth pools neighbouring horizons so each quantile rests on enough errors.
func (e *evaluation) bucketWidth() int {
	return max(1, min(e.h, (minBucketErrors+len(e.origins)-1)/max(1, len(e.origins))))
}

// offsets returns, per horizon, the q quantile of the backtest errors of m in the horizon's
// bucket, leaving out origin skip (−1: none). NaN where a bucket has no error.
func (e *evaluation) offsets(m *scored, skip int) []float64 {
	bw := e.bucketWidth()
	out := make([]float64, e.h)
	buf := make([]float64, 0, bw*len(e.origins))
	for b := 0; b < e.h; b += bw {
		buf = buf[:0]
		for j, errs := range m.errs {
			if j == skip {
				continue
			}
			for k := b; k < min(e.h, b+bw); k++ {
				if !math.IsNaN(errs[k]) {
					buf = append(buf, errs[k])
				}
			}
		}
		v := math.NaN()
		if len(buf) > 0 {
			slices.Sort(buf)
			v = quantileSorted(buf, e.q)
		}
		for k := b; k < min(e.h, b+bw); k++ {
			out[k] = v
		}
	}
	return out
}

// coverage is the share of backtest actuals at or below the upper bound, each origin's bound
// built from the other origins' errors (cross-conformal), so it is not fitted to itself.
func (e *evaluation) coverage(m *scored) float64 {
	loo := e.looOffsets(m)
	var in, all int
	for j, errs := range m.errs {
		for k, err := range errs {
			if math.IsNaN(err) || math.IsNaN(loo[j][k]) {
				continue
			}
			all++
			if err <= math.Max(0, loo[j][k]) {
				in++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(in) / float64(all)
}

// looOffsets returns, per origin j and horizon, the q quantile of m's backtest errors in the
// horizon's bucket from the origins other than j (all of them when there is only one).
// Each bucket is sorted once and walked per left-out origin.
func (e *evaluation) looOffsets(m *scored) [][]float64 {
	if m.loo != nil {
		return m.loo
	}
	K := len(m.errs)
	out := make([][]float64, K)
	for j := range out {
		out[j] = make([]float64, e.h)
	}
	type ej struct {
		err float64
		j   int
	}
	bw := e.bucketWidth()
	buf := make([]ej, 0, bw*K)
	counts := make([]int, K)
	for b := 0; b < e.h; b += bw {
		hi := min(e.h, b+bw)
		buf = buf[:0]
		clear(counts)
		for j, errs := range m.errs {
			for k := b; k < hi; k++ {
				if !math.IsNaN(errs[k]) {
					buf = append(buf, ej{errs[k], j})
					counts[j]++
				}
			}
		}
		slices.SortFunc(buf, func(a, b ej) int { return cmpFloat(a.err, b.err) })
		for j := 0; j < K; j++ {
			skip := j
			if K == 1 {
				skip = -1
			}
			n := len(buf)
			if skip >= 0 {
				n -= counts[j]
			}
			v := math.NaN()
			if n > 0 {
				pos := e.q * float64(n-1)
				lo := int(pos)
				f := pos - float64(lo)
				var a, c float64
				idx := 0
				for _, x := range buf {
					if x.j == skip {
						continue
					}
					if idx == lo {
						a = x.err
						c = a
					} else if idx == lo+1 {
						c = x.err
						break
					}
					idx++
				}
				v = a + f*(c-a)
			}
			for k := b; k < hi; k++ {
				out[j][k] = v
			}
		}
	}
	m.loo = out
	return out
}

// fallbackOrder is the preference among models when nothing could be backtested.
var fallbackOrder = []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}

// resolve maps an Options.Model to the base model names to consider and a fallback chain.
func resolve(name string) ([]string, error) {
	switch name {
	case "", ModelAuto:
		return nil, nil
	case ModelSeasonalNaive:
		return []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}, nil
	case ModelNaiveWeekly:
		return []string{ModelNaiveWeekly, ModelNaiveDaily, ModelNaive}, nil
	case ModelNaiveDaily:
		return []string{ModelNaiveDaily, ModelNaive}, nil
	case ModelSeasonalMedian:
		return []string{ModelSeasonalMedian, ModelNaiveDaily, ModelNaive}, nil
	case ModelHarmonic:
		return []string{ModelHarmonic, ModelHarmonicDaily, ModelNaive}, nil
	case ModelHarmonicDaily:
		return []string{ModelHarmonicDaily, ModelNaive}, nil
	case ModelHoltWinters:
		return []string{ModelHoltWinters, ModelHoltWintersDay, ModelNaive}, nil
	case ModelHoltWintersDay:
		return []string{ModelHoltWintersDay, ModelNaive}, nil
	case ModelNaive:
		return []string{ModelNaive}, nil
	case ModelCombination:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown model %q (want auto or one of %s)", name, strings.Join(Models(), ", "))
}

func forecast(s Series, h int, q float64, name string) (Result, error) {
	chain, err := resolve(name)
	if err != nil {
		return Result{}, err
	}
	ev, err := evaluate(s, h, q, DefaultOrigins, chain)
	if err != nil {
		return Result{}, err
	}
	if len(ev.models) == 0 {
		return Result{}, fmt.Errorf("no model fits a series of %d points", len(s.Values))
	}
	var chosen *scored
	var why string
	switch {
	case chain != nil:
		// An asked-for model, or the first of its fallbacks the history allows.
		for _, n := range chain {
			if chosen = ev.find(n); chosen != nil {
				break
			}
		}
		why = "asked for " + name
		if chosen.name != name && !(name == ModelSeasonalNaive && chosen.name == ModelNaiveWeekly) {
			why += fmt.Sprintf("; history of %d points too short for it, fell back to %s", len(s.Values), chosen.name)
		}
	case name == ModelCombination:
		if chosen = ev.find(ModelCombination); chosen == nil {
			chosen, why = ev.best(), "asked for combination; fewer than two models could be backtested"
		} else {
			why = "asked for combination"
		}
	default:
		chosen, why = ev.best(), ""
	}
	if chosen == nil {
		return Result{}, fmt.Errorf("no model fits a series of %d points", len(s.Values))
	}
	ev.fillCoverage(chosen)
	if why == "" {
		why = ev.reason(chosen)
	}
	if len(ev.notes) > 0 {
		why += "; " + strings.Join(ev.notes, "; ")
	}
	final := chosen.fc[len(chosen.fc)-1]
	res := Result{
		Model:    chosen.name,
		Reason:   why,
		Start:    s.End().Add(s.Step),
		Step:     s.Step,
		Mean:     final,
		Upper:    ev.upper(chosen, final),
		Backtest: chosen.scores,
	}
	return res, nil
}

// best is the model with the lowest backtest MASE (the simpler on ties), or by fallbackOrder
// when nothing could be backtested.
func (e *evaluation) best() *scored {
	var b *scored
	for _, m := range e.models {
		if m.scores.Origins == 0 {
			continue
		}
		if b == nil || m.scores.MASE < b.scores.MASE {
			b = m
		}
	}
	if b != nil {
		return b
	}
	for _, n := range fallbackOrder {
		if m := e.find(n); m != nil {
			return m
		}
	}
	return e.models[0]
}

func (e *evaluation) reason(m *scored) string {
	if m.scores.Origins == 0 {
		return fmt.Sprintf("no backtest origin in %d points for a %d-point horizon; used %s", len(e.cleaning.raw), e.h, m.name)
	}
	r := fmt.Sprintf("lowest backtest MASE %.3f over %d daily origins among %d models", m.scores.MASE, m.scores.Origins, len(e.models))
	if sn := e.find(ModelNaiveWeekly); sn != nil && sn != m {
		r += fmt.Sprintf(" (weekly seasonal naive %.3f)", sn.scores.MASE)
	}
	return r
}

// upper adds to the final forecast the per-horizon quantile of the model's backtest errors;
// with no backtest it adds the q quantile of the in-sample weekly (daily, one-step) changes,
// which is what a seasonal naive forecast would have missed by.
func (e *evaluation) upper(m *scored, mean []float64) []float64 {
	up := make([]float64, len(mean))
	var off []float64
	if m.scores.Origins > 0 {
		off = e.offsets(m, -1)
	}
	var fallback float64
	fbDone := false
	for k, v := range mean {
		o := math.NaN()
		if off != nil {
			o = off[k]
		}
		if math.IsNaN(o) {
			if !fbDone {
				fallback, fbDone = e.naiveSpread(), true
			}
			o = fallback
		}
		up[k] = v + math.Max(0, o)
	}
	return up
}

func (e *evaluation) naiveSpread() float64 {
	raw := e.cleaning.fit
	lag := 1
	switch {
	case len(raw) >= 2*e.p.W:
		lag = e.p.W
	case len(raw) >= 2*e.p.D:
		lag = e.p.D
	}
	d := make([]float64, 0, len(raw))
	for i := lag; i < len(raw); i++ {
		d = append(d, raw[i]-raw[i-lag])
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return quantileSorted(d, e.q)
}
