package forecaster

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// openRedisStore returns a Redis store under a key prefix of its own, deleted at cleanup.
func openRedisStore(t *testing.T) *store.Redis {
	return storetest.OpenRedis(t, store.RedisOptions{Now: storeNow})
}

// lockStores are the shared stores two replicas' Forecasters are tested on: bolt (one
// process) and Redis (what replicas in different pods share).
var lockStores = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"bolt", func(t *testing.T) Store { return openStore(t) }},
	{"redis", func(t *testing.T) Store { return openRedisStore(t) }},
}

// replica is a second Forecaster sharing fx's store and clock, with history of its own.
func replica(t *testing.T, fx fixture, st Store, mod func(*Options)) (*Forecaster, *synthetic) {
	hist := newSynthetic()
	opts := Options{Services: fx.f.opts.Services, History: hist, Store: st, Logger: testLogger(t),
		Registerer: prometheus.NewRegistry(), Now: fx.clock.Now}
	if mod != nil {
		mod(&opts)
	}
	return New(opts), hist
}

func waitFinished(t *testing.T, f *Forecaster, id string) scaling.ForecastRun {
	t.Helper()
	require.Eventually(t, func() bool {
		r, _ := f.Run(id)
		return r.FinishedAt != 0
	}, 30*time.Second, 10*time.Millisecond)
	r, _ := f.Run(id)
	return r
}

// TestRunLockAcrossReplicas: while one replica runs, another's manual runs are refused with
// ErrBusy and its scheduled runs are skipped; once the run finishes, the other can run.
func TestRunLockAcrossReplicas(t *testing.T) {
	for _, tc := range lockStores {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			// A short lease, so the run below outlives several: only renewal keeps it. At 300 ms
			// a renewal held up for 200 ms (bbolt's fsync on a loaded two-core machine) lost it.
			const ttl = time.Second
			fx := newFixture(t, func(o *Options) { o.Store, o.LockTTL = st, ttl })
			b, _ := replica(t, fx, st, func(o *Options) { o.Schedule = "@every 1s" })
			release := make(chan struct{})
			fx.hist.block["checkout"] = release

			id, err := fx.f.Trigger(t.Context(), "checkout")
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				r, _ := fx.f.Run(id)
				return r.State == scaling.RunRunning
			}, 5*time.Second, 5*time.Millisecond)

			_, err = b.Trigger(t.Context(), "search")
			require.ErrorIs(t, err, ErrBusy)
			var busy interface{ Busy() bool }
			require.ErrorAs(t, err, &busy, "the API answers 409")
			require.Empty(t, b.Runs(), "a refused trigger leaves no run behind")

			// A scheduled run on the other replica is skipped and counted.
			sctx, stop := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- b.Start(sctx) }()
			require.Eventually(t, func() bool { return testutil.ToFloat64(b.m.runs.WithLabelValues(resultSkipped)) >= 1 }, 5*time.Second, 20*time.Millisecond)
			stop()
			require.NoError(t, <-done)

			// Past several leases the lock is still held: the run renews it.
			time.Sleep(3 * ttl)
			_, err = b.RunOnce(t.Context(), "manual", "search")
			require.ErrorIs(t, err, ErrBusy)

			close(release)
			r := waitFinished(t, fx.f, id)
			require.Equal(t, scaling.RunSucceeded, r.State)
			for _, op := range []string{lockOpTake, lockOpRenew, lockOpLost, lockOpRelease} {
				require.Zero(t, testutil.ToFloat64(fx.f.m.lockErrors.WithLabelValues(op)), op)
			}

			// Released: the other replica runs now, and then the first one again.
			run, err := b.RunOnce(t.Context(), "manual", "search")
			require.NoError(t, err)
			require.Equal(t, scaling.RunSucceeded, run.State)
			run, err = fx.f.RunOnce(t.Context(), "manual", "search")
			require.NoError(t, err)
			require.Equal(t, scaling.RunSucceeded, run.State)
		})
	}
}

// TestExpiredRunLockIsTakenOver: a replica that died holding the lock (never renewed, never
// released) keeps the others out only until its lease expires.
func TestExpiredRunLockIsTakenOver(t *testing.T) {
	for _, tc := range lockStores {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			fx := newFixture(t, func(o *Options) { o.Store = st })
			ok, err := st.TryLock(t.Context(), RunLockName, "dead-replica", 500*time.Millisecond)
			require.NoError(t, err)
			require.True(t, ok)

			_, err = fx.f.Trigger(t.Context(), "search")
			require.ErrorIs(t, err, ErrBusy)
			var id string
			require.Eventually(t, func() bool {
				id, err = fx.f.Trigger(t.Context(), "search")
				return err == nil
			}, 10*time.Second, 50*time.Millisecond)
			require.Equal(t, scaling.RunSucceeded, waitFinished(t, fx.f, id).State)
			// The dead holder cannot release the lock it lost.
			require.ErrorIs(t, st.Unlock(t.Context(), RunLockName, "dead-replica"), store.ErrLockNotHeld)
		})
	}
}

// faultyLocker fails the run lock's operations with the errors set.
type faultyLocker struct {
	Store
	tryErr, renewErr error
	renews           atomic.Int64
}

func (l *faultyLocker) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if l.tryErr != nil {
		return false, l.tryErr
	}
	return l.Store.TryLock(ctx, name, owner, ttl)
}

func (l *faultyLocker) RenewLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	l.renews.Add(1)
	if l.renewErr != nil {
		return false, l.renewErr
	}
	return l.Store.RenewLock(ctx, name, owner, ttl)
}

// TestRunRefusedWhenLockStoreUnreachable: without an answer about the lock, no run starts
// (another replica may be running); the refusal reads as the store's unavailability (503).
func TestRunRefusedWhenLockStoreUnreachable(t *testing.T) {
	l := &faultyLocker{tryErr: fmt.Errorf("take lock forecast-run: %w: dial tcp: connection refused", store.ErrUnavailable)}
	fx := newFixture(t, func(o *Options) { l.Store = o.Store; o.Store = l })
	_, err := fx.f.Trigger(t.Context(), "search")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.NotErrorIs(t, err, ErrBusy)
	require.ErrorContains(t, err, "forecast refused: cannot take the cluster-wide run lock")
	_, err = fx.f.RunOnce(t.Context(), "schedule", "")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Empty(t, fx.f.Runs())
	require.Equal(t, 2.0, testutil.ToFloat64(fx.f.m.lockErrors.WithLabelValues(lockOpTake)))
	preds, err := fx.st.ListPredictions(t.Context(), "", 0)
	require.NoError(t, err)
	require.Empty(t, preds, "nothing was fitted or written")

	// The store back: runs go through, and the refusals left nothing busy.
	l.tryErr = nil
	run, err := fx.f.RunOnce(t.Context(), "manual", "search")
	require.NoError(t, err)
	require.Equal(t, scaling.RunSucceeded, run.State)
}

// TestRenewFailureIsCountedAndTheRunFinishes: a renewal that fails is logged and counted;
// the run is not cut short.
func TestRenewFailureIsCountedAndTheRunFinishes(t *testing.T) {
	l := &faultyLocker{renewErr: fmt.Errorf("renew lock: %w", store.ErrUnavailable)}
	const ttl = 90 * time.Millisecond
	fx := newFixture(t, func(o *Options) { l.Store = o.Store; o.Store = l; o.LockTTL = ttl })
	release := make(chan struct{})
	fx.hist.block["search"] = release
	id, err := fx.f.Trigger(t.Context(), "search")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return testutil.ToFloat64(fx.f.m.lockErrors.WithLabelValues(lockOpRenew)) >= 4 }, 5*time.Second, 10*time.Millisecond)
	// 4 failed renewals at ttl/3 each: the lease (never renewed) has expired by now.
	close(release)
	require.Equal(t, scaling.RunSucceeded, waitFinished(t, fx.f, id).State)
	// The lease expired during the run: releasing it fails, which is counted too.
	require.Equal(t, 1.0, testutil.ToFloat64(fx.f.m.lockErrors.WithLabelValues(lockOpRelease)))

	// Renewal stops with the run.
	n := l.renews.Load()
	time.Sleep(3 * ttl)
	require.Equal(t, n, l.renews.Load())
}
