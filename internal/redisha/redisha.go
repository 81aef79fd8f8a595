// Package redisha starts real Redis deployments on loopback for tests: a Redis Cluster of
// three masters with one replica each, and a Sentinel group (one master, one replica, three
// sentinels). Nodes can be killed with SIGKILL and restarted, so tests can watch a failover.
//
// Tests call Require first: it skips unless KAI_TEST_REDIS_HA=1 (set by hack/with-test-env.sh
// when redis-server, redis-cli and redis-sentinel are installed), so a plain "go test" on a
// machine without them stays green and says how to run them.
package redisha

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvVar enables the tests that start Redis Cluster and Sentinel.
const EnvVar = "KAI_TEST_REDIS_HA"

// Require skips t unless EnvVar is 1, or fails it when integration tests are required
// (KAI_REQUIRE_INTEGRATION) and EnvVar is not set: make test must not silently skip them.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvVar) == "1" {
		for _, bin := range []string{"redis-server", "redis-cli", "redis-sentinel"} {
			if _, err := exec.LookPath(bin); err != nil {
				t.Fatalf("%s=1 but %s is not installed: %v", EnvVar, bin, err)
			}
		}
		return
	}
	msg := EnvVar + " is not 1; run \"make test\" (hack/with-test-env.sh installs redis-server, redis-tools and redis-sentinel and sets it)"
	if os.Getenv("KAI_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("KAI_REQUIRE_INTEGRATION is set but %s", msg)
	}
	t.Skip(msg)
}

// Node is one redis-server (or redis-sentinel) process on 127.0.0.1.
type Node struct {
	Port int
	args []string // command line after the binary, to restart it identically
	bin  string
	dir  string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr is the node's host:port.
func (n *Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", n.Addr(), err)
	}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.dir
	cmd.SysProcAttr = ProcAttr()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s on %s: %w", n.bin, n.Addr(), err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	n.cmd, n.done = cmd, done
	return nil
}

// Kill sends SIGKILL and waits for the process to exit: a crash, no shutdown save.
func (n *Node) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process dies only once it runs
	<-done
}

// Pause stops the process (SIGSTOP) until Resume: a replica that stops acknowledging
// replication, without a disconnect anyone would notice in time.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT) }

func (n *Node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return fmt.Errorf("signal %s: %s is not running", sig, n.Addr())
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to %s: %w", sig, n.Addr(), err)
	}
	return nil
}

// Restart starts the node again with the same arguments and files (its cluster or sentinel
// configuration survives, so it rejoins as the same node).
func (n *Node) Restart(ctx context.Context) error {
	n.Kill()
	if err := n.start(); err != nil {
		return err
	}
	return waitPing(ctx, n.Addr())
}

// RestartReplicaOf restarts the node as a replica of master, as an orchestrator restarting a
// failed Sentinel master with the configuration Sentinel gave out would: without it the node
// comes back as an empty master until a sentinel notices and converts it, which takes up to
// tens of seconds on a loaded machine.
func (n *Node) RestartReplicaOf(ctx context.Context, master *Node) error {
	n.mu.Lock()
	var args []string
	for i := 0; i < len(n.args); i++ {
		if n.args[i] == "--replicaof" {
			i += 2
			continue
		}
		args = append(args, n.args[i])
	}
	n.args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	n.mu.Unlock()
	return n.Restart(ctx)
}

// Cli runs redis-cli against the node and returns its output.
func (n *Node) Cli(ctx context.Context, args ...string) (string, error) {
	return cli(ctx, n.Addr(), args...)
}

func cli(ctx context.Context, addr string, args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(addr)
	full := append([]string{"-h", host, "-p", port}, args...)
	out, err := exec.CommandContext(ctx, "redis-cli", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("redis-cli %s: %w: %s", strings.Join(full, " "), err, out)
	}
	return string(out), nil
}

func waitPing(ctx context.Context, addr string) error {
	return poll(ctx, 10*time.Second, "ping "+addr, func() (bool, error) {
		out, err := cli(ctx, addr, "ping")
		return err == nil && strings.Contains(out, "PONG"), nil
	})
}

// poll calls f every 100ms until it reports done, fails, or within elapses.
func poll(ctx context.Context, within time.Duration, what string, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		ok, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not done within %s", what, within)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePorts returns n loopback ports that were free a moment ago. A cluster node also binds
// port+10000 (the cluster bus), so clusterBus asks that both be free.
func freePorts(n int, clusterBus bool) ([]int, error) {
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for attempts := 0; len(ports) < n && attempts < 1000; attempts++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if clusterBus {
			if port+10000 > 65535 {
				_ = l.Close()
				continue
			}
			bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
			if err != nil {
				_ = l.Close()
				continue
			}
			held = append(held, bus)
		}
		held = append(held, l)
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, errors.New("not enough free loopback ports")
	}
	return ports, nil
}

// base are the settings every data node gets: loopback, no persistence (a killed node comes
// back empty, the worst case for lost writes), fast failure detection.
func base(port int, dir string) []string {
	return []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no",
		"--daemonize", "no",
		// A replica syncs at once instead of after 5 s: tests wait for in-sync replicas.
		"--repl-diskless-sync-delay", "0",
	}
}

func newNode(t testing.TB, bin, root string, port int, args []string) *Node {
	dir := filepath.Join(root, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("create node dir: %v", err)
	}
	n := &Node{Port: port, bin: bin, dir: dir, log: filepath.Join(dir, "log"), args: args}
	t.Cleanup(n.Kill)
	return n
}

// logTail returns the end of every node's log, for a failure message.
func logTail(nodes []*Node) string {
	var b strings.Builder
	for _, n := range nodes {
		data, _ := os.ReadFile(n.log)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "--- %s %s\n%s\n", filepath.Base(n.bin), n.Addr(), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

// Cluster is a Redis Cluster of three masters with one replica each on loopback.
type Cluster struct {
	Nodes []*Node
}

// StartCluster starts six cluster nodes, creates the cluster with redis-cli --cluster create
// --cluster-replicas 1 and waits until every node says cluster_state:ok. The nodes are killed
// when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ports, err := freePorts(6, true)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	c := &Cluster{}
	var addrs []string
	for _, p := range ports {
		args := append(base(p, filepath.Join(root, strconv.Itoa(p))),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			// A killed master is declared failed after 1.5 s, so a failover takes ~2-3 s.
			"--cluster-node-timeout", "1500",
			// A shard whose master and replica are both gone makes only its own slots fail.
			"--cluster-require-full-coverage", "no")
		n := newNode(t, "redis-server", root, p, args)
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr())
	}
	for _, n := range c.Nodes {
		if err := waitPing(ctx, n.Addr()); err != nil {
			t.Fatalf("%v\n%s", err, logTail(c.Nodes))
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := cli(ctx, addrs[0], args...); err != nil {
		t.Fatalf("create cluster: %v\n%s\n%s", err, out, logTail(c.Nodes))
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("%v\n%s", err, logTail(c.Nodes))
	}
	if err := c.WaitReplicated(ctx); err != nil {
		t.Fatalf("%v\n%s", err, logTail(c.Nodes))
	}
	return c
}

// WaitReplicated waits until three masters each have a replica whose link is up and in sync:
// before that a write waiting for one replica cannot be acknowledged.
func (c *Cluster) WaitReplicated(ctx context.Context) error {
	return poll(ctx, 30*time.Second, "wait for three masters with an in-sync replica each", func() (bool, error) {
		masters, replicas := 0, 0
		for _, n := range c.Nodes {
			out, err := n.Cli(ctx, "info", "replication")
			if err != nil {
				return false, nil
			}
			switch {
			case strings.Contains(out, "role:master"):
				if !strings.Contains(out, "connected_slaves:1") {
					return false, nil
				}
				masters++
			case strings.Contains(out, "master_link_status:up") && strings.Contains(out, "master_sync_in_progress:0"):
				replicas++
			}
		}
		return masters == 3 && replicas == 3, nil
	})
}

// Addrs are the addresses of every node, for a cluster client's seed list.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// role is a node's answer to ROLE: "master", "slave", or "" when it does not answer.
func role(ctx context.Context, n *Node) string {
	out, err := n.Cli(ctx, "role")
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(first)
}

// WaitHealthy waits until every node reports cluster_state:ok (all slots served).
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return poll(ctx, 30*time.Second, "wait for cluster_state:ok on every node", func() (bool, error) {
		for _, n := range c.Nodes {
			out, err := n.Cli(ctx, "cluster", "info")
			if err != nil || !strings.Contains(out, "cluster_state:ok") {
				return false, nil
			}
		}
		return true, nil
	})
}

// Replicas returns the nodes that are replicas now.
func (c *Cluster) Replicas(ctx context.Context) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if role(ctx, n) == "slave" {
			out = append(out, n)
		}
	}
	return out
}

// ReplicaOf returns the node that replicates master now.
func (c *Cluster) ReplicaOf(ctx context.Context, master *Node) (*Node, error) {
	for _, n := range c.Nodes {
		out, err := n.Cli(ctx, "info", "replication")
		if err != nil || !strings.Contains(out, "role:slave") {
			continue
		}
		if strings.Contains(out, "master_port:"+strconv.Itoa(master.Port)+"\r") ||
			strings.Contains(out, "master_port:"+strconv.Itoa(master.Port)+"\n") {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no replica of %s", master.Addr())
}

// MasterFor returns the node that serves key's slot as master now.
func (c *Cluster) MasterFor(ctx context.Context, key string) (*Node, error) {
	for _, n := range c.Nodes {
		out, err := n.Cli(ctx, "cluster", "keyslot", key)
		if err != nil {
			continue
		}
		slot, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			return nil, fmt.Errorf("cluster keyslot %q: %q", key, out)
		}
		shards, err := n.Cli(ctx, "cluster", "nodes")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(shards, "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
				continue
			}
			for _, rng := range f[8:] {
				lo, hi, ok := strings.Cut(rng, "-")
				if !ok {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 != nil || err2 != nil || slot < a || slot > b {
					continue
				}
				addr, _, _ := strings.Cut(f[1], "@")
				for _, m := range c.Nodes {
					if m.Addr() == addr {
						return m, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no master found for key %q", key)
}

// WaitPromoted waits until another node serves the slots dead served, that is until dead's
// replica was promoted, and every live node says cluster_state:ok.
func (c *Cluster) WaitPromoted(ctx context.Context, dead *Node, key string) (*Node, error) {
	var promoted *Node
	err := poll(ctx, 30*time.Second, "wait for the replica of "+dead.Addr()+" to take over", func() (bool, error) {
		m, err := c.MasterFor(ctx, key)
		if err != nil || m == dead || role(ctx, m) != "master" {
			return false, nil
		}
		for _, n := range c.Nodes {
			if n == dead {
				continue
			}
			out, err := n.Cli(ctx, "cluster", "info")
			if err != nil || !strings.Contains(out, "cluster_state:ok") {
				return false, nil
			}
		}
		promoted = m
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, logTail(c.Nodes))
	}
	return promoted, nil
}

// WaitReplicaOf waits until n is a replica with its replication link up (after a restart it
// rejoins as the replica of whoever took its slots and resyncs).
func WaitReplicaOf(ctx context.Context, n *Node) error {
	return poll(ctx, 30*time.Second, "wait for "+n.Addr()+" to resync as a replica", func() (bool, error) {
		out, err := n.Cli(ctx, "info", "replication")
		if err != nil {
			return false, nil
		}
		return strings.Contains(out, "role:slave") && strings.Contains(out, "master_link_status:up") &&
			strings.Contains(out, "master_sync_in_progress:0"), nil
	})
}

// Sentinel is one master, one replica and three sentinels watching them on loopback.
type Sentinel struct {
	MasterName string
	Data       []*Node // Data[0] starts as master, Data[1] as its replica
	Sentinels  []*Node
}

// StartSentinel starts the group and waits until every sentinel knows the master and its replica.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ports, err := freePorts(5, false)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s := &Sentinel{MasterName: "kai"}
	for i, p := range ports[:2] {
		args := base(p, filepath.Join(root, strconv.Itoa(p)))
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		n := newNode(t, "redis-server", root, p, args)
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
		s.Data = append(s.Data, n)
	}
	for _, n := range s.Data {
		if err := waitPing(ctx, n.Addr()); err != nil {
			t.Fatalf("%v\n%s", err, logTail(s.Data))
		}
	}
	if err := WaitReplicaOf(ctx, s.Data[1]); err != nil {
		t.Fatalf("%v\n%s", err, logTail(s.Data))
	}
	for _, p := range ports[2:] {
		dir := filepath.Join(root, strconv.Itoa(p))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		// Sentinel rewrites its configuration file, so each gets its own.
		conf := filepath.Join(dir, "sentinel.conf")
		body := strings.Join([]string{
			"bind 127.0.0.1",
			"port " + strconv.Itoa(p),
			"dir " + dir,
			"protected-mode no",
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", s.MasterName, ports[0]),
			// A killed master is declared down after 1 s, so a failover takes a few seconds.
			"sentinel down-after-milliseconds " + s.MasterName + " 1000",
			"sentinel failover-timeout " + s.MasterName + " 10000",
			"sentinel parallel-syncs " + s.MasterName + " 1",
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		n := newNode(t, "redis-sentinel", root, p, []string{conf})
		if err := n.start(); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, n)
	}
	for _, n := range s.Sentinels {
		if err := waitPing(ctx, n.Addr()); err != nil {
			t.Fatalf("%v\n%s", err, logTail(append(s.Data, s.Sentinels...)))
		}
	}
	err = poll(ctx, 30*time.Second, "wait for the sentinels to know the master, its replica and each other", func() (bool, error) {
		for _, n := range s.Sentinels {
			out, err := n.Cli(ctx, "sentinel", "master", s.MasterName)
			if err != nil {
				return false, nil
			}
			f := fields(out)
			if f["num-slaves"] != "1" || f["num-other-sentinels"] != "2" || !strings.Contains(f["flags"], "master") ||
				strings.Contains(f["flags"], "down") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, logTail(append(s.Data, s.Sentinels...)))
	}
	return s
}

// fields reads redis-cli's answer to SENTINEL MASTER: names and values on alternate lines.
func fields(out string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	for i := 0; i+1 < len(lines); i += 2 {
		m[lines[i]] = lines[i+1]
	}
	return m
}

// SentinelAddrs are the sentinels' addresses.
func (s *Sentinel) SentinelAddrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		out[i] = n.Addr()
	}
	return out
}

// Master returns the data node the sentinels name as master now.
func (s *Sentinel) Master(ctx context.Context) (*Node, error) {
	for _, sn := range s.Sentinels {
		out, err := sn.Cli(ctx, "sentinel", "get-master-addr-by-name", s.MasterName)
		if err != nil {
			continue
		}
		parts := strings.Fields(out)
		if len(parts) != 2 {
			continue
		}
		for _, n := range s.Data {
			if n.Addr() == parts[0]+":"+parts[1] {
				return n, nil
			}
		}
	}
	return nil, errors.New("no sentinel names a known master")
}

// sentinelFailoverWithin bounds WaitFailover. A failover normally takes a few seconds, but a
// sentinel that voted for a leader whose failover stalled tries again only after twice the
// failover-timeout (20 s here), and a stall of the machine of over 2 s puts every sentinel in
// TILT mode for 30 s: a CI run failed at 30 s with the sentinels in TILT.
const sentinelFailoverWithin = 75 * time.Second

// WaitFailover waits until every sentinel names a master other than dead and that node says
// it is master.
func (s *Sentinel) WaitFailover(ctx context.Context, dead *Node) (*Node, error) {
	var promoted *Node
	err := poll(ctx, sentinelFailoverWithin, "wait for the sentinels to fail over from "+dead.Addr(), func() (bool, error) {
		for _, sn := range s.Sentinels {
			out, err := sn.Cli(ctx, "sentinel", "get-master-addr-by-name", s.MasterName)
			if err != nil || strings.Contains(strings.Join(strings.Fields(out), ":"), dead.Addr()) {
				return false, nil
			}
		}
		m, err := s.Master(ctx)
		if err != nil || role(ctx, m) != "master" {
			return false, nil
		}
		promoted = m
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, logTail(append(s.Data, s.Sentinels...)))
	}
	return promoted, nil
}
