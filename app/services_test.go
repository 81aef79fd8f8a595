package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/demo"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/scaling"
)

const servicesV1 = `services:
  - name: checkout
    namespace: shop
    query: sum(rate(http_requests_total{service="checkout"}[5m]))
    capacityPerReplica: 50
`

const servicesV2 = servicesV1 + `  - name: search
    namespace: shop
    query: sum(rate(http_requests_total{service="search"}[5m]))
    capacityPerReplica: 100
`

func TestServicesFileReload(t *testing.T) {
	tests := []struct {
		name        string
		rewrite     string
		wantApplied bool
		wantErr     string
		wantNames   []string
		wantCounts  [2]float64 // applied, refused
	}{
		{name: "unchanged file", rewrite: servicesV1, wantNames: []string{"checkout"}},
		{name: "valid change applied", rewrite: servicesV2, wantApplied: true, wantNames: []string{"checkout", "search"}, wantCounts: [2]float64{1, 0}},
		{name: "invalid change refused whole", rewrite: servicesV2 + "  - name: Bad_Name\n    namespace: shop\n",
			wantErr: "line 10", wantNames: []string{"checkout"}, wantCounts: [2]float64{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.yaml")
			require.NoError(t, os.WriteFile(path, []byte(servicesV1), 0o600))
			reg := prometheus.NewRegistry()
			f, err := openServicesFile(path, slog.New(slog.DiscardHandler), reg)
			require.NoError(t, err)

			require.NoError(t, os.WriteFile(path, []byte(tc.rewrite), 0o600))
			applied, err := f.Reload()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantApplied, applied)
			var names []string
			for _, s := range f.Services() {
				names = append(names, s.Name)
			}
			require.Equal(t, tc.wantNames, names)
			require.Equal(t, tc.wantCounts[0], testutil.ToFloat64(f.reloads.WithLabelValues("applied")))
			require.Equal(t, tc.wantCounts[1], testutil.ToFloat64(f.reloads.WithLabelValues("refused")))
		})
	}
}

func TestServicesFileInvalidAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(path, []byte("services:\n  - name: x\n    unknown: 1\n"), 0o600))
	_, err := openServicesFile(path, slog.New(slog.DiscardHandler), nil)
	require.ErrorContains(t, err, "SERVICES_FILE")
	require.ErrorContains(t, err, "line 3")
}

// TestServicesFileRefusedOnce: a bad file read every 30 s is one refusal, counted and returned
// (so logged) once; the gauge says it is still refused until the file is fixed or undone.
func TestServicesFileRefusedOnce(t *testing.T) {
	const bad1 = servicesV1 + "  - name: Bad_Name\n"
	const bad2 = servicesV1 + "  - name: checkout\n"
	type step struct {
		write       string // "" removes the file
		wantErr     bool
		wantApplied bool
		wantRefused float64 // kai_services_reloads_total{result="refused"}
		wantGauge   float64 // kai_services_file_refused
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "the same bad content", steps: []step{
			{write: bad1, wantErr: true, wantRefused: 1, wantGauge: 1},
			{write: bad1, wantRefused: 1, wantGauge: 1},
			{write: bad1, wantRefused: 1, wantGauge: 1},
		}},
		{name: "another bad content", steps: []step{
			{write: bad1, wantErr: true, wantRefused: 1, wantGauge: 1},
			{write: bad2, wantErr: true, wantRefused: 2, wantGauge: 1},
			{write: bad2, wantRefused: 2, wantGauge: 1},
		}},
		{name: "undone, then the same bad content again", steps: []step{
			{write: bad1, wantErr: true, wantRefused: 1, wantGauge: 1},
			{write: servicesV1, wantRefused: 1, wantGauge: 0},
			{write: bad1, wantErr: true, wantRefused: 2, wantGauge: 1},
		}},
		{name: "fixed", steps: []step{
			{write: bad1, wantErr: true, wantRefused: 1, wantGauge: 1},
			{write: servicesV2, wantApplied: true, wantRefused: 1, wantGauge: 0},
		}},
		{name: "missing file", steps: []step{
			{write: "", wantErr: true, wantRefused: 1, wantGauge: 1},
			{write: "", wantRefused: 1, wantGauge: 1},
			{write: servicesV1, wantRefused: 1, wantGauge: 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services.yaml")
			require.NoError(t, os.WriteFile(path, []byte(servicesV1), 0o600))
			f, err := openServicesFile(path, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			require.NoError(t, err)
			for i, s := range tc.steps {
				if s.write == "" {
					if err := os.Remove(path); !errors.Is(err, os.ErrNotExist) {
						require.NoError(t, err)
					}
				} else {
					require.NoError(t, os.WriteFile(path, []byte(s.write), 0o600))
				}
				applied, err := f.Reload()
				if s.wantErr {
					require.Error(t, err, "step %d", i)
				} else {
					require.NoError(t, err, "step %d", i)
				}
				require.Equal(t, s.wantApplied, applied, "step %d", i)
				require.Equal(t, s.wantRefused, testutil.ToFloat64(f.reloads.WithLabelValues("refused")), "step %d", i)
				require.Equal(t, s.wantGauge, testutil.ToFloat64(f.refused), "step %d", i)
			}
		})
	}
}

// configMapVolume lays out dir as the kubelet does a mounted ConfigMap (its AtomicWriter): the
// file is a symlink into ..data, itself a symlink to a timestamped directory, and an update
// writes a new directory, swaps ..data by rename and removes the old directory, so a reader
// sees the old or the new content whole and the file's own path never changes.
type configMapVolume struct {
	dir string
	n   int
	cur string // the timestamped directory ..data points to
}

func (v *configMapVolume) write(t *testing.T, file, content string) {
	t.Helper()
	v.n++
	ts := fmt.Sprintf("..2026_12_03_07_00_%02d.%d", v.n, v.n)
	require.NoError(t, os.Mkdir(filepath.Join(v.dir, ts), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(v.dir, ts, file), []byte(content), 0o644))
	tmp := filepath.Join(v.dir, "..data_tmp")
	require.NoError(t, os.Symlink(ts, tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(v.dir, "..data")))
	if v.cur != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(v.dir, v.cur)))
	}
	v.cur = ts
	if _, err := os.Lstat(filepath.Join(v.dir, file)); errors.Is(err, os.ErrNotExist) {
		require.NoError(t, os.Symlink(filepath.Join("..data", file), filepath.Join(v.dir, file)))
	}
}

// A services file mounted from a ConfigMap is watched through the kubelet's symlink swaps: a
// valid edit is applied, a bad one is refused once however often it is read, and undoing it
// clears the refusal, with Watch polling as serve runs it.
func TestServicesFileWatchedThroughConfigMapUpdates(t *testing.T) {
	v := &configMapVolume{dir: t.TempDir()}
	v.write(t, "services.yaml", servicesV1)
	path := filepath.Join(v.dir, "services.yaml")
	f, err := openServicesFile(path, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Watch(ctx, 5*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	names := func() []string {
		var out []string
		for _, s := range f.Services() {
			out = append(out, s.Name)
		}
		return out
	}
	counts := func() (applied, refused, gauge float64) {
		return testutil.ToFloat64(f.reloads.WithLabelValues("applied")), testutil.ToFloat64(f.reloads.WithLabelValues("refused")), testutil.ToFloat64(f.refused)
	}
	settle := func(cond func() bool, what string) {
		t.Helper()
		require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
		time.Sleep(50 * time.Millisecond) // about ten more polls of the same content
	}

	v.write(t, "services.yaml", servicesV2)
	settle(func() bool { return len(names()) == 2 }, "the edit is applied")
	a, r, g := counts()
	require.Equal(t, [3]float64{1, 0, 0}, [3]float64{a, r, g})

	v.write(t, "services.yaml", servicesV2+"  - name: Bad_Name\n")
	settle(func() bool { _, _, g := counts(); return g == 1 }, "the bad edit is refused")
	a, r, g = counts()
	require.Equal(t, [3]float64{1, 1, 1}, [3]float64{a, r, g}, "refused once, however often read")
	require.Equal(t, []string{"checkout", "search"}, names(), "the list in force stays")

	v.write(t, "services.yaml", servicesV2)
	settle(func() bool { _, _, g := counts(); return g == 0 }, "the undone edit clears the refusal")
	a, r, g = counts()
	require.Equal(t, [3]float64{1, 1, 0}, [3]float64{a, r, g}, "back to the list in force: nothing applied")
}

func TestServicesFileUnused(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no file", cfg: Config{Demo: true}},
		{name: "demo", cfg: Config{Demo: true, ServicesFile: "s.yaml", PredictiveScaling: true}, want: "the demo manages its own simulated services"},
		{name: "no feature", cfg: Config{ServicesFile: "s.yaml"}, want: "every feature is disabled, so no service is managed"},
		{name: "read by the cluster", cfg: Config{ServicesFile: "s.yaml", HPAEventLogging: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, servicesFileUnused(tt.cfg))
		})
	}
}

// TestNewEnvironmentChecksAnUnusedServicesFile: a services file given where it is not used
// (the demo, no feature enabled) is still read and checked at start-up.
func TestNewEnvironmentChecksAnUnusedServicesFile(t *testing.T) {
	dir := t.TempDir()
	valid, invalid := filepath.Join(dir, "valid.yaml"), filepath.Join(dir, "invalid.yaml")
	require.NoError(t, os.WriteFile(valid, []byte(servicesV1), 0o600))
	require.NoError(t, os.WriteFile(invalid, []byte(servicesV1+"    budget: NaN\n"), 0o600))
	missing := filepath.Join(dir, "nonexistent.yaml")
	tests := []struct {
		name     string
		cfg      Config
		wantErr  []string
		wantWarn string
	}{
		{name: "demo, missing file", cfg: Config{Demo: true, ServicesFile: missing},
			wantErr: []string{"read SERVICES_FILE", "nonexistent.yaml"}},
		{name: "demo, invalid file", cfg: Config{Demo: true, ServicesFile: invalid},
			wantErr: []string{"SERVICES_FILE", "line 6: services[0].budget"}},
		{name: "demo, valid file", cfg: Config{Demo: true, ServicesFile: valid, DemoSpeed: 1},
			wantWarn: "SERVICES_FILE is valid but ignored: the demo manages its own simulated services"},
		{name: "no feature, missing file", cfg: Config{ServicesFile: missing},
			wantErr: []string{"read SERVICES_FILE"}},
		{name: "no feature, invalid file", cfg: Config{ServicesFile: invalid},
			wantErr: []string{"line 6: services[0].budget"}},
		{name: "no feature, valid file", cfg: Config{ServicesFile: valid},
			wantWarn: "SERVICES_FILE is valid but ignored: every feature is disabled, so no service is managed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logLines
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			_, err := newEnvironment(context.Background(), tt.cfg, logger, prometheus.NewRegistry(), nil)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
			if tt.wantErr != nil {
				return
			}
			require.NoError(t, err)
			line, ok := logs.find(tt.wantWarn)
			require.True(t, ok, "no %q in %s", tt.wantWarn, logs.buf.String())
			require.Equal(t, "WARN", line["level"])
		})
	}
}

// TestMaxLeadTimeWithinHorizon: a lead time the parser accepts reads a prediction within its
// horizon.
func TestMaxLeadTimeWithinHorizon(t *testing.T) {
	require.LessOrEqual(t, scaling.MaxLeadTime, forecaster.DefaultHorizon)
}

func TestActuatorConfigsLeadTime(t *testing.T) {
	tests := []struct {
		seconds int64
		want    time.Duration
	}{
		{seconds: 300, want: 5 * time.Minute},
		{seconds: 10000000000, want: scaling.MaxLeadTime}, // a bare * time.Second is negative
		{seconds: -5, want: 0},
	}
	for _, tt := range tests {
		got := actuatorConfigs([]scaling.ManagedService{{Name: "a", Namespace: "kai", LeadTimeSeconds: tt.seconds}})
		require.Equal(t, tt.want, got[0].LeadTime, "LeadTimeSeconds %d", tt.seconds)
	}
}

// TestServiceInfoFollowsReloads: kai_service_info lists the services in force with their HPA
// (the services file's hpa, else the service's name): an applied reload replaces the series,
// a refused one (invalid, or unreadable) leaves those of the list still in force.
func TestServiceInfoFollowsReloads(t *testing.T) {
	const start = `services:
  - name: checkout
    namespace: shop
    hpa: checkout-hpa
    query: sum(rate(http_requests_total{service="checkout"}[5m]))
    capacityPerReplica: 50
`
	const next = `services:
  - name: checkout
    namespace: shop
    query: sum(rate(http_requests_total{service="checkout"}[5m]))
    capacityPerReplica: 50
  - name: search
    namespace: web
    hpa: search-v2
    query: sum(rate(http_requests_total{service="search"}[5m]))
    capacityPerReplica: 100
`
	const header = `# HELP kai_service_info 1 for each managed service in force, with its namespace and the name of the HPA whose floor it sets (the services file's hpa, by default the service's name).
# TYPE kai_service_info gauge
`
	const startSeries = header + `kai_service_info{horizontalpodautoscaler="checkout-hpa",namespace="shop",service="checkout"} 1
`
	const nextSeries = header + `kai_service_info{horizontalpodautoscaler="checkout",namespace="shop",service="checkout"} 1
kai_service_info{horizontalpodautoscaler="search-v2",namespace="web",service="search"} 1
`
	path := filepath.Join(t.TempDir(), "services.yaml")
	require.NoError(t, os.WriteFile(path, []byte(start), 0o600))
	reg := prometheus.NewRegistry()
	f, err := openServicesFile(path, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	requireInfo := func(want, step string) {
		t.Helper()
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "kai_service_info"), step)
	}
	requireInfo(startSeries, "at start")

	steps := []struct {
		name        string
		write       string // "" removes the file
		wantApplied bool
		want        string
	}{
		{name: "applied: the series of the new list only", write: next, wantApplied: true, want: nextSeries},
		{name: "refused (invalid): the series of the list in force stay", write: next + "  - name: Bad_Name\n", want: nextSeries},
		{name: "refused (unreadable): the series stay", want: nextSeries},
		{name: "applied again: back to one service", write: start, wantApplied: true, want: startSeries},
	}
	for _, s := range steps {
		if s.write == "" {
			require.NoError(t, os.Remove(path))
		} else {
			require.NoError(t, os.WriteFile(path, []byte(s.write), 0o600))
		}
		applied, err := f.Reload()
		require.Equal(t, s.wantApplied, applied, s.name)
		require.Equal(t, s.wantApplied, err == nil, "%s: %v", s.name, err)
		requireInfo(s.want, s.name)
	}
}

// TestServiceInfoWithoutServicesFile: no services file, no services, no series (the metric is
// registered all the same).
func TestServiceInfoWithoutServicesFile(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := openServicesFile("", slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	n, err := testutil.GatherAndCount(reg, "kai_service_info")
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestDemoExportsServiceInfo: the demo's services do not come from a services file; they are
// listed in kai_service_info all the same, so the HPA dashboard's kai-scaler panels show them.
func TestDemoExportsServiceInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := demoEnvironment(context.Background(), demoConfig(Config{DemoSpeed: 1, DataDir: t.TempDir()}),
		slog.New(slog.DiscardHandler), reg, nil)
	require.NoError(t, err)
	var want strings.Builder
	want.WriteString("# HELP kai_service_info 1 for each managed service in force, with its namespace and the name of the HPA whose floor it sets (the services file's hpa, by default the service's name).\n# TYPE kai_service_info gauge\n")
	for _, name := range demo.ServiceNames() {
		fmt.Fprintf(&want, "kai_service_info{horizontalpodautoscaler=%q,namespace=%q,service=%q} 1\n", name, demo.Namespace, name)
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want.String()), "kai_service_info"))
}
