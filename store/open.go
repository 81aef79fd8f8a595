package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BoltFileName is the file Open keeps the embedded store in, inside the data directory.
const BoltFileName = "kai-scaler.db"

// Options are the settings both backends share, for Open.
type Options struct {
	// Retention bounds each service's event log; zero means DefaultEventRetention.
	Retention EventRetention
	// PredictionsPerService is how many predictions each service keeps; default 48.
	PredictionsPerService int
	// RedisPrefix starts every Redis key; default "kai:".
	RedisPrefix string
	// RedisMasterName is the Sentinel master name when REDIS_URL lists several addresses.
	RedisMasterName string
	// RedisWaitReplicas and RedisWaitTimeout are RedisOptions.WaitReplicas and WaitTimeout;
	// REDIS_URL's wait_replicas and wait_timeout parameters set them too.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// Logger receives a warning when Redis does not answer at start, and the Redis store's
	// outage transitions; default slog.Default().
	Logger *slog.Logger
	// Limits cap the stored patterns and dependencies.
	Limits Limits
	// Registerer, when set, gets the Redis store's availability metrics.
	Registerer prometheus.Registerer
	// Now is the clock for event retention by age; default time.Now.
	Now func() time.Time
}

// Open returns the Redis store when redisURL is set, else the embedded bbolt store in
// dataDir/kai-scaler.db (creating dataDir). A Redis that does not answer yet is not an error:
// the store is returned, a warning is logged, and calls fail with ErrUnavailable (and /readyz
// with them) until it answers. The caller closes the store.
func Open(ctx context.Context, redisURL, dataDir string, opts Options) (Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if redisURL != "" {
		r, err := NewRedis(RedisOptions{
			URL:                   redisURL,
			MasterName:            opts.RedisMasterName,
			WaitReplicas:          opts.RedisWaitReplicas,
			WaitTimeout:           opts.RedisWaitTimeout,
			Prefix:                opts.RedisPrefix,
			Retention:             opts.Retention,
			PredictionsPerService: opts.PredictionsPerService,
			Now:                   opts.Now,
			Logger:                logger,
			Limits:                opts.Limits,
			Registerer:            opts.Registerer,
		})
		if err != nil {
			return nil, fmt.Errorf("open redis store: %w", err)
		}
		if err := r.Ping(ctx); err != nil {
			logger.Warn("redis not answering at start; store calls fail until it does", "err", err)
			return r, nil
		}
		// Issue 11, item 13: patterns and dependencies move out of their single hashes.
		if n, err := r.MigrateLayout(ctx); err != nil {
			logger.Warn("patterns and dependencies not migrated to the per-object layout; the old ones are not listed until a restart migrates them", "migrated", n, "err", err)
		} else if n > 0 {
			logger.Info("patterns and dependencies migrated to the per-object layout", "objects", n)
		}
		return r, nil
	}
	if dataDir == "" {
		return nil, errors.New("open embedded store: no data directory (set DATA_DIR or REDIS_URL)")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	b, err := OpenBolt(filepath.Join(dataDir, BoltFileName), BoltOptions{
		Limits:                opts.Limits,
		Retention:             opts.Retention,
		PredictionsPerService: opts.PredictionsPerService,
		Now:                   opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	return b, nil
}
