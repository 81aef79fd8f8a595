package store_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// redisServer is a redis-server process of the test's own, on 127.0.0.1 without persistence.
type redisServer struct {
	t      *testing.T
	bin    string
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server and waits until it answers PING. Started again on the port of a
// server just killed, it may find the port taken for a while: the kernel hands a freed port
// to other tests' outgoing connections. So a server that exits before it answers is started
// again until the deadline, and a failure shows its log.
func (s *redisServer) start() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	for {
		s.launch()
		if s.answers(c, deadline) {
			return
		}
		if !time.Now().Before(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %s did not answer within 30s; its log:\n%s", s.addr(), log)
		}
		time.Sleep(200 * time.Millisecond) // it exited: the port is taken, try again
	}
}

// answers pings the server until it answers (true), or it exits or the deadline passes (false).
func (s *redisServer) answers(c *redis.Client, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-s.exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// launch starts redis-server; s.exited closes when it exits.
func (s *redisServer) launch() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	require.NoError(s.t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
}

func (s *redisServer) kill() {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Kill())
	<-s.exited
}

// TestRedisRestart checks that a Redis that hangs or dies makes calls fail with ErrUnavailable
// within a bounded time, and that the same *Redis serves again once Redis is back.
func TestRedisRestart(t *testing.T) {
	testenv.RedisAddr(t) // integration tests only; this one runs its own server
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server must be on PATH (hack/with-test-env.sh installs it)")
	srv := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	srv.start()

	r, err := store.NewRedis(store.RedisOptions{URL: "redis://" + srv.addr()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background() // no deadline: the store's own timeouts must bound each call
	p := scaling.Pattern{Service: "api", PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 0.8}}}
	require.NoError(t, r.PutPattern(ctx, p))

	t.Run("hung server times out", func(t *testing.T) {
		require.NoError(t, srv.cmd.Process.Signal(syscall.SIGSTOP))
		start := time.Now()
		_, err := r.GetPattern(ctx, "api")
		took := time.Since(start)
		require.NoError(t, srv.cmd.Process.Signal(syscall.SIGCONT))
		require.ErrorIs(t, err, store.ErrUnavailable)
		// Read timeout 3s, one retry, and the pool wait: well under 15s.
		require.Less(t, took, 15*time.Second)
		t.Logf("call to a stopped redis failed after %s: %v", took.Round(time.Millisecond), err)
	})

	t.Run("dead server fails fast", func(t *testing.T) {
		srv.kill()
		for _, call := range []struct {
			name string
			do   func() error
		}{
			{"ping", func() error { return r.Ping(ctx) }},
			{"get pattern", func() error { _, err := r.GetPattern(ctx, "api"); return err }},
			{"put dependency", func() error {
				return r.PutDependency(ctx, scaling.Dependency{SourceService: "a", TargetService: "b",
					DependencyType: scaling.DependencyFixed, Replicas: new(int32)}, nil)
			}},
			{"append events", func() error {
				return r.AppendEvents(ctx, scaling.Event{ID: "e", Service: "api", Timestamp: time.Now().UnixMilli()})
			}},
			{"list events", func() error { _, err := r.ListEvents(ctx, store.EventQuery{}); return err }},
		} {
			start := time.Now()
			err := call.do()
			took := time.Since(start)
			require.ErrorIs(t, err, store.ErrUnavailable, call.name)
			require.Less(t, took, 5*time.Second, call.name)
			t.Logf("%s on a dead redis failed after %s", call.name, took.Round(time.Millisecond))
		}
	})

	t.Run("same client recovers after restart", func(t *testing.T) {
		srv.start() // same port; no persistence, so the data is gone
		start := time.Now()
		require.Eventually(t, func() bool { return r.Ping(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
		t.Logf("store answered %s after redis-server answered", time.Since(start).Round(time.Millisecond))
		_, err := r.GetPattern(ctx, "api")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, r.PutPattern(ctx, p))
		got, err := r.GetPattern(ctx, "api")
		require.NoError(t, err)
		require.Equal(t, p, got)
	})
}
