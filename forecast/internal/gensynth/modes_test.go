package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testStep = 5 * time.Minute

func TestFailureModesCountsAndShape(t *testing.T) {
	ss := failureModes(30, 7, testStep)
	require.GreaterOrEqual(t, len(ss), 200)
	perDay := int(24 * time.Hour / testStep)
	n := (historyDays + horizonDays) * perDay
	count := map[string]int{}
	names := map[string]bool{}
	for _, s := range ss {
		prefix := s.name[:strings.LastIndexByte(s.name, '-')]
		count[prefix]++
		require.False(t, names[s.name], "duplicate %s", s.name)
		names[s.name] = true
		require.Len(t, s.values, n, s.name)
		for i, v := range s.values {
			if math.IsNaN(v) {
				require.Equal(t, "normal", prefix, "%s: only the normal family has gaps", s.name)
				require.Less(t, i, historyDays*perDay, "%s: the horizon's actuals are complete", s.name)
				continue
			}
			require.False(t, math.IsInf(v, 0), s.name)
			require.GreaterOrEqual(t, v, 0.0, s.name)
		}
	}
	want := map[string]int{}
	for _, f := range families {
		want[f.prefix] = 30
	}
	require.Equal(t, want, count)
	for _, p := range []string{"normal", "dip", "drift", "plateau", "rise", "earlypeak", "lowcount", "spike", "step", "sparse", "moved", "jobs"} {
		require.Contains(t, count, p)
	}
}

func TestFailureModesDeterministic(t *testing.T) {
	start := time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC)
	var a, b, c bytes.Buffer
	require.NoError(t, writeCSV(&a, failureModes(30, 7, testStep), start, testStep))
	require.NoError(t, writeCSV(&b, failureModes(30, 7, testStep), start, testStep))
	require.Equal(t, a.Bytes(), b.Bytes(), "same seed, same bytes")
	require.NoError(t, writeCSV(&c, failureModes(30, 8, testStep), start, testStep))
	require.NotEqual(t, a.Bytes(), c.Bytes(), "another seed, other series")
	// More series per family leave the first ones as they were.
	var d bytes.Buffer
	require.NoError(t, writeCSV(&d, failureModes(31, 7, testStep)[:30], start, testStep))
	var e bytes.Buffer
	require.NoError(t, writeCSV(&e, failureModes(30, 7, testStep)[:30], start, testStep))
	require.Equal(t, e.Bytes(), d.Bytes())
	require.True(t, strings.HasPrefix(a.String(), "series,timestamp,value\nnormal-000,2024-01-07T00:00:00Z,"))
}

// dayMean is the mean of day d of v, gaps skipped.
func dayMean(v []float64, d, perDay int) float64 {
	s, n := 0.0, 0
	for _, x := range v[d*perDay : (d+1)*perDay] {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	return s / float64(n)
}

// Each family carries its failure: checked on the generated series, not assumed.
func TestFailureModesCarryTheirFailure(t *testing.T) {
	perDay := int(24 * time.Hour / testStep)
	last := historyDays - 1 // the last day of history
	checks := map[string]func(v []float64) error{
		"dip": func(v []float64) error {
			r := dayMean(v, last, perDay) / dayMean(v, last-7, perDay)
			h := dayMean(v, historyDays, perDay) / dayMean(v, historyDays-7, perDay)
			if r < 0.15 || r > 0.55 || math.Abs(h-1) > 0.05 {
				return fmt.Errorf("last day at %.2f of last week's, horizon at %.2f", r, h)
			}
			return nil
		},
		"rise": func(v []float64) error {
			r := dayMean(v, last, perDay) / dayMean(v, last-7, perDay)
			h := dayMean(v, historyDays, perDay) / dayMean(v, historyDays-7, perDay)
			if r < 1.25 || h < 1.25 {
				return fmt.Errorf("last day at %.2f of last week's, horizon at %.2f", r, h)
			}
			return nil
		},
		"step": func(v []float64) error {
			// Against the same points a week earlier: the last 4 h of history and the horizon
			// at 2.4× or more on the mean, no point of the history before its last 12 h above 1.3×.
			ratio := func(from, to int) (most, mean float64) {
				for i := from; i < to; i++ {
					r := v[i] / v[i-7*perDay]
					most, mean = math.Max(most, r), mean+r/float64(to-from)
				}
				return most, mean
			}
			hist, hour := historyDays*perDay, perDay/24
			before, _ := ratio(7*perDay, hist-12*hour)
			_, last := ratio(hist-4*hour, hist)
			_, horizon := ratio(hist, len(v))
			if before > 1.3 || last < 2.4 || horizon < 2.4 {
				return fmt.Errorf("week-on-week ratio at most %.2f before, %.2f on the mean in the last 4 h and %.2f in the horizon", before, last, horizon)
			}
			return nil
		},
		"spike": func(v []float64) error {
			// Against the same point a week earlier: ×4 or more somewhere in the last week of
			// history, never ×2 before it (it does not recur) nor in the horizon.
			maxRatio := func(from, to int) float64 {
				r := 0.0
				for i := from; i < to; i++ {
					r = math.Max(r, v[i]/v[i-7*perDay])
				}
				return r
			}
			hist := historyDays * perDay
			before, in, after := maxRatio(7*perDay, hist-7*perDay), maxRatio(hist-7*perDay, hist), maxRatio(hist, len(v))
			if in < 4 || before > 2 || after > 2 {
				return fmt.Errorf("largest week-on-week ratio %.1f before the last week, %.1f in it, %.1f in the horizon", before, in, after)
			}
			return nil
		},
		"lowcount": func(v []float64) error {
			for _, x := range v {
				if x != math.Trunc(x) || x > 100 {
					return fmt.Errorf("value %v is not a small count", x)
				}
			}
			return nil
		},
		"sparse": func(v []float64) error {
			zeros := 0
			for _, x := range v {
				if x != math.Trunc(x) || x > 50 {
					return fmt.Errorf("value %v is not a small count", x)
				}
				if x == 0 {
					zeros++
				}
			}
			if share := float64(zeros) / float64(len(v)); share < 0.15 || share > 0.6 {
				return fmt.Errorf("%.0f %% zeros, not the quiet hours' share", 100*share)
			}
			return nil
		},
		"plateau": func(v []float64) error {
			distinct := map[float64]bool{}
			for _, x := range v {
				distinct[x] = true
			}
			if len(distinct) > 12 {
				return fmt.Errorf("%d distinct levels", len(distinct))
			}
			return nil
		},
		"moved": func(v []float64) error {
			// The horizon's day is most like the same day a week earlier moved 4–8 hours
			// earlier (of the moves by 0–11 whole hours), and the day three weeks in, before
			// any move, like the same day a week earlier unmoved.
			hour := perDay / 24
			distance := func(day, earlier, by int) float64 { // mean |v[day] − v[earlier] shifted by by|
				var s float64
				for k := range perDay {
					s += math.Abs(v[day*perDay+k] - v[earlier*perDay+k+by])
				}
				return s / float64(perDay)
			}
			best := 0
			for h := 1; h < 12; h++ {
				if distance(historyDays, historyDays-7, h*hour) < distance(historyDays, historyDays-7, best*hour) {
					best = h
				}
			}
			if best < 4 || best > 8 {
				return fmt.Errorf("the horizon's day is most like the week before's moved %d h", best)
			}
			if d := historyDays - 7; distance(d, d-7, 0) > distance(d, d-7, 4*hour) {
				return fmt.Errorf("day %d is moved already", d)
			}
			return nil
		},
		"earlypeak": func(v []float64) error {
			// The peak's time: the circular mean of the slots weighted by the load above the
			// day's least (robust to the noise, unlike the argmax).
			peak := func(d int) float64 {
				day := v[d*perDay : (d+1)*perDay]
				lo := day[0]
				for _, x := range day {
					lo = math.Min(lo, x)
				}
				var sx, sy float64
				for i, x := range day {
					a := 2 * math.Pi * float64(i) / float64(perDay)
					sx += (x - lo) * math.Cos(a)
					sy += (x - lo) * math.Sin(a)
				}
				return math.Atan2(sy, sx) / (2 * math.Pi) * 24 * 60 // minutes
			}
			// Over a week the peak moves 70–210 min earlier (mod a day).
			moved := math.Mod(peak(10)-peak(17)+2*24*60, 24*60)
			if moved < 50 || moved > 240 {
				return fmt.Errorf("peak moved %.0f min earlier in a week", moved)
			}
			return nil
		},
	}
	for _, s := range failureModes(30, 7, testStep) {
		prefix := s.name[:strings.LastIndexByte(s.name, '-')]
		if check := checks[prefix]; check != nil {
			require.NoError(t, check(s.values), s.name)
		}
	}
}
