package hpasim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
)

// TestGenerated: every generated trace is deterministic, spans its days at its step from
// GeneratedStart with finite, non-negative loads, and has the shape its name promises.
func TestGenerated(t *testing.T) {
	const day = 24 * time.Hour
	// mean is the trace's mean load over [from, to) since its start.
	mean := func(s forecast.Series, from, to time.Duration) float64 {
		var sum float64
		var n int
		for i, v := range s.Values {
			if at := time.Duration(i) * s.Step; at >= from && at < to {
				sum += v
				n++
			}
		}
		return sum / float64(n)
	}
	// noise is the mean relative change from one sample to the next over the first day's
	// afternoon, where the daily curve is nearly flat.
	noise := func(s forecast.Series) float64 {
		var sum float64
		var n int
		for i := 1; i < len(s.Values); i++ {
			if at := time.Duration(i) * s.Step; at >= 14*time.Hour && at < 16*time.Hour {
				sum += math.Abs(s.Values[i]-s.Values[i-1]) / s.Values[i-1]
				n++
			}
		}
		return sum / float64(n)
	}
	tests := []struct {
		name  string
		step  time.Duration
		days  int
		shape func(t *testing.T, s forecast.Series)
	}{
		{name: "ramps", step: 5 * time.Minute, days: 42, shape: func(t *testing.T, s forecast.Series) {
			require.Greater(t, mean(s, 9*time.Hour, 12*time.Hour), 5*mean(s, 0, 7*time.Hour), "a weekday's plateau far above its night")
		}},
		{name: "smooth", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			require.Greater(t, mean(s, 14*time.Hour, 16*time.Hour), 3*mean(s, 0, 5*time.Hour), "afternoon peak, quiet night")
			require.Less(t, noise(s), 0.06)
		}},
		{name: "noisy", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			require.Greater(t, noise(s), 0.2)
		}},
		{name: "weekly", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			weekdays, weekend := mean(s, 0, 5*day), mean(s, 5*day, 7*day) // GeneratedStart is a Monday
			require.InDelta(t, 0.45, weekend/weekdays, 0.02)
		}},
		{name: "hourly", step: time.Hour, days: 91, shape: func(t *testing.T, s forecast.Series) {
			weekdays, weekend := mean(s, 7*day, 12*day), mean(s, 12*day, 14*day)
			require.InDelta(t, 0.6, weekend/weekdays, 0.04)
			require.InDelta(t, 1+0.002*84, mean(s, 84*day, 91*day)/mean(s, 0, 7*day), 0.04, "0.2 % a day")
		}},
		{name: "batch", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			for d := range 28 {
				from := time.Duration(d) * day
				batch, steady := mean(s, from+2*time.Hour, from+2*time.Hour+30*time.Minute), mean(s, from+3*time.Hour, from+day)
				require.InDelta(t, 5, batch/steady, 0.25, "day %d: the batch at five times the steady load", d)
				require.InDelta(t, 200, steady, 2, "day %d", d)
			}
			require.Less(t, noise(s), 0.06)
		}},
		{name: "growth", step: 5 * time.Minute, days: 35, shape: func(t *testing.T, s forecast.Series) {
			require.InDelta(t, math.Pow(1.03, 28), mean(s, 28*day, 35*day)/mean(s, 0, 7*day), 0.1)
		}},
		{name: "shift", step: 5 * time.Minute, days: 35, shape: func(t *testing.T, s forecast.Series) {
			require.InDelta(t, 0.6, mean(s, 21*day, 28*day)/mean(s, 14*day, 21*day), 0.02)
		}},
		{name: "events", step: 5 * time.Minute, days: 35, shape: func(t *testing.T, s forecast.Series) {
			evenings := make([]float64, 35) // noon to midnight, when events happen
			for d := range evenings {
				from := time.Duration(d) * day
				evenings[d] = mean(s, from+12*time.Hour, from+day)
			}
			typical := slices.Clone(evenings)
			slices.Sort(typical)
			var eventDays int
			for _, e := range evenings {
				if e > 1.15*typical[len(typical)/2] {
					eventDays++
				}
			}
			require.GreaterOrEqual(t, eventDays, 4, "some days have an event")
			require.LessOrEqual(t, eventDays, 17, "most do not")
		}},
		{name: "bursts", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			var bursts int
			for i := 10; i < len(s.Values); i++ {
				var recent float64 // the ten minutes before
				for _, v := range s.Values[i-10 : i] {
					recent += v / 10
				}
				if s.Values[i] > 2*recent && s.Values[i] > 100 {
					bursts++
				}
			}
			require.Positive(t, bursts, "counts jump above their recent level")
			requireCounts(t, s)
		}},
		{name: "outages", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			requireCounts(t, s)
			// Outages: an hour or more of no request at all, on several days, and one of a day
			// and a half (the counts' own quietest minutes, 18 a minute, are never 0).
			var outages, longest, run int
			for _, v := range append(slices.Clone(s.Values), 1) {
				if v == 0 {
					run++
					continue
				}
				if run >= 60 {
					outages++
				}
				longest, run = max(longest, run), 0
			}
			require.GreaterOrEqual(t, outages, 5, "outages of an hour or more")
			require.GreaterOrEqual(t, longest, 36*60, "a day and a half down")
			weekdays, weekend := mean(s, 0, 5*day), mean(s, 5*day, 7*day)
			require.InDelta(t, 0.6, weekend/weekdays, 0.1, "weekends at about 60 %")
		}},
		{name: "weblog", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			requireCounts(t, s)
			weekdays, weekend := mean(s, 0, 5*day), mean(s, 5*day, 7*day) // GeneratedStart is a Monday
			require.InDelta(t, 0.6, weekend/weekdays, 0.05, "weekends at 60 %")
			// Bursts: five minutes whose mean is far above the same five minutes a week before
			// or after (the counts' own noise is not, over five minutes).
			var bursts int
			week, span := int(7*day/s.Step), 5
			for i := 0; i+span <= len(s.Values); i++ {
				other := i + week
				if other+span > len(s.Values) {
					other = i - week
				}
				var now, then float64
				for k := range span {
					now += s.Values[i+k] / float64(span)
					then += s.Values[other+k] / float64(span)
				}
				if now > 50 && now > 1.4*then {
					bursts++
				}
			}
			require.Positive(t, bursts, "bursts above the weekly rhythm")
		}},
		{name: "heavytail", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			// Against the smooth curve of the same shape (mean 1 noise, so the ratio's mean
			// is about 1), the minutes above twice it are a heavy tail: a normal noise of
			// the same spread would put almost none there.
			smooth, _ := Generated("smooth")
			var above, n int
			for i, v := range s.Values {
				ratio := v / 300 / (smooth.Values[i] / 400)
				n++
				if ratio > 2 {
					above++
				}
			}
			require.InDelta(t, 0.027, float64(above)/float64(n), 0.01, "a minute in about forty at twice the expected load")
		}},
		{name: "localtime", step: 5 * time.Minute, days: 70, shape: func(t *testing.T, s forecast.Series) {
			// 12:00 to 13:00 UTC is 07:00 to 08:00 in New York before daylight saving starts
			// and 08:00 to 09:00 after: the same UTC hour of the morning's climb carries a
			// third more load.
			morning := func(from time.Duration) float64 { return mean(s, from+12*time.Hour, from+13*time.Hour) }
			require.InDelta(t, 1.31, morning(64*day)/morning(57*day), 0.08, "Tuesday 11 March against Tuesday 4 March")
			weekdays, weekend := mean(s, 14*day, 19*day), mean(s, 19*day+5*time.Hour, 21*day+5*time.Hour) // Saturday and Sunday in New York
			require.InDelta(t, 0.55, weekend/weekdays, 0.03)
		}},
		{name: "weeklypeak", step: 5 * time.Minute, days: 42, shape: func(t *testing.T, s forecast.Series) {
			for w := range 6 {
				monday, tuesday := time.Duration(7*w)*day, time.Duration(7*w+1)*day
				require.InDelta(t, 2, mean(s, monday+9*time.Hour, monday+10*time.Hour)/mean(s, tuesday+9*time.Hour, tuesday+10*time.Hour), 0.1, "week %d: Monday's 09:00 at twice Tuesday's", w)
			}
		}},
		{name: "jobs", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			for d := range 28 {
				var jobs, after float64 // each hour's first ten minutes, and the ten after
				for h := range 24 {
					from := time.Duration(d)*day + time.Duration(h)*time.Hour
					jobs += mean(s, from, from+10*time.Minute)
					after += mean(s, from+10*time.Minute, from+20*time.Minute)
				}
				require.InDelta(t, 3, jobs/after, 0.1, "day %d: the first ten minutes of each hour at three times the ten after", d)
			}
		}},
		{name: "sparse", step: time.Minute, days: 28, shape: func(t *testing.T, s forecast.Series) {
			requireCounts(t, s)
			require.InDelta(t, 3, mean(s, 14*time.Hour, 16*time.Hour), 0.5, "about 3 a minute at the afternoon's height")
		}},
	}
	require.Len(t, GeneratedNames(), len(tests), "every generated trace is tested")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := Generated(tt.name)
			require.True(t, ok)
			again, _ := Generated(tt.name)
			require.Equal(t, s, again, "deterministic")
			require.Equal(t, GeneratedStart, s.Start)
			require.Equal(t, tt.step, s.Step)
			require.Len(t, s.Values, int(time.Duration(tt.days)*day/tt.step))
			for i, v := range s.Values {
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0) || v < 0, "value %d: %v", i, v)
			}
			tt.shape(t, s)
		})
	}
	_, ok := Generated("no-such-trace")
	require.False(t, ok)
}

// requireCounts: every value is a whole count.
func requireCounts(t *testing.T, s forecast.Series) {
	t.Helper()
	for i, v := range s.Values {
		require.Equal(t, math.Round(v), v, "value %d", i)
	}
}
