package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// BenchmarkScale is issue 11, item 13's target, on each store: 10,000 services with patterns
// of 168 windows and 10,000 dependencies loaded, then 32 clients for KAI_BENCH_SCALE_DURATION
// (default 60s) each doing GET pattern, POST dependency (a new edge, checked for cycles as the
// API does) and a raw Redis GET on the same Redis (the yardstick for both stores). It reports
// each op's p99, GET pattern and POST dependency p99 over the raw GET p99 (target ≤ 5), the
// throughput of the first and last tenth of the run, its trend over the run (it must not
// fall as the graph grows), the same trend of the store ops' throughput relative to the raw
// GET's in each tenth (the machine's load moves both, the store's growth only its own; bbolt's
// writes wait on the disk's fsync, which the raw GET does not, so there it is the noisier
// figure) and the process' peak RSS. On bbolt it also reports the pages a dependency write
// costs in the first and last tenth: the B-tree's own growth, apart from the disk's speed.
// Dependencies go from the first 1,000 services ("coordinators") to the others. Run once:
//
//	REDIS_ADDR=127.0.0.1:6379 go test ./store -run '^$' -bench Scale -benchtime 1x
func BenchmarkScale(b *testing.B) {
	const services = 10000
	limits := store.Limits{MaxPatterns: 2 * services, MaxDependencies: 1 << 30}
	b.Run("redis", func(b *testing.B) {
		s := storetest.OpenRedis(b, store.RedisOptions{Limits: limits})
		benchScale(b, s, s.Prefix(), scaleDisk{})
	})
	b.Run("bolt", func(b *testing.B) {
		// Every write is an fsync'd transaction and bbolt has one writer: the embedded store
		// of a single replica, measured against the same raw Redis GET.
		dir := b.TempDir()
		s, err := store.OpenBolt(dir+"/kai.db", store.BoltOptions{Limits: limits})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		benchScale(b, s, fmt.Sprintf("kai-bench-bolt-%d:", time.Now().UnixNano()),
			scaleDisk{dir: dir, pagesWritten: func() int64 { return store.BoltPagesWritten(s) }})
	})
}

// scaleStore is what benchScale drives.
type scaleStore interface {
	PutPattern(ctx context.Context, p scaling.Pattern) error
	GetPattern(ctx context.Context, service string) (scaling.Pattern, error)
	PutDependency(ctx context.Context, d scaling.Dependency, check func([]scaling.Dependency) error) error
}

// scaleDisk is what benchScale measures of a store on the local disk (zero for Redis).
type scaleDisk struct {
	// dir is the store's disk: a probe there times a 4 KiB write and fsync every 50 ms, the
	// yardstick for a store whose writes wait on the disk.
	dir string
	// pagesWritten is the store's count of pages written so far.
	pagesWritten func() int64
}

func benchScale(b *testing.B, s scaleStore, rawPrefix string, disk scaleDisk) {
	addr := testenv.RedisAddr(b)
	dur := 60 * time.Second
	if v := os.Getenv("KAI_BENCH_SCALE_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(b, err)
		dur = d
	}
	const services, deps, coordinators, clients = 10000, 10000, 1000, 32
	raw := redis.NewClient(&redis.Options{Addr: addr, PoolSize: clients})
	b.Cleanup(func() {
		_ = raw.Del(context.Background(), rawPrefix+"raw").Err()
		_ = raw.Close()
	})
	ctx := context.Background()
	name := func(i int) string { return fmt.Sprintf("svc-%05d", i) }
	windows := make([]scaling.TimeWindow, 0, 168)
	for d := range 7 {
		for h := range 24 {
			windows = append(windows, scaling.TimeWindow{DayOfWeek: new(d), HourOfDay: h, ExpectedLoad: float64(h) / 24})
		}
	}
	parallel := func(n int, f func(i int)) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for range clients {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					f(i)
				}
			})
		}
		wg.Wait()
	}
	parallel(services, func(i int) {
		require.NoError(b, s.PutPattern(ctx, scaling.Pattern{Service: name(i), PatternType: scaling.PatternWeekly,
			TimeWindows: windows, Source: scaling.SourceManual, LastUpdated: 1}))
	})
	edge := func(i int) scaling.Dependency {
		// Unique for i below coordinators × (services - coordinators): the graph grows all run.
		src := i % coordinators
		dst := coordinators + (i/coordinators+src*7)%(services-coordinators)
		return scaling.Dependency{SourceService: name(src), TargetService: name(dst), DependencyType: scaling.DependencyProportional,
			Ratio: new(0.5), Enabled: true, LastUpdated: 1}
	}
	putDep := func(d scaling.Dependency) error {
		return s.PutDependency(ctx, d, func(existing []scaling.Dependency) error {
			if c := scaling.FindCycle(existing, d); c != nil {
				return c
			}
			return nil
		})
	}
	parallel(deps, func(i int) { require.NoError(b, putDep(edge(i))) })
	require.NoError(b, raw.Set(ctx, rawPrefix+"raw", strings.Repeat("x", 64), 0).Err())
	b.Logf("loaded %d patterns of %d windows and %d dependencies", services, len(windows), deps)

	const (
		opGetPattern = iota
		opPostDependency
		opRawGet
	)
	var (
		mu      sync.Mutex
		samples []sample
		edges   atomic.Int64
	)
	edges.Store(deps)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	var probes []sample
	if disk.dir != "" {
		wg.Go(func() { probes = probeDisk(b, disk.dir, start, dur) })
	}
	var pages [10]int64
	if disk.pagesWritten != nil {
		wg.Go(func() { pages = pagesPerTenth(disk.pagesWritten, start, dur) })
	}
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			local := make([]sample, 0, 1<<16)
			for i := 0; time.Since(start) < dur; i++ {
				op := i % 3
				t0 := time.Now()
				var err error
				switch op {
				case opGetPattern:
					_, err = s.GetPattern(ctx, name(rng.IntN(services)))
				case opPostDependency:
					err = putDep(edge(int(edges.Add(1))))
				case opRawGet:
					err = raw.Get(ctx, rawPrefix+"raw").Err()
				}
				if err != nil {
					b.Error(err)
					return
				}
				local = append(local, sample{op: op, at: t0.Sub(start), d: time.Since(t0)})
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()

	p99 := func(op int) time.Duration {
		var ds []time.Duration
		for _, x := range samples {
			if x.op == op {
				ds = append(ds, x.d)
			}
		}
		slices.Sort(ds)
		return ds[min(len(ds)-1, len(ds)*99/100)]
	}
	rawP99 := p99(opRawGet)
	tenth := dur / 10
	all := func(sample) bool { return true }
	perTenth := countPerTenth(samples, tenth, all)
	first, last := perTenth[0], perTenth[9]
	b.Logf("ops per tenth of the run: %v", perTenth)
	isRaw := func(x sample) bool { return x.op == opRawGet }
	storeMean := meanPerTenth(samples, tenth, func(x sample) bool { return !isRaw(x) })
	// The store's own throughput per tenth, against the raw GET's in the same tenth: the
	// machine's load moves both, the graph's growth only the store's.
	relative := throughputRatio(storeMean, meanPerTenth(samples, tenth, isRaw))
	b.Logf("store throughput relative to raw GET per tenth: %.3f", relative)
	if len(probes) > 0 {
		toDisk := throughputRatio(storeMean, meanPerTenth(probes, tenth, all))
		b.Logf("store throughput relative to the disk's fsync per tenth: %.3f", toDisk)
		b.ReportMetric(100*runTrend(toDisk[:]), "disk-relative-throughput-trend-%")
	}
	if disk.pagesWritten != nil {
		writes := countPerTenth(samples, tenth, func(x sample) bool { return x.op == opPostDependency })
		perWrite := pagesPerWrite(pages, writes)
		b.Logf("pages written per dependency write per tenth: %.2f", perWrite)
		b.ReportMetric(perWrite[0], "pages/dependency-write-first-tenth")
		b.ReportMetric(perWrite[9], "pages/dependency-write-last-tenth")
	}
	b.ReportMetric(float64(p99(opGetPattern).Microseconds()), "get-pattern-p99-µs")
	b.ReportMetric(float64(p99(opPostDependency).Microseconds()), "post-dependency-p99-µs")
	b.ReportMetric(float64(rawP99.Microseconds()), "raw-get-p99-µs")
	b.ReportMetric(float64(p99(opGetPattern))/float64(rawP99), "get-pattern/raw-p99")
	b.ReportMetric(float64(p99(opPostDependency))/float64(rawP99), "post-dependency/raw-p99")
	b.ReportMetric(float64(first)/tenth.Seconds(), "ops/s-first-tenth")
	b.ReportMetric(float64(last)/tenth.Seconds(), "ops/s-last-tenth")
	b.ReportMetric(float64(len(samples))/dur.Seconds(), "ops/s")
	b.ReportMetric(100*runTrend(perTenth[:]), "throughput-trend-%")
	b.ReportMetric(100*runTrend(relative[:]), "relative-throughput-trend-%")
	b.ReportMetric(float64(edges.Load()), "dependencies-at-end")
	if hwm := peakRSS(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MiB")
	}
}

// sample is one timed operation of benchScale: which, when from the run's start, how long.
type sample struct {
	op int
	at time.Duration
	d  time.Duration
}

// countPerTenth is the number of the samples keep selects in each tenth of the run.
func countPerTenth(samples []sample, tenth time.Duration, keep func(sample) bool) [10]int {
	var out [10]int
	for _, x := range samples {
		if keep(x) {
			out[min(9, int(x.at/tenth))]++
		}
	}
	return out
}

// meanPerTenth is the mean duration, in seconds, of the samples keep selects in each tenth
// of the run (0 where it selects none).
func meanPerTenth(samples []sample, tenth time.Duration, keep func(sample) bool) [10]float64 {
	var sum [10]time.Duration
	var n [10]int
	for _, x := range samples {
		if keep(x) {
			t := min(9, int(x.at/tenth))
			sum[t] += x.d
			n[t]++
		}
	}
	var out [10]float64
	for t := range out {
		if n[t] > 0 {
			out[t] = sum[t].Seconds() / float64(n[t])
		}
	}
	return out
}

// throughputRatio is, per tenth, a store's throughput (the inverse of its mean duration)
// over a yardstick's: yardstick mean over store mean, 0 where either is missing.
func throughputRatio(store, yardstick [10]float64) [10]float64 {
	var out [10]float64
	for t := range out {
		if store[t] > 0 && yardstick[t] > 0 {
			out[t] = yardstick[t] / store[t]
		}
	}
	return out
}

// pagesPerTenth reads written (a running count) at each tenth of dur after start and returns
// the count's growth within each tenth.
func pagesPerTenth(written func() int64, start time.Time, dur time.Duration) [10]int64 {
	var out [10]int64
	prev := written()
	for t := range out {
		time.Sleep(time.Until(start.Add(dur * time.Duration(t+1) / 10)))
		now := written()
		out[t], prev = now-prev, now
	}
	return out
}

// pagesPerWrite is, per tenth, the pages written over the writes made (0 without writes).
func pagesPerWrite(pages [10]int64, writes [10]int) [10]float64 {
	var out [10]float64
	for t := range out {
		if writes[t] > 0 {
			out[t] = float64(pages[t]) / float64(writes[t])
		}
	}
	return out
}

// probeDisk writes 4 KiB to a file in dir and fsyncs it every 50 ms until dur after start,
// returning each write's time and duration (op unused).
func probeDisk(b *testing.B, dir string, start time.Time, dur time.Duration) []sample {
	f, err := os.Create(dir + "/disk-probe")
	if err != nil {
		b.Error(err)
		return nil
	}
	defer func() { _ = f.Close() }()
	block := make([]byte, 4096)
	var out []sample
	for time.Since(start) < dur {
		t0 := time.Now()
		if _, err := f.WriteAt(block, 0); err != nil {
			b.Error(err)
			return out
		}
		if err := f.Sync(); err != nil {
			b.Error(err)
			return out
		}
		out = append(out, sample{at: t0.Sub(start), d: time.Since(t0)})
		time.Sleep(50 * time.Millisecond)
	}
	return out
}

// runTrend is the change over the run of a least-squares line through counts (one per equal
// span of the run), as a share of their mean: on this shared machine one tenth's count moves by
// several percent, so first against last says little of a trend and this line says more.
func runTrend[T int | float64](counts []T) float64 {
	n := float64(len(counts))
	var mx, my float64
	for i, c := range counts {
		mx += float64(i) / n
		my += float64(c) / n
	}
	var sxy, sxx float64
	for i, c := range counts {
		sxy += (float64(i) - mx) * (float64(c) - my)
		sxx += (float64(i) - mx) * (float64(i) - mx)
	}
	if sxx == 0 || my == 0 {
		return 0
	}
	return sxy / sxx * (n - 1) / my
}

// peakRSS reads VmHWM of this process (Linux), in bytes; 0 when unknown.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func TestRunTrend(t *testing.T) {
	tests := []struct {
		name   string
		counts []int
		want   float64
	}{
		{"flat", []int{100, 100, 100, 100}, 0},
		{"rises by 40 % of its mean", []int{80, 93, 107, 120}, 0.4},
		{"falls", []int{120, 110, 100, 90, 80}, -0.4},
		{"one", []int{100}, 0},
		{"zero", []int{0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, runTrend(tc.counts), 0.01)
		})
	}
	// The relative throughputs are ratios, not counts.
	require.InDelta(t, -0.2, runTrend([]float64{1.1, 1.0, 0.9}), 0.01)
}

func TestThroughputRatio(t *testing.T) {
	tenth := time.Second
	samples := []sample{
		{op: 0, at: 0, d: 2 * time.Millisecond}, {op: 0, at: 500 * time.Millisecond, d: 4 * time.Millisecond},
		{op: 1, at: 100 * time.Millisecond, d: time.Millisecond},
		{op: 0, at: 9500 * time.Millisecond, d: 8 * time.Millisecond}, {op: 1, at: 20 * time.Second, d: 2 * time.Millisecond}, // past the end: the last tenth
		{op: 0, at: 3 * time.Second, d: time.Millisecond}, // no yardstick in that tenth
	}
	store := meanPerTenth(samples, tenth, func(x sample) bool { return x.op == 0 })
	yard := meanPerTenth(samples, tenth, func(x sample) bool { return x.op == 1 })
	require.InDelta(t, 0.003, store[0], 1e-12)
	require.InDelta(t, 0.008, store[9], 1e-12)
	got := throughputRatio(store, yard)
	require.InDelta(t, 1.0/3, got[0], 1e-12, "the store takes three times the yardstick's time")
	require.InDelta(t, 0.25, got[9], 1e-12)
	require.Zero(t, got[3], "no yardstick in the tenth")
	require.Zero(t, got[5], "neither in the tenth")
}

func TestPagesPerWrite(t *testing.T) {
	got := pagesPerWrite([10]int64{30, 0, 7, 9: 40}, [10]int{20, 5, 0, 9: 25})
	require.InDelta(t, 1.5, got[0], 1e-12)
	require.Zero(t, got[1], "no pages written")
	require.Zero(t, got[2], "no writes: no cost to tell")
	require.InDelta(t, 1.6, got[9], 1e-12)
}
