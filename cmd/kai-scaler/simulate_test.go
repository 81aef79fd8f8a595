package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
)

// writeRampTrace writes a 16-day generated trace at a 15-minute step as timestamp,value CSV.
func writeRampTrace(t *testing.T, format func(time.Time) string) string {
	t.Helper()
	o := hpasim.DefaultRamps(time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC))
	o.Days, o.Step = 16, 15*time.Minute
	s := hpasim.GenerateRamps(o)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i, v := range s.Values {
		fmt.Fprintf(&b, "%s,%.3f\n", format(s.Start.Add(time.Duration(i)*s.Step)), v)
	}
	path := filepath.Join(t.TempDir(), "trace.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func TestSimulateCLI(t *testing.T) {
	input := writeRampTrace(t, func(t time.Time) string { return t.Format("2006-01-02 15:04:05") })
	pngPath := filepath.Join(t.TempDir(), "sim.png")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"simulate", "--input", input, "--plot", pngPath, "--max", "20", "--lead-time", "20m", "--pod-startup", "2m", "--warmup", "336h"})
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stderr.String(), "derived capacity per replica")

	var rep struct {
		Parameters map[string]any             `json:"parameters"`
		Reactive   map[string]float64         `json:"reactive"`
		Predictive map[string]json.RawMessage `json:"predictive"`
		Reduction  *float64                   `json:"underProvisionedReduction"`
		Increase   *float64                   `json:"replicaHoursIncrease"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	for _, k := range []string{"underProvisionedReplicaMinutes", "shortfallMinutes", "replicaHours", "evaluatedMinutes"} {
		require.Contains(t, rep.Reactive, k)
		require.Contains(t, rep.Predictive, k)
	}
	require.Equal(t, "20m0s", rep.Parameters["leadTime"])
	require.Equal(t, "24h0m0s", rep.Parameters["horizon"], "forecasts fitted for a day, as the service's")
	require.Equal(t, true, rep.Parameters["capacityDerived"])
	// Two evaluated days after the two-week warm-up, at the 15 s sync.
	require.InDelta(t, 2*24*60-15, rep.Reactive["evaluatedMinutes"], 1) // up to the last sample
	// A reactive HPA on sharp ramps falls short, and pays at least for the load it carried.
	require.Greater(t, rep.Reactive["underProvisionedReplicaMinutes"], 0.0)
	require.GreaterOrEqual(t, rep.Reactive["replicaHours"], rep.Reactive["loadReplicaHours"]*0.9)
	var fits int
	require.NoError(t, json.Unmarshal(rep.Predictive["forecasts"], &fits))
	require.Equal(t, 48, fits, "one fit an hour over 2 days, as the service's default schedule")
	var under, hours float64
	require.NoError(t, json.Unmarshal(rep.Predictive["underProvisionedReplicaMinutes"], &under))
	require.NoError(t, json.Unmarshal(rep.Predictive["replicaHours"], &hours))
	require.Less(t, under, rep.Reactive["underProvisionedReplicaMinutes"], "floors ahead of the ramps cut the shortfall")
	require.Greater(t, hours, 0.0)
	var binding, raised float64
	require.NoError(t, json.Unmarshal(rep.Predictive["floorBindingMinutes"], &binding))
	require.NoError(t, json.Unmarshal(rep.Predictive["floorRaisedMinutes"], &raised))
	require.Greater(t, binding, 0.0, "the floor holds replicas up somewhere (ahead of the ramps)")
	require.LessOrEqual(t, binding, raised+0.25, "the floor binds only where it is raised")
	var floorRaises, scaleUps int
	require.NoError(t, json.Unmarshal(rep.Predictive["floorRaises"], &floorRaises))
	require.NoError(t, json.Unmarshal(rep.Predictive["scaleUps"], &scaleUps))
	require.Greater(t, floorRaises, 0, "the floor goes up ahead of the ramps")
	require.Greater(t, scaleUps, 0)
	require.NotNil(t, rep.Reduction)
	require.NotNil(t, rep.Increase)

	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Greater(t, img.Bounds().Dx(), 100)
}

func TestFitWarmup(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name        string
		span        time.Duration
		want        time.Duration
		wantShorter bool
	}{
		{"long trace keeps the default", 60 * day, 14 * day, false},
		{"exactly a week after the default", 21 * day, 14 * day, false},
		{"two weeks: a week of warm-up, a week scored", 14 * day, 7 * day, true},
		{"ten days: three of warm-up", 10 * day, 3 * day, true},
		{"very short: the two-day least", 5 * day, 2 * day, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, shorter := fitWarmup(tt.span, 14*day)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantShorter, shorter)
		})
	}
}

func TestReadTraceForecastFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fc.csv")
	require.NoError(t, os.WriteFile(path, []byte("series,timestamp,value,upper\n"+
		"a,1736121600,10,12\na,1736121900,11,13\na,1736122200,12,14\n"+
		"b,1736121600,99,100\nb,1736121900,98,100\n"), 0o644))
	s, name, others, err := readTrace(path)
	require.NoError(t, err)
	require.Equal(t, []float64{10, 11, 12}, s.Values, "first series, upper dropped")
	require.Equal(t, 5*time.Minute, s.Step)
	require.Equal(t, time.Unix(1736121600, 0).UTC(), s.Start)
	require.Equal(t, "a", name)
	require.Equal(t, 1, others)
}

// TestReadTraceFromAGrafanaExport: a Grafana panel's CSV export (series joined by time, Time
// in Unix milliseconds, columns named by labels) is a trace, its first column simulated; and
// forecast's output of it, whose series names hold commas and quotes, reads back.
func TestReadTraceFromAGrafanaExport(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "panel.csv")
	var b strings.Builder
	b.WriteString(`"Time","{job=""api"", instance=""a:80""}","{job=""web""}"` + "\n")
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range 21 * 288 {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		fmt.Fprintf(&b, "%d,%g,%g\n", at.UnixMilli(), 100+50*math.Sin(2*math.Pi*float64(i)/288), 7.0)
	}
	require.NoError(t, os.WriteFile(export, []byte(b.String()), 0o644))
	s, name, others, err := readTrace(export)
	require.NoError(t, err)
	require.Equal(t, `{job="api", instance="a:80"}`, name)
	require.Equal(t, 1, others)
	require.Equal(t, start, s.Start)
	require.Equal(t, 5*time.Minute, s.Step)
	require.Len(t, s.Values, 21*288)
	require.InDelta(t, 150, s.Values[72], 1e-9)

	out := filepath.Join(dir, "fc.csv")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"forecast", "--input", export, "--output", out, "--horizon", "3", "--model", "seasonal-naive"})
	require.Zero(t, code, stderr.String())
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Contains(t, string(written), `"{job=""api"", instance=""a:80""}",`+fmt.Sprint(start.Add(21*24*time.Hour).UnixMilli())+",")
	fc, name, others, err := readTrace(out)
	require.NoError(t, err)
	require.Equal(t, `{job="api", instance="a:80"}`, name)
	require.Equal(t, 1, others)
	require.Equal(t, start.Add(21*24*time.Hour), fc.Start, "milliseconds written as read")
	require.Len(t, fc.Values, 3)
}

func TestSimulateUsage(t *testing.T) {
	input := writeRampTrace(t, func(t time.Time) string { return t.Format(time.RFC3339) })
	manifests := t.TempDir()
	manifest := func(name, data string) string {
		path := filepath.Join(manifests, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
		return path
	}
	hpaZeroPeriod := manifest("zero-period.yaml", hpaYAML("  maxReplicas: 10", "  behavior:", "    scaleDown:", "      policies:",
		"      - type: Pods", "        value: 1", "        periodSeconds: 0"))
	hpaNoMax := manifest("no-max.yaml", hpaYAML("  minReplicas: 2"))
	hpaV1 := manifest("v1.yaml", strings.Replace(hpaYAML("  maxReplicas: 10", "  targetCPUUtilizationPercentage: 70"), "autoscaling/v2", "autoscaling/v1", 1))
	hpaV2beta2 := manifest("v2beta2.yaml", strings.Replace(hpaYAML("  maxReplicas: 10"), "autoscaling/v2", "autoscaling/v2beta2", 1))
	hpaMisspelt := manifest("misspelt.yaml", hpaYAML("  maxReplicas: 10", "  behavior:", "    scaleDown:", "      stabilisationWindowSeconds: 0"))
	hpaBadYAML := manifest("bad.yaml", hpaYAML("  maxReplicas: 10", "   minReplicas: 2"))
	hpaMinAboveMax := manifest("min-above-max.yaml", hpaYAML("  minReplicas: 6", "  maxReplicas: 5"))
	hpa2To10 := manifest("hpa.yaml", hpaYAML("  minReplicas: 2", "  maxReplicas: 10"))
	// A link to a file in a folder that does not exist: its own folder does, so only creating
	// the plot finds it cannot be written (as a folder without write permission, which root,
	// running the tests in a container, would write anyway).
	danglingPlot := filepath.Join(t.TempDir(), "plot.png")
	require.NoError(t, os.Symlink(filepath.Join(t.TempDir(), "missing", "x.png"), danglingPlot))
	const names = "batch, bursts, events, growth, heavytail, hourly, jobs, localtime, noisy, outages, ramps, shift, smooth, sparse, weblog, weekly, weeklypeak"
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no input", []string{"simulate"}, 2, "exactly one of --input, --generate and --query is required"},
		{"both inputs", []string{"simulate", "--input", input, "--generate", "ramps"}, 2, "exactly one"},
		{"a file and a query", []string{"simulate", "--input", input, "--query", "up"}, 2, "exactly one of --input, --generate and --query is required"},
		{"a service without its file", []string{"simulate", "--input", input, "--service", "checkout"}, 2,
			"kai-scaler simulate: --services and --service go together: the file and the service in it to replay\n"},
		{"a services file without a service", []string{"simulate", "--input", input, "--services", "services.yaml"}, 2, "--services and --service go together"},
		{"a services file that is not there", []string{"simulate", "--services", "nope.yaml", "--service", "checkout"}, 2, `--services "nope.yaml": cannot be read: `},
		// --query's own flags: each named, checked before Prometheus is asked anything.
		{"a query without a Prometheus", []string{"simulate", "--query", "up"}, 2,
			"kai-scaler simulate: --prometheus.url: --query needs the Prometheus to read from: give --prometheus.url or set PROMETHEUS_URL\n"},
		{"a query's flags among other bad flags, one line each", []string{"simulate", "--query", "up", "--prometheus.url", "prom:9090",
			"--query-step", "0s", "--query-end", "yesterday", "--quantile", "1"}, 2,
			"kai-scaler simulate: --quantile \"1\": must be between 0 and 1\n" +
				"kai-scaler simulate: --prometheus.url \"prom:9090\": must be an http:// or https:// URL\n" +
				"kai-scaler simulate: --query-step \"0s\": must be from 1s to 1h0m0s (the coarsest step a daily season is fitted on)\n" +
				"kai-scaler simulate: --query-end \"yesterday\": must be an RFC 3339 time, e.g. 2025-03-01T00:00:00Z\n"},
		{"a query's flag with a file", []string{"simulate", "--input", input, "--query-range", "48h"}, 2,
			"kai-scaler simulate: --query-range: only read with --query (the input is another)\n"},
		{"unknown generated trace", []string{"simulate", "--generate", "nope"}, 2, `--generate "nope": must be one of ` + names},
		{"unknown model", []string{"simulate", "--input", input, "--model", "bogus"}, 2, `--model "bogus": must be auto or one of seasonal-naive, naive,`},
		{"bad bounds", []string{"simulate", "--input", input, "--min", "5", "--max", "3"}, 2, "--min <= --max"},
		{"bad quantile", []string{"simulate", "--input", input, "--quantile", "1"}, 2, "--quantile"},
		{"missing file", []string{"simulate", "--input", filepath.Join(t.TempDir(), "nope.csv")}, 1, "read trace"},
		// Regression tests: a warm-up as long as the trace or longer was accepted, and the replay
		// then failed with exit status 1, naming no flag.
		{"warm-up longer than trace", []string{"simulate", "--input", input, "--warmup", "400h"}, 2,
			`--warmup "400h": must be shorter than the trace, which spans 383h45m0s (16.0 days): give a shorter --warmup, or leave it out`},
		{"warm-up as long as the trace", []string{"simulate", "--input", input, "--warmup", "383h45m"}, 2, `--warmup "383h45m": must be shorter than the trace`},
		{"negative horizon", []string{"simulate", "--input", input, "--horizon", "-1h"}, 2, `--horizon "-1h": must be from 0s to 8784h0m0s (366 days)`},
		{"horizon beyond a year", []string{"simulate", "--input", input, "--horizon", "8785h"}, 2, `--horizon "8785h": must be from 0s to 8784h0m0s (366 days)`},
		// Regression tests: each row ran (a tiny --refit out of memory, a long --lead-time for
		// minutes) or, with the warm-up past the trace's end, failed with exit 1 after reading
		// it; the flags are refused first, each named with its value as written.
		{"refit of a nanosecond", []string{"simulate", "--input", input, "--warmup", "400h", "--refit", "1ns"}, 2, `--refit "1ns": must be at least 1m0s`},
		{"refit below the trace's step", []string{"simulate", "--input", input, "--warmup", "400h", "--refit", "5m"}, 2, `--refit "5m": must be at least the trace's step, 15m0s`},
		{"plan interval below a sync", []string{"simulate", "--input", input, "--warmup", "400h", "--plan-every", "1ns"}, 2, `--plan-every "1ns": must be at least 15s`},
		{"lead time beyond the forecasts", []string{"simulate", "--input", input, "--warmup", "400h", "--lead-time", "100000h"}, 2, `--lead-time "100000h": must be from 0s to 24h0m0s`},
		{"pod start-up of a day", []string{"simulate", "--input", input, "--warmup", "400h", "--pod-startup", "24h"}, 2, `--pod-startup "24h": must be from 0s to 1h0m0s`},
		{"capacity NaN", []string{"simulate", "--input", input, "--warmup", "400h", "--capacity-per-replica", "NaN"}, 2, `--capacity-per-replica "NaN": must be a finite number`},
		{"capacity +Inf", []string{"simulate", "--input", input, "--warmup", "400h", "--capacity-per-replica", "+Inf"}, 2, `--capacity-per-replica "+Inf": must be a finite number`},
		{"budget +Inf", []string{"simulate", "--input", input, "--warmup", "400h", "--budget", "+Inf"}, 2, `--budget "+Inf": must be a finite number greater than 0`},
		{"availability target of all minutes", []string{"simulate", "--input", input, "--availability-target", "1"}, 2, `--availability-target "1": must be 0 (none: the budget) or between 0 and 1, a share of minutes`},
		{"availability target NaN", []string{"simulate", "--input", input, "--availability-target", "NaN"}, 2, `--availability-target "NaN": must be 0 (none: the budget) or between 0 and 1`},
		{"a budget and an availability target", []string{"simulate", "--input", input, "--budget", "0.1", "--availability-target", "0.99"}, 2,
			"kai-scaler simulate: set --budget or --availability-target, not both: a target replaces the budget\n"},
		{"step-down fraction NaN", []string{"simulate", "--input", input, "--warmup", "400h", "--step-down-fraction", "NaN"}, 2, `--step-down-fraction "NaN": must be more than 0 and at most 1`},
		{"step-down fraction above 1", []string{"simulate", "--input", input, "--warmup", "400h", "--step-down-fraction", "5"}, 2, `--step-down-fraction "5": must be more than 0 and at most 1`},
		{"step-down fraction negative", []string{"simulate", "--input", input, "--warmup", "400h", "--step-down-fraction", "-1"}, 2, `--step-down-fraction "-1": must be more than 0`},
		{"step-down interval negative", []string{"simulate", "--input", input, "--warmup", "400h", "--step-down-interval", "-1s"}, 2, `--step-down-interval "-1s": must be positive`},
		{"step-down interval 0, the actuator's default", []string{"simulate", "--input", input, "--warmup", "400h", "--step-down-interval", "0"}, 2, `--step-down-interval "0": must be positive (the actuator reads 0 as its default, 5m0s)`},
		{"negative history", []string{"simulate", "--input", input, "--warmup", "400h", "--history", "-1h"}, 2, `--history "-1h": must be 0 (all the past) or at least 24h0m0s`},
		{"history of a nanosecond", []string{"simulate", "--input", input, "--warmup", "400h", "--history", "1ns"}, 2, `--history "1ns": must be 0 (all the past) or at least 24h0m0s`},
		{"max of int32's largest", []string{"simulate", "--input", input, "--warmup", "400h", "--max", "2147483647"}, 2, `--max "2147483647": must be an integer from 1 to 150000`},
		{"negative plot days", []string{"simulate", "--input", input, "--warmup", "400h", "--plot-days", "-5"}, 2, `--plot-days "-5": must be from 0 (all) to 366`},
		{"plot days beyond a year", []string{"simulate", "--input", input, "--warmup", "400h", "--plot-days", "367"}, 2, `--plot-days "367": must be from 0 (all) to 366`},
		{"plot days past time.Duration", []string{"simulate", "--input", input, "--warmup", "400h", "--plot-days", "200000"}, 2, `--plot-days "200000": must be from 0 (all) to 366`},
		{"max beyond int32", []string{"simulate", "--input", input, "--warmup", "400h", "--max", "4294967297"}, 2, `--max "4294967297": must be an integer from 1 to 150000`},
		{"min beyond int32", []string{"simulate", "--input", input, "--warmup", "400h", "--min", "4294967298", "--max", "4294967299"}, 2, `--min "4294967298": must be an integer from 1 to 150000`},
		{"one line for each bad flag", []string{"simulate", "--input", input, "--refit", "0", "--warmup", "0", "--plan-every", "0",
			"--lead-time", "-1m", "--pod-startup", "-1s", "--capacity-per-replica", "-1"}, 2,
			"kai-scaler simulate: --capacity-per-replica \"-1\": must be a finite number, 0 or more (0: derived from the trace)\n" +
				"kai-scaler simulate: --lead-time \"-1m\": must be from 0s to 24h0m0s, the span of the service's forecasts\n" +
				"kai-scaler simulate: --pod-startup \"-1s\": must be from 0s to 1h0m0s\n" +
				"kai-scaler simulate: --refit \"0\": must be at least 1m0s (one forecast is fitted every --refit of trace time)\n" +
				"kai-scaler simulate: --warmup \"0\": must be positive\n" +
				"kai-scaler simulate: --plan-every \"0\": must be at least 15s: the simulated HPA syncs every 15s, and the replay plans at most once a sync\n"},
		// Regression test: --generate and --model were refused one at a time, before the
		// other flags, and --model in another form ("unknown --model").
		{"names among the other flags", []string{"simulate", "--generate", "nope", "--model", "bogus", "--plot-days", "400"}, 2,
			"kai-scaler simulate: --generate \"nope\": must be one of " + names + "\n" +
				"kai-scaler simulate: --model \"bogus\": must be auto or one of "},
		// Regression tests: an unwritable --plot failed after the whole run, printing nothing;
		// then before it, but as "--plot: ..." with exit status 1.
		{"plot in a missing folder", []string{"simulate", "--input", input, "--plot", "nope/x.png"}, 2, `--plot "nope/x.png": must be in an existing folder, and nope is not one`},
		{"plot in a file, not a folder", []string{"simulate", "--input", input, "--plot", filepath.Join(input, "x.png")}, 2, `: must be in an existing folder`},
		{"plot through a link to a missing folder", []string{"simulate", "--input", input, "--plot", danglingPlot}, 2, fmt.Sprintf("--plot %q: cannot be written: ", danglingPlot)},
		{"plot of an unknown format", []string{"simulate", "--input", input, "--plot", filepath.Join(t.TempDir(), "x.gif")}, 2, `.gif": must be a file name ending in .png, .svg, .pdf, .jpg, .tif or .eps`},
		{"plot of an unknown format in a missing folder", []string{"simulate", "--input", input, "--plot", "nope/x.gif"}, 2, `--plot "nope/x.gif": must be a file name ending in .png`},
		// --hpa: each problem of the manifest names the flag, the file and the field.
		{"hpa file missing", []string{"simulate", "--input", input, "--hpa", "nope.yaml"}, 2, `--hpa "nope.yaml": cannot be read: no such file or directory`},
		{"hpa behavior out of bounds", []string{"simulate", "--input", input, "--hpa", hpaZeroPeriod}, 2,
			fmt.Sprintf("kai-scaler simulate: --hpa %q: spec.behavior.scaleDown.policies[0].periodSeconds: 0 must be 1 to 1800\n", hpaZeroPeriod)},
		{"hpa without maxReplicas", []string{"simulate", "--input", input, "--hpa", hpaNoMax}, 2, fmt.Sprintf("--hpa %q: spec.maxReplicas: must be set, 1 or more", hpaNoMax)},
		{"hpa minReplicas above maxReplicas", []string{"simulate", "--input", input, "--hpa", hpaMinAboveMax}, 2,
			fmt.Sprintf("--hpa %q: spec.minReplicas: 6 must be at most spec.maxReplicas, 5", hpaMinAboveMax)},
		{"hpa of autoscaling/v1", []string{"simulate", "--input", input, "--hpa", hpaV1}, 2, fmt.Sprintf(`--hpa %q: apiVersion: "autoscaling/v1" has no behavior`, hpaV1)},
		{"hpa of autoscaling/v2beta2", []string{"simulate", "--input", input, "--hpa", hpaV2beta2}, 2,
			fmt.Sprintf(`--hpa %q: apiVersion: "autoscaling/v2beta2" must be autoscaling/v2 (v2beta2 was removed in Kubernetes 1.26): convert it`, hpaV2beta2)},
		{"hpa with an unknown field", []string{"simulate", "--input", input, "--hpa", hpaMisspelt}, 2,
			fmt.Sprintf("--hpa %q: unknown field \"spec.behavior.scaleDown.stabilisationWindowSeconds\"", hpaMisspelt)},
		{"hpa that does not parse", []string{"simulate", "--input", input, "--hpa", hpaBadYAML}, 2,
			fmt.Sprintf("--hpa %q: yaml: line 7: mapping values are not allowed in this context", hpaBadYAML)},
		{"--min above the hpa's maxReplicas", []string{"simulate", "--input", input, "--hpa", hpa2To10, "--min", "12"}, 2,
			fmt.Sprintf(`--min "12": must be at most --hpa %q's spec.maxReplicas, 10: give a --max too, or a lower --min`, hpa2To10)},
		{"--max below the hpa's minReplicas", []string{"simulate", "--input", input, "--hpa", hpa2To10, "--max", "1"}, 2,
			fmt.Sprintf(`--max "1": must be at least --hpa %q's spec.minReplicas, 2`, hpa2To10)},
		{"--min above --max with an hpa", []string{"simulate", "--input", input, "--hpa", hpa2To10, "--min", "5", "--max", "3"}, 2, "want 1 <= --min <= --max, got 5 and 3"},
		{"hpa among other bad flags, one line each", []string{"simulate", "--input", input, "--quantile", "1", "--hpa", hpaNoMax}, 2,
			"kai-scaler simulate: --quantile \"1\": must be between 0 and 1\n" +
				fmt.Sprintf("kai-scaler simulate: --hpa %q: spec.maxReplicas: must be set, 1 or more\n", hpaNoMax)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, tt.args)
			require.Equal(t, tt.code, code, stderr.String())
			require.Contains(t, stderr.String(), tt.msg)
			require.Empty(t, stdout.String())
		})
	}
}

// TestSimulateHPAManifest: --hpa's bounds and behavior reach the replay. A scale-down of one
// pod a minute, with no stabilization window, keeps more replicas after each hourly burst
// of the "jobs" trace than the default (all of them after 5 minutes), and the report and the
// log say which behavior was replayed.
func TestSimulateHPAManifest(t *testing.T) {
	hpa := filepath.Join(t.TempDir(), "hpa.yaml")
	require.NoError(t, os.WriteFile(hpa, []byte(hpaYAML("  maxReplicas: 100", "  behavior:", "    scaleDown:", "      stabilizationWindowSeconds: 0",
		"      policies:", "      - type: Pods", "        value: 1", "        periodSeconds: 60",
		"  metrics:", "  - type: Resource", "    resource:", "      name: cpu", "      target:", "        type: Utilization", "        averageUtilization: 70")), 0o644))
	// Two days scored, a cheap model, no calibration: a second a run.
	short := []string{"simulate", "--generate", "jobs", "--warmup", "624h", "--calibrate=false", "--model", "seasonal-naive", "--history", "48h"}
	type report struct {
		Parameters struct {
			HPA         string `json:"hpa"`
			MinReplicas int32  `json:"minReplicas"`
			MaxReplicas int32  `json:"maxReplicas"`
			Behavior    *struct {
				ScaleUp   string `json:"scaleUp"`
				ScaleDown string `json:"scaleDown"`
			} `json:"behavior"`
		} `json:"parameters"`
		Reactive hpasim.Summary `json:"reactive"`
	}
	simulate := func(args ...string) (report, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, append(slices.Clone(short), args...))
		require.Equal(t, 0, code, stderr.String())
		var rep report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
		require.NotNil(t, rep.Parameters.Behavior, stdout.String())
		return rep, stderr.String()
	}
	onePodPerMinute := actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}}.ScaleDownDefaults().String()
	defaultUp, defaultDown := actuator.ScalingRules{}.ScaleUpDefaults().String(), actuator.ScalingRules{}.ScaleDownDefaults().String()

	slow, log := simulate("--hpa", hpa)
	require.Equal(t, hpa, slow.Parameters.HPA)
	require.Equal(t, int32(1), slow.Parameters.MinReplicas, "minReplicas left out is 1")
	require.Equal(t, int32(100), slow.Parameters.MaxReplicas, "the manifest's")
	require.Equal(t, onePodPerMinute, slow.Parameters.Behavior.ScaleDown)
	require.Contains(t, slow.Parameters.Behavior.ScaleDown, "window 0s")
	require.Equal(t, defaultUp, slow.Parameters.Behavior.ScaleUp, "no scaleUp: the default")
	require.Contains(t, log, fmt.Sprintf("msg=\"replaying the HPA\" cmd=simulate hpa=%s min_replicas=1 max_replicas=100 scale_up=%q scale_down=%q", hpa, defaultUp, onePodPerMinute))
	require.Contains(t, log, "the manifest's metrics are not replayed")
	require.NotContains(t, log, "overrides")

	fast, log := simulate("--max", "100")
	require.Empty(t, fast.Parameters.HPA)
	require.Equal(t, defaultDown, fast.Parameters.Behavior.ScaleDown)
	require.Equal(t, defaultUp, fast.Parameters.Behavior.ScaleUp)
	require.Contains(t, log, `hpa="none: --min, --max and autoscaling/v2's default behavior"`)

	// The same HPA but for its behavior: one pod a minute scales down many more times, and
	// keeps the replicas of each burst for longer than the default's 5 minutes.
	require.Equal(t, fast.Reactive.EvaluatedMinutes, slow.Reactive.EvaluatedMinutes)
	require.Equal(t, fast.Reactive.LoadReplicaHours, slow.Reactive.LoadReplicaHours)
	require.Greater(t, slow.Reactive.ScaleDowns, 3*fast.Reactive.ScaleDowns)
	require.Greater(t, slow.Reactive.ReplicaHours, 1.1*fast.Reactive.ReplicaHours)

	// --max wins over the manifest's, and says so.
	capped, log := simulate("--hpa", hpa, "--max", "60")
	require.Equal(t, int32(60), capped.Parameters.MaxReplicas)
	require.Equal(t, onePodPerMinute, capped.Parameters.Behavior.ScaleDown)
	require.Contains(t, log, "msg=\"--max overrides the manifest's spec.maxReplicas\"")
	require.Contains(t, log, "max=60 manifest_max_replicas=100")
}

// TestSimulateCoarseTraceRefitsEachStep: a trace coarser than the default hourly refit is
// refitted once a step, not refused as a --refit below its step; only a --refit given is.
func TestSimulateCoarseTraceRefitsEachStep(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range 16 * 12 { // 16 days every 2 h
		at := start.Add(time.Duration(i) * 2 * time.Hour)
		fmt.Fprintf(&b, "%s,%d\n", at.Format(time.RFC3339), 100+50*(at.Hour()/12))
	}
	input := filepath.Join(t.TempDir(), "coarse.csv")
	require.NoError(t, os.WriteFile(input, []byte(b.String()), 0o644))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"simulate", "--input", input, "--warmup", "240h"})
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stderr.String(), "refitting once a trace step")
	require.Contains(t, stdout.String(), `"refitEvery": "2h0m0s"`)
}

// The bounds checkSimFlags refuses past are themselves accepted: a minute's refit, a day's
// lead, an hour's start-up, a plan every sync, the whole floor in one step, the most replicas.
func TestCheckSimFlagsAcceptsItsBounds(t *testing.T) {
	defaults := simOptions{LeadTime: 5 * time.Minute, PodStartup: 2 * time.Minute, Quantile: 0.9, Refit: time.Hour,
		Horizon: 24 * time.Hour, Warmup: 14 * 24 * time.Hour, History: 28 * 24 * time.Hour, StepDownInterval: 5 * time.Minute,
		StepDownFraction: 0.25, PlanEvery: 30 * time.Second, Budget: 0.1, PlotDays: 7, Model: forecast.ModelAuto}
	tests := []struct {
		name     string
		edit     func(o *simOptions)
		min, max int
	}{
		{"the defaults", func(*simOptions) {}, 1, 20},
		{"refit of a minute", func(o *simOptions) { o.Refit = time.Minute }, 1, 20},
		{"lead time of a day", func(o *simOptions) { o.LeadTime = 24 * time.Hour }, 1, 20},
		{"no lead, no start-up", func(o *simOptions) { o.LeadTime, o.PodStartup = 0, 0 }, 1, 20},
		{"pod start-up of an hour", func(o *simOptions) { o.PodStartup = time.Hour }, 1, 20},
		{"a plan every sync", func(o *simOptions) { o.PlanEvery = 15 * time.Second }, 1, 20},
		{"the whole floor in one step", func(o *simOptions) { o.StepDownFraction = 1 }, 1, 20},
		{"all the past, all days plotted, a derived capacity, horizon 0", func(o *simOptions) {
			o.History, o.PlotDays, o.CapacityPerReplica, o.Horizon = 0, 0, 0, 0
		}, 1, 20},
		{"min equal to max at the largest", func(*simOptions) {}, maxSimReplicas, maxSimReplicas},
		{"a day of history", func(o *simOptions) { o.History = 24 * time.Hour }, 1, 20},
		{"a horizon of a year", func(o *simOptions) { o.Horizon = maxHorizonSpan }, 1, 20},
		{"a year plotted, in an existing folder", func(o *simOptions) {
			o.PlotDays, o.Plot = maxPlotDays, filepath.Join(os.TempDir(), "sim.svg")
		}, 1, 20},
		{"a plot in the working folder", func(o *simOptions) { o.Plot = "sim.png" }, 1, 20},
		{"a named model and a generated trace", func(o *simOptions) { o.Model, o.Generate = "holt-winters", "ramps" }, 1, 20},
		// With --hpa, hpaManifest.replicaBounds compares them, where they are given, with the
		// manifest's: a --min above the default --max is the manifest's business.
		{"min above the default max with an hpa", func(o *simOptions) { o.HPA = "hpa.yaml" }, 30, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaults
			tt.edit(&o)
			require.Empty(t, checkSimFlags(o, tt.min, tt.max, func(string) string { return "" }))
		})
	}
}

func TestCheckRefitStep(t *testing.T) {
	tests := []struct {
		name        string
		refit, step time.Duration
		given       string
		wantErr     string
	}{
		{"refit equal to the step", time.Hour, time.Hour, "1h", ""},
		{"refit above the step", time.Hour, time.Minute, "1h", ""},
		{"refit below the step", 30 * time.Minute, time.Hour, "0.5h", `--refit "0.5h": must be at least the trace's step, 1h0m0s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRefitStep(tt.refit, tt.step, tt.given)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestCheckWarmupSpan(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name         string
		warmup, span time.Duration
		given        string
		wantErr      string
	}{
		{"a week scored after it", 14 * day, 21 * day, "336h", ""},
		{"a step scored after it", 14*day - time.Minute, 14 * day, "335h59m", ""},
		{"as long as the trace", 14 * day, 14 * day, "336h", `--warmup "336h": must be shorter than the trace, which spans 336h0m0s (14.0 days): ` +
			"give a shorter --warmup, or leave it out and simulate picks one that leaves a week to score where the trace allows"},
		{"longer than the trace", 30 * day, 10*day + 12*time.Hour, "720h", `--warmup "720h": must be shorter than the trace, which spans 252h0m0s (10.5 days): ` +
			"give a shorter --warmup, or leave it out and simulate picks one that leaves a week to score where the trace allows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWarmupSpan(tt.warmup, tt.span, tt.given)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// Regression test: a trace shorter than the least warm-up simulate picks failed in the
// replay, naming a "48h0m0s warm-up" nobody gave.
func TestSimulateTraceShorterThanTheLeastWarmup(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for i := range 24 { // a day, hourly
		fmt.Fprintf(&b, "%s,%d\n", start.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), 100+i)
	}
	input := filepath.Join(t.TempDir(), "day.csv")
	require.NoError(t, os.WriteFile(input, []byte(b.String()), 0o644))
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
		[]string{"simulate", "--input", input})
	require.Equal(t, 1, code, stderr.String())
	require.Contains(t, stderr.String(), "kai-scaler simulate: the trace spans 23h0m0s, no longer than 48h0m0s, the least warm-up simulate picks: give a --warmup shorter than the trace, or a longer trace\n")
	require.Empty(t, stdout.String())
}

// Regression test: a plot that failed after the run lost the report; it is printed, and the
// exit status still says the plot failed.
func TestPrintSimReportAfterAFailedPlot(t *testing.T) {
	tests := []struct {
		name     string
		plotErr  error
		wantCode int
	}{
		{"plot written", nil, 0},
		{"plot failed", errors.New("disk full"), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := printSimReport(cli{stdout: &stdout, stderr: &stderr}, simReport{UnderProvisionedReduction: 0.25}, tc.plotErr)
			require.Equal(t, tc.wantCode, code)
			var rep map[string]any
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
			require.Equal(t, 0.25, rep["underProvisionedReduction"])
			if tc.plotErr != nil {
				require.Equal(t, "kai-scaler simulate: plot: disk full\n", stderr.String())
			}
		})
	}
}

// Regression test: the legend, drawn at the top of the data area, hid the lines where the
// plotted span peaked under it. The y axis is raised so that every line stays below it.
func TestLeaveRoomForLegend(t *testing.T) {
	tests := []struct {
		name string
		ys   []float64
	}{
		{"peak at the right edge", []float64{100, 200, 150, 1200}},
		{"flat at the top", []float64{1000, 1000, 1000, 1000}},
		{"far from zero", []float64{5000, 5100, 5050, 5200}},
		{"negative", []float64{-10, -5, -1, -2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plot.New()
			p.Title.Text = "title"
			p.Legend.Top = true
			xy := make(plotter.XYs, len(tc.ys))
			for i, y := range tc.ys {
				xy[i] = plotter.XY{X: float64(i), Y: y}
			}
			for _, name := range []string{"load", "ready capacity, reactive", "ready capacity, predictive", "floor"} {
				l, err := plotter.NewLine(xy)
				require.NoError(t, err)
				p.Add(l)
				p.Legend.Add(name, l)
			}
			top := slices.Max(tc.ys)
			c := draw.New(vgimg.New(plotWidth, plotHeight))
			leaveRoomForLegend(p, c)
			dc := p.DataCanvas(c)
			legend := p.Legend.Rectangle(c).Size().Y
			require.Greater(t, float64(legend), 0.0)
			// The legend hangs from the top of the data area (or above it, by the axis' padding).
			require.LessOrEqual(t, dc.Y(p.Y.Norm(top)), dc.Max.Y-legend, "the highest point stays below the legend")
			if bottom := slices.Min(tc.ys); bottom < top { // a flat line is drawn mid-height
				require.Less(t, p.Y.Max-top, (top-bottom)/2, "no more room than the legend needs")
			}
		})
	}
	t.Run("tiny image", func(t *testing.T) {
		p := plot.New()
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 10}})
		require.NoError(t, err)
		p.Add(l)
		for i := range 20 {
			p.Legend.Add(fmt.Sprint(i), l)
		}
		leaveRoomForLegend(p, draw.New(vgimg.New(vg.Inch, vg.Inch)))
		require.Equal(t, 10.0, p.Y.Max, "a legend taller than half the area is not made room for")
	})
}

// TestSimulateAvailabilityTarget: --availability-target reaches calibration in place of the
// budget, as a service's availabilityTarget does: a higher target buys more minutes without a
// shortfall at more replica-hours, and the report names the target, the budget not in force.
func TestSimulateAvailabilityTarget(t *testing.T) {
	input := writeRampTrace(t, func(t time.Time) string { return t.Format(time.RFC3339) })
	replay := func(target string) map[string]any {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }},
			[]string{"simulate", "--input", input, "--max", "20", "--warmup", "288h", "--availability-target", target})
		require.Equal(t, 0, code, stderr.String())
		var rep map[string]any
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
		return rep
	}
	lastAvailability, lastCost := 0.0, math.Inf(-1)
	for _, target := range []float64{0.9, 0.99, 0.999} {
		rep := replay(fmt.Sprint(target))
		p := rep["parameters"].(map[string]any)
		reactive, predictive, cost := rep["reactiveAvailability"].(float64), rep["predictiveAvailability"].(float64), rep["replicaHoursIncrease"].(float64)
		t.Logf("target %v: availability %.4f -> %.4f at %+.3f replica-hours", target, reactive, predictive, cost)
		require.Equal(t, target, p["availabilityTarget"])
		require.Equal(t, 0.0, p["budget"], "the budget is not in force")
		require.Less(t, reactive, 0.9, "the reactive HPA falls short on the ramps")
		require.Greater(t, predictive, lastAvailability, "a higher target, more minutes without a shortfall")
		require.Greater(t, cost, lastCost, "a higher target costs more")
		lastAvailability, lastCost = predictive, cost
	}
	// Calibration meets a target on the past it replays; on this short trace's future the
	// highest comes close (0.9995 at quantile 0.8, 0.9973 at 0.9; on `--generate ramps`, 0.9995
	// and 0.99999).
	require.GreaterOrEqual(t, lastAvailability, 0.995, "the highest target nearly met on the ramps' future")
}
