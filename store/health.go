package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// LogLevel is the level to log a failed store call at: Debug when err wraps ErrUnavailable,
// because the store itself logs an outage once when it starts and once when it ends and counts
// every failed command (kai_store_failed_commands_total); def otherwise. Loops that call the
// store on every tick use it so an outage is not one line per call (issue 11, item 11).
func LogLevel(err error, def slog.Level) slog.Level {
	if errors.Is(err, ErrUnavailable) {
		return slog.LevelDebug
	}
	return def
}

// health tracks whether the backend answers, from the outcome of every command: it logs one
// Warn when the backend stops answering and one Info when it answers again, and exports the
// state and counters. Safe for concurrent use.
type health struct {
	log *slog.Logger
	now func() time.Time

	up       prometheus.Gauge
	outages  prometheus.Counter
	failures *prometheus.CounterVec

	mu          sync.Mutex
	down        bool
	downSince   time.Time
	lastFailure time.Time
	failed      int // commands failed during the current outage
}

// healthSettle is how long an outage must have been free of failures before a success ends
// it: while Redis comes back, the client answers some calls and fails others (with the dial
// error it remembers) for a moment, which would otherwise log a transition per call.
const healthSettle = time.Second

func newHealth(log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &health{
		log: log, now: now,
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kai_store_up",
			Help: "1 while the store answers, 0 from its first failed command until one succeeds again.",
		}),
		outages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kai_store_outages_total",
			Help: "Times the store stopped answering (transitions of kai_store_up to 0).",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_store_failed_commands_total",
			Help: "Store backend commands that failed because the backend could not answer (network, timeout, loading, failover), by command.",
		}, []string{"command"}),
	}
	h.up.Set(1)
	if reg != nil {
		reg.MustRegister(h.up, h.outages, h.failures)
	}
	return h
}

// observe records one command's outcome: err nil or an answer from the backend counts as up,
// once healthSettle has passed since the last failure.
func (h *health) observe(ctx context.Context, command string, err error) {
	failed := err != nil && unavailable(err) && ctx.Err() == nil // the caller giving up is no outage
	if failed {
		h.failures.WithLabelValues(command).Inc()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case failed && !h.down:
		h.down, h.downSince, h.lastFailure, h.failed = true, h.now(), h.now(), 1
		h.up.Set(0)
		h.outages.Inc()
		h.log.Warn("store unavailable; calls fail (API 503) until it answers again, failures are counted in kai_store_failed_commands_total, not logged",
			"command", command, "err", err)
	case failed:
		h.failed++
		h.lastFailure = h.now()
	case err == nil || !unavailable(err):
		if h.down && h.now().Sub(h.lastFailure) >= healthSettle {
			h.down = false
			h.up.Set(1)
			h.log.Info("store available again", "outage", h.now().Sub(h.downSince).Round(time.Millisecond), "failed_commands", h.failed)
		}
	}
}

// redisHealthHook feeds every command's outcome to a health tracker.
type redisHealthHook struct{ h *health }

func (k redisHealthHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (k redisHealthHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil {
			err2 := cmd.Err()
			k.h.observe(ctx, commandName(cmd), replyErr(err2))
			return err
		}
		k.h.observe(ctx, commandName(cmd), replyErr(err))
		return err
	}
}

func (k redisHealthHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		name := "pipeline"
		if len(cmds) > 0 && strings.EqualFold(cmds[0].Name(), "multi") {
			name = "multi"
		}
		k.h.observe(ctx, name, replyErr(err))
		return err
	}
}

// replyErr drops redis.Nil (an answer: no such key).
func replyErr(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// commandName is a bounded label: the lowercase command name (evalsha, hgetall, ...).
func commandName(cmd redis.Cmder) string {
	n := strings.ToLower(cmd.Name())
	if n == "" {
		return "unknown"
	}
	return n
}

// redisLog routes go-redis' own messages (its pool logs every failed dial: one line per
// attempt during an outage) to Debug: the health tracker reports the outage once.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.Log(ctx, slog.LevelDebug, "redis client: "+fmt.Sprintf(format, v...))
}

// quietRedisOnce sets go-redis' process-wide logger once, from the first Redis store opened.
var quietRedisOnce sync.Once

func quietRedisClientLog(log *slog.Logger) {
	quietRedisOnce.Do(func() { redis.SetLogger(redisLog{log: log}) })
}
