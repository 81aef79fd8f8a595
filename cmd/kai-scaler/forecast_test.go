package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
)

// writeSeries writes two days+ of an hourly daily cycle per series in the given time format.
func writeSeries(t *testing.T, dir, name string, header string, names []string, days int, ts func(time.Time) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(header + "\n")
	start := time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, n := range names {
		for i := 0; i < 24*days; i++ {
			if i == 30 {
				continue // a missing row: a gap
			}
			v := 100 + 50*math.Sin(2*math.Pi*float64(i)/24)
			at := start.Add(time.Duration(i)*time.Hour + time.Duration(i%3)*time.Second) // seconds of jitter
			if n != "" {
				b.WriteString(n + ",")
			}
			fmt.Fprintf(&b, "%s,%.3f\n", ts(at), v)
		}
	}
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func TestForecastCommand(t *testing.T) {
	dir := t.TempDir()
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	unix := func(t time.Time) string { return fmt.Sprint(t.Unix()) }
	space := func(t time.Time) string { return t.Format(spaceLayout) }
	// pandas' str of a time with a zone: read at its offset, written in UTC.
	pandasTZ := func(t time.Time) string { return t.In(time.FixedZone("", 2*3600)).Format("2006-01-02 15:04:05-07:00") }
	noSeconds := func(t time.Time) string { return t.Format("2006-01-02 15:04") }
	tests := []struct {
		name     string
		input    string
		args     []string
		wantCode int
		series   []string
		tsPrefix string // first output timestamp
		stderr   string
	}{
		{name: "named RFC3339", input: writeSeries(t, dir, "a.csv", "series,timestamp,value", []string{"api", "web"}, 21, rfc),
			args: []string{"--horizon", "24"}, series: []string{"api", "web"}, tsPrefix: "2024-03-24T00:00:00Z"},
		{name: "plain trace format", input: writeSeries(t, dir, "trace.csv", "timestamp,value", []string{""}, 9, space),
			args: []string{"--horizon", "5", "--model", "seasonal-naive"}, series: []string{"trace"}, tsPrefix: "2024-03-12T00:00:00Z"},
		{name: "an offset, out in UTC", input: writeSeries(t, dir, "tz.csv", "timestamp,value", []string{""}, 9, pandasTZ),
			args: []string{"--horizon", "5", "--model", "seasonal-naive"}, series: []string{"tz"}, tsPrefix: "2024-03-12T00:00:00Z"},
		{name: "no seconds", input: writeSeries(t, dir, "excel.csv", "series,timestamp,value", []string{"api"}, 9, noSeconds),
			args: []string{"--horizon", "5", "--model", "seasonal-naive"}, series: []string{"api"}, tsPrefix: "2024-03-12T00:00:00Z"},
		{name: "unix seconds stay unix", input: writeSeries(t, dir, "u.csv", "series,timestamp,value", []string{"x"}, 3, unix),
			args: []string{"--horizon", "2", "--quantile", "0.95"}, series: []string{"x"}, tsPrefix: fmt.Sprint(time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC).Unix())},
		{name: "unknown model", input: filepath.Join(dir, "a.csv"), args: []string{"--horizon", "2", "--model", "prophet"}, wantCode: 2, stderr: `--model "prophet": must be auto or one of seasonal-naive,`},
		{name: "missing horizon", input: filepath.Join(dir, "a.csv"), wantCode: 2, stderr: `--horizon "0": must be a positive number of points`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.csv")
			var stdout, stderr bytes.Buffer
			args := append([]string{"forecast", "--input", tc.input, "--output", out}, tc.args...)
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, args)
			require.Equal(t, tc.wantCode, code, stderr.String())
			if tc.wantCode != 0 {
				require.Contains(t, stderr.String(), tc.stderr)
				return
			}
			f, err := os.Open(out)
			require.NoError(t, err)
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			require.NoError(t, err)
			require.Equal(t, []string{"series", "timestamp", "value", "upper"}, rows[0])
			var h int
			fmt.Sscan(tc.args[1], &h)
			require.Len(t, rows, 1+h*len(tc.series))
			for i, s := range tc.series {
				require.Equal(t, s, rows[1+i*h][0])
				require.Equal(t, tc.tsPrefix, rows[1+i*h][1])
			}
		})
	}
}

// Regression test: forecast and backtest refused their flags one at a time, each in its own
// form ("unknown --model", "--quantile must be between", one line for four of backtest's),
// where simulate names each bad flag as given, all at once.
func TestFitFlagsOneLineEach(t *testing.T) {
	in := writeSeries(t, t.TempDir(), "a.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"forecast", []string{"forecast", "--input", in, "--output", "-", "--horizon", "-3", "--model", "prophet", "--quantile", "1.5"},
			"kai-scaler forecast: --horizon \"-3\": must be a positive number of points, on each series' step\n" +
				"kai-scaler forecast: --model \"prophet\": must be auto or one of " + strings.Join(forecast.Models(), ", ") + "\n" +
				"kai-scaler forecast: --quantile \"1.5\": must be between 0 and 1\n"},
		{"forecast: a NaN quantile", []string{"forecast", "--input", in, "--output", "-", "--horizon", "2", "--quantile", "NaN"},
			"kai-scaler forecast: --quantile \"NaN\": must be between 0 and 1\n"},
		{"backtest", []string{"backtest", "--input", in, "--horizon", "-1", "--origins", "0", "--quantile", "0"},
			"kai-scaler backtest: --horizon \"-1\": must be 0 (a day of each series' step) or a positive number of points\n" +
				"kai-scaler backtest: --quantile \"0\": must be between 0 and 1\n" +
				"kai-scaler backtest: --origins \"0\": must be a positive number of daily origins\n"},
		{"backtest: over the horizon's bound", []string{"backtest", "--input", in, "--horizon", "527041"},
			"kai-scaler backtest: --horizon \"527041\": must be at most 527040 points (a year of one-minute steps)\n"},
		{"forecast: a query's flags among the others", []string{"forecast", "--query", "sum by (service) (up)", "--output", "-", "--horizon", "288",
			"--prometheus.url", "prom:9090", "--query-step", "2h", "--quantile", "2"},
			"kai-scaler forecast: --quantile \"2\": must be between 0 and 1\n" +
				"kai-scaler forecast: --prometheus.url \"prom:9090\": must be an http:// or https:// URL\n" +
				"kai-scaler forecast: --query-step \"2h\": must be from 1s to 1h0m0s (the coarsest step a daily season is fitted on)\n"},
		{"backtest: a services file that is not there, among the others", []string{"backtest", "--services", "nope.yaml", "--origins", "0", "--prometheus.url", "http://p:9090"},
			"kai-scaler backtest: --origins \"0\": must be a positive number of daily origins\n" +
				"kai-scaler backtest: --services \"nope.yaml\": cannot be read: open nope.yaml: no such file or directory\n"},
		{"backtest: a query without a Prometheus", []string{"backtest", "--query", "up"},
			"kai-scaler backtest: --prometheus.url: --query needs the Prometheus to read from: give --prometheus.url or set PROMETHEUS_URL\n"},
		{"backtest: a query's flag with a file", []string{"backtest", "--input", in, "--query-end", "2020-01-01T00:00:00Z"},
			"kai-scaler backtest: --query-end: only read with --query (the input is another)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, tc.args)
			require.Equal(t, exitUsage, code, stderr.String())
			require.Equal(t, tc.want, stderr.String())
			require.Empty(t, stdout.String())
		})
	}
}

func TestReadSeriesCSVErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"bad header", "when,load,where\n1,2,3\n", "bad.csv:1: header \"when,load,where\", want series,timestamp,value or timestamp,value (or any two names, or no header), or Time and a column per series"},
		// Two columns of any names are a time and a value, and the rows must be.
		{"two names, no time in the rows", "name,count\nfoo,3\nbar,4\n", "bad.csv:2: timestamp \"foo\""},
		{"no header, a bad row", "2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,x\n", "bad.csv:2: value \"x\""},
		{"no header, one row", "2024-01-01T00:00:00Z,1\n", "bad.csv:1: series \"bad\": has 1 row, need at least 2"},
		{"bad value", "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,x\n", "bad.csv:3: value \"x\""},
		{"bad timestamp", "timestamp,value\n2024-01-01T00:00:00Z,1\nyesterday,2\n", "bad.csv:3: timestamp"},
		{"out of order", "series,timestamp,value\na,100,1\na,200,2\na,150,3\n", "bad.csv:4: series \"a\": timestamp 150 is not after"},
		{"newest first, then out of order", "series,timestamp,value\na,200,1\na,100,2\na,150,3\n",
			"bad.csv:4: series \"a\": timestamp 150 is not before the previous one (the rows began newest first"},
		{"too few fields", "series,timestamp,value\na\n", "bad.csv:2: want 3 fields"},
		{"no value field", "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z\n", "bad.csv:3: want fields timestamp,value"},
		// A third field is named whichever of the other fields also fails to parse.
		{"extra field", "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:05:00Z,2,3\n", "bad.csv:3: want fields timestamp,value"},
		{"extra empty field", "series,timestamp,value\na,100,1\na,200,5,\n", "bad.csv:3: want fields timestamp,value"},
		{"extra field and bad timestamp", "timestamp,value\n2024-01-01T00:00:00Z,1\nyesterday,2,3\n", "bad.csv:3: want fields timestamp,value"},
		{"extra field after an empty value", "timestamp,value\n100,1\n200, ,3\n", "bad.csv:3: want fields timestamp,value"},
		{"one row", "timestamp,value\n100,1\n", "need at least 2"},
		{"empty", "", "empty file"},
		{"series not contiguous", "series,timestamp,value\na,100,1\na,200,2\nb,100,1\nb,200,2\na,300,3\n", "bad.csv:6: series \"a\" continues after other series"},
		// Regression test: interleaved rows were reported as series of one row each.
		{"series interleaved", "series,timestamp,value\na,100,1\nb,100,1\na,200,2\nb,200,2\n", "bad.csv:4: series \"a\" continues after other series"},
		{"series of one row before others", "series,timestamp,value\na,100,1\nb,100,1\nb,200,2\nc,100,1\nc,200,2\n", "bad.csv:2: series \"a\": has 1 row, need at least 2"},
		{"series of one row last", "series,timestamp,value\na,100,1\na,200,2\nb,100,1\n", "bad.csv:4: series \"b\": has 1 row, need at least 2"},
		// Regression test: rows within one second were said to be out of order.
		{"sub-second RFC 3339", "timestamp,value\n2026-11-01T00:00:00Z,1\n2026-11-01T00:00:00.5Z,2\n2026-11-01T00:00:01Z,3\n",
			"bad.csv:3: series \"bad\": timestamp 2026-11-01T00:00:00.5Z is in the same second as the previous one: sub-second timestamps are not supported"},
		{"sub-second Unix seconds", "timestamp,value\n100,1\n100.5,2\n", "bad.csv:3: series \"bad\": timestamp 100.5 is in the same second as the previous one: sub-second timestamps are not supported"},
		{"sub-second Unix milliseconds", "timestamp,value\n1736121600000,1\n1736121600500,2\n", "bad.csv:3: series \"bad\": timestamp 1736121600500 is in the same second"},
		{"grafana: sub-second times", "Time,a\n1736121600000,1\n1736121600250,2\n", "bad.csv:3: time 1736121600250 is in the same second as the previous one: sub-second timestamps are not supported"},
		{"unclosed quoted name", "series,timestamp,value\n\"a,100,1\n", "bad.csv:2: want 3 fields"},
		{"milliseconds, then seconds", "timestamp,value\n1736121600000,1\n1736121900000,2\n1736122200,3\n", "bad.csv:4: series \"bad\": timestamp 1736122200 is not after"},
		{"grafana: a row short of a value", "Time,a,b\n1736121600000,1,2\n1736121900000,1\n", "bad.csv:3: want 3 fields (the time and a value per series, as the header), got 2"},
		{"grafana: columns of one name", "Time,a,b,a\n1736121600000,1,2,3\n", "bad.csv:1: columns 2 and 4 are both named \"a\""},
		{"grafana: a column without a name", "Time,a,,b\n1736121600000,1,2,3\n", "bad.csv:1: column 3 has no name"},
		{"a last column without a name, with a value", "Time,a,\n1736121600000,1,\n1736121660000,1,2\n", "bad.csv:3: column 3 has no name in the header but a number here, \"2\": name the series it holds"},
		// Back by less than an hour and its step is no clock set back; nor is a repeat that goes back.
		{"back by less than an hour and its step", "timestamp,value\n2024-11-03 01:00:00,1\n2024-11-03 01:20:00,2\n2024-11-03 01:00:00,3\n",
			"bad.csv:4: series \"bad\": timestamp 2024-11-03 01:00:00 is not after the previous one"},
		{"back by more than an hour", "timestamp,value\n2024-11-03 00:40:00,1\n2024-11-03 01:00:00,2\n2024-11-03 01:20:00,3\n2024-11-03 01:40:00,4\n2024-11-03 00:20:00,5\n",
			"bad.csv:6: series \"bad\": timestamp 2024-11-03 00:20:00 is not after the previous one"},
		{"a clock set back, then back again", "timestamp,value\n2024-11-03 00:40:00,1\n2024-11-03 01:00:00,2\n2024-11-03 01:20:00,3\n2024-11-03 01:40:00,4\n2024-11-03 01:00:00,5\n2024-11-03 01:20:00,6\n2024-11-03 01:00:00,7\n",
			"bad.csv:8: series \"bad\": timestamp 2024-11-03 01:00:00 is not after the previous one"},
		{"grafana: times out of order", "Time,a\n1736121600000,1\n1736122200000,2\n1736121900000,3\n", "bad.csv:4: time 1736121900000 is not after the previous one"},
		{"grafana: a row index, a row short", ",Time,a\n0,1736121600000,1\n1736121900000,2\n", "bad.csv:3: want 3 fields (the time and a value per series, as the header), got 2"},
		{"grafana: a row index, a column without a name", ",Time,a,\n0,1736121600000,1,2\n", "bad.csv:2: column 4 has no name in the header but a number here, \"2\": name the series it holds"},
		{"a row index missing", ",timestamp,value\n0,100,1\n200\n", "bad.csv:3: want a row index and the fields of the header"},
		{"grafana: a bad value", "Time,a,b\n1736121600000,1,2\n1736121900000,1,many\n", "bad.csv:3: series \"b\": value \"many\" is not a number"},
		{"grafana: a bad time", "Time,a\n1736121600000,1\nnoon,2\n", "bad.csv:3: time \"noon\": want Unix milliseconds"},
		{"grafana: no rows", "Time,a\n", "bad.csv: no data rows"},
		{"the year 0", "timestamp,value\n0000-01-01T00:00:00Z,1\n0000-01-01T00:05:00Z,2\n", "bad.csv:2: timestamp \"0000-01-01T00:00:00Z\": out of range"},
		{"the year 0, space form", "timestamp,value\n0000-12-31 23:55:00,1\n0001-01-01 00:00:00,2\n", "bad.csv:2: timestamp \"0000-12-31 23:55:00\": out of range"},
		{"past 9999 by its offset", "timestamp,value\n9999-12-31T23:00:00Z,1\n9999-12-31T23:30:00-01:00,2\n", "bad.csv:3: timestamp \"9999-12-31T23:30:00-01:00\": out of range"},
		// Line numbers are the file's, after a sep= line and blank lines too.
		{"sep= line: a bad value", "sep=;\ntimestamp;value\n100;1\n\n300;x\n", "bad.csv:5: value \"x\""},
		{"sep= line: a bad header", "sep=;\nwhen;load;where\n1;2;3\n", "bad.csv:2: header"},
		{"a quoted thousands separator", "timestamp,value\n100,1\n200,\"1,234\"\n", "bad.csv:3: value \"1,234\" is not a number: no thousands separator is read"},
		{"three quoted fields", "timestamp,value\n100,\"1\",\"2\"\n", "bad.csv:2: want fields timestamp,value, got"},
		{"semicolons: thousands and decimals", "timestamp;value\n100;1\n200;1.234,5\n", "bad.csv:3: \"1.234,5\" is not a number"},
		{"a header of no known separator", "when|load\n1|2\n", "want series,timestamp,value or timestamp,value (or any two names, or no header), or Time and a column per series (a Grafana panel's CSV export, series joined by time), separated by commas, semicolons or tabs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSeriesCSV(strings.NewReader(tc.body), "bad.csv")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestReadSeriesCSVForms: besides series,timestamp,value and timestamp,value, the reader
// takes Unix milliseconds, and a Grafana panel's CSV export: Time and a column per series,
// named by its quoted labels, a gap where a series has no value.
func TestReadSeriesCSVForms(t *testing.T) {
	gap := math.NaN()
	tests := []struct {
		name, body string
		format     timeFormat
		want       []series
	}{
		{"unix milliseconds", "timestamp,value\n1736121600000,1\n1736121900000,2\n1736122200000,3\n", timeUnixMilli,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2, 3}}}},
		{"unix seconds stay seconds", "timestamp,value\n1736121600,1\n1736121900,2\n", timeUnix,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		// Every line ending in a separator (Excel, NAB's art_increase_spike_density), or only the
		// header: the last column, without a name, is read past.
		{"a separator ending every line", "timestamp,value,\n1736121600,1,\n1736121900,2\n", timeUnix,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"a separator ending every line, a gap in words in the last column", "timestamp,value,\n1736121600,1,NA\n1736121900,2,NaN\n", timeUnix,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"a separator ending every line, a note in the last column", "timestamp,value,label,\n1736121600,1,0,\n1736121900,2,0,APB\n", timeUnix,
			[]series{{"value", 1736121600, 5 * time.Minute, []float64{1, 2}}, {"label", 1736121600, 5 * time.Minute, []float64{0, 0}}}},
		{"grafana, series joined by time", "\ufeff\"Time\",\"{job=\"\"api\"\", pod=\"\"a\"\"}\",\"{job=\"\"web\"\"}\"\r\n" +
			"1736121600000,1,10\r\n1736121660000,2,\r\n1736121720000,3,30\r\n", timeUnixMilli,
			[]series{{`{job="api", pod="a"}`, 1736121600, time.Minute, []float64{1, 2, 3}},
				{`{job="web"}`, 1736121600, time.Minute, []float64{10, gap, 30}}}},
		{"grafana, one series, formatted time", "\"Time\",\"{job=\"\"api\"\"}\"\n\"2025-01-06 00:00:00\",5\n\"2025-01-06 00:05:00\",6\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{5, 6}}}},
		{"a column per series, RFC 3339", "timestamp,api,web\n2025-01-06T00:00:00Z,1,2\n2025-01-06T01:00:00Z,3,4\n", timeRFC3339,
			[]series{{"api", 1736121600, time.Hour, []float64{1, 3}}, {"web", 1736121600, time.Hour, []float64{2, 4}}}},
		{"quoted names of the long form", "series,timestamp,value\n\"{a=\"\"x\"\", b=\"\"y\"\"}\",100,1\n\"{a=\"\"x\"\", b=\"\"y\"\"}\",200,2\n", timeUnix,
			[]series{{`{a="x", b="y"}`, 100, 100 * time.Second, []float64{1, 2}}}},
		// Grafana's "Download for Excel": UTF-16LE with its byte order mark, tab-separated.
		{"grafana for excel, UTF-16LE and tabs", utf16LE("\ufeff\"Time\"\t\"{job=\"\"api\"\", pod=\"\"a\"\"}\"\t\"{job=\"\"web\"\"}\"\r\n" +
			"1736121600000\t1\t10\r\n1736121660000\t2\t\r\n1736121720000\t3\t30\r\n"), timeUnixMilli,
			[]series{{`{job="api", pod="a"}`, 1736121600, time.Minute, []float64{1, 2, 3}},
				{`{job="web"}`, 1736121600, time.Minute, []float64{10, gap, 30}}}},
		// Older Grafana's: a byte order mark and an Excel "sep=," line above the header.
		{"grafana for excel, sep= line", "\ufeffsep=,\r\n\"Time\",\"Value\"\r\n1736121600000,1\r\n1736121900000,2\r\n", timeUnixMilli,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		// Newest first, as a log or an API lists its latest rows first: turned round.
		{"newest first", "timestamp,value\n2025-01-06 00:10:00,3\n2025-01-06 00:05:00,2\n2025-01-06 00:05:00,5\n2025-01-06 00:00:00,1\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 5, 3}}}},
		{"grafana, newest first", "Time,a,b\n1736121720000,3,30\n1736121660000,2,\n1736121600000,1,10\n", timeUnixMilli,
			[]series{{"a", 1736121600, time.Minute, []float64{1, 2, 3}}, {"b", 1736121600, time.Minute, []float64{10, gap, 30}}}},
		// pandas' DataFrame.to_csv without index=False: a first column, unnamed, of row numbers.
		{"a row index, two columns", ",ds,y\n0,2025-01-06,1\n1,2025-01-07,2\n", timeDate,
			[]series{{"in", 1736121600, 24 * time.Hour, []float64{1, 2}}}},
		{"a row index, long form", ",series,timestamp,value\n0,a,100,1\n1,a,200,2\n2,b,100,3\n3,b,200,4\n", timeUnix,
			[]series{{"a", 100, 100 * time.Second, []float64{1, 2}}, {"b", 100, 100 * time.Second, []float64{3, 4}}}},
		{"a row index, a column per series", ",timestamp,api,web\n0,2025-01-06T00:00:00Z,1,2\n1,2025-01-06T01:00:00Z,3,4\n", timeRFC3339,
			[]series{{"api", 1736121600, time.Hour, []float64{1, 3}}, {"web", 1736121600, time.Hour, []float64{2, 4}}}},
		{"semicolons and decimal commas", "timestamp;value\n2025-01-06 00:00:00;1,5\n2025-01-06 00:05:00;2\n\n2025-01-06 00:10:00;-0,25\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1.5, 2, -0.25}}}},
		{"a sep=; line names the separator", "sep=;\nseries;timestamp;value\n\"a;b\";100;1\n\"a;b\";200;2,5\n", timeUnix,
			[]series{{"a;b", 100, 100 * time.Second, []float64{1, 2.5}}}},
		{"tabs, a column per series", "Time\tapi\tweb\n2025-01-06T00:00:00Z\t1\t2\n2025-01-06T01:00:00Z\t3\t4\n", timeRFC3339,
			[]series{{"api", 1736121600, time.Hour, []float64{1, 3}}, {"web", 1736121600, time.Hour, []float64{2, 4}}}},
		// Fractions of a second are dropped: jittered scrapes still land on their slots.
		{"sub-second jitter", "timestamp,value\n2025-01-06T00:00:00.9Z,1\n2025-01-06T00:05:00.1Z,2\n2025-01-06T00:10:00.5Z,3\n", timeRFC3339,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2, 3}}}},
		// Two columns of other names are a time and a value: Prophet's ds,y, or any others.
		{"prophet's ds,y", "ds,y\n2025-01-06 00:00:00,1\n2025-01-06 00:05:00,2\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"other names, Unix milliseconds", "ts,load\n1736121600000,1\n1736121900000,2\n", timeUnixMilli,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		// No header: the first line is a row when it reads as a timestamp and a number.
		{"no header", "2025-01-06T00:00:00Z,1\n2025-01-06T00:05:00Z,2\n2025-01-06T00:10:00Z,3\n", timeRFC3339,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2, 3}}}},
		// Regression test: quoted timestamps (pandas' QUOTE_ALL, R's write.csv) were refused.
		{"every field quoted", "\"timestamp\",\"value\"\n\"2025-01-06 00:00:00\",\"1\"\n\"2025-01-06 00:05:00\",2\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"no header, every field quoted", "\"1736121600\",\"1\"\n\"1736121900\",\"2\"\n", timeUnix,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"long form, every field quoted", "\"series\",\"timestamp\",\"value\"\n\"a\",\"100\",\"1\"\n\"a\",\"200\",\"2\"\n", timeUnix,
			[]series{{"a", 100, 100 * time.Second, []float64{1, 2}}}},
		// Regression test: the mark stayed on the first row's timestamp, which then failed.
		{"no header, a byte order mark", "\ufeff2025-01-06T00:00:00Z,1\r\n2025-01-06T00:05:00Z,2\r\n", timeRFC3339,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2}}}},
		{"no header, semicolons and a decimal comma", "2025-01-06 00:00:00;1,5\n2025-01-06 00:05:00;2\n", timeSpace,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1.5, 2}}}},
		// A repeated time (a local clock across a daylight-saving change, a row exported
		// twice): the later row wins, as of two rows snapping to one slot.
		{"a repeated time", "timestamp,value\n2014-03-09 02:55:00,1\n2014-03-09 03:00:00,2\n2014-03-09 03:00:00,3\n2014-03-09 03:05:00,4\n", timeSpace,
			[]series{{"in", 1394333700, 5 * time.Minute, []float64{1, 3, 4}}}},
		{"grafana: a repeated time", "Time,a,b\n1736121600000,1,10\n1736121600000,2,20\n1736121900000,3,30\n", timeUnixMilli,
			[]series{{"a", 1736121600, 5 * time.Minute, []float64{2, 3}}, {"b", 1736121600, 5 * time.Minute, []float64{20, 30}}}},
		// A local clock set back an hour at the end of daylight saving: the hour's rows come
		// again, each over the row of its time (the later row wins), and the grid keeps the
		// clock's hours.
		{"a clock set back an hour", "timestamp,value\n2024-11-03 00:40:00,1\n2024-11-03 01:00:00,2\n2024-11-03 01:20:00,3\n2024-11-03 01:40:00,4\n" +
			"2024-11-03 01:00:00,5\n2024-11-03 01:20:00,6\n2024-11-03 01:40:00,7\n2024-11-03 02:00:00,8\n", timeSpace,
			[]series{{"in", 1730594400, 20 * time.Minute, []float64{1, 5, 6, 7, 8}}}},
		{"grafana: a clock set back an hour, a row missing", "Time,a,b\n2024-11-03 00:40:00,1,10\n2024-11-03 01:00:00,2,20\n2024-11-03 01:20:00,3,30\n2024-11-03 01:40:00,4,40\n" +
			"2024-11-03 01:00:00,5,50\n2024-11-03 01:40:00,7,70\n2024-11-03 02:00:00,8,80\n", timeSpace,
			[]series{{"a", 1730594400, 20 * time.Minute, []float64{1, 5, 3, 7, 8}}, {"b", 1730594400, 20 * time.Minute, []float64{10, 50, 30, 70, 80}}}},
		// The grid is the rows' median step, snapped to whole minutes when a few seconds off:
		// a missing row is a gap in it.
		{"a missing row is a gap", "series,timestamp,value\na,100,1\na,200,2\na,300,3\na,500,5\na,600,6\n", timeUnix,
			[]series{{"a", 100, 100 * time.Second, []float64{1, 2, 3, gap, 5, 6}}}},
		// An exporter's word for a missing value (R's NA, a spreadsheet's #N/A, JSON's null,
		// Python's None), in any case, is a gap as an empty cell is.
		{"missing values in words", "timestamp,value\n100,1\n200,NA\n300,null\n400,None\n500,#N/A\n600,n/a\n700,NULL\n800,8\n", timeUnix,
			[]series{{"in", 100, 100 * time.Second, []float64{1, gap, gap, gap, gap, gap, gap, 8}}}},
		{"grafana: missing values in words", "Time,a,b\n1736121600000,1,null\n1736121900000,NA,2\n1736122200000,3,3\n", timeUnixMilli,
			[]series{{"a", 1736121600, 5 * time.Minute, []float64{1, gap, 3}}, {"b", 1736121600, 5 * time.Minute, []float64{gap, 2, 3}}}},
		{"no header, a missing value in words first", "100,NA\n200,2\n300,3\n", timeUnix,
			[]series{{"in", 100, 100 * time.Second, []float64{gap, 2, 3}}}},
		{"an even step of 299 s is 5 minutes", "timestamp,value\n1736121600,1\n1736121899,2\n1736122198,3\n", timeUnix,
			[]series{{"in", 1736121600, 5 * time.Minute, []float64{1, 2, 3}}}},
		{"UTF-16BE", utf16BE("\ufefftimestamp,value\n100,1\n200,2\n"), timeUnix,
			[]series{{"in", 100, 100 * time.Second, []float64{1, 2}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireReads(t, tc.body, tc.format, tc.want)
		})
	}
}

// utf16LE and utf16BE encode s as UTF-16 of that byte order.
func utf16LE(s string) string { return utf16Bytes(s, binary.LittleEndian) }
func utf16BE(s string) string { return utf16Bytes(s, binary.BigEndian) }

func utf16Bytes(s string, order binary.AppendByteOrder) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return string(b)
}

func TestBacktestCommandJSON(t *testing.T) {
	in := writeSeries(t, t.TempDir(), "b.csv", "series,timestamp,value", []string{"api"}, 21, func(t time.Time) string { return t.Format(time.RFC3339) })
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", in, "--origins", "5", "--json"})
	require.Equal(t, 0, code, stderr.String())
	var rep backtestReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
	require.Equal(t, 1, rep.Series)
	require.NotEmpty(t, rep.Models)
	for _, m := range rep.Models {
		require.Equal(t, 5, m.Origins, m.Model)
	}
	// 21 days leave earlier origins to select on before the five scored: auto scores all five.
	require.Equal(t, 5, rep.Auto.Origins)

	stdout.Reset()
	code = run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", in})
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stdout.String(), "seasonal-naive-weekly")
	require.Contains(t, stdout.String(), "auto")
}

func TestScanSeriesCSVStreamsEachSeriesWhenComplete(t *testing.T) {
	body := "series,timestamp,value\na,100,1\na,200,2\na,300,3\na,500,5\nb,100,5\nb,200,\nb,300,7\n"
	var got []namedSeries
	var rowsSeen []int // rows read when each series arrived: a series comes as soon as the next begins
	r := &countingReader{r: strings.NewReader(body)}
	format, err := scanSeriesCSV(r, "s.csv", func(s namedSeries, f timeFormat) error {
		require.Equal(t, timeUnix, f)
		got = append(got, s)
		rowsSeen = append(rowsSeen, r.n)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, timeUnix, format)
	require.Len(t, got, 2)
	require.Equal(t, "a", got[0].name)
	require.Equal(t, 100*time.Second, got[0].series.Step)
	require.Less(t, rowsSeen[0], len(body), "series a must arrive before the file is read to its end")
	require.Equal(t, []float64{1, 2, 3}, got[0].series.Values[:3])
	require.True(t, math.IsNaN(got[0].series.Values[3]), "missing row 400 is a gap")
	require.Equal(t, 5.0, got[0].series.Values[4])
	require.Equal(t, "b", got[1].name)
	require.Equal(t, 5.0, got[1].series.Values[0])
	require.True(t, math.IsNaN(got[1].series.Values[1]))
	require.Equal(t, 7.0, got[1].series.Values[2])

	// An error from emit stops the scan and is returned.
	stop := errors.New("stop")
	_, err = scanSeriesCSV(strings.NewReader(body), "s.csv", func(namedSeries, timeFormat) error { return stop })
	require.ErrorIs(t, err, stop)
}

// countingReader counts the bytes read, one byte at a time so reads follow the scanner.
type countingReader struct {
	r *strings.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 1)])
	c.n += n
	return n, err
}

func TestForecastCommandKeepsInputOrder(t *testing.T) {
	dir := t.TempDir()
	names := []string{"s09", "s01", "s05", "s03", "s07", "s02", "s08", "s04", "s06"}
	in := writeSeries(t, dir, "many.csv", "series,timestamp,value", names, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	out := filepath.Join(dir, "out.csv")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", out, "--horizon", "3"})
	require.Equal(t, 0, code, stderr.String())
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+3*len(names))
	for i, n := range names {
		for k := 0; k < 3; k++ {
			require.Equal(t, n, rows[1+3*i+k][0])
		}
	}
}

func TestForecastCommandBadInputLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bad.csv")
	body := "series,timestamp,value\na,100,1\na,200,2\na,300,3\nb,100,1\nb,200,2\nb,50,3\n"
	require.NoError(t, os.WriteFile(in, []byte(body), 0o644))
	out := filepath.Join(dir, "out.csv")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", out, "--horizon", "2"})
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "bad.csv:7: series \"b\": timestamp 50 is not after")
	require.NoFileExists(t, out)
}

// TestForecastCommandCPUProfile: --cpuprofile (hack/pgo.sh's source of default.pgo) writes a
// profile pprof reads, and an unwritable path is a fatal error before anything is forecast.
func TestForecastCommandCPUProfile(t *testing.T) {
	dir := t.TempDir()
	in := writeSeries(t, dir, "a.csv", "series,timestamp,value", []string{"api"}, 15, func(t time.Time) string { return t.Format(time.RFC3339) })
	prof := filepath.Join(dir, "cpu.pprof")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
		[]string{"forecast", "--input", in, "--output", filepath.Join(dir, "out.csv"), "--horizon", "24", "--cpuprofile", prof})
	require.Equal(t, 0, code, stderr.String())
	f, err := os.Open(prof)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f) // a profile is a gzipped protocol buffer
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NotEmpty(t, body)

	code = run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
		[]string{"forecast", "--input", in, "--output", filepath.Join(dir, "out2.csv"), "--horizon", "24", "--cpuprofile", filepath.Join(dir, "missing", "cpu.pprof")})
	require.Equal(t, exitFatal, code)
	require.Contains(t, stderr.String(), "cpu profile")
}

// Regression test: a failed forecast truncated, then deleted, whatever was at --output (a
// file it never created, the target of a symbolic link), even when the input could not be
// read. The output is written beside it and renamed over it only on success.
func TestForecastCommandFailureKeepsExistingOutput(t *testing.T) {
	const precious = "precious\n"
	tests := []struct {
		name  string
		input func(dir string) string
		// output makes the --output path in dir; check says it is as it was.
		output func(t *testing.T, dir string) string
		check  func(t *testing.T, dir, output string)
		stderr string
	}{
		{
			name:   "missing input, existing file",
			input:  func(dir string) string { return filepath.Join(dir, "nosuch.csv") },
			output: writePrecious(precious),
			check:  requireContent(precious),
			stderr: "nosuch.csv",
		},
		{
			name: "malformed input, existing file",
			input: func(dir string) string {
				p := filepath.Join(dir, "bad.csv")
				require.NoError(t, os.WriteFile(p, []byte("series,timestamp,value\na,100,1\na,200,2\nb,100,1\nb,200,2\nb,50,3\n"), 0o644))
				return p
			},
			output: writePrecious(precious),
			check:  requireContent(precious),
			stderr: "bad.csv:6",
		},
		{
			name:  "missing input, a symbolic link",
			input: func(dir string) string { return filepath.Join(dir, "nosuch.csv") },
			output: func(t *testing.T, dir string) string {
				writePrecious(precious)(t, dir)
				link := filepath.Join(dir, "link.csv")
				require.NoError(t, os.Symlink("out.csv", link))
				return link
			},
			check: func(t *testing.T, dir, output string) {
				target, err := os.Readlink(output)
				require.NoError(t, err, "the link stays")
				require.Equal(t, "out.csv", target)
				requireContent(precious)(t, dir, filepath.Join(dir, "out.csv"))
			},
			stderr: "nosuch.csv",
		},
		{
			// A pipe stands in for a device (/dev/null, /dev/stdout): written directly, never removed.
			name:  "missing input, a named pipe",
			input: func(dir string) string { return filepath.Join(dir, "nosuch.csv") },
			output: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "pipe")
				require.NoError(t, syscall.Mkfifo(p, 0o600))
				// A reader, so that opening the pipe for writing does not block.
				r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
				require.NoError(t, err)
				t.Cleanup(func() { r.Close() })
				return p
			},
			check: func(t *testing.T, dir, output string) {
				fi, err := os.Lstat(output)
				require.NoError(t, err, "the pipe stays")
				require.Equal(t, os.ModeNamedPipe, fi.Mode().Type())
			},
			stderr: "nosuch.csv",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := tc.input(dir), tc.output(t, dir)
			before := dirNames(t, dir)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr},
				[]string{"forecast", "--input", in, "--output", out, "--horizon", "12"})
			require.Equal(t, exitFatal, code, stderr.String())
			require.Contains(t, stderr.String(), tc.stderr)
			tc.check(t, dir, out)
			require.Equal(t, before, dirNames(t, dir), "no temporary file left behind")
		})
	}
}

// writePrecious writes content to out.csv in dir and returns its path.
func writePrecious(content string) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, "out.csv")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
}

func requireContent(want string) func(t *testing.T, dir, path string) {
	return func(t *testing.T, _, path string) {
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A successful forecast replaces an existing output, keeping its mode, and writes through a
// symbolic link to its target; a new output is 0644.
func TestForecastCommandReplacesOutput(t *testing.T) {
	dir := t.TempDir()
	in := writeSeries(t, dir, "a.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	target := filepath.Join(dir, "target.csv")
	require.NoError(t, os.WriteFile(target, []byte("old\n"), 0o600))
	link := filepath.Join(dir, "link.csv")
	require.NoError(t, os.Symlink("target.csv", link))
	fresh := filepath.Join(dir, "fresh.csv")
	for _, out := range []string{link, fresh} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", out, "--horizon", "3"})
		require.Equal(t, exitOK, code, stderr.String())
	}
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(got), "series,timestamp,value,upper\napi,"), string(got))
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	require.Equal(t, os.ModeSymlink, fi.Mode().Type(), "the link stays a link")
	fi, err = os.Stat(target)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat(fresh)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	require.ElementsMatch(t, []string{"a.csv", "target.csv", "link.csv", "fresh.csv"}, dirNames(t, dir))
}

// Regression test: --output naming the --input file emptied the input before reading it.
func TestForecastCommandRefusesOutputSameAsInput(t *testing.T) {
	dir := t.TempDir()
	in := writeSeries(t, dir, "a.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	want, err := os.ReadFile(in)
	require.NoError(t, err)
	require.NoError(t, os.Symlink("a.csv", filepath.Join(dir, "link.csv")))
	require.NoError(t, os.Link(in, filepath.Join(dir, "hard.csv")))
	tests := []struct{ name, output string }{
		{"the same path", in},
		{"another spelling", filepath.Join(dir, ".", "a.csv")},
		{"a symbolic link to it", filepath.Join(dir, "link.csv")},
		{"a hard link to it", filepath.Join(dir, "hard.csv")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", tc.output, "--horizon", "3"})
			require.Equal(t, exitUsage, code, stderr.String())
			require.Contains(t, stderr.String(), "is the --input file")
			got, err := os.ReadFile(in)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}

// Regression test: --horizon had no bound (10^8 points took 2.4 GB, and timestamps wrapped
// past 292 years). The flag is bounded in points, each series' horizon in time and by the
// year 9999.
func TestForecastHorizonBounds(t *testing.T) {
	dir := t.TempDir()
	hourly := writeSeries(t, dir, "h.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	late := filepath.Join(dir, "late.csv")
	require.NoError(t, os.WriteFile(late, []byte("timestamp,value\n9999-12-31T20:00:00Z,1\n9999-12-31T21:00:00Z,2\n9999-12-31T22:00:00Z,3\n"), 0o644))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"forecast: over the flag's bound", []string{"forecast", "--input", hourly, "--horizon", "100000000"}, exitUsage, `--horizon "100000000": must be at most 527040 points`},
		{"forecast: at the flag's bound, more than a year of hours", []string{"forecast", "--input", hourly, "--horizon", fmt.Sprint(maxHorizon)}, exitPartial,
			`series "api": horizon too far: 527040 points of 1h0m0s reach 21960.0 days ahead, more than 366 days`},
		{"forecast: past the year 9999", []string{"forecast", "--input", late, "--horizon", "2", "--model", "naive"}, exitPartial, `series "late": horizon too far: the forecast would end after the year 9999`},
		{"forecast: up to the year 9999's end", []string{"forecast", "--input", late, "--horizon", "1", "--model", "naive"}, exitOK, ""},
		{"backtest: over the flag's bound", []string{"backtest", "--input", hourly, "--horizon", "527041"}, exitUsage, `--horizon "527041": must be at most 527040 points`},
		{"backtest: more than a year of hours", []string{"backtest", "--input", hourly, "--horizon", "9000"}, exitPartial, `series "api": horizon too far`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args[0] == "forecast" {
				args = append(slices.Clone(args), "--output", filepath.Join(t.TempDir(), "out.csv"))
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, args)
			require.Equal(t, tc.wantCode, code, stderr.String())
			require.Contains(t, stderr.String(), tc.stderr)
			if tc.wantCode == exitUsage {
				require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %s", stderr.String())
			}
		})
	}
}

// Regression test: backtest exited 0 with all-zero scores when nothing could be scored (a
// series too short for any origin, or so large that its errors' scale overflowed).
func TestBacktestCommandUnscorable(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.csv")
	require.NoError(t, os.WriteFile(two, []byte("timestamp,value\n100,1\n200,2\n"), 0o644))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range 21 * 288 {
		fmt.Fprintf(&b, "%d,1e308\n", 1704585600+300*i)
	}
	huge := filepath.Join(dir, "huge.csv")
	require.NoError(t, os.WriteFile(huge, []byte(b.String()), 0o644))
	tests := []struct {
		name, input, stderr string
		wantErr             error
	}{
		{"two rows", two, `series "two": nothing to score: 2 points of 1m40s are too few for a horizon of 864 points`, errNotScored},
		{"every value 1e308", huge, `series "huge": forecast is not finite: values so large the arithmetic overflows`, forecast.ErrNotFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", tc.input})
			require.Equal(t, exitPartial, code, stderr.String())
			require.Contains(t, stderr.String(), tc.stderr)
			require.Contains(t, stderr.String(), "none of the 1 series could be scored")
			require.NotContains(t, stdout.String(), "0.000", "nothing scored reads as no score, not a perfect one")

			stdout.Reset()
			code = run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", tc.input, "--json"})
			require.Equal(t, exitPartial, code)
			var rep backtestReport
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
			require.Len(t, rep.Errors, 1)
			for _, m := range append(rep.Models, rep.Auto, rep.Baseline) {
				require.Zero(t, m.Series, m.Model)
			}
		})
	}
	t.Run("sentinels", func(t *testing.T) {
		require.ErrorIs(t, checkHorizon(forecast.Series{Step: 24 * time.Hour, Values: []float64{1}}, 367, false), errHorizonTooFar)
		require.NoError(t, checkHorizon(forecast.Series{Step: 24 * time.Hour, Values: []float64{1}}, 366, false))
	})
}

// Regression test: forecast, backtest and simulate exited 2 on --help (serve exits 0), and
// an extra argument was reported as a missing required flag.
func TestCommandsHelpAndExtraArguments(t *testing.T) {
	in := writeSeries(t, t.TempDir(), "a.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stderr   string
	}{
		{"forecast --help", []string{"forecast", "--help"}, exitOK, "usage: kai-scaler forecast"},
		{"backtest -h", []string{"backtest", "-h"}, exitOK, "usage: kai-scaler backtest"},
		{"simulate --help", []string{"simulate", "--help"}, exitOK, "-plot"},
		{"version --help", []string{"version", "--help"}, exitOK, ""},
		{"dashboards --help", []string{"dashboards", "--help"}, exitOK, "usage: kai-scaler dashboards"},
		{"forecast extra", []string{"forecast", "--input", in, "--output", "-", "--horizon", "3", "extra"}, exitUsage, "kai-scaler forecast: unexpected arguments: extra\n"},
		{"backtest extra", []string{"backtest", "--input", in, "extra", "more"}, exitUsage, "kai-scaler backtest: unexpected arguments: extra more\n"},
		{"simulate extra", []string{"simulate", "--input", in, "extra"}, exitUsage, "kai-scaler simulate: unexpected arguments: extra\n"},
		{"version extra", []string{"version", "extra"}, exitUsage, "kai-scaler version: unexpected arguments: extra\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, tc.args)
			require.Equal(t, tc.wantCode, code, stderr.String())
			require.Contains(t, stderr.String(), tc.stderr)
			if tc.wantCode == exitUsage {
				require.Equal(t, tc.stderr, stderr.String(), "only the one line")
			}
		})
	}
}

// The four commands that take no arguments refuse them with one line, through one helper.
func TestExtraArgsExit(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		extra    bool
		stderr   string
	}{
		{"none", nil, exitOK, false, ""},
		{"flags only", []string{"-v"}, exitOK, false, ""},
		{"one", []string{"x"}, exitUsage, true, "kai-scaler test: unexpected arguments: x\n"},
		{"after the flags", []string{"-v", "x", "-y"}, exitUsage, true, "kai-scaler test: unexpected arguments: x -y\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.Bool("v", false, "")
			require.NoError(t, fs.Parse(tc.args))
			var stderr bytes.Buffer
			code, extra := extraArgsExit(&stderr, fs)
			require.Equal(t, tc.wantCode, code)
			require.Equal(t, tc.extra, extra)
			require.Equal(t, tc.stderr, stderr.String())
		})
	}
}

// Regression test: backtest scored a series with no positive value as perfect (MASE 0, full
// coverage) without a word: every value is read as zero load, which any model forecasts.
func TestBacktestCommandWarnsOfNoPositiveLoad(t *testing.T) {
	var b strings.Builder
	b.WriteString("series,timestamp,value\n")
	for _, sign := range []int{-1, 1} {
		for i := range 21 * 24 {
			fmt.Fprintf(&b, "%s,%d,%d\n", map[int]string{-1: "neg", 1: "pos"}[sign], 1704067200+3600*i, sign*(1+i%24))
		}
	}
	in := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o644))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"backtest", "--input", in, "--origins", "2"})
	require.Equal(t, exitOK, code, stderr.String())
	require.Contains(t, stderr.String(), `kai-scaler backtest: series "neg": every value is ≤ 0`)
	require.NotContains(t, stderr.String(), `series "pos"`)
}

// Regression test: a series with no value above zero was forecast as zeros without a word
// (the forecast package reads negative load as zero); it is still forecast, with a warning.
func TestForecastCommandWarnsOfNoPositiveLoad(t *testing.T) {
	const warning = "every value is ≤ 0; load cannot be negative, so the forecast is 0"
	tests := []struct {
		name   string
		values []string
		warn   bool
	}{
		{"every value negative", []string{"-3", "-1.5", "-2", "-4", "-1"}, true},
		{"zeros and negatives", []string{"0", "-1", "0", "-2", "0"}, true},
		{"negatives and a gap", []string{"-1", "NaN", "-2", "-1", "-3"}, true},
		{"every value zero", []string{"0", "0", "0", "0", "0"}, false},
		{"one positive", []string{"-1", "-2", "0.5", "-1", "-3"}, false},
		{"positive", []string{"1", "2", "3", "2", "1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("series,timestamp,value\n")
			for i, v := range tc.values {
				fmt.Fprintf(&b, "s,%d,%s\n", 1704067200+3600*i, v)
			}
			in := filepath.Join(t.TempDir(), "in.csv")
			require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o644))
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, []string{"forecast", "--input", in, "--output", "-", "--horizon", "2", "--model", forecast.ModelNaive})
			require.Equal(t, exitOK, code, stderr.String())
			if !tc.warn {
				require.NotContains(t, stderr.String(), warning)
				return
			}
			require.Equal(t, `kai-scaler forecast: series "s": `+warning+"\n", stderr.String())
			rows, err := csv.NewReader(&stdout).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 3)
			for _, r := range rows[1:] {
				require.Equal(t, []string{"0", "0"}, r[2:], "the forecast and its bound are 0")
			}
		})
	}
	t.Run("noPositiveLoad", func(t *testing.T) {
		require.True(t, noPositiveLoad([]float64{-1, math.NaN(), math.Inf(1), 0}), "+Inf is a gap, not load")
		require.False(t, noPositiveLoad([]float64{-1, 1e-300}))
		require.False(t, noPositiveLoad(nil))
		require.False(t, noPositiveLoad([]float64{math.Inf(-1), 0}), "-Inf is a gap too")
	})
}

// series is a series a test expects to read: its name, first time (Unix seconds), step and
// values.
type series struct {
	name   string
	start  int64
	step   time.Duration
	values []float64
}

// requireReads checks that readSeriesCSV reads body in the time format format as the series
// want: names, starts, steps and values, gaps (NaN) included.
func requireReads(t *testing.T, body string, format timeFormat, want []series) {
	t.Helper()
	got, gotFormat, err := readSeriesCSV(strings.NewReader(body), "in.csv")
	require.NoError(t, err)
	require.Equal(t, format, gotFormat)
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, w.name, got[i].name)
		require.Equal(t, time.Unix(w.start, 0).UTC(), got[i].series.Start)
		require.Equal(t, w.step, got[i].series.Step)
		require.Len(t, got[i].series.Values, len(w.values))
		for k, v := range w.values {
			if math.IsNaN(v) {
				require.True(t, math.IsNaN(got[i].series.Values[k]), "a gap at %d", k)
				continue
			}
			require.Equal(t, v, got[i].series.Values[k])
		}
	}
}
