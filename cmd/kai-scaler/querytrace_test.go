package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/internal/promtest"
)

func TestQueryFlagsResolve(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	defaults := queryFlags{span: defaultQueryRange, step: time.Minute}
	env := map[string]string{"PROMETHEUS_URL": "http://prom.monitoring:9090", "PROMETHEUS_HEADERS": "X-Scope-OrgID=team-a"}
	cases := []struct {
		name    string
		query   bool
		flags   map[string]string // flags given, by name, as written
		env     map[string]string
		want    querySource // compared where wantErr is empty
		wantErr []string    // each a substring of the joined errors
		secret  string      // never in the errors
	}{
		{name: "no query, no query flags", query: false},
		{name: "query flags without --query", query: false,
			flags:   map[string]string{"query-step": "5m", "prometheus.url": "http://p:9090"},
			wantErr: []string{"--prometheus.url: only read with --query (the input is another)", "--query-step: only read with --query (the input is another)"}},
		{name: "the environment's URL and headers, as serve reads them", query: true, env: env,
			want: querySource{url: "http://prom.monitoring:9090", headers: map[string]string{"X-Scope-OrgID": "team-a"}, end: now, span: defaultQueryRange, step: time.Minute}},
		{name: "flags over the environment", query: true, env: env,
			flags: map[string]string{"prometheus.url": "https://thanos:10902", "prometheus.headers": "", "query-end": "2026-02-01T00:00:00Z"},
			want:  querySource{url: "https://thanos:10902", end: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), span: defaultQueryRange, step: time.Minute}},
		{name: "no Prometheus at all", query: true,
			wantErr: []string{"--prometheus.url: --query needs the Prometheus to read from: give --prometheus.url or set PROMETHEUS_URL"}},
		{name: "a URL that is not http, its password not echoed", query: true,
			flags:   map[string]string{"prometheus.url": "ftp://admin:hunter2@prom:9090"},
			wantErr: []string{`--prometheus.url "ftp://prom:9090": must be an http:// or https:// URL`}, secret: "hunter2"},
		{name: "a bad URL from the environment names the variable", query: true,
			env:     map[string]string{"PROMETHEUS_URL": "prom:9090"},
			wantErr: []string{`PROMETHEUS_URL "prom:9090": must be an http:// or https:// URL`}},
		{name: "a header without a value names its entry, not the token", query: true,
			env:     map[string]string{"PROMETHEUS_URL": "http://p:9090", "PROMETHEUS_HEADERS": "Authorization=Bearer s3cret,X-Org"},
			wantErr: []string{"PROMETHEUS_HEADERS: entry 2 must be name=value"}, secret: "s3cret"},
		{name: "a step under a second", query: true, env: env, flags: map[string]string{"query-step": "500ms"},
			wantErr: []string{`--query-step "500ms": must be from 1s to 1h0m0s`}},
		{name: "a step over an hour", query: true, env: env, flags: map[string]string{"query-step": "2h"},
			wantErr: []string{`--query-step "2h": must be from 1s to 1h0m0s`}},
		{name: "a range of nothing", query: true, env: env, flags: map[string]string{"query-range": "0s"},
			wantErr: []string{`--query-range "0s": must be positive and at most 8784h0m0s`}},
		{name: "a range over a year", query: true, env: env, flags: map[string]string{"query-range": "9000h"},
			wantErr: []string{`--query-range "9000h": must be positive and at most 8784h0m0s`}},
		{name: "a range shorter than its step", query: true, env: env, flags: map[string]string{"query-range": "30m", "query-step": "1h"},
			wantErr: []string{`--query-range "30m": must be at least --query-step (1h0m0s)`}},
		{name: "a year of seconds is too many points", query: true, env: env, flags: map[string]string{"query-range": "8784h", "query-step": "1s"},
			wantErr: []string{`--query-range "8784h": spans 31622400 steps of --query-step 1s, more than 10000000`}},
		{name: "an end that is not RFC 3339", query: true, env: env, flags: map[string]string{"query-end": "2026-02-01 00:00"},
			wantErr: []string{`--query-end "2026-02-01 00:00": must be an RFC 3339 time`}},
		{name: "an end in the future", query: true, env: env, flags: map[string]string{"query-end": "2026-03-02T00:00:00Z"},
			wantErr: []string{`--query-end "2026-03-02T00:00:00Z": must not be in the future (Prometheus holds no load yet after now, 2026-03-01T12:00:00Z)`}},
		{name: "the bounds themselves", query: true, env: env, flags: map[string]string{"query-range": "8784h", "query-step": "1h", "query-end": "2026-03-01T12:00:00Z"},
			want: querySource{url: "http://prom.monitoring:9090", headers: map[string]string{"X-Scope-OrgID": "team-a"}, end: now, span: maxQueryRange, step: time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := defaults
			for name, v := range tc.flags {
				switch name {
				case "prometheus.url":
					q.url = v
				case "prometheus.headers":
					q.headers = v
				case "query-end":
					q.end = v
				case "query-range", "query-step":
					d, err := time.ParseDuration(v)
					require.NoError(t, err)
					if name == "query-range" {
						q.span = d
					} else {
						q.step = d
					}
				}
			}
			set := func(name string) bool { _, ok := tc.flags[name]; return ok }
			given := func(name string) string { return tc.flags[name] }
			src, errs := q.resolve(tc.query, set, given, func(k string) string { return tc.env[k] }, now)
			var text []string
			for _, err := range errs {
				text = append(text, err.Error())
			}
			joined := strings.Join(text, "\n")
			if len(tc.wantErr) == 0 {
				require.Empty(t, errs)
				require.Equal(t, tc.want, src)
				return
			}
			require.Len(t, errs, len(tc.wantErr), joined)
			for _, want := range tc.wantErr {
				require.Contains(t, joined, want)
			}
			if tc.secret != "" {
				require.NotContains(t, joined, tc.secret)
			}
		})
	}
}

func TestTrimGaps(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name      string
		values    []float64
		wantFirst int // index of the trimmed series' first value in values
		want      []float64
		wantOK    bool
	}{
		{name: "no gap", values: []float64{1, 2, 3}, want: []float64{1, 2, 3}, wantOK: true},
		{name: "gaps at both ends, one kept inside", values: []float64{nan, inf, 1, nan, 3, nan}, wantFirst: 2, want: []float64{1, nan, 3}, wantOK: true},
		{name: "a single value", values: []float64{nan, 0, math.Inf(-1)}, wantFirst: 1, want: []float64{0}, wantOK: true},
		{name: "nothing finite", values: []float64{nan, inf}},
		{name: "nothing at all"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := trimGaps(forecast.Series{Start: start, Step: time.Minute, Values: tc.values})
			require.Equal(t, tc.wantOK, ok)
			if !ok {
				require.Empty(t, got.Values)
				return
			}
			require.Equal(t, start.Add(time.Duration(tc.wantFirst)*time.Minute), got.Start)
			require.Equal(t, time.Minute, got.Step)
			require.Len(t, got.Values, len(tc.want))
			for i, v := range tc.want {
				if math.IsNaN(v) {
					require.True(t, math.IsNaN(got.Values[i]), "value %d", i)
				} else {
					require.Equal(t, v, got.Values[i], "value %d", i)
				}
			}
		})
	}
}

// TestQueryReadsPrometheusAsTheCSV backfills a real Prometheus with 17 days of two services'
// load and reads it with --query: `simulate` of one series reports what `simulate --input`
// reports on a CSV of the same values, once the 11 days before the first sample (the default
// range is the forecaster's four weeks) are cut; `forecast` and `backtest` of both series
// write and score what they do from a CSV of both under their labels. Then the errors a user
// meets: a query of several series where one is replayed, of none, of no finite value, and a
// Prometheus that does not answer.
func TestQueryReadsPrometheusAsTheCSV(t *testing.T) {
	step := 5 * time.Minute
	end := time.Now().UTC().Truncate(24 * time.Hour).Add(-time.Hour)
	o := hpasim.DefaultRamps(end.Add(-17*24*time.Hour + step))
	o.Days, o.Step = 17, step
	trace := hpasim.GenerateRamps(o)
	require.Equal(t, end, trace.Start.Add(time.Duration(len(trace.Values)-1)*step))
	o.Seed, o.Peak = 2, 400
	other := hpasim.GenerateRamps(o)

	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	w.Gauge("app_load", map[string]string{"service": "checkout"}, trace.Start, step, trace.Values)
	w.Gauge("app_load", map[string]string{"service": "search"}, other.Start, step, other.Values)
	require.NoError(t, w.Close())
	prom := promtest.Start(t, &om)

	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	for i, v := range trace.Values {
		fmt.Fprintf(&csv, "%d,%s\n", trace.Start.Add(time.Duration(i)*step).Unix(), strconv.FormatFloat(v, 'g', -1, 64))
	}
	input := filepath.Join(t.TempDir(), "checkout.csv")
	require.NoError(t, os.WriteFile(input, []byte(csv.String()), 0o644))

	simulate := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		code := run(t.Context(), c, append([]string{"simulate", "--max", "20"}, args...))
		return code, stdout.String(), stderr.String()
	}
	queryEnd := end.Add(2 * time.Minute) // truncated to the step: end at 5m, itself at 1m
	endFlag := "--query-end=" + queryEnd.Format(time.RFC3339)
	code, fromCSV, stderr := simulate(nil, "--input", input)
	require.Equal(t, 0, code, stderr)
	// The URL from the environment, as serve reads it; the report names it without its password.
	env := map[string]string{"PROMETHEUS_URL": "http://kai:pw@" + strings.TrimPrefix(prom.URL, "http://")}
	code, fromQuery, stderr := simulate(env, "--query", `app_load{service="checkout"}`, "--query-step", "5m", endFlag)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, `msg="trace read from Prometheus" cmd=simulate query="app_load{service=\"checkout\"}" series="{__name__=\"app_load\", service=\"checkout\"}" start=`+trace.Start.Format(time.RFC3339)+" step=5m0s points=4896")

	var a, b map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(fromCSV), &a))
	require.NoError(t, json.Unmarshal([]byte(fromQuery), &b))
	var params map[string]any
	require.NoError(t, json.Unmarshal(b["parameters"], &params))
	require.Equal(t, `app_load{service="checkout"}`, params["query"])
	require.Equal(t, prom.URL, params["prometheusURL"])
	require.NotContains(t, fromQuery, "pw@")
	delete(a, "parameters")
	delete(b, "parameters")
	require.Equal(t, a, b, "the replay of the query is the replay of the CSV")

	// A service of a services file: its query read from Prometheus, its settings replayed, as
	// the same settings given as flags on the CSV.
	services := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(services, []byte("services:\n  - name: checkout\n    namespace: shop\n    query: app_load{service=\"checkout\"}\n"+
		"    capacityPerReplica: 80\n    leadTime: 10m\n    availabilityTarget: 0.99\n"), 0o644))
	code, fromFlags, stderr := simulate(nil, "--input", input, "--capacity-per-replica", "80", "--lead-time", "10m", "--pod-startup", "4m", "--quantile", "0.9", "--availability-target", "0.99")
	require.Equal(t, 0, code, stderr)
	code, fromService, stderr := simulate(env, "--services", services, "--service", "checkout", "--query-step", "5m", endFlag)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, `msg="settings from the services file" cmd=simulate services=`+services+` service=checkout flags="--query=app_load{service=\"checkout\"} --capacity-per-replica=80 --lead-time=10m0s --pod-startup=4m0s --quantile=0.9 --availability-target=0.99"`)
	require.NoError(t, json.Unmarshal([]byte(fromFlags), &a))
	require.NoError(t, json.Unmarshal([]byte(fromService), &b))
	require.NoError(t, json.Unmarshal(b["parameters"], &params))
	require.Equal(t, "checkout", params["service"])
	require.Equal(t, 0.99, params["availabilityTarget"])
	delete(a, "parameters")
	delete(b, "parameters")
	require.Equal(t, a, b, "the service replayed from its file is the CSV replayed with its settings")

	// forecast and backtest read every series of a query, named by their labels: the same
	// output as from a CSV of both series under those names, at RFC 3339 times.
	var both strings.Builder
	both.WriteString("series,timestamp,value\n")
	for _, s := range []struct {
		name string
		s    forecast.Series
	}{{`{__name__="app_load", service="checkout"}`, trace}, {`{__name__="app_load", service="search"}`, other}} {
		for i, v := range s.s.Values {
			fmt.Fprintf(&both, `"%s",%s,%s`+"\n", strings.ReplaceAll(s.name, `"`, `""`), s.s.Start.Add(time.Duration(i)*step).Format(time.RFC3339), strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	bothCSV := filepath.Join(t.TempDir(), "both.csv")
	require.NoError(t, os.WriteFile(bothCSV, []byte(both.String()), 0o644))
	command := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		code := run(t.Context(), c, args)
		return code, stdout.String(), stderr.String()
	}
	code, csvForecast, stderr := command("forecast", "--input", bothCSV, "--horizon", "288", "--output", "-")
	require.Equal(t, 0, code, stderr)
	code, queryForecast, stderr := command("forecast", "--query", "app_load", endFlag, "--horizon", "288", "--output", "-")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 1+2*288, strings.Count(queryForecast, "\n"))
	require.Contains(t, queryForecast, "\n\"{__name__=\"\"app_load\"\", service=\"\"search\"\"}\","+end.Add(step).Format(time.RFC3339)+",")
	require.Equal(t, csvForecast, queryForecast, "forecast --query writes what forecast --input writes")

	code, csvBacktest, stderr := command("backtest", "--input", bothCSV, "--json")
	require.Equal(t, 0, code, stderr)
	code, queryBacktest, stderr := command("backtest", "--query", "app_load", endFlag, "--json")
	require.Equal(t, 0, code, stderr)
	var fromFile, fromProm map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(csvBacktest), &fromFile))
	require.NoError(t, json.Unmarshal([]byte(queryBacktest), &fromProm))
	require.JSONEq(t, `"app_load"`, string(fromProm["query"]))
	require.JSONEq(t, `2`, string(fromProm["series"]))
	for _, k := range []string{"input", "query"} {
		delete(fromFile, k)
		delete(fromProm, k)
	}
	require.Equal(t, fromFile, fromProm, "backtest --query scores what backtest --input scores")
	// --services: each service's query, named by the service; one whose query returns nothing
	// is named with why, and the others are forecast and scored as from the CSV.
	servicesFile := filepath.Join(t.TempDir(), "all.yaml")
	require.NoError(t, os.WriteFile(servicesFile, []byte("services:\n"+
		"  - {name: checkout, namespace: shop, query: 'app_load{service=\"checkout\"}', capacityPerReplica: 80}\n"+
		"  - {name: cart, namespace: shop, query: 'app_load{service=\"cart\"}', capacityPerReplica: 10}\n"+
		"  - {name: search, namespace: shop, query: 'app_load{service=\"search\"}', capacityPerReplica: 30}\n"), 0o644))
	code, servicesForecast, stderr := command("forecast", "--services", servicesFile, endFlag, "--horizon", "288", "--output", "-")
	require.Equal(t, exitPartial, code, stderr)
	require.Contains(t, stderr, `kai-scaler forecast: series "cart": query "app_load{service=\"cart\"}" returned no series from `)
	renamed := strings.NewReplacer(`"{__name__=""app_load"", service=""checkout""}"`, "checkout", `"{__name__=""app_load"", service=""search""}"`, "search").Replace(csvForecast)
	require.Equal(t, renamed, servicesForecast, "forecast --services writes what forecast --input writes, under the services' names")
	code, servicesBacktest, stderr := command("backtest", "--services", servicesFile, endFlag, "--json")
	require.Equal(t, exitPartial, code, stderr)
	require.Contains(t, stderr, "kai-scaler backtest: 1 of 3 series could not be scored; the scores are of the others\n")
	var fromServices map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(servicesBacktest), &fromServices))
	for _, k := range []string{"models", "auto", "baseline", "chosen"} {
		require.JSONEq(t, string(fromFile[k]), string(fromServices[k]), k)
	}
	code, _, stderr = command("backtest", "--services", servicesFile, "--prometheus.url", "http://"+closedAddr(t), endFlag)
	require.Equal(t, exitFatal, code, stderr)
	require.Contains(t, stderr, "kai-scaler backtest: service checkout: query range ", "an unreachable Prometheus stops the run at the first service")

	// A series without a finite value is named with the fit's reason, as from a CSV of gaps.
	code, _, stderr = command("backtest", "--query", `app_load{service="search"} or app_load{service="checkout"} / 0 * 0`, endFlag)
	require.Equal(t, exitPartial, code, stderr)
	require.Contains(t, stderr, `kai-scaler backtest: series "{service=\"checkout\"}": `)
	require.Contains(t, stderr, "kai-scaler backtest: 1 of 2 series could not be scored; the scores are of the others\n")

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "several series", env: env, args: []string{"--query", "app_load", endFlag},
			want: `query "app_load" returned 2 series; it must return exactly one (aggregate it, e.g. sum(...)): {__name__="app_load", service="checkout"}, {__name__="app_load", service="search"}`},
		{name: "no series", args: []string{"--query", `app_load{service="cart"}`, "--prometheus.url", prom.URL, endFlag},
			want: `query "app_load{service=\"cart\"}" returned no series from ` + queryEnd.Add(-28*24*time.Hour+time.Minute).Format(time.RFC3339) + " to " + queryEnd.Format(time.RFC3339) +
				": check its metric names and labels, and that Prometheus keeps that far back"},
		{name: "only gaps", env: env, args: []string{"--query", `app_load{service="checkout"} / 0 * 0`, endFlag},
			want: `returned no finite value from`},
		{name: "a Prometheus that does not answer", args: []string{"--query", "app_load", "--prometheus.url", "http://" + closedAddr(t), endFlag},
			want: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := simulate(tc.env, tc.args...)
			require.Equal(t, 1, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.want)
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestFitCommandsReadOneInput(t *testing.T) {
	in := writeSeries(t, t.TempDir(), "a.csv", "series,timestamp,value", []string{"api"}, 3, func(t time.Time) string { return t.Format(time.RFC3339) })
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"forecast of a file and a query", []string{"forecast", "--input", in, "--query", "up", "--output", "-"}, "kai-scaler forecast: --output and exactly one of --input, --query and --services are required\n"},
		{"forecast of neither", []string{"forecast", "--output", "-"}, "kai-scaler forecast: --output and exactly one of --input, --query and --services are required\n"},
		{"forecast of a query, written nowhere", []string{"forecast", "--query", "up"}, "kai-scaler forecast: --output and exactly one of --input, --query and --services are required\n"},
		{"backtest of a file and a query", []string{"backtest", "--input", in, "--query", "up"}, "kai-scaler backtest: exactly one of --input, --query and --services is required\n"},
		{"backtest of neither", []string{"backtest"}, "kai-scaler backtest: exactly one of --input, --query and --services is required\n"},
		{"backtest of a query and a services file", []string{"backtest", "--query", "up", "--services", "s.yaml"}, "kai-scaler backtest: exactly one of --input, --query and --services is required\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr}, tc.args)
			require.Equal(t, exitUsage, code, stderr.String())
			require.True(t, strings.HasPrefix(stderr.String(), tc.want), stderr.String())
			require.Contains(t, stderr.String(), "-query-step duration", "the usage follows")
			require.Empty(t, stdout.String())
		})
	}
}
