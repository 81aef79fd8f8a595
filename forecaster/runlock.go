package forecaster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Operations of kai_forecast_lock_errors_total.
const (
	lockOpTake    = "take"
	lockOpRenew   = "renew"
	lockOpLost    = "lost"
	lockOpRelease = "release"
)

// lock takes the cluster-wide run lock for owner. Held elsewhere is ErrBusy (409 at the API;
// a scheduled run is skipped). A lock store that cannot answer refuses the run: without the
// lock another replica may be writing the same services, and we cannot know.
func (f *Forecaster) lock(ctx context.Context, owner string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runStoreTimeout)
	defer cancel()
	ok, err := f.opts.Store.TryLock(ctx, RunLockName, owner, f.opts.LockTTL)
	if err != nil {
		f.m.lockErrors.WithLabelValues(lockOpTake).Inc()
		f.log.Error("forecast run refused: the run lock could not be taken, so another replica may be running", "run", owner, "err", err)
		return fmt.Errorf("forecast refused: cannot take the cluster-wide run lock %q: %w", RunLockName, err)
	}
	if !ok {
		return fmt.Errorf("forecast (run lock %q held by another replica): %w", RunLockName, ErrBusy)
	}
	return nil
}

// keepLock renews owner's run lock every LockTTL/3 until the returned stop is called. A
// failed renewal is logged and counted, never fatal: the run finishes (stopping it half
// way would leave some services fitted and others not), but another replica may start
// once the lease runs out, which the metric makes visible.
func (f *Forecaster) keepLock(ctx context.Context, owner string, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := max(f.opts.LockTTL/3, time.Millisecond)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, every)
			ok, err := f.opts.Store.RenewLock(rctx, RunLockName, owner, f.opts.LockTTL)
			rcancel()
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				f.m.lockErrors.WithLabelValues(lockOpRenew).Inc()
				log.Warn("run lock not renewed; retrying, the run goes on", "lock", RunLockName, "ttl", f.opts.LockTTL, "err", err)
			case !ok:
				f.m.lockErrors.WithLabelValues(lockOpLost).Inc()
				log.Error("run lock lost (it expired); the run goes on, but another replica may run at the same time", "lock", RunLockName, "ttl", f.opts.LockTTL)
				return
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// unlock releases owner's run lock; a failure is logged and counted (the lease expires
// within LockTTL anyway).
func (f *Forecaster) unlock(ctx context.Context, owner string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runStoreTimeout)
	defer cancel()
	if err := f.opts.Store.Unlock(ctx, RunLockName, owner); err != nil {
		f.m.lockErrors.WithLabelValues(lockOpRelease).Inc()
		f.log.Warn("run lock not released; other runs wait until it expires", "run", owner, "ttl", f.opts.LockTTL, "err", err)
	}
}
