package forecast

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestYesterdayCompetesFromTheSecondDay: a new service's third day. The daily models need two
// days to fit and a day to be scored on, so before three days of history only naive (the last
// value, flat for a day) and yesterday's load repeated can be scored; yesterday's load needs
// one day to forecast, and from two days on it has an origin to be scored on.
func TestYesterdayCompetesFromTheSecondDay(t *testing.T) {
	const perDay = 288
	day := func(i int) float64 { // a web day: quiet nights, a broad afternoon peak
		h := float64(i%perDay) / perDay * 24
		return 100 * (0.75 - 0.65*math.Cos(2*math.Pi*(h-3)/24))
	}
	for _, tc := range []struct {
		name      string
		days      float64
		wantModel string // in the reason
	}{
		{"two and a half days", 2.5, ModelNaiveDaily},
		{"two days and an hour", 2 + 1.0/24, ModelNaiveDaily},
		{"a day and a half: yesterday cannot be scored yet", 1.5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 9))
			n := int(tc.days * perDay)
			all := make([]float64, n+perDay)
			for i := range all {
				all[i] = day(i) * (1 + 0.03*rng.NormFloat64())
			}
			s := Series{Start: t0, Step: 5 * time.Minute, Values: all[:n]}
			r, err := Forecast(s, Options{Horizon: perDay})
			require.NoError(t, err)
			if tc.wantModel == "" {
				require.Equal(t, ModelNaive, r.Model, r.Reason)
				return
			}
			require.True(t, strings.Contains(r.Reason, tc.wantModel), "reason: %s", r.Reason)
			var auto, naive float64
			for k, y := range all[n:] {
				auto += math.Abs(y - r.Mean[k])
				naive += math.Abs(y - all[n-1])
			}
			require.Less(t, auto, 0.7*naive, "the next day's error against the last value's (%s)", r.Reason)
		})
	}
}
