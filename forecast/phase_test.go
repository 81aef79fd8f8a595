package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// office is a working day's load at hour h of a weekday wd (0 Sunday): a morning ramp, a
// lunch dip, an evening fall; a low, gently rounded weekend.
func office(h float64, wd int) float64 {
	if wd == 0 || wd == 6 {
		return 200 + 100*math.Exp(-(h-14)*(h-14)/8)
	}
	up := 1 / (1 + math.Exp(-(h-8)*2))
	down := 1 / (1 + math.Exp((h-18)*1.5))
	return 150 + 850*up*down - 120*math.Exp(-(h-12.5)*(h-12.5)/0.5)
}

// officeSeries is days of office load at perDay points a day from t0 (a Sunday) with 4 %
// noise, each point's hour moved by shift(day) hours (positive: the day comes earlier; day is
// the point's time in days), plus extra(day).
func officeSeries(days, perDay int, seed uint64, shift, extra func(day float64) float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	y := make([]float64, days*perDay)
	for i := range y {
		day := float64(i) / float64(perDay)
		h := math.Mod(24*float64(i%perDay)/float64(perDay)+shift(day)+24, 24)
		y[i] = office(h, (i/perDay)%7)
		if extra != nil {
			y[i] += extra(day)
		}
		y[i] *= 1 + 0.04*rng.NormFloat64()
	}
	return y
}

func TestPhaseShiftsFound(t *testing.T) {
	const perDay, days = 96, 42 // 15 min, six weeks
	p := periods{D: perDay, W: 7 * perDay}
	hour := perDay / 24
	from := func(d0 float64, hours float64) func(float64) float64 {
		return func(day float64) float64 {
			if day >= d0 {
				return hours
			}
			return 0
		}
	}
	none := from(days, 0)
	// A job of twice the weekday's peak for an hour each night, at 02:00 and from d0 on at hour.
	job := func(d0 float64, hour float64) func(float64) float64 {
		return func(day float64) float64 {
			at := 2.0
			if day >= d0 {
				at = hour
			}
			if h := 24 * (day - math.Floor(day)); h >= at && h < at+1 {
				return 2000
			}
			return 0
		}
	}
	tests := []struct {
		name  string
		y     []float64
		found []phaseShift // at within two days after the true start; seen two days after at
	}{
		{"spring, ten days ago", officeSeries(days, perDay, 1, from(days-10, 1), nil),
			[]phaseShift{{at: (days - 10) * perDay, lag: hour}}},
		{"autumn, three weeks ago", officeSeries(days, perDay, 2, from(days-21, -1), nil),
			[]phaseShift{{at: (days - 21) * perDay, lag: -hour}}},
		{"users six hours east, a week ago", officeSeries(days, perDay, 3, from(days-7, 6), nil),
			[]phaseShift{{at: (days - 7) * perDay, lag: 6 * hour}}},
		// The Monday moved at 14:24 matches no shift, and a week later it is the reference of
		// a day that matches four hours.
		{"seven hours earlier from a Monday afternoon", officeSeries(days, perDay, 9, from(days-12.4, 7), nil),
			[]phaseShift{{at: (days - 12) * perDay, lag: 7 * hour}}},
		{"an hour on, and back two weeks later", officeSeries(days, perDay, 4, func(day float64) float64 {
			if day >= days-24 && day < days-10 {
				return 1
			}
			return 0
		}, nil), []phaseShift{{at: (days - 24) * perDay, lag: hour}, {at: (days - 10) * perDay, lag: -hour}}},
		{"no shift", officeSeries(days, perDay, 5, none, nil), nil},
		// 20 minutes earlier every day from day 20 on: a drift, which yesterday's load forecasts.
		{"a peak drifting earlier", officeSeries(days, perDay, 6, func(day float64) float64 {
			return max(0, math.Floor(day)-20) / 3
		}, nil), nil},
		{"a holiday on a Thursday", func() []float64 {
			y := officeSeries(days, perDay, 7, none, nil)
			copy(y[(days-4)*perDay:(days-3)*perDay], officeSeries(7, perDay, 8, none, nil)[6*perDay:])
			return y
		}(), nil},
		// Only the job moved: read two hours on, the weekdays' ramps would be at the wrong hours.
		{"a nightly job two hours later", officeSeries(days, perDay, 10, none, job(days-10, 4)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := phaseShiftsBefore(tc.y, p, len(tc.y), map[int]dayMatch{})
			require.Len(t, got, len(tc.found), "%+v", got)
			for i, want := range tc.found {
				require.Equal(t, want.lag, got[i].lag)
				require.GreaterOrEqual(t, got[i].at, want.at, "%+v", got[i])
				require.LessOrEqual(t, got[i].at, want.at+2*perDay, "%+v", got[i])
				require.Equal(t, got[i].at+phaseStreak*perDay, got[i].seen)
			}
		})
	}
}

func TestPhaseShiftsNotFoundInBursts(t *testing.T) {
	// Counts of a bursty topic (like the tweet traces): a weak daily rhythm under bursts of
	// minutes to hours. Some day matches some shift better than none by chance, but none is
	// clear enough unshifted to tell a shift from a burst.
	const perDay, days = 24, 60
	p := periods{D: perDay, W: 7 * perDay}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		y := make([]float64, days*perDay)
		burst := 0.0
		for i := range y {
			if rng.Float64() < 0.03 {
				burst += 200 * rng.ExpFloat64()
			}
			burst *= 0.6
			y[i] = 50 + 20*math.Sin(2*math.Pi*float64(i%perDay)/perDay) + burst + 10*rng.NormFloat64()
		}
		require.Empty(t, phaseShiftsBefore(y, p, len(y), map[int]dayMatch{}), "seed %d", seed)
	}
}

func TestRealigned(t *testing.T) {
	y := make([]float64, 20)
	for i := range y {
		y[i] = float64(i)
	}
	tests := []struct {
		name   string
		shifts []phaseShift
		want   []float64
	}{
		{"none", nil, y},
		{"earlier by 2 from 10", []phaseShift{{at: 10, lag: 2}},
			[]float64{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"later by 3 from 10", []phaseShift{{at: 10, lag: -3}},
			[]float64{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"earlier by 2 from 6, later by 1 from 14: both before 6", []phaseShift{{at: 6, lag: 2}, {at: 14, lag: -1}},
			[]float64{1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, realigned(nil, y, tc.shifts))
		})
	}
}

// TestAutoFollowsAPhaseShift: a series in UTC of users who keep local time moves its day an
// hour at each change of daylight saving time. From its third day on, the models fitted on
// weeks forecast the new hours: their history before it is read an hour on, and the reason
// says so.
func TestAutoFollowsAPhaseShift(t *testing.T) {
	const perDay, days = 288, 35 // 5 min, five weeks
	for _, tc := range []struct {
		name  string
		since int // days since the shift
		hours float64
	}{
		{"spring, three days ago", 3, 1},
		{"spring, ten days ago", 10, 1},
		{"autumn, two weeks ago", 14, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shift := func(day float64) float64 {
				if day >= float64(days-tc.since) {
					return tc.hours
				}
				return 0
			}
			y := officeSeries(days, perDay, 21, shift, nil)
			r, err := Forecast(Series{Start: t0, Step: 5 * time.Minute, Values: y}, Options{Horizon: perDay})
			require.NoError(t, err)
			require.Contains(t, r.Reason, "the day's shape came 1 h", "model %s", r.Model)
			var errNew, errOld float64 // the next day's error against the new hours and the old
			for k, f := range r.Mean {
				h := 24 * float64(k) / perDay
				errNew += math.Abs(f - office(math.Mod(h+tc.hours+24, 24), days%7))
				errOld += math.Abs(f - office(h, days%7))
			}
			// Read unshifted, the history put the next day nearer the old hours: its error
			// against the new was 2.5 times that against the old three days after spring's
			// shift, 1.5 times ten days after it; realigned, 0.52 and 0.37 times (autumn's,
			// two weeks after, 0.29).
			require.Less(t, errNew, 0.6*errOld, "model %s (%s)", r.Model, r.Reason)
		})
	}
}

// TestAnchorFollowsAPhaseShift: the bound's floor (the median of the same slot over the last
// weeks) of a decision that knows a move reads the weeks before it at the new hours too, or
// it would hold the old peak's hours high for weeks.
func TestAnchorFollowsAPhaseShift(t *testing.T) {
	p := periods{D: 24, W: 7 * 24}
	const weeks = 4
	at := 3*p.W + 2*p.D // the peak at 10:00 comes at 09:00 from here on
	raw := make([]float64, weeks*p.W)
	for i := range raw {
		peak := 10
		if i >= at {
			peak = 9
		}
		raw[i] = 10
		if i%p.D == peak {
			raw[i] = 100
		}
	}
	o := len(raw)
	moved := [][]phaseShift{{{at: at, lag: 1, seen: at + 2*p.D}}}
	for _, tc := range []struct {
		name      string
		phase     [][]phaseShift
		at9, at10 float64
	}{
		{"unaware: three weeks of the old peak outvote one of the new", nil, 10, 100},
		{"aware: every week at the new hours", moved, 100, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := anchorForecasts(raw, p, []int{o}, p.D, nil, tc.phase)[0]
			require.Equal(t, tc.at9, got[9])
			require.Equal(t, tc.at10, got[10])
		})
	}
}
