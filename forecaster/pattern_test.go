package forecaster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestDerivePattern(t *testing.T) {
	t0 := time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC) // a Sunday
	hourly := func(f func(t time.Time) float64) forecast.Result {
		r := forecast.Result{Start: t0, Step: time.Hour}
		for i := 0; i < 24*7; i++ {
			v := f(t0.Add(time.Duration(i) * time.Hour))
			r.Mean = append(r.Mean, v*0.8)
			r.Upper = append(r.Upper, v)
		}
		return r
	}
	params := PatternParams{CapacityPerReplica: 100, MaxReplicas: 10, BaseMinReplicas: 2}
	day := func(d int) *int { return &d }
	tests := []struct {
		name string
		r    forecast.Result
		p    PatternParams
		loc  *time.Location
		want scaling.Pattern
	}{
		{
			name: "daily peak above base",
			r: hourly(func(t time.Time) float64 {
				if t.Hour() == 9 {
					return 550
				}
				return 150
			}),
			p: params,
			want: scaling.Pattern{PatternType: scaling.PatternDaily, Source: scaling.SourceDerived,
				TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.6}}},
		},
		{
			name: "weekday peaks only: weekly",
			r: hourly(func(t time.Time) float64 {
				if t.Weekday() != time.Sunday && t.Weekday() != time.Saturday && t.Hour() == 14 {
					return 800
				}
				return 100
			}),
			p: params,
			want: scaling.Pattern{PatternType: scaling.PatternWeekly, Source: scaling.SourceDerived,
				TimeWindows: []scaling.TimeWindow{
					{DayOfWeek: day(1), HourOfDay: 14, ExpectedLoad: 0.8}, {DayOfWeek: day(2), HourOfDay: 14, ExpectedLoad: 0.8},
					{DayOfWeek: day(3), HourOfDay: 14, ExpectedLoad: 0.8}, {DayOfWeek: day(4), HourOfDay: 14, ExpectedLoad: 0.8},
					{DayOfWeek: day(5), HourOfDay: 14, ExpectedLoad: 0.8},
				}},
		},
		{
			name: "never above base: no windows",
			r:    hourly(func(time.Time) float64 { return 120 }),
			p:    params,
			want: scaling.Pattern{PatternType: scaling.PatternDaily, Source: scaling.SourceDerived, TimeWindows: []scaling.TimeWindow{}},
		},
		{
			name: "capped at maxReplicas",
			r:    hourly(func(t time.Time) float64 { return map[bool]float64{true: 5000, false: 10}[t.Hour() == 0] }),
			p:    params,
			want: scaling.Pattern{PatternType: scaling.PatternDaily, Source: scaling.SourceDerived,
				TimeWindows: []scaling.TimeWindow{{HourOfDay: 0, ExpectedLoad: 1}}},
		},
		{
			name: "5-minute step, peak of the hour counts, in a time zone",
			r: func() forecast.Result {
				r := forecast.Result{Start: t0, Step: 5 * time.Minute}
				for i := 0; i < 288*7; i++ {
					v := 100.0
					if i%288 == 12*8+6 { // 08:30 UTC = 09:30 in Berlin (winter)
						v = 390
					}
					r.Mean, r.Upper = append(r.Mean, v), append(r.Upper, v)
				}
				return r
			}(),
			p:   params,
			loc: mustLoc(t, "Europe/Berlin"),
			want: scaling.Pattern{PatternType: scaling.PatternDaily, Source: scaling.SourceDerived, Timezone: "Europe/Berlin",
				TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.4}}},
		},
		{
			name: "no capacity: nothing derived",
			r:    hourly(func(time.Time) float64 { return 500 }),
			p:    PatternParams{MaxReplicas: 10},
			want: scaling.Pattern{PatternType: scaling.PatternDaily, Source: scaling.SourceDerived, TimeWindows: []scaling.TimeWindow{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DerivePattern(tc.r, tc.p, tc.loc)
			require.Equal(t, tc.want, got)
			got.Service = "svc"
			require.NoError(t, got.Validate())
		})
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}
