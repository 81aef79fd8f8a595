package forecast

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// quartiles agrees bit for bit with two quantile calls, on ties, runs and every small size.
func TestQuartilesAgreeWithQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 400; n++ {
		for _, levels := range []int{3, 1000000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(levels)) / 7
			}
			a := slices.Clone(v)
			w1, w3 := quantile(a, 0.25), quantile(a, 0.75)
			g1, g3 := quartiles(slices.Clone(v))
			if g1 != w1 || g3 != w3 {
				t.Fatalf("n=%d levels=%d: quartiles %v %v, quantile %v %v", n, levels, g1, g3, w1, w3)
			}
		}
	}
}
