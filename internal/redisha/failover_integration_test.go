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

	"github.com/redis/go-redis/v9"

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
// twice, through two store clients). Mid-run the replica of the Redis master serving the
// lease falls behind (SIGSTOP, and a write larger than the socket buffers fills the link), then
// the test kills the leader and that master at the same moment, lets the replica take over,
// restarts the killed node (it rejoins as a replica) and starts a replacement process. At the
// end:
//   - every acknowledged write is what every process's API returns (a write that failed may
//     or may not have landed, and only that);
//   - no event is listed twice, every acknowledged one is listed;
//   - the three processes answer the lists byte for byte the same;
//   - no two instances ever believed they held the lease at the same time (see
//     redisha.Belief), and a new leader took over after the kill.
//
// wait_replicas=1 makes every write wait for one replica: Redis replicates asynchronously, so
// without it what the master acknowledged while its replica lagged is gone after the
// failover, lease renewals included. TestRedisFailoverWithoutWaitLosesWrites runs the same
// scenario without it and requires that the checks catch the loss.

const (
	leaseTTL   = 4 * time.Second // longer than a failover, so a lost lease shows as two leaders
	leaseRenew = 400 * time.Millisecond
	apiToken   = "ha-test-token"
	writers    = 4
	keysPerW   = 15 // patterns and dependencies each writer rewrites
	maxEvents  = 900
	// lagWindow is how long the replica of the killed master is behind before the kill.
	lagWindow = 1500 * time.Millisecond
	prefix    = "kai-ha:"
)

func TestRedisClusterFailover(t *testing.T) {
	for _, p := range runFailover(t, clusterDeployment(t), 1) {
		t.Error(p)
	}
}

func TestRedisSentinelFailover(t *testing.T) {
	for _, p := range runFailover(t, sentinelDeployment(t), 1) {
		t.Error(p)
	}
}

// The same scenario without waiting for replicas must go wrong: the master acknowledges
// what the lagging replica never gets, and the failover loses it (and the lease renewals,
// so two instances lead at once). If it went right, the lag did not happen and the tests
// above would prove nothing.
func TestRedisFailoverWithoutWaitLosesWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		deploy func(t *testing.T) deployment
	}{
		{"cluster", clusterDeployment},
		{"sentinel", sentinelDeployment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := runFailover(t, tc.deploy(t), 0)
			if len(problems) == 0 {
				t.Fatal("no acknowledged write lost and no two leaders without wait_replicas: the replica did not lag")
			}
			kinds := map[string]int{}
			for _, p := range problems {
				switch {
				case strings.Contains(p, "led at once"):
					kinds["two leaders"]++
				case strings.Contains(p, "missing"), strings.Contains(p, "not its last acknowledged"):
					kinds["acknowledged writes lost"]++
				default:
					kinds["other"]++
				}
			}
			t.Logf("caught without waiting for replicas: %v", kinds)
			if kinds["acknowledged writes lost"] == 0 {
				t.Errorf("no acknowledged write lost without wait_replicas, only: %q", problems)
			}
		})
	}
}

func clusterDeployment(t *testing.T) deployment {
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
	return deployment{
		url: strings.Join(c.Addrs(), ","), lease: lease,
		nodes: func(ctx context.Context, key string) (*redisha.Node, *redisha.Node, error) {
			m, err := c.MasterFor(ctx, key)
			if err != nil {
				return nil, nil, err
			}
			r, err := c.ReplicaOf(ctx, m)
			return m, r, err
		},
		recover: func(ctx context.Context, dead *redisha.Node, key string) error {
			p, err := c.WaitPromoted(ctx, dead, key)
			if err != nil {
				return err
			}
			t.Logf("replica %s promoted", p.Addr())
			// Its nodes.conf makes it rejoin as the replica of the node that took its slots.
			if err := dead.Restart(ctx); err != nil {
				return err
			}
			if err := redisha.WaitReplicaOf(ctx, dead); err != nil {
				return err
			}
			return c.WaitHealthy(ctx)
		},
	}
}

func sentinelDeployment(t *testing.T) deployment {
	s := redisha.StartSentinel(t)
	return deployment{
		url: strings.Join(s.SentinelAddrs(), ","), masterName: s.MasterName, lease: "leader",
		nodes: func(ctx context.Context, _ string) (*redisha.Node, *redisha.Node, error) {
			m, err := s.Master(ctx)
			if err != nil {
				return nil, nil, err
			}
			for _, n := range s.Data {
				if n != m {
					return m, n, nil
				}
			}
			return nil, nil, fmt.Errorf("no replica of %s", m.Addr())
		},
		recover: func(ctx context.Context, dead *redisha.Node, _ string) error {
			p, err := s.WaitFailover(ctx, dead)
			if err != nil {
				return err
			}
			t.Logf("sentinels promoted %s", p.Addr())
			if err := dead.RestartReplicaOf(ctx, p); err != nil {
				return err
			}
			return redisha.WaitReplicaOf(ctx, dead)
		},
	}
}

// deployment is what runFailover needs of a Redis deployment.
type deployment struct {
	url, masterName string
	// lease is the lease name the instances elect on.
	lease string
	// nodes returns the master serving key now and its replica.
	nodes func(ctx context.Context, key string) (master, replica *redisha.Node, err error)
	// recover waits until dead's replica took over, restarts dead, and waits until it is an
	// in-sync replica again (writes waiting for one replica need it).
	recover func(ctx context.Context, dead *redisha.Node, key string) error
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

// TestMain removes the kai-scaler binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		_ = os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

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
		// The configuration of the Makefile's STATIC, which vet and lint compiled already.
		cmd := exec.Command("go", "build", "-trimpath", "-pgo=off", "-o", binary, "github.com/kai-platform/kai-scaler/cmd/kai-scaler")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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

func startInstance(t *testing.T, id, url, masterName, lease string, wait int, leases *redisha.LeaseLog) *instance {
	// As an operator configures it: wait_replicas on REDIS_URL's first entry.
	first, rest, _ := strings.Cut(url, ",")
	redisURL := fmt.Sprintf("redis://%s?wait_replicas=%d,%s", first, wait, rest)
	st, err := store.NewRedis(store.RedisOptions{
		URL: redisURL, MasterName: masterName, Prefix: prefix,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("open store of %s: %v", id, err)
	}
	if st.WaitReplicas() != wait {
		t.Fatalf("store of %s waits for %d replicas, want %d from the URL", id, st.WaitReplicas(), wait)
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
	proc.SysProcAttr = redisha.ProcAttr()
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

// runFailover runs the scenario with every write waiting for wait replicas and returns what
// went wrong: acknowledged writes lost, events duplicated, two leaders at once, instances
// answering differently. A failure of the scenario itself (Redis does not recover, no leader)
// fails t.
func runFailover(t *testing.T, d deployment, wait int) []string {
	var problems []string
	url, masterName, lease := d.url, d.masterName, d.lease
	start := time.Now()
	leases := &redisha.LeaseLog{}
	c := &cluster{}
	for i := range 3 {
		c.live = append(c.live, startInstance(t, fmt.Sprintf("kai-%d", i), url, masterName, lease, wait, leases))
	}
	// Room after the warm-up for a stalled sentinel failover (up to 75 s, redisha.WaitFailover).
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
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

	// The replica of the master serving the lease lags: it stops (SIGSTOP) and a large write
	// fills the replication link behind it, so nothing the master applies for lagWindow
	// reaches the replica, as when a replica falls behind under load or on a slow network.
	// Without waiting for replicas the master acknowledges those writes (and lease renewals),
	// and the failover below loses them; with wait_replicas=1 it cannot acknowledge them.
	key := lockKey(lease)
	master, replica, err := d.nodes(ctx, key)
	if err != nil {
		t.Fatalf("find the master of %s and its replica: %v", key, err)
	}
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = replica.Resume() }()
	fillReplicationLink(t, ctx, master, prefix+"pad:{"+lease+"}")
	lagStart := l.acked.Load()
	time.Sleep(lagWindow)
	t.Logf("replica %s paused behind a full link for %s: %d writes acknowledged meanwhile", replica.Addr(), lagWindow, l.acked.Load()-lagStart)

	// Kill the leader and the master, at the same moment; the replica runs again.
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
	killedAt := time.Now()
	master.Kill()
	if victim != nil {
		victim.kill()
	} else {
		// With the replica lagging no renewal was acknowledged, and the lease may have run
		// out: kill the longest-standing leader anyway.
		c.mu.Lock()
		victim = c.live[0]
		c.live = c.live[1:]
		c.mu.Unlock()
		victim.kill()
	}
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILL redis master %s (serves %s) and instance %s (leader: %q) at %s", master.Addr(), key, victim.id, leader, killedAt.Format("15:04:05.000"))

	if err := d.recover(ctx, master, key); err != nil {
		t.Fatalf("redis did not recover: %v", err)
	}
	recovered := time.Now()
	t.Logf("redis recovered %s after the kill", recovered.Sub(killedAt).Round(time.Millisecond))
	replacement := startInstance(t, "kai-3", url, masterName, lease, wait, leases)
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
		problems = append(problems, "two instances believed they led at once:\n"+strings.Join(o, "\n"))
	}
	if owners := leases.Owners(); len(owners) < 2 {
		t.Fatalf("the lease never changed hands (owners %v): the leader kill was not exercised", owners)
	}
	t.Logf("lease beliefs: %d, owners in order: %v", len(beliefs), leases.Owners())

	live := c.snapshot()
	problems = append(problems, verifyObjects(t, ctx, live, l)...)
	problems = append(problems, verifyEvents(t, ctx, live, l)...)
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
	return problems
}

// fillReplicationLink writes a value larger than the socket buffers between master and its
// paused replica, so what the master writes next stays in the master's memory, lost with it.
func fillReplicationLink(t *testing.T, ctx context.Context, master *redisha.Node, key string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: master.Addr(), ReadTimeout: 20 * time.Second, WriteTimeout: 20 * time.Second})
	defer c.Close()
	if err := c.Set(ctx, key, strings.Repeat("x", 48<<20), 0).Err(); err != nil {
		t.Fatalf("fill the replication link of %s: %v", master.Addr(), err)
	}
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

func verifyObjects(t *testing.T, ctx context.Context, live []*instance, l *ledger) []string {
	var problems []string
	var first []byte
	for _, in := range live {
		rawP, patterns := listAll[scaling.Pattern](t, ctx, in, "/api/predictive-scaling/patterns", "patterns")
		rawD, deps := listAll[scaling.Dependency](t, ctx, in, "/api/scaling-dependencies", "dependencies")
		both := append(rawP, rawD...)
		if first == nil {
			first = both
		} else if !bytes.Equal(first, both) {
			problems = append(problems, fmt.Sprintf("%s lists patterns and dependencies differently from %s", in.id, live[0].id))
		}
		got := map[string]int{}
		for _, p := range patterns {
			if len(p.TimeWindows) != 1 {
				problems = append(problems, fmt.Sprintf("%s: pattern of %s has %d windows", in.id, p.Service, len(p.TimeWindows)))
				continue
			}
			got[p.Service] = int(p.TimeWindows[0].ExpectedLoad*10000 + 0.5)
		}
		problems = append(problems, checkKeys(in.id, "pattern", l.patterns, got)...)
		got = map[string]int{}
		for _, d := range deps {
			got[d.SourceService+"/"+d.TargetService] = int(*d.MinReplicas)
		}
		problems = append(problems, checkKeys(in.id, "dependency", l.deps, got)...)
	}
	return problems
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

func verifyEvents(t *testing.T, ctx context.Context, live []*instance, l *ledger) []string {
	var problems []string
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
			problems = append(problems, fmt.Sprintf("%s lists events differently from %s", in.id, live[0].id))
		}
		for id, n := range seen {
			if n > 1 {
				problems = append(problems, fmt.Sprintf("%s: event %s listed %d times", in.id, id, n))
			}
			if _, ok := l.events[id]; !ok {
				problems = append(problems, fmt.Sprintf("%s: event %s was never written", in.id, id))
			}
		}
		for id, ok := range l.events {
			if ok && seen[id] == 0 {
				problems = append(problems, fmt.Sprintf("%s: acknowledged event %s is missing", in.id, id))
			}
		}
	}
	t.Logf("events: %d acknowledged, %d written", acked, len(l.events))
	return problems
}
