package redisha_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/internal/redisha"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Three kai-scaler processes share a Redis Cluster (3 masters, 1 replica each) or a Sentinel
// group (1 master, 1 replica, 3 sentinels): the real binary, "kai-scaler serve" with every
// feature off (the API only, no Kubernetes), REDIS_URL naming the deployment with
// wait_replicas=1. serve's leader election is a Kubernetes Lease, which needs a cluster, so
// each process is paired with a leader elector on the store's own lease (LockStore, what the
// forecast run lock relies on) with a store client of its own: killing "the leader" SIGKILLs
// the process and stops its elector without releasing the lease, as a crash would. Writers
// post patterns and dependencies through the processes' APIs and append HPA events (each
// twice, through two store clients) while the test kills the leader and, at the same moment,
// the Redis master serving the lease, then restarts that Redis node (it rejoins as a replica)
// and starts a replacement process. At the end:
//   - every acknowledged write is what every process's API returns (a write that failed may
//     or may not have landed, and only that);
//   - no event is listed twice, every acknowledged one is listed;
//   - the three processes answer the lists byte for byte the same;
//   - no two instances ever believed they held the lease at the same time (see
//     redisha.Belief), and a new leader took over after the kill.
//
// wait_replicas=1 makes every write wait for one replica: Redis replicates asynchronously, so
// without it an acknowledged write, or the lease, can be missing on the replica that takes
// over. (On loopback replication is never behind, so this test passes without it too;
// TestRedisWaitReplicas in store shows the acknowledgement it withholds.)

const (
	leaseTTL   = 4 * time.Second // longer than a failover, so a lost lease shows as two leaders
	leaseRenew = 400 * time.Millisecond
	apiToken   = "ha-test-token"
	writers    = 4
	keysPerW   = 15 // patterns and dependencies each writer rewrites
	maxEvents  = 900
	prefix     = "kai-ha:"
)

func TestRedisClusterFailover(t *testing.T) {
	c := redisha.StartCluster(t)
	// A lease whose key is on the shard of every pattern and dependency ({obj}): the master
	// killed serves both.
	ctx := context.Background()
	objMaster, err := c.MasterFor(ctx, prefix+"{obj}:patterns")
	if err != nil {
		t.Fatal(err)
	}
	lease := ""
	for i := range 64 {
		name := fmt.Sprintf("leader-%d", i)
		if m, err := c.MasterFor(ctx, lockKey(name)); err == nil && m == objMaster {
			lease = name
			break
		}
	}
	if lease == "" {
		t.Fatalf("no lease name among 64 on the master of {obj} (%s)", objMaster.Addr())
	}
	runFailover(t, strings.Join(c.Addrs(), ","), "", lease, func(ctx context.Context, key string) (func(context.Context) error, error) {
		m, err := c.MasterFor(ctx, key)
		if err != nil {
			return nil, err
		}
		t.Logf("SIGKILL redis master %s (serves %s)", m.Addr(), key)
		m.Kill()
		return func(ctx context.Context) error {
			p, err := c.WaitPromoted(ctx, m, key)
			if err != nil {
				return err
			}
			t.Logf("replica %s promoted", p.Addr())
			if err := m.Restart(ctx); err != nil {
				return err
			}
			if err := redisha.WaitReplicaOf(ctx, m); err != nil {
				return err
			}
			return c.WaitHealthy(ctx)
		}, nil
	})
}

func TestRedisSentinelFailover(t *testing.T) {
	s := redisha.StartSentinel(t)
	runFailover(t, strings.Join(s.SentinelAddrs(), ","), s.MasterName, "leader", func(ctx context.Context, _ string) (func(context.Context) error, error) {
		m, err := s.Master(ctx)
		if err != nil {
			return nil, err
		}
		t.Logf("SIGKILL redis master %s", m.Addr())
		m.Kill()
		return func(ctx context.Context) error {
			p, err := s.WaitFailover(ctx, m)
			if err != nil {
				return err
			}
			t.Logf("sentinels promoted %s", p.Addr())
			if err := m.RestartReplicaOf(ctx, p); err != nil {
				return err
			}
			return redisha.WaitReplicaOf(ctx, m)
		}, nil
	})
}

// instance is one scaler replica: a kai-scaler serve process, and the elector and store
// client standing in for its leadership and its HPA event recorder.
type instance struct {
	id     string
	base   string // http://127.0.0.1:port of its API
	st     *store.Redis
	proc   *exec.Cmd
	exited chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// scalerBinary builds cmd/kai-scaler once per test binary.
func scalerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kai-scaler-ha")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "kai-scaler")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/kai-platform/kai-scaler/cmd/kai-scaler")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build kai-scaler: %w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startInstance(t *testing.T, id, url, masterName, lease string, leases *redisha.LeaseLog) *instance {
	// As an operator configures it: wait_replicas on REDIS_URL's first entry.
	first, rest, _ := strings.Cut(url, ",")
	redisURL := "redis://" + first + "?wait_replicas=1," + rest
	st, err := store.NewRedis(store.RedisOptions{
		URL: redisURL, MasterName: masterName, Prefix: prefix,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("open store of %s: %v", id, err)
	}
	if st.WaitReplicas() != 1 {
		t.Fatalf("store of %s waits for %d replicas, want 1 from the URL", id, st.WaitReplicas())
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logf, err := os.Create(filepath.Join(t.TempDir(), id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	proc := exec.Command(scalerBinary(t), "serve")
	proc.Env = append(os.Environ(), "REDIS_URL="+redisURL, "REDIS_MASTER_NAME="+masterName, "REDIS_PREFIX="+prefix,
		"API_TOKEN="+apiToken, "LISTEN_ADDR="+addr, "LOG_LEVEL=warn")
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		t.Fatalf("start kai-scaler %s: %v", id, err)
	}
	in := &instance{id: id, base: "http://" + addr, st: st, proc: proc, exited: make(chan struct{}), done: make(chan struct{})}
	go func() {
		_ = proc.Wait()
		_ = logf.Close()
		close(in.exited)
	}()
	t.Cleanup(in.kill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := httpClient.Get(in.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-in.exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("kai-scaler %s exited at start:\n%s", id, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("kai-scaler %s not ready within 20 s:\n%s", id, log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() {
		defer close(in.done)
		redisha.Elect(ctx, st, lease, id, leaseTTL, leaseRenew, leases)
	}()
	return in
}

// kill stops the instance as a crash would: SIGKILL to the process, the elector stops
// without releasing the lease. Idempotent.
func (in *instance) kill() {
	_ = in.proc.Process.Kill()
	<-in.exited
	if in.cancel != nil {
		in.cancel()
		<-in.done
	}
	_ = in.st.Close()
}

// keyState is what a key may hold: the value of its last acknowledged write, or of any
// write attempted since whose outcome is unknown (it failed, but may have landed).
type keyState struct {
	allowed map[int]bool
	acked   bool // absent is allowed until a write was acknowledged
}

type ledger struct {
	mu           sync.Mutex
	patterns     map[string]*keyState
	deps         map[string]*keyState
	events       map[string]bool // id → acknowledged
	eventService map[string]string
	acked        atomic.Int64
	failed       atomic.Int64
}

func (l *ledger) record(m map[string]*keyState, key string, v int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := m[key]
	if s == nil {
		s = &keyState{allowed: map[int]bool{}}
		m[key] = s
	}
	if ok {
		s.allowed = map[int]bool{v: true}
		s.acked = true
		l.acked.Add(1)
	} else {
		s.allowed[v] = true
		l.failed.Add(1)
	}
}

type cluster struct {
	mu   sync.Mutex
	live []*instance
}

func (c *cluster) pick() *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[rand.N(len(c.live))]
}

func (c *cluster) snapshot() []*instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.live)
}

var httpClient = &http.Client{Timeout: 30 * time.Second} // above the API's 10 s store budget: no reply is cut short

func call(ctx context.Context, in *instance, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, in.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s on %s: %w", method, path, in.id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read %s %s on %s: %w", method, path, in.id, err)
	}
	return resp.StatusCode, b, nil
}

// writer w rewrites its patterns and dependencies with growing versions and appends events,
// until stop is set. Only 200 acknowledges; any other answer or error leaves the outcome unknown.
func writer(ctx context.Context, stop *atomic.Bool, w int, c *cluster, l *ledger) {
	version := 0
	events := 0
	// Stopped by a flag, not by cancelling ctx: a cancelled request could still be writing on
	// the server while the test reads, so every call runs to its answer.
	for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
		version++
		k := i % keysPerW
		switch i % 3 {
		case 0:
			svc := fmt.Sprintf("w%d-p%d", w, k)
			body := fmt.Sprintf(`{"patternType":"daily","timeWindows":[{"hourOfDay":%d,"expectedLoad":%g}]}`, k, float64(version)/10000)
			code, _, err := call(ctx, c.pick(), http.MethodPost, "/api/predictive-scaling/patterns/"+svc, body)
			l.record(l.patterns, svc, version, err == nil && code == http.StatusOK)
		case 1:
			src, dst := fmt.Sprintf("w%d-s%d", w, k), fmt.Sprintf("w%d-t%d", w, k)
			v := version%(scaling.MaxDependencyReplicas-1) + 1
			body := fmt.Sprintf(`{"dependencyType":"minimum","minReplicas":%d}`, v)
			code, _, err := call(ctx, c.pick(), http.MethodPost, "/api/scaling-dependencies/"+src+"/"+dst, body)
			l.record(l.deps, src+"/"+dst, v, err == nil && code == http.StatusOK)
		case 2:
			if events >= maxEvents {
				continue
			}
			events++
			e := scaling.Event{
				ID: fmt.Sprintf("w%d-e%d", w, i), Service: fmt.Sprintf("hw%d", w), EventType: scaling.EventScaleUp,
				CurrentReplicas: 1, DesiredReplicas: int32(2 + i%5), TriggerMetric: "cpu", Timestamp: time.Now().UnixMilli(),
			}
			// The same event through two instances, as two replicas watching the same HPA
			// would record it: stored once.
			acked := false
			for range 2 {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.pick().st.AppendEvents(cctx, e)
				cancel()
				if err == nil {
					acked = true
				}
			}
			l.mu.Lock()
			l.events[e.ID] = l.events[e.ID] || acked
			l.eventService[e.ID] = e.Service
			l.mu.Unlock()
			if acked {
				l.acked.Add(1)
			} else {
				l.failed.Add(1)
			}
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// lockKey is the store's key of the lease name (store/lock_redis.go).
func lockKey(name string) string { return prefix + "lock:{" + name + "}" }

func runFailover(t *testing.T, url, masterName, lease string, killMaster func(ctx context.Context, key string) (func(context.Context) error, error)) {
	start := time.Now()
	leases := &redisha.LeaseLog{}
	c := &cluster{}
	for i := range 3 {
		c.live = append(c.live, startInstance(t, fmt.Sprintf("kai-%d", i), url, masterName, lease, leases))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()

	waitFor(t, ctx, 10*time.Second, "a first leader", func() bool { return leases.HolderAt(time.Now()) != "" })

	l := &ledger{patterns: map[string]*keyState{}, deps: map[string]*keyState{}, events: map[string]bool{}, eventService: map[string]string{}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { writer(ctx, &stop, w, c, l) })
	}
	time.Sleep(2 * time.Second)
	ackedBefore := l.acked.Load()
	if ackedBefore == 0 {
		t.Fatalf("no write acknowledged in 2 s before the failover (failed: %d)", l.failed.Load())
	}

	// Kill the leader and the Redis master that serves the lease at the same moment.
	leader := leases.HolderAt(time.Now())
	var victim *instance
	c.mu.Lock()
	for i, in := range c.live {
		if in.id == leader {
			victim = in
			c.live = slices.Delete(c.live, i, i+1)
			break
		}
	}
	c.mu.Unlock()
	if victim == nil {
		t.Fatalf("no instance holds the lease before the kill (holder %q)", leader)
	}
	// The store's lease key (store/lock_redis.go): its master is the one to kill.
	key := lockKey(lease)
	killedAt := time.Now()
	recoverRedis, err := killMaster(ctx, key)
	if err != nil {
		t.Fatalf("kill redis master: %v", err)
	}
	victim.kill()
	t.Logf("killed leader %s at %s", victim.id, killedAt.Format("15:04:05.000"))

	if err := recoverRedis(ctx); err != nil {
		t.Fatalf("redis did not recover: %v", err)
	}
	recovered := time.Now()
	t.Logf("redis recovered %s after the kill", recovered.Sub(killedAt).Round(time.Millisecond))
	replacement := startInstance(t, "kai-3", url, masterName, lease, leases)
	c.mu.Lock()
	c.live = append(c.live, replacement)
	c.mu.Unlock()

	waitFor(t, ctx, 2*leaseTTL+10*time.Second, "a new leader among the survivors", func() bool {
		h := leases.HolderAt(time.Now())
		return h != "" && h != victim.id
	})
	newLeader := leases.HolderAt(time.Now())
	t.Logf("%s leads %s after the kill", newLeader, time.Since(killedAt).Round(time.Millisecond))
	ackedAtRecovery := l.acked.Load()
	waitFor(t, ctx, 20*time.Second, "writes acknowledged after the recovery", func() bool { return l.acked.Load() >= ackedAtRecovery+100 })
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("writes: %d acknowledged (%d before the kill), %d not acknowledged", l.acked.Load(), ackedBefore, l.failed.Load())

	// One leader at a time, over the whole run.
	beliefs := leases.Beliefs()
	if o := redisha.Overlaps(beliefs); len(o) > 0 {
		t.Errorf("two instances believed they led at once:\n%s", strings.Join(o, "\n"))
	}
	if owners := leases.Owners(); len(owners) < 2 {
		t.Errorf("the lease never changed hands (owners %v): the leader kill was not exercised", owners)
	}
	t.Logf("lease beliefs: %d, owners in order: %v", len(beliefs), leases.Owners())

	live := c.snapshot()
	verifyObjects(t, ctx, live, l)
	verifyEvents(t, ctx, live, l)
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

func waitFor(t *testing.T, ctx context.Context, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listAll pages through a list route, returning every page's raw body (for comparing the
// instances byte for byte) and the decoded items.
func listAll[T any](t *testing.T, ctx context.Context, in *instance, path, field string) ([]byte, []T) {
	t.Helper()
	var raw bytes.Buffer
	var items []T
	next := ""
	for {
		p := path + "?limit=1000"
		if next != "" {
			p += "&next=" + next
		}
		code, body, err := call(ctx, in, http.MethodGet, p, "")
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %s on %s: %d %v %s", p, in.id, code, err, body)
		}
		raw.Write(body)
		var page map[string]json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("decode %s on %s: %v", p, in.id, err)
		}
		var l []T
		if err := json.Unmarshal(page[field], &l); err != nil {
			t.Fatalf("decode %s of %s on %s: %v", field, p, in.id, err)
		}
		items = append(items, l...)
		next = ""
		if n, ok := page["next"]; ok {
			if err := json.Unmarshal(n, &next); err != nil {
				t.Fatalf("decode next of %s on %s: %v", p, in.id, err)
			}
		}
		if next == "" {
			return raw.Bytes(), items
		}
	}
}

func verifyObjects(t *testing.T, ctx context.Context, live []*instance, l *ledger) {
	var first []byte
	for _, in := range live {
		rawP, patterns := listAll[scaling.Pattern](t, ctx, in, "/api/predictive-scaling/patterns", "patterns")
		rawD, deps := listAll[scaling.Dependency](t, ctx, in, "/api/scaling-dependencies", "dependencies")
		both := append(rawP, rawD...)
		if first == nil {
			first = both
		} else if !bytes.Equal(first, both) {
			t.Errorf("%s lists patterns and dependencies differently from %s", in.id, live[0].id)
		}
		got := map[string]int{}
		for _, p := range patterns {
			if len(p.TimeWindows) != 1 {
				t.Errorf("%s: pattern of %s has %d windows", in.id, p.Service, len(p.TimeWindows))
				continue
			}
			got[p.Service] = int(p.TimeWindows[0].ExpectedLoad*10000 + 0.5)
		}
		for _, p := range checkKeys(in.id, "pattern", l.patterns, got) {
			t.Error(p)
		}
		got = map[string]int{}
		for _, d := range deps {
			got[d.SourceService+"/"+d.TargetService] = int(*d.MinReplicas)
		}
		for _, p := range checkKeys(in.id, "dependency", l.deps, got) {
			t.Error(p)
		}
	}
}

// checkKeys compares what an instance lists with the ledger: every acknowledged key present
// with its last acknowledged value (or a later one whose outcome is unknown), nothing that was
// never written. It returns the problems found.
func checkKeys(id, kind string, want map[string]*keyState, got map[string]int) []string {
	var out []string
	for key, s := range want {
		v, ok := got[key]
		switch {
		case !ok && s.acked:
			out = append(out, fmt.Sprintf("%s: acknowledged %s %s is missing", id, kind, key))
		case ok && !s.allowed[v]:
			out = append(out, fmt.Sprintf("%s: %s %s holds version %d, not its last acknowledged write (allowed %v)", id, kind, key, v, keys(s.allowed)))
		}
	}
	for key := range got {
		if want[key] == nil {
			out = append(out, fmt.Sprintf("%s: %s %s was never written", id, kind, key))
		}
	}
	if len(want) == 0 {
		out = append(out, fmt.Sprintf("%s: no %s was written", id, kind))
	}
	return out
}

// The ledger check must report a lost, a stale and an invented write, and accept a write
// whose outcome was unknown either way: this needs no Redis.
func TestCheckKeys(t *testing.T) {
	l := &ledger{patterns: map[string]*keyState{}}
	l.record(l.patterns, "acked", 1, true)
	l.record(l.patterns, "acked", 2, true)
	l.record(l.patterns, "unknown-after-ack", 1, true)
	l.record(l.patterns, "unknown-after-ack", 2, false)
	l.record(l.patterns, "never-acked", 1, false)
	for _, tc := range []struct {
		name string
		got  map[string]int
		want int
	}{
		{"all as acknowledged", map[string]int{"acked": 2, "unknown-after-ack": 1}, 0},
		{"unknown outcomes landed", map[string]int{"acked": 2, "unknown-after-ack": 2, "never-acked": 1}, 0},
		{"acknowledged write lost", map[string]int{"unknown-after-ack": 1}, 1},
		{"stale value (older acknowledged write)", map[string]int{"acked": 1, "unknown-after-ack": 1}, 1},
		{"invented key", map[string]int{"acked": 2, "unknown-after-ack": 1, "other": 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkKeys("i", "pattern", l.patterns, tc.got); len(got) != tc.want {
				t.Fatalf("found %d problems, want %d: %q", len(got), tc.want, got)
			}
		})
	}
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func verifyEvents(t *testing.T, ctx context.Context, live []*instance, l *ledger) {
	var first []byte
	acked := 0
	for _, ok := range l.events {
		if ok {
			acked++
		}
	}
	if acked == 0 {
		t.Fatal("no event append was acknowledged")
	}
	for _, in := range live {
		var all bytes.Buffer
		seen := map[string]int{}
		for w := range writers {
			svc := fmt.Sprintf("hw%d", w)
			code, body, err := call(ctx, in, http.MethodGet, "/api/hpa-events/"+svc+"?limit=1000", "")
			if err != nil || code != http.StatusOK {
				t.Fatalf("list events of %s on %s: %d %v %s", svc, in.id, code, err, body)
			}
			all.Write(body)
			var page struct{ Events []scaling.Event }
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatalf("decode events of %s on %s: %v", svc, in.id, err)
			}
			for _, e := range page.Events {
				seen[e.ID]++
			}
		}
		if first == nil {
			first = all.Bytes()
		} else if !bytes.Equal(first, all.Bytes()) {
			t.Errorf("%s lists events differently from %s", in.id, live[0].id)
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("%s: event %s listed %d times", in.id, id, n)
			}
			if _, ok := l.events[id]; !ok {
				t.Errorf("%s: event %s was never written", in.id, id)
			}
		}
		for id, ok := range l.events {
			if ok && seen[id] == 0 {
				t.Errorf("%s: acknowledged event %s is missing", in.id, id)
			}
		}
	}
	t.Logf("events: %d acknowledged, %d written", acked, len(l.events))
}
