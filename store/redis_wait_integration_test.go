package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/internal/redisha"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// With WaitReplicas a write is acknowledged only once a replica has it: while the replica is
// paused (SIGSTOP) writes fail with ErrUnavailable after the wait timeout, although the master
// applied them; without it the same writes are acknowledged at once, which is how an
// acknowledged write can be lost when the master dies before the replica catches up.
func TestRedisWaitReplicas(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (url, masterName string, replicas []*redisha.Node)
	}{
		{"sentinel", func(t *testing.T) (string, string, []*redisha.Node) {
			s := redisha.StartSentinel(t)
			return strings.Join(s.SentinelAddrs(), ","), s.MasterName, s.Data[1:]
		}},
		{"cluster", func(t *testing.T) (string, string, []*redisha.Node) {
			c := redisha.StartCluster(t)
			// The written keys sit on different masters: every replica is paused.
			return strings.Join(c.Addrs(), ","), "", c.Replicas(context.Background())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, masterName, replicas := tc.start(t)
			testWaitReplicas(t, url, masterName, replicas)
		})
	}
}

func testWaitReplicas(t *testing.T, url, masterName string, replicas []*redisha.Node) {
	if len(replicas) == 0 {
		t.Fatal("no replica to pause")
	}
	open := func(wait int) *store.Redis {
		r, err := store.NewRedis(store.RedisOptions{URL: url, MasterName: masterName, Prefix: "kai-wait:",
			WaitReplicas: wait, WaitTimeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	waiting, async := open(1), open(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	writes := []struct {
		name  string
		write func(st *store.Redis, v int) error
	}{
		{"pattern script", func(st *store.Redis, v int) error {
			return st.PutPattern(ctx, scaling.Pattern{Service: "api", PatternType: scaling.PatternDaily,
				TimeWindows: []scaling.TimeWindow{{HourOfDay: 1, ExpectedLoad: float64(v) / 100}}})
		}},
		{"lock script", func(st *store.Redis, v int) error {
			_, err := st.TryLock(ctx, "lock", "owner", time.Minute)
			return err
		}},
		{"plain command (override)", func(st *store.Redis, v int) error {
			now := time.Now()
			return st.PutOverride(ctx, scaling.Override{Service: "api", ID: "o1", Start: now, End: now.Add(time.Hour), MinReplicas: ptr(int32(v))})
		}},
		{"transaction (enable dependency)", func(st *store.Redis, v int) error {
			if err := async.PutDependency(ctx, scaling.Dependency{SourceService: "a", TargetService: "b",
				DependencyType: scaling.DependencyMinimum, MinReplicas: ptr(int32(1))}, nil); err != nil {
				return err
			}
			_, err := st.SetDependencyEnabled(ctx, scaling.DependencyKey{Source: "a", Target: "b"}, v%2 == 0, time.Now())
			return err
		}},
	}
	// A running replica acknowledges, though not always within the 300ms wait timeout: just
	// after start-up, or after a pause, it may still be catching up (and a loaded machine
	// slows it), so until it has, ErrUnavailable is retried.
	ackedWithin := func(write func(st *store.Redis, v int) error, v int, d time.Duration) error {
		deadline := time.Now().Add(d)
		for {
			err := write(waiting, v)
			if err == nil || !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, w := range writes {
		if err := ackedWithin(w.write, 1, 10*time.Second); err != nil {
			t.Fatalf("%s with an in-sync replica: %v", w.name, err)
		}
	}
	for _, n := range replicas {
		if err := n.Pause(); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range writes {
		if err := w.write(async, 2); err != nil {
			t.Errorf("%s without waiting, replica paused: %v", w.name, err)
		}
		start := time.Now()
		err := w.write(waiting, 3)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s waiting for a paused replica: got %v, want ErrUnavailable", w.name, err)
		}
		if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
			t.Errorf("%s waiting for a paused replica failed after %s, want about the 300ms wait timeout", w.name, d)
		}
	}
	for _, n := range replicas {
		if err := n.Resume(); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range writes {
		if err := ackedWithin(w.write, 4, 10*time.Second); err != nil {
			t.Errorf("%s after the replica resumed: %v", w.name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
