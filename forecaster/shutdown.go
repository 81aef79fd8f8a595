package forecaster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// errShutdown is the cause of a run's context when Shutdown aborts it.
var errShutdown = errors.New("forecaster shutting down")

// runContext derives a run's context from parent: it also ends when Shutdown is called.
func (f *Forecaster) runContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		select {
		case <-f.closing:
			cancel(errShutdown)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// Shutdown refuses new runs (ErrBusy), aborts the runs in progress (manual runs outlive the
// request that started them, not the process) and waits until they are recorded aborted and
// their run lock released, or until ctx ends. Safe to call more than once.
func (f *Forecaster) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.closing)
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		f.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("forecast runs still finishing at shutdown: %w", context.Cause(ctx))
	}
}

// AbandonStaleRuns marks abandoned the runs a dead process left queued or running. A run in
// progress always holds the run lock, so it takes the lock itself first: when it is held
// elsewhere (a live run, or the lease of a process that died, until it expires), it does
// nothing and returns busy true. It returns how many runs it marked.
func (f *Forecaster) AbandonStaleRuns(ctx context.Context) (marked int, busy bool, err error) {
	owner := fmt.Sprintf("abandon-stale-runs-%08x", rand.Uint32())
	lctx, cancel := context.WithTimeout(ctx, runStoreTimeout)
	ok, err := f.opts.Store.TryLock(lctx, RunLockName, owner, f.opts.LockTTL)
	cancel()
	if err != nil {
		return 0, false, fmt.Errorf("take run lock %q: %w", RunLockName, err)
	}
	if !ok {
		return 0, true, nil
	}
	defer f.unlock(ctx, owner)
	stale, err := f.unfinishedRuns(ctx)
	if err != nil || len(stale) == 0 {
		return 0, false, err
	}
	// A run that released the lock just before we took it writes its final state within
	// runStoreTimeout: wait that long, then read again, so a finished run is never overwritten.
	select {
	case <-time.After(f.abandonGrace):
	case <-ctx.Done():
		return 0, false, context.Cause(ctx)
	}
	stale, err = f.unfinishedRuns(ctx)
	if err != nil {
		return 0, false, err
	}
	now := f.opts.Now().UnixMilli()
	for _, r := range stale {
		r.State, r.FinishedAt = scaling.RunAbandoned, now
		for i := range r.Results {
			if !r.Results[i].State.Finished() {
				r.Results[i].State = scaling.RunAbandoned
			}
		}
		ctx, cancel := context.WithTimeout(ctx, runStoreTimeout)
		err := f.opts.Store.PutRun(ctx, r)
		cancel()
		if err != nil {
			return marked, false, fmt.Errorf("mark run %s abandoned: %w", r.ID, err)
		}
		marked++
		f.m.runs.WithLabelValues(string(scaling.RunAbandoned)).Inc()
		f.log.Warn("forecast run left unfinished by a stopped process; marked abandoned", "run", r.ID, "queued_at", time.UnixMilli(r.QueuedAt).UTC())
	}
	return marked, false, nil
}

func (f *Forecaster) unfinishedRuns(ctx context.Context) ([]scaling.ForecastRun, error) {
	ctx, cancel := context.WithTimeout(ctx, runStoreTimeout)
	defer cancel()
	runs, err := f.opts.Store.ListRuns(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []scaling.ForecastRun
	for _, r := range runs {
		if !r.State.Finished() {
			out = append(out, r)
		}
	}
	return out, nil
}

// noteSuccess exports at as the end of the newest run that stored a prediction, unless a newer
// one is known.
func (f *Forecaster) noteSuccess(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if at.After(f.lastSuccess) {
		f.lastSuccess = at
		f.m.lastSuccess.Set(float64(at.UnixMilli()) / 1000)
	}
}

// seedLastSuccess exports the end of the newest stored run that stored a prediction. Without
// it the gauge read 0 after every restart until the next scheduled run, and KaiForecastStale,
// which reads 0 as "no forecast since start", fired on a restart an hour before the next run.
func (f *Forecaster) seedLastSuccess(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, runStoreTimeout)
	defer cancel()
	runs, err := f.opts.Store.ListRuns(ctx, 0)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	for _, r := range runs {
		if (r.State == scaling.RunSucceeded || r.State == scaling.RunPartial) && r.FinishedAt > 0 {
			f.noteSuccess(time.UnixMilli(r.FinishedAt))
		}
	}
	return nil
}

// Supervise runs beside the forecaster on every replica until ctx ends: at start it exports
// the end of the newest stored successful run and marks abandoned the runs a dead process left
// unfinished (retrying every LockTTL while the run lock is held, e.g. by the dead process'
// lease), and when ctx ends it calls Shutdown, waiting at most drain for the runs in progress
// to record their end.
func (f *Forecaster) Supervise(ctx context.Context, drain time.Duration) error {
	if err := f.seedLastSuccess(ctx); err != nil && ctx.Err() == nil {
		f.log.Warn("last successful forecast run not read; kai_forecast_last_success_timestamp_seconds waits for the next run", "err", err)
	}
	for {
		n, busy, err := f.AbandonStaleRuns(ctx)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("stale forecast runs not checked; retrying", "retry_in", f.opts.LockTTL, "err", err)
		}
		if err == nil && !busy {
			if n > 0 {
				f.log.Info("stale forecast runs marked abandoned", "runs", n)
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.opts.LockTTL):
			continue
		}
		break
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	return f.Shutdown(sctx)
}
