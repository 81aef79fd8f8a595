package forecaster

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// TestShutdownAbortsManualRun: a manual run outlives its request but not the process; at
// shutdown it is recorded aborted and the run lock is released, so a restarted process can
// run at once. Regression test for issue 11, item 4 (409 for ~125 s after a restart).
func TestShutdownAbortsManualRun(t *testing.T) {
	for _, tc := range lockStores {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			fx := newFixture(t, func(o *Options) { o.Store = st; o.Parallelism = 3 })
			fx.hist.block["search"] = make(chan struct{}) // never released
			ctx, cancelRequest := context.WithCancel(t.Context())
			id, err := fx.f.Trigger(ctx, "")
			require.NoError(t, err)
			cancelRequest() // the request ends; the run goes on
			require.Eventually(t, func() bool {
				r, _ := fx.f.Run(id)
				return r.State == scaling.RunRunning && len(r.Results) == 3 && r.Results[1].State == scaling.RunRunning
			}, 10*time.Second, 5*time.Millisecond, "search is being fitted")
			r, _ := fx.f.Run(id)
			require.Zero(t, r.FinishedAt)

			sctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			require.NoError(t, fx.f.Shutdown(sctx))

			stored, err := st.GetRun(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, scaling.RunAborted, stored.State)
			require.NotZero(t, stored.FinishedAt)
			byName := map[string]scaling.ServiceForecastResult{}
			for _, res := range stored.Results {
				byName[res.Service] = res
			}
			require.Equal(t, scaling.RunAborted, byName["search"].State, "cut short while reading history: aborted, not failed")
			require.Contains(t, byName["search"].Error, "cut short: the run was aborted")
			require.Contains(t, byName["search"].Error, "forecaster shutting down")
			require.Equal(t, 1.0, testutil.ToFloat64(fx.f.m.runs.WithLabelValues(string(scaling.RunAborted))))

			// The lock is free: another process (a restarted one) runs at once.
			other, _ := replica(t, fx, st, nil)
			run, err := other.RunOnce(t.Context(), "manual", "checkout")
			require.NoError(t, err)
			require.Equal(t, scaling.RunSucceeded, run.State)

			// This one takes no more runs.
			_, err = fx.f.Trigger(t.Context(), "checkout")
			require.ErrorIs(t, err, ErrBusy)
		})
	}
}

// TestCancelledScheduledRunIsAborted: a scheduled run whose context ends (Start's, at
// SIGTERM) starts no further service, is recorded aborted and releases the lock.
func TestCancelledScheduledRunIsAborted(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.Parallelism = 1 })
	release := make(chan struct{})
	fx.hist.block["checkout"] = release
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan scaling.ForecastRun)
	go func() {
		run, err := fx.f.RunOnce(ctx, "schedule", "")
		require.NoError(t, err)
		done <- run
	}()
	h := fx.hist
	calls := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.calls
	}
	require.Eventually(t, func() bool { return calls() == 1 }, 10*time.Second, 5*time.Millisecond, "checkout is being fitted")
	cancel()
	run := <-done
	require.Equal(t, scaling.RunAborted, run.State)
	require.Len(t, run.Results, 3)
	for _, r := range run.Results[1:] {
		require.Equal(t, scaling.RunAborted, r.State, r.Service)
		require.Contains(t, r.Error, "not fitted: the run was aborted")
	}
	require.Equal(t, 1, calls(), "no service started after the abort")
	require.Equal(t, scaling.RunAborted, run.Results[0].State, "cut short while reading history: aborted, not failed")
	require.Contains(t, run.Results[0].Error, "cut short: the run was aborted")
	stored, err := fx.st.GetRun(t.Context(), run.ID)
	require.NoError(t, err)
	require.Equal(t, run, stored)
	ok, err := fx.st.TryLock(t.Context(), RunLockName, "next", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "run lock released")
}

// TestAbandonStaleRuns: runs a dead process left queued or running are marked abandoned once
// the run lock is free (the dead process' lease expired); never while it is held.
func TestAbandonStaleRuns(t *testing.T) {
	for _, tc := range lockStores {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			fx := newFixture(t, func(o *Options) { o.Store = st })
			fx.f.abandonGrace = 10 * time.Millisecond
			now := fx.clock.Now().UnixMilli()
			dead := scaling.ForecastRun{ID: "dead-run", Trigger: "manual", State: scaling.RunRunning, QueuedAt: now - 1000, StartedAt: now - 900,
				Results: []scaling.ServiceForecastResult{{Service: "checkout", State: scaling.RunSucceeded}, {Service: "search", State: scaling.RunRunning}}}
			queued := scaling.ForecastRun{ID: "dead-queued", Trigger: "schedule", State: scaling.RunQueued, QueuedAt: now - 500, Results: []scaling.ServiceForecastResult{}}
			done := scaling.ForecastRun{ID: "done", Trigger: "schedule", State: scaling.RunSucceeded, QueuedAt: now - 2000, FinishedAt: now - 1500, Results: []scaling.ServiceForecastResult{}}
			for _, r := range []scaling.ForecastRun{dead, queued, done} {
				require.NoError(t, st.PutRun(t.Context(), r))
			}

			// The dead process' lease has not expired: nothing is marked.
			ok, err := st.TryLock(t.Context(), RunLockName, "dead-run", time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			n, busy, err := fx.f.AbandonStaleRuns(t.Context())
			require.NoError(t, err)
			require.True(t, busy)
			require.Zero(t, n)
			got, err := st.GetRun(t.Context(), "dead-run")
			require.NoError(t, err)
			require.Equal(t, scaling.RunRunning, got.State)

			require.NoError(t, st.Unlock(t.Context(), RunLockName, "dead-run")) // as if it expired
			n, busy, err = fx.f.AbandonStaleRuns(t.Context())
			require.NoError(t, err)
			require.False(t, busy)
			require.Equal(t, 2, n)
			got, err = st.GetRun(t.Context(), "dead-run")
			require.NoError(t, err)
			require.Equal(t, scaling.RunAbandoned, got.State)
			require.Equal(t, now, got.FinishedAt)
			require.Equal(t, scaling.RunSucceeded, got.Results[0].State)
			require.Equal(t, scaling.RunAbandoned, got.Results[1].State)
			got, err = st.GetRun(t.Context(), "dead-queued")
			require.NoError(t, err)
			require.Equal(t, scaling.RunAbandoned, got.State)
			got, err = st.GetRun(t.Context(), "done")
			require.NoError(t, err)
			require.Equal(t, done, got)

			// The check's own lock is released: runs go on.
			run, err := fx.f.RunOnce(t.Context(), "manual", "checkout")
			require.NoError(t, err)
			require.Equal(t, scaling.RunSucceeded, run.State)
		})
	}
}

// TestAbandonDoesNotOverwriteAFinalWrite: a run that released the lock just before the check
// took it, and writes its end during the grace, keeps its end.
func TestAbandonDoesNotOverwriteAFinalWrite(t *testing.T) {
	fx := newFixture(t, nil)
	fx.f.abandonGrace = 300 * time.Millisecond
	r := scaling.ForecastRun{ID: "finishing", Trigger: "manual", State: scaling.RunRunning, QueuedAt: fx.clock.Now().UnixMilli(), Results: []scaling.ServiceForecastResult{}}
	require.NoError(t, fx.st.PutRun(t.Context(), r))
	go func() {
		time.Sleep(50 * time.Millisecond)
		r.State, r.FinishedAt = scaling.RunSucceeded, r.QueuedAt+1
		_ = fx.st.PutRun(context.Background(), r)
	}()
	n, _, err := fx.f.AbandonStaleRuns(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	got, err := fx.st.GetRun(t.Context(), "finishing")
	require.NoError(t, err)
	require.Equal(t, scaling.RunSucceeded, got.State)
}

// TestSuperviseSeedsLastSuccess: after a restart the last-success gauge reads the newest
// stored run that stored a prediction (succeeded or partial), not 0, which KaiForecastStale
// reads as no forecast since start; a newer failed run does not count.
func TestSuperviseSeedsLastSuccess(t *testing.T) {
	fx := newFixture(t, nil)
	now := fx.clock.Now().UnixMilli()
	for _, r := range []scaling.ForecastRun{
		{ID: "old", Trigger: "schedule", State: scaling.RunSucceeded, QueuedAt: now - 9000, FinishedAt: now - 8000, Results: []scaling.ServiceForecastResult{}},
		{ID: "partial", Trigger: "schedule", State: scaling.RunPartial, QueuedAt: now - 5000, FinishedAt: now - 4000, Results: []scaling.ServiceForecastResult{}},
		{ID: "failed", Trigger: "schedule", State: scaling.RunFailed, QueuedAt: now - 2000, FinishedAt: now - 1000, Results: []scaling.ServiceForecastResult{}},
	} {
		require.NoError(t, fx.st.PutRun(t.Context(), r))
	}
	require.Zero(t, testutil.ToFloat64(fx.f.m.lastSuccess))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- fx.f.Supervise(ctx, time.Second) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(fx.f.m.lastSuccess) != 0 }, 10*time.Second, 10*time.Millisecond)
	require.InDelta(t, float64(now-4000)/1000, testutil.ToFloat64(fx.f.m.lastSuccess), 1e-6)
	fx.f.noteSuccess(time.UnixMilli(now - 6000))
	require.InDelta(t, float64(now-4000)/1000, testutil.ToFloat64(fx.f.m.lastSuccess), 1e-6, "an older success never moves it back")
	cancel()
	require.NoError(t, <-done)
}
