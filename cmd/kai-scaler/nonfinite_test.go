package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
)

// nastyCSV writes issue 9's series: ok ones and ones that cannot be forecast or scored, at a
// 5-minute step, 15 days each. It returns the file and the names of those that must fail.
func nastyCSV(t *testing.T) (string, []string) {
	t.Helper()
	const D, n = 288, 15 * 288
	day := func(i int) string { return strconv.FormatFloat(100+60*math.Sin(2*math.Pi*float64(i%D)/D), 'f', 3, 64) }
	series := []struct {
		name string
		fail bool
		n    int
		val  func(i int) string
	}{
		{name: "ok", n: n, val: day},
		{name: "leading-gaps", n: n, val: func(i int) string { return map[bool]string{true: "", false: day(i)}[i < 3*D+7] }},
		{name: "last-day-missing", n: n, val: func(i int) string { return map[bool]string{true: "", false: day(i)}[i >= n-D] }},
		{name: "nan-and-inf-values", n: n, val: func(i int) string {
			switch {
			case i%5 == 0:
				return "NaN"
			case i%7 == 0:
				return "+Inf"
			}
			return day(i)
		}},
		{name: "short", n: 2, val: func(i int) string { return strconv.Itoa(i + 1) }},
		{name: "all-gaps", n: 50, val: func(int) string { return "" }, fail: true},
		// Near the float64 limit: the fitted models overflow (the series cannot be forecast,
		// or scored, by them), while seasonal naive repeats it as it is.
		{name: "huge", n: n, val: func(int) string { return "1e308" }, fail: true},
	}
	var b strings.Builder
	b.WriteString("series,timestamp,value\n")
	var failing []string
	for _, s := range series {
		if s.fail {
			failing = append(failing, s.name)
		}
		for i := range s.n {
			fmt.Fprintf(&b, "%s,%d,%s\n", s.name, 1704585600+300*i, s.val(i))
		}
	}
	p := filepath.Join(t.TempDir(), "nasty.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p, failing
}

// repeats are the models that repeat observations and fit nothing.
var repeats = map[string]bool{forecast.ModelSeasonalNaive: true, forecast.ModelNaive: true,
	forecast.ModelNaiveDaily: true, forecast.ModelNaiveWeekly: true}

// Regression test for issue 9: with every model, the series that cannot be forecast are
// named on stderr, the others are written, all finite, and the exit status is exitPartial.
func TestForecastCommandNamesFailuresAndWritesNoNaN(t *testing.T) {
	in, failing := nastyCSV(t)
	for _, m := range append([]string{forecast.ModelAuto}, forecast.Models()...) {
		t.Run(m, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.csv")
			var stdout, stderr bytes.Buffer
			failing := failing
			wantWritten := map[string]int{"ok": 288, "leading-gaps": 288, "last-day-missing": 288, "nan-and-inf-values": 288, "short": 288}
			if repeats[m] {
				failing = slices.DeleteFunc(slices.Clone(failing), func(n string) bool { return n == "huge" })
				wantWritten["huge"] = 288
			}
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
				[]string{"forecast", "--input", in, "--output", out, "--horizon", "288", "--model", m})
			require.Equal(t, exitPartial, code, stderr.String())
			for _, name := range failing {
				require.Contains(t, stderr.String(), fmt.Sprintf("series %q: ", name))
			}
			require.Contains(t, stderr.String(), fmt.Sprintf("%d of 7 series could not be forecast", len(failing)))
			f, err := os.Open(out)
			require.NoError(t, err)
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			require.NoError(t, err)
			written := map[string]int{}
			for _, r := range rows[1:] {
				written[r[0]]++
				mean, err1 := strconv.ParseFloat(r[2], 64)
				upper, err2 := strconv.ParseFloat(r[3], 64)
				require.NoError(t, err1)
				require.NoError(t, err2)
				require.False(t, math.IsNaN(mean) || math.IsInf(mean, 0) || math.IsNaN(upper) || math.IsInf(upper, 0), "row %v", r)
				require.GreaterOrEqual(t, upper, mean, "row %v", r)
			}
			require.Equal(t, wantWritten, written)
		})
	}
}

// Regression test for issue 9: backtest scores the series that worked, names the others and
// exits with exitPartial; its JSON holds no NaN (encoding/json would refuse it).
func TestBacktestCommandNamesFailures(t *testing.T) {
	in, _ := nastyCSV(t)
	// Nor are the series with no origin to score (too short, or gaps where the origins'
	// actuals are), nor the huge one, whose errors' scale overflows: they scored as zeros.
	failing := []string{"last-day-missing", "short", "all-gaps", "huge"}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", in, "--json"})
	require.Equal(t, exitPartial, code, stderr.String())
	var rep backtestReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	require.Equal(t, 7, rep.Series)
	require.Len(t, rep.Errors, len(failing))
	for i, name := range failing {
		require.Contains(t, rep.Errors[i], fmt.Sprintf("series %q", name))
		require.Contains(t, stderr.String(), fmt.Sprintf("series %q: ", name))
	}
	require.NotEmpty(t, rep.Models)
	for _, m := range rep.Models {
		require.Positive(t, m.Series, m.Model)
	}
}

func TestFiniteScores(t *testing.T) {
	ok := forecast.Scores{MASE: 1, SMAPE: 10, Coverage: 0.9, Origins: 3}
	tests := []struct {
		name    string
		ev      forecast.Evaluation
		wantErr error
	}{
		{name: "finite", ev: forecast.Evaluation{Auto: ok, Models: []forecast.ModelScores{{Model: "naive", Scores: ok}}}},
		{name: "unscored NaN is left out", ev: forecast.Evaluation{Auto: forecast.Scores{MASE: math.NaN()}}},
		{name: "NaN MASE", ev: forecast.Evaluation{Auto: ok, Models: []forecast.ModelScores{{Model: "naive", Scores: forecast.Scores{MASE: math.NaN(), Origins: 1}}}}, wantErr: forecast.ErrNotFinite},
		{name: "Inf sMAPE in auto", ev: forecast.Evaluation{Auto: forecast.Scores{SMAPE: math.Inf(1), Origins: 1}}, wantErr: forecast.ErrNotFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := finiteScores(tc.ev)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

// Regression test for issue 9: timestamps near the int64 limits made a negative grid length
// or an index out of range (panics); they are refused with the line.
func TestReadSeriesCSVExtremeTimestamps(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"min int64", "series,timestamp,value\na,-9223372036854775808,1\na,0,2\na,100,3\n", "x.csv:2: timestamp \"-9223372036854775808\": out of range"},
		{"max int64 last", "series,timestamp,value\na,0,1\na,100,2\na,9223372036854775807,3\n", "x.csv:4: timestamp \"9223372036854775807\": out of range"},
		{"-9e18 0 9e18", "series,timestamp,value\na,-9e18,1\na,0,2\na,9e18,3\n", "x.csv:2: timestamp \"-9e18\": out of range"},
		{"1e30", "timestamp,value\n1e30,1\n2e30,2\n", "x.csv:2: timestamp \"1e30\": out of range"},
		{"span too long", "timestamp,value\n0,1\n1,2\n2,3\n253402300799,4\n", "x.csv:2: series \"x\": spans"},
		{"step of centuries", "timestamp,value\n-62135596800,1\n0,2\n253402300799,3\n", "x.csv:2: series \"x\": step of 253402300800s is longer than a year"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSeriesCSV(strings.NewReader(tc.body), "x.csv")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// FuzzScanWideCSV checks the same of a Grafana export's form: a Time column and a column per
// series, any header and rows.
func FuzzScanWideCSV(f *testing.F) {
	f.Add(`"Time","{job=""api""}","b"`, "1736121600000,1,2", "1736121660000,,3")
	f.Add("Time,a", "1736121600000,1", "1736121600000,2")
	f.Add("timestamp,a,b", "2025-01-06T00:00:00Z,1", `"2025-01-06 00:00:00",1,2`)
	f.Add(`Time,"a`, "-9e18,1", "9e18,1")
	f.Add("sep=;", "Time;a", "1736121600000;1,5")
	f.Add("\ufeffTime\ta\tb", "1736121600000\t1\t2", "1736121660000\t\t3")
	f.Add(utf16LE("\ufeffTime\ta"), utf16LE("1736121600000\t1"), utf16LE("1736121660000\t2"))
	f.Fuzz(func(t *testing.T, header, row1, row2 string) {
		ss, _, err := readSeriesCSV(strings.NewReader(header+"\n"+row1+"\n"+row2+"\n"), "f.csv")
		if err == nil {
			requireSaneGrids(t, ss)
		}
	})
}

// requireSaneGrids: each series a grid of at least 2 points, no more than maxSeriesPoints, at a
// positive step no longer than maxStep.
func requireSaneGrids(t *testing.T, ss []namedSeries) {
	t.Helper()
	for _, s := range ss {
		require.Positive(t, s.series.Step)
		require.LessOrEqual(t, s.series.Step, maxStep*time.Second)
		require.LessOrEqual(t, len(s.series.Values), maxSeriesPoints)
		require.GreaterOrEqual(t, len(s.series.Values), 2)
	}
}

// FuzzScanSeriesCSV checks the reader never panics and every series it accepts is a sane grid.
func FuzzScanSeriesCSV(f *testing.F) {
	for _, ts := range [][3]string{
		{"-9223372036854775808", "0", "100"},
		{"-9e18", "0", "9e18"},
		{"0", "1", "9223372036854775807"},
		{"-62135596800", "0", "253402300799"},
		{"1e308", "-1e308", "0"},
		{"0.4", "0.6", "1.5"},
		{"100", "400", "700"},
		{"NaN", "Inf", "-Inf"},
	} {
		f.Add(ts[0], ts[1], ts[2], "1")
	}
	f.Fuzz(func(t *testing.T, t1, t2, t3, v string) {
		body := fmt.Sprintf("series,timestamp,value\na,%s,%s\na,%s,%s\na,%s,%s\n", t1, v, t2, v, t3, v)
		ss, _, err := readSeriesCSV(strings.NewReader(body), "f.csv")
		if err == nil {
			requireSaneGrids(t, ss)
		}
	})
}

// FuzzReadSeriesCSVFile feeds whole files: headers of any names or none, other separators,
// decimal commas. The reader never panics and every series it accepts is a sane grid.
func FuzzReadSeriesCSVFile(f *testing.F) {
	for _, body := range []string{
		"2025-01-06T00:00:00Z,1\n2025-01-06T00:05:00Z,2\n",
		"ds,y\n2025-01-06 00:00:00,1\n2025-01-06 00:05:00,2\n",
		"2025-01-06 00:00:00;1,5\n2025-01-06 00:05:00;2\n",
		"ts\tload\n1736121600000\t1\n1736121900000\t2\n",
		"100,1\n200,2\n300,3\n",
		"sep=;\n100;1\n200;2\n",
		"\"100\",\"1\"\n200,2\n",
		"Time,a\n1736121600000,1\n1736121900000,2\n",
		"series,timestamp,value\na,100,1\na,200,2\n",
		"timestamp,value\n100,NA\n200,null\n300,\"1,234\"\n",
		"Time,a,\n1736121600000,#N/A,NaN\n1736121900000,2,None\n",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ss, _, err := readSeriesCSV(strings.NewReader(body), "f.csv")
		if err == nil {
			requireSaneGrids(t, ss)
		}
	})
}
