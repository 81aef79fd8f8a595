package forecast

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// handEval is an evaluation of a flat series of 10s with daily origins every 4 points and a
// 2-point horizon, with one model per forecast function (origin index → value).
func handEval(t *testing.T, models map[string]func(j int) float64, order []string) *evaluation {
	t.Helper()
	const n, h, d = 40, 2, 4
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = 10
	}
	e := &evaluation{p: periods{D: d, W: 7 * d}, h: h, q: 0.9, n: n, scale: 1,
		combos: map[string]*scored{}, cleaning: cleaned{raw: raw, fit: raw}}
	for o := 8; o+h <= n; o += d {
		e.origins = append(e.origins, o)
	}
	e.levelEps = slices.Repeat([]float64{3}, len(e.origins)+1)
	for _, name := range order {
		f := models[name]
		m := &scored{name: name, fc: make([][]float64, len(e.origins)+1)}
		for j := range m.fc {
			m.fc[j] = []float64{f(j), f(j)}
		}
		e.score(m)
		e.models = append(e.models, m)
	}
	return e
}

// TestDecisionsSkipModelsNeedingMoreHistory: a backtest decision does what a forecast from
// its origin would: a model that needs more history than the origin has (the weekly profile
// before its first week, scored before it on its daily half's forecasts) is neither chosen
// nor combined there, and is from its first week on.
func TestDecisionsSkipModelsNeedingMoreHistory(t *testing.T) {
	e := handEval(t, map[string]func(int) float64{
		"a": func(int) float64 { return 10 }, "b": func(int) float64 { return 11 },
		"c": func(int) float64 { return 13 }, "d": func(int) float64 { return 14 },
	}, []string{"a", "b", "c", "d"})
	weekly := e.models[0]
	weekly.from = e.origins[4]
	ds := e.decide(e.selectAuto)
	for j, d := range ds {
		if len(d.look) == 0 {
			continue // nothing to select on: the fallback
		}
		if e.at(j) < weekly.from {
			require.NotContains(t, append([]*scored{d.m}, d.m.members...), weekly, "decision %d at %d, before the model's history: %s", j, e.at(j), d.why)
			continue
		}
		require.Equal(t, "a", d.m.name, "decision %d at %d: %s", j, e.at(j), d.why)
	}
}

func TestSelectAutoPrefersCombinationUnlessClearAndConsistent(t *testing.T) {
	tests := []struct {
		name   string
		models map[string]func(j int) float64
		want   string
	}{
		{
			// a is exact everywhere; the median of a, b, c is b, off by 1.
			name: "clear and consistent winner",
			models: map[string]func(int) float64{
				"a": func(int) float64 { return 10 }, "b": func(int) float64 { return 11 }, "c": func(int) float64 { return 13 },
			},
			want: "a",
		},
		{
			// a is exact on one origin in three and off by 0.5 otherwise; the median of a, b and c
			// follows a, so a has no clear lead over it.
			name: "lucky single model",
			models: map[string]func(int) float64{
				"a": func(j int) float64 {
					if j%3 == 0 {
						return 10
					}
					return 10.5
				},
				"b": func(int) float64 { return 10.6 }, "c": func(int) float64 { return 9.3 },
			},
			want: ModelCombination,
		},
		{
			// a is exact on the four odd origins of the seven looked back on and off by 0.6 on
			// the others; b and c err on the same side, so their median is off by 0.8 where a
			// is exact and by 0.4 elsewhere: a's lead is large and holds on a majority.
			name: "large lead on four of seven origins",
			models: map[string]func(int) float64{
				"a": func(j int) float64 { return alternate(j, 10, 10.6) },
				"b": func(j int) float64 { return alternate(j, 10.8, 10.3) },
				"c": func(j int) float64 { return alternate(j, 10.9, 10.4) },
			},
			want: "a",
		},
		{
			// As above with odd and even swapped: a is exact on only three of the seven.
			name: "large lead on three of seven origins",
			models: map[string]func(int) float64{
				"a": func(j int) float64 { return alternate(j, 10.6, 10) },
				"b": func(j int) float64 { return alternate(j, 10.3, 10.8) },
				"c": func(j int) float64 { return alternate(j, 10.4, 10.9) },
			},
			want: ModelCombination,
		},
		{
			// Nearly tied: a leads the median by less than the margin.
			name: "within the margin",
			models: map[string]func(int) float64{
				"a": func(int) float64 { return 10.95 }, "b": func(int) float64 { return 11 }, "c": func(int) float64 { return 11.1 },
			},
			want: ModelCombination,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := handEval(t, tc.models, []string{"a", "b", "c"})
			look := e.lookBack(len(e.origins))
			require.Len(t, look, min(selectOrigins, len(e.origins)))
			m, why := e.selectAuto(e.n, look)
			require.Equal(t, tc.want, m.name, why)
			require.NotEmpty(t, why)
		})
	}
}

// TestSelectAutoAsksALargerLeadOfFewerOrigins: a lead over the combination that picks the
// single model over a week of look-back origins does not over three or four, where one storm
// or holiday makes most of it.
func TestSelectAutoAsksALargerLeadOfFewerOrigins(t *testing.T) {
	// a errs by 0.87 on every origin; the median of a, b and c is b, off by 1: a 13 % lead.
	e := handEval(t, map[string]func(int) float64{
		"a": func(int) float64 { return 10.87 }, "b": func(int) float64 { return 11 }, "c": func(int) float64 { return 11.1 },
	}, []string{"a", "b", "c"})
	look := e.lookBack(len(e.origins))
	require.Len(t, look, selectOrigins)
	tests := []struct {
		origins int
		want    string
	}{
		{selectOrigins, "a"},
		{6, "a"},
		{4, ModelCombination},
		{3, ModelCombination},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d origins", tc.origins), func(t *testing.T) {
			m, why := e.selectAuto(e.n, look[len(look)-tc.origins:])
			require.Equal(t, tc.want, m.name, why)
			if tc.want == ModelCombination {
				require.Contains(t, why, fmt.Sprintf("a lead of 13.0 %%, under the %.1f %% asked over %d origins", 100*marginFor(tc.origins), tc.origins))
			}
		})
	}
}

// TestHeldBackNamesTheRuleThatHeld: the reason a better-scoring single model may not replace
// the default names the one rule of selectAuto's that held it back, in the order selectAuto
// applies them, and none when its lead was clear and consistent.
func TestHeldBackNamesTheRuleThatHeld(t *testing.T) {
	tests := []struct {
		name    string
		mb, mc  float64
		wins, n int
		lb, lc  float64 // on the latest origin
		want    string
	}{
		{"one origin", 0.5, 1.0, 1, 1, 0.5, 1, ", but one origin is too few to trust one model"},
		{"too few origins", 0.5, 1.0, 2, 2, 0.5, 1, ", but 2 origins are too few to trust one model"},
		{"exact on one origin", 0, 0.3, 1, 1, 0, 0.3, ""},
		{"exact on two origins", 0, 0.3, 2, 2, 0, 0.3, ""},
		{"exact, as the default was", 0, 0, 0, 2, 0, 0, ", but 2 origins are too few to trust one model"},
		{"lead under the margin", 0.87, 1.0, 3, 3, 0.8, 1, ", a lead of 13.0 %, under the 15.3 % asked over 3 origins"},
		{"lead under the margin over a week", 0.92, 1.0, 7, 7, 0.9, 1, ", a lead of 8.0 %, under the 10.0 % asked over 7 origins"},
		{"too few wins", 0.5, 1.0, 3, 7, 0.5, 1, ", but it won only 3 of 7 origins"},
		{"clear and consistent", 0.5, 1.0, 4, 7, 0.5, 1, ""},
		{"clear and consistent over three", 0.8, 1.0, 2, 3, 0.8, 1, ""},
		{"lost the latest origin a little", 0.5, 1.0, 6, 7, 1.5, 1, ""},
		{"lost the latest origin by far", 0.5, 1.0, 6, 7, 1.8, 1, ", but on the latest origin it erred 1.8 times as much"},
		{"no actual on the latest origin", 0.5, 1.0, 6, 6, math.NaN(), math.NaN(), ""},
		{"the default exact on the latest origin", 0.5, 1.0, 6, 7, 0.1, 0, ", but on the latest origin it erred where the default was exact"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, heldBack(tc.mb, tc.mc, tc.wins, tc.n, tc.lb, tc.lc))
		})
	}
}

// TestSelectAutoLetsTheOnlyWeekdayModelStandAlone: where one model alone knows the weekday
// (the weekly profile under two weeks of history), auto's default is that model, not a
// median in which the daily models outvote it; a model that beats it clearly and
// consistently still wins, unless the day to forecast's weekday, a week before, was unlike the
// days before it (a daily Holt-Winters that had won on the weekdays forecast the Saturday
// after them at 2.6 times the weekly profile's error); and with two such models the
// combination is back.
func TestSelectAutoLetsTheOnlyWeekdayModelStandAlone(t *testing.T) {
	// On the flat 10s, a errs by 0.2 on every origin, far more than combineMargin below the
	// weekly w's 0.5; b and c are close to w.
	dailyClearlyBetter := map[string]func(int) float64{
		"a": func(int) float64 { return 10.2 }, "b": func(int) float64 { return 10.48 },
		"c": func(int) float64 { return 10.49 }, "w": func(int) float64 { return 10.5 },
	}
	tests := []struct {
		name   string
		models map[string]func(j int) float64
		weekly []string // the models needing a week of history
		// weekAgo is the load of the day a week before the decision (points 12–15 of the
		// flat 10s; the decision is at 40, a week is 28 points); 0 leaves it at 10.
		weekAgo float64
		want    string
		whyHas  string // a part of the reason, when it matters
	}{
		{
			name: "the only weekly model, a little behind the daily ones",
			models: map[string]func(int) float64{
				"a": func(int) float64 { return 10.47 }, "b": func(int) float64 { return 10.48 },
				"c": func(int) float64 { return 10.49 }, "w": func(int) float64 { return 10.5 },
			},
			weekly: []string{"w"},
			want:   "w",
			whyHas: "a lead of", // 0.47 against 0.5: under the margin
		},
		{
			name:   "a daily model clearly and consistently better",
			models: dailyClearlyBetter,
			weekly: []string{"w"},
			want:   "a",
		},
		{
			name:    "a daily model clearly better, the weekday a week before quiet",
			models:  dailyClearlyBetter,
			weekly:  []string{"w"},
			weekAgo: 6,
			want:    "w",
			whyHas:  "but its wins were on days unlike the weekday to forecast",
		},
		{
			name:    "a daily model clearly better, the weekday a week before within the tolerance",
			models:  dailyClearlyBetter,
			weekly:  []string{"w"},
			weekAgo: 10.8,
			want:    "a",
		},
		{
			name: "two weekly models",
			models: map[string]func(int) float64{
				"a": func(int) float64 { return 10.47 }, "b": func(int) float64 { return 10.48 },
				"w": func(int) float64 { return 10.5 }, "v": func(int) float64 { return 10.55 },
			},
			weekly: []string{"w", "v"},
			want:   ModelCombination,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names := slices.Sorted(maps.Keys(tc.models))
			e := handEval(t, tc.models, names)
			weekdaySetup(e, tc.weekly, tc.weekAgo)
			look := e.lookBack(len(e.origins))
			m, why := e.selectAuto(e.n, look)
			require.Equal(t, tc.want, m.name, why)
			require.NotEmpty(t, why)
			require.Contains(t, why, tc.whyHas)
		})
	}
}

// TestDailyModelsSitOutAnUnlikeWeekdayOnAShortLookBack: with fewer than a week of origins to
// look back on and the weekday to forecast unlike the days before it a week ago, auto's median
// (and the asked-for combination) is of the models that know the weekday only; with a week of
// origins, a usual weekday, or a single weekly model, the ranking decides as before.
func TestDailyModelsSitOutAnUnlikeWeekdayOnAShortLookBack(t *testing.T) {
	// On the flat 10s the daily a and b lead the weekly w and v by a little (v joins the pool
	// behind w on a week of origins), and c trails them all, too far to join.
	models := map[string]func(int) float64{
		"a": func(int) float64 { return 10.45 }, "b": func(int) float64 { return 10.47 },
		"c": func(int) float64 { return 10.7 }, "v": func(int) float64 { return 10.55 },
		"w": func(int) float64 { return 10.5 },
	}
	tests := []struct {
		name    string
		weekly  []string
		origins int     // look-back origins, the latest
		weekAgo float64 // the load of the day a week before the decision; 0 leaves it at 10
		members []string
		whyHas  string
	}{
		{name: "three origins, the weekday unlike", weekly: []string{"v", "w"}, origins: 3, weekAgo: 6,
			members: []string{"w", "v"}, whyHas: "the daily models sat out"},
		{name: "six origins, the weekday unlike", weekly: []string{"v", "w"}, origins: 6, weekAgo: 6,
			members: []string{"w", "v"}, whyHas: "none of the 6 origins"},
		{name: "a week of origins, the weekday unlike", weekly: []string{"v", "w"}, origins: 7, weekAgo: 6,
			members: []string{"a", "b", "w", "v"}},
		{name: "three origins, the weekday like the days before", weekly: []string{"v", "w"}, origins: 3,
			members: []string{"a", "b", "w"}}, // no pool on under a week of origins
		{name: "three origins, the weekday unlike, a single weekly model", weekly: []string{"w"}, origins: 3, weekAgo: 6,
			members: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := handEval(t, models, slices.Sorted(maps.Keys(models)))
			weekdaySetup(e, tc.weekly, tc.weekAgo)
			look := e.lookBack(len(e.origins))
			require.GreaterOrEqual(t, len(look), tc.origins)
			look = look[len(look)-tc.origins:]
			m, why := e.selectAuto(e.n, look)
			if tc.members == nil {
				require.Equal(t, "w", m.name, why) // the lone weekly model, as weekdayAlone says
				require.NotContains(t, why, "sat out")
				return
			}
			require.Equal(t, ModelCombination, m.name, why)
			var got []string
			for _, x := range m.members {
				got = append(got, x.name)
			}
			require.Equal(t, tc.members, got, why)
			if tc.whyHas == "" {
				require.NotContains(t, why, "sat out")
			} else {
				require.Contains(t, why, tc.whyHas)
			}
			require.Same(t, m, e.bestCombo(e.n, look), "the asked-for combination is auto's")
		})
	}
}

// TestCombinationPoolsTheModelsItCannotTellApart: the median combination holds the
// combinationSize best models and the next ones whose mean look-back error is within
// poolWithin of the last of those, up to poolSize.
func TestCombinationPoolsTheModelsItCannotTellApart(t *testing.T) {
	flat := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	tests := []struct {
		name    string
		errs    map[string]float64 // each model forecasts 10 + its error on the flat 10s
		members []string
	}{
		// The errors alternate in sign, so no single model beats the median of them.
		{"the fourth and fifth within 30 % of the third", map[string]float64{"a": 1, "b": -1.1, "c": 1.2, "d": -1.5, "e": 1.55, "f": -1.56},
			[]string{"a", "b", "c", "d", "e"}},
		{"the fourth within, the fifth not", map[string]float64{"a": 1, "b": -1.1, "c": 1.2, "d": -1.5, "e": 1.57},
			[]string{"a", "b", "c", "d"}},
		{"the fourth not within, the fifth never asked", map[string]float64{"a": 1, "b": -1.1, "c": 1.2, "d": -1.57, "e": 1.58},
			[]string{"a", "b", "c"}},
		{"two models", map[string]float64{"a": 1, "b": -1.1}, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			models := map[string]func(int) float64{}
			for name, err := range tc.errs {
				models[name] = flat(10 + err)
			}
			e := handEval(t, models, slices.Sorted(maps.Keys(models)))
			look := e.lookBack(len(e.origins))
			c := e.bestCombo(e.n, look)
			require.NotNil(t, c)
			var got []string
			for _, m := range c.members {
				got = append(got, m.name)
			}
			require.Equal(t, tc.members, got)
			for i := range c.fc { // the pools of four and five take the median as median does
				for k, f := range c.fc[i] {
					v := make([]float64, len(c.members))
					for j, m := range c.members {
						v[j] = m.fc[i][k]
					}
					require.Equal(t, median(v), f, "origin %d, point %d", i, k)
				}
			}
			m, why := e.selectAuto(e.n, look)
			require.Same(t, c, m, why)
			require.Contains(t, why, "median of "+strings.Join(tc.members, ", "))
		})
	}
}

// weekdaySetup makes the models named weekly need a week of history, and puts the load of the
// day a week before the final decision (points 12–15 of handEval's 40; a week is 28 points) at
// weekAgo, unless it is 0.
func weekdaySetup(e *evaluation, weekly []string, weekAgo float64) {
	for _, name := range weekly {
		e.find(name).from = e.p.W
	}
	if weekAgo == 0 {
		return
	}
	fit := slices.Clone(e.cleaning.fit)
	for i := e.n - e.p.W; i < e.n-e.p.W+e.p.D; i++ {
		fit[i] = weekAgo
	}
	e.cleaning.fit = fit
}

// alternate is odd at odd origin indices and even at even ones.
func alternate(j int, odd, even float64) float64 {
	if j%2 == 1 {
		return odd
	}
	return even
}

func TestLookBackUsesOnlyPassedHorizons(t *testing.T) {
	e := &evaluation{h: 6, n: 40, origins: []int{4, 8, 12, 16, 20, 24, 28, 32}}
	// Origin 24 (index 5) sees the origins whose 6-point horizons ended by 24: up to 16.
	require.Equal(t, []int{0, 1, 2, 3}, e.lookBack(5))
	require.Empty(t, e.lookBack(0))
	require.Empty(t, e.lookBack(1)) // 4+6 > 8
	// The final forecast at 40 sees the latest selectOrigins (7) of the origins whose horizon
	// ended: 32+6 <= 40.
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, e.lookBack(len(e.origins)))
	e.origins = make([]int, 30)
	for i := range e.origins {
		e.origins[i] = i
	}
	e.h, e.n = 1, 30
	require.Len(t, e.lookBack(len(e.origins)), selectOrigins)
	require.Equal(t, 29, e.lookBack(len(e.origins))[selectOrigins-1])
}

func TestBoundIsTheConformalQuantileOfScaledErrors(t *testing.T) {
	// One model forecasting 10 at every origin; actuals 10+k·1.3 at origin k give scaled
	// errors k·1.3/(10+3) = k/10 for k = 0..9 (levelEps 3), pooled in one bucket of 20.
	e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return 10 }}, []string{"m"})
	for j, o := range e.origins {
		e.cleaning.raw[o] = 10 + float64(j%10)*1.3
		e.cleaning.raw[o+1] = 10 + float64(j%10)*1.3
	}
	m := e.models[0]
	e.score(m)
	look := e.lookBack(len(e.origins)) // the last 7 origins: k = 1..7, 14 errors
	require.Len(t, look, 7)
	tests := []struct {
		alpha float64
		want  float64 // rank ⌈15(1−alpha)⌉ of 14 sorted errors {.1,.1,.2,.2,…,.7,.7}
	}{
		{0.1, 0.7},  // rank ⌈13.5⌉ = 14
		{0.2, 0.6},  // rank 12
		{0.5, 0.4},  // rank ⌈7.5⌉ = 8
		{0.01, 0.7}, // beyond the sample: its largest
	}
	for _, tc := range tests {
		up := e.bound(m, len(e.origins), look, tc.alpha)
		require.Len(t, up, 2)
		for _, u := range up {
			require.InDelta(t, 10+tc.want*13, u, 1e-9, "alpha %v", tc.alpha)
		}
	}
	require.Nil(t, e.bound(m, 0, nil, 0.1))
}

func TestDecideAdaptsTheMissRate(t *testing.T) {
	// A model that under-forecasts more and more: its bound misses, and adaptive conformal
	// inference lowers the miss rate it aims at below the nominal 10 %.
	e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return 10 }}, []string{"m"})
	for j, o := range e.origins {
		e.cleaning.raw[o] = 10 + float64(j)
		e.cleaning.raw[o+1] = 10 + float64(j)
	}
	m := e.models[0]
	e.score(m)
	ds := e.decide(func(int, []int) (*scored, string) { return m, "" })
	require.Len(t, ds, len(e.origins)+1)
	require.Nil(t, ds[0].upper)
	require.True(t, math.IsNaN(ds[0].missed))
	for j := 1; j < len(e.origins); j++ {
		require.Equal(t, 1.0, ds[j].missed, "origin %d: every actual is above all earlier errors", j)
	}
	final := ds[len(ds)-1]
	require.Less(t, final.alpha, 0.1)
	require.GreaterOrEqual(t, final.alpha, 0.0)
	require.Greater(t, final.upper[0], 10.0)
}

func TestDecideDoesNotNarrowOnOverForecasts(t *testing.T) {
	// A model that always forecasts too high never misses; the miss rate it aims at stays
	// nominal rather than relaxing (a dip is followed by a rebound).
	e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return 12 }}, []string{"m"})
	ds := e.decide(func(int, []int) (*scored, string) { return e.models[0], "" })
	for j := 1; j < len(ds); j++ {
		require.InDelta(t, 0.1, ds[j].alpha, 1e-12, "decision %d", j)
	}
	require.Equal(t, 0.0, ds[1].missed)
}

func TestBoundNeverFallsBelowTheAnchor(t *testing.T) {
	// m is exact (bound = forecast 10); the anchor says 20 at odd origins.
	e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return 10 }}, []string{"m"})
	m := e.models[0]
	for j := 0; j <= len(e.origins); j++ {
		a := float64(10 + 10*(j%2))
		e.anchor = append(e.anchor, []float64{a, a})
	}
	for j := 1; j <= len(e.origins); j++ {
		up := e.bound(m, j, e.lookBack(j), 0.1)
		require.Equal(t, []float64{float64(10 + 10*(j%2)), float64(10 + 10*(j%2))}, up, "decision %d", j)
	}
}

func TestAnchorForecasts(t *testing.T) {
	p := periods{D: 2, W: 14}
	nan := math.NaN()
	// Four weeks of 10, 20 alternating, one gap and a spike; then two days at 1.
	raw := make([]float64, 4*14+4)
	for i := range raw {
		raw[i] = float64(10 + 10*(i%2))
	}
	raw[14*3] = nan
	raw[14*2] = 100
	for i := 4 * 14; i < len(raw); i++ {
		raw[i] = 1
	}
	tests := []struct {
		name    string
		origin  int
		shiftAt int
		want    []float64
	}{
		{"medians of four weeks, gap skipped, spike outvoted", 4 * 14, 0, []float64{10, 20, 10}},
		{"collapse not yet followed", 4*14 + 2, 4 * 14, []float64{10, 20, 10}},
		{"held two whole days after its first day: not yet followed", 4*14 + 4, 4 * 14, []float64{10, 20, 10}},
		{"held two whole days after its first day: followed", 4*14 + 6, 4 * 14, []float64{1, 11, 1}},
		{"short history: the weeks there are", 14 + 1, 0, []float64{20, 10, 20}},
		{"less than a week: no floor", 5, 0, []float64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := anchorForecasts(raw, p, []int{tc.origin}, 3, []levelAdj{{at: tc.shiftAt, by: -9}}, nil)
			require.Equal(t, tc.want, got[0])
		})
	}
}

func TestQuantileBySelectionMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 4, 5, 17, 18, 100, 1001} {
		for _, dup := range []bool{false, true} {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.NormFloat64()
				if dup {
					v[i] = math.Round(v[i]) // many ties
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			for _, q := range []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 1} {
				require.Equal(t, quantileSorted(sorted, q), quantile(slices.Clone(v), q), "n %d q %v", n, q)
			}
			require.Equal(t, quantileSorted(sorted, 0.5), median(slices.Clone(v)), "median n %d", n)
			if n == 5 {
				for range 20 { // twenty random orders of the five
					rng.Shuffle(n, func(i, j int) { v[i], v[j] = v[j], v[i] })
					require.Equal(t, sorted[2], median5(v[0], v[1], v[2], v[3], v[4]), "median5 of %v", v)
				}
			}
			for k := range n {
				require.Equal(t, sorted[k], rankValue(slices.Clone(v), k), "rankValue n %d k %d", n, k)
			}
			for k := 0; k < n; k += max(1, n/7) {
				w := slices.Clone(v)
				require.Equal(t, sorted[k], kth(w, k))
				for i := range w {
					if i < k {
						require.LessOrEqual(t, w[i], w[k])
					} else {
						require.GreaterOrEqual(t, w[i], w[k])
					}
				}
			}
		}
	}
}

func TestBucketWidthSpansTwoHoursAtLeast(t *testing.T) {
	tests := []struct {
		name               string
		perDay, h, origins int
		want               int
	}{
		{"1 min, two origins: 2 h, not the 30 points 60 errors need", 1440, 1500, 2, 120},
		{"1 min, seven origins", 1440, 1500, 7, 120},
		{"5 min, seven origins: 2 h, not 9 points", 288, 300, 7, 24},
		{"5 min, one origin: 60 errors need more than 2 h", 288, 300, 1, 60},
		{"15 min, seven origins: 60 errors already span more", 96, 100, 7, 9},
		{"hourly, seven origins", 24, 24, 7, 9},
		{"never wider than the horizon", 1440, 60, 7, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &evaluation{p: periods{D: tc.perDay, W: 7 * tc.perDay}, h: tc.h}
			require.Equal(t, tc.want, e.bucketWidth(tc.origins))
		})
	}
}

// TestOrdinaryLastDay: the combination pools only after a day that moved against the week
// before as the days before it did; a collapse, a storm of hours or a step is not ordinary,
// a steady trend is, and too short a history cannot tell.
func TestOrdinaryLastDay(t *testing.T) {
	const perDay = 24
	tests := []struct {
		name string
		days int
		load func(i, n int) float64 // n: the history's length
		want bool
	}{
		{"a usual day", 28, func(int, int) float64 { return 1 }, true},
		{"growing 2 % a day", 28, func(i, _ int) float64 { return math.Pow(1.02, float64(i)/perDay) }, true},
		{"the last day 20 % up", 28, lastHours(perDay, 1.2), true},
		{"the last day at 70 %", 28, lastHours(perDay, 0.7), false},
		{"the last day collapsed to 30 %", 28, lastHours(perDay, 0.3), false},
		{"the last day without load", 28, lastHours(perDay, 0), false},
		{"a storm for the last 6 h at a tenth", 28, lastHours(6, 0.1), false},
		{"a step to 2.5 times for the last 6 h", 28, lastHours(6, 2.5), false},
		{"a burst of one hour to twice", 28, lastHours(1, 2), true},
		{"a collapse with ten days of history", 10, lastHours(perDay, 0.3), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.days * perDay
			y := make([]float64, n)
			for i := range y {
				y[i] = weeklyTemplate(i, perDay) * tc.load(i, n)
			}
			e := &evaluation{p: periods{D: perDay, W: 7 * perDay}, n: n, cleaning: cleaned{raw: y, fit: y}}
			require.Equal(t, tc.want, e.ordinaryLastDay(n))
		})
	}
}

// lastHours scales the last hours of a history by factor.
func lastHours(hours int, factor float64) func(i, n int) float64 {
	return func(i, n int) float64 {
		if i >= n-hours {
			return factor
		}
		return 1
	}
}

func TestZeroedTakesTheMajorityOfTheLookBackActuals(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		forecast float64
		actuals  []float64 // at the 7 look-back origins' two points, in order; the rest stay 10
		want     []float64 // nil: nothing to zero
	}{
		{name: "all zero", forecast: 0.3, actuals: slices.Repeat([]float64{0}, 14), want: []float64{0, 0}},
		{name: "8 of 14 zero", forecast: 0.3, actuals: []float64{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 1}, want: []float64{0, 0}},
		{name: "7 of 14 is not most", forecast: 0.3, actuals: []float64{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 1}},
		{name: "gaps are not counted", forecast: 0.3, actuals: []float64{0, 0, 0, 0, nan, nan, nan, nan, nan, nan, nan, 1, 1, 1}, want: []float64{0, 0}},
		{name: "a forecast of 0 already", forecast: 0, actuals: slices.Repeat([]float64{0}, 14)},
		{name: "a negative forecast is the model's own", forecast: -0.5, actuals: slices.Repeat([]float64{0}, 14)},
		{name: "no zeros", forecast: 0.3, actuals: slices.Repeat([]float64{1}, 14)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return tc.forecast }}, []string{"m"})
			look := e.lookBack(len(e.origins))
			require.Len(t, look, 7)
			for n, i := range look {
				e.cleaning.raw[e.origins[i]] = tc.actuals[2*n]
				e.cleaning.raw[e.origins[i]+1] = tc.actuals[2*n+1]
			}
			m := e.models[0]
			e.score(m)
			require.Equal(t, tc.want, e.zeroed(m, len(e.origins), look))
			require.Equal(t, []float64{tc.forecast, tc.forecast}, m.fc[len(e.origins)], "the model's forecast is not touched")
		})
	}
}

func TestDecideZeroingOnlyOnceItPaid(t *testing.T) {
	// Actuals 0 from origin 1 on: from the first decision whose look-back is mostly 0 on, each
	// has a zeroed forecast, and uses it once a decision before it had one that scored the
	// lower absolute error.
	e := handEval(t, map[string]func(int) float64{"m": func(int) float64 { return 0.3 }}, []string{"m"})
	for j, o := range e.origins {
		if j >= 1 {
			e.cleaning.raw[o], e.cleaning.raw[o+1] = 0, 0
		}
	}
	m := e.models[0]
	e.score(m)
	fixed := func(int, []int) (*scored, string) { return m, "" }
	plain := e.decide(fixed)
	ds := e.decideZeroing(fixed)
	firstZeroed := -1
	for j, d := range ds {
		require.Equal(t, plain[j].upper, d.upper, "decision %d: zeroing leaves the bound", j)
		require.Nil(t, plain[j].zeroed, "decide alone never zeroes")
		if d.zeroed != nil && firstZeroed < 0 {
			firstZeroed = j
		}
		require.Equal(t, firstZeroed >= 0 && j > firstZeroed, d.useZeroed, "decision %d (first zeroed at %d)", j, firstZeroed)
		if d.useZeroed {
			require.Equal(t, []float64{0, 0}, d.mean(j))
		} else {
			require.Equal(t, m.fc[j], d.mean(j))
		}
	}
	require.Equal(t, 3, firstZeroed, "origins 0–2: 4 of 6 actuals 0")
	require.True(t, ds[len(ds)-1].useZeroed)

	// Zeros on origins 1–4 and 1s after: the last decisions' look-back is still mostly 0,
	// but the zeroed forecasts lost on origins 5–7 (0 against 1s, where 0.3 was nearer), and
	// the final forecast keeps the model's.
	for j, o := range e.origins {
		if j >= 5 {
			e.cleaning.raw[o], e.cleaning.raw[o+1] = 1, 1
		}
	}
	e.score(m)
	ds = e.decideZeroing(fixed)
	final := ds[len(ds)-1]
	require.NotNil(t, final.zeroed, "8 of the look-back's 14 actuals are 0")
	require.False(t, final.useZeroed)
	require.Equal(t, m.fc[len(e.origins)], final.mean(len(e.origins)))
}
