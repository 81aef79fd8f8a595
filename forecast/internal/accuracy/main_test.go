package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
)

// TestReportLeavesUnscoredTracesOutOfTheMedians: a trace auto was scored on no origin of (its
// history too short) has zero scores; counted in, they read as perfect and pulled the medians
// and the tuned and confirmed halves down.
func TestReportLeavesUnscoredTracesOutOfTheMedians(t *testing.T) {
	scored := func(name string, auto, weekly float64) row {
		return row{name: name, auto: forecast.Scores{MASE: auto, SMAPE: 40 * auto, Coverage: 0.9, Origins: 7},
			weekly: forecast.Scores{MASE: weekly, SMAPE: 40 * weekly, Origins: 7}, weeklyOK: true,
			daily: forecast.Scores{MASE: 2, SMAPE: 26, Origins: 7}, dailyOK: true}
	}
	rows := []row{
		scored("a", 0.5, 1), scored("b", 0.6, 1), scored("c", 0.7, 1),
		{name: "short", weekly: forecast.Scores{MASE: 1, Origins: 1}, weeklyOK: true},
	}
	tests := []struct {
		name string
		run  func(*bytes.Buffer)
		want []string
	}{
		{"report", func(b *bytes.Buffer) { report(b, rows, true) }, []string{
			"median auto MASE / median weekly naive MASE = 0.600",
			"worst auto / better naive: 0.700 on c",
			"range 0.900-0.900",
			"1 traces left out of the medians",
			"auto sMAPE above the better naive's on 1 of 3 traces: c 28.00 against daily naive's 26.00\n",
		}},
		{"tuned and confirmed", func(b *bytes.Buffer) { split(b, rows, []string{"a", "short"}) }, []string{
			"tuned on (1 traces): median auto MASE 0.500",
			"confirmed on (2 traces): median auto MASE 0.650",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.run(&b)
			for _, w := range tc.want {
				require.Contains(t, b.String(), w)
			}
		})
	}
}

func TestEarlierWindows(t *testing.T) {
	hourly := func(name string, days int) input {
		return input{name: name, series: forecast.Series{Step: time.Hour, Values: make([]float64, 24*days)}}
	}
	got := earlierWindows([]input{hourly("trace", 43), hourly("normal-003", 43), hourly("short", 20)}, 3, 28)
	var names []string
	for _, in := range got {
		names = append(names, in.name)
		require.Equal(t, time.Hour, in.series.Step)
	}
	// 43 days: ending 7 and 14 days early leaves 36 and 29 days, 21 days early only 22. A
	// generated family's series are not windowed, nor one with no 28 days to spare.
	require.Equal(t, []string{"trace@-7d", "trace@-14d"}, names)
	require.Len(t, got[0].series.Values, 24*36)
	require.Len(t, got[1].series.Values, 24*29)
	require.Empty(t, earlierWindows([]input{hourly("trace", 43)}, 0, 28))
}

// TestParseTime: the timestamp forms the traces come in, a day alone for series counted per
// day among them.
func TestParseTime(t *testing.T) {
	want := time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2023-01-02T00:00:00Z", "2023-01-02 00:00:00", "2023-01-02T00:00:00", "2023-01-02", "1672617600"} {
		got, err := parseTime(s)
		require.NoError(t, err, s)
		require.True(t, want.Equal(got), "%s: %s", s, got)
	}
	_, err := parseTime("02/01/2023")
	require.ErrorContains(t, err, "unreadable timestamp")
}
