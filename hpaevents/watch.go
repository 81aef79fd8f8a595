package hpaevents

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// LiveSource watches HPAs and passes what it sees to a Sink until ctx ends
// (live.Source, a client-go informer).
type LiveSource interface {
	Run(ctx context.Context) error
}

// HistorySource reads the HPAs' past into a Sink (history.Source, from kube-state-metrics
// series in Prometheus). Backfill passes [start, end] in time order; Step is its sample grid.
type HistorySource interface {
	Backfill(ctx context.Context, start, end time.Time) error
	Step() time.Duration
}

// WatchOptions configure Watch; Live or History (or both) must be set.
type WatchOptions struct {
	// Live watches HPAs; nil where the scaler has no watch access.
	Live LiveSource
	// History fills the log from Prometheus; nil without Prometheus.
	History HistorySource
	// Backfill is how much history is read at start (default 24 h); with Live nil, History is
	// then polled every Poll (default 1 min) instead.
	Backfill time.Duration
	Poll     time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Watch runs the sources as the serve command needs them until ctx ends: history first (the
// deriver ignores observations older than ones it has seen, so the past must come before the
// live watch), then the live watch, or, without it, history polled. A failed backfill is
// logged and skipped: the live log does not wait for Prometheus.
func Watch(ctx context.Context, opts WatchOptions) error {
	if opts.Live == nil && opts.History == nil {
		return errors.New("watch hpa events: no source")
	}
	if opts.Backfill <= 0 {
		opts.Backfill = 24 * time.Hour
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	end := opts.Now()
	if opts.History != nil {
		if err := opts.History.Backfill(ctx, end.Add(-opts.Backfill), end); err != nil {
			opts.Logger.Warn("hpa history backfill failed; events of that time may be missing", "err", err)
		}
	}
	if opts.Live != nil {
		return opts.Live.Run(ctx)
	}
	step := opts.History.Step()
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// Continue on the same step grid so no sample time is read twice or skipped.
		now := opts.Now()
		n := now.Sub(end) / step
		if n < 1 {
			continue
		}
		next := end.Add(n * step)
		if err := opts.History.Backfill(ctx, end.Add(step), next); err != nil {
			opts.Logger.Warn("reading hpa history failed; retrying at the next poll", "err", err)
			continue
		}
		end = next
	}
}
