package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/store"
)

// syncBuffer is a log sink safe for the store's concurrent callers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisOutageLogsTransitionsOnly: 32 clients calling the store through a Redis outage
// get one Warn when it starts and one Info when it ends, whatever the number of failed calls;
// the failures are counted. Regression test for issue 11, item 11 (a 5 s outage wrote 7,248
// ERROR lines).
func TestRedisOutageLogsTransitionsOnly(t *testing.T) {
	testenv.RedisAddr(t) // integration tests only; this one runs its own server
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server must be on PATH (hack/with-test-env.sh installs it)")
	srv := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	srv.start()

	var logs syncBuffer
	reg := prometheus.NewRegistry()
	r, err := store.NewRedis(store.RedisOptions{URL: "redis://" + srv.addr(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })

	ctx, stop := context.WithCancel(context.Background())
	var calls, failed atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := r.GetPattern(context.Background(), "api")
				calls.Add(1)
				if errors.Is(err, store.ErrUnavailable) {
					failed.Add(1)
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	srv.kill()
	require.Eventually(t, func() bool { return failed.Load() > 100 }, 10*time.Second, 10*time.Millisecond)
	srv.start()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "store available again") }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()

	out := logs.String()
	t.Logf("%d calls, %d failed; log:\n%s", calls.Load(), failed.Load(), out)
	require.Equal(t, 1, strings.Count(out, "level=WARN msg=\"store unavailable"), out)
	require.Equal(t, 1, strings.Count(out, "level=INFO msg=\"store available again"), out)
	require.Equal(t, 2, strings.Count(out, "\n"), "no other line")
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kai_store_outages_total Times the store stopped answering (transitions of kai_store_up to 0).
# TYPE kai_store_outages_total counter
kai_store_outages_total 1
# HELP kai_store_up 1 while the store answers, 0 from its first failed command until one succeeds again.
# TYPE kai_store_up gauge
kai_store_up 1
`), "kai_store_outages_total", "kai_store_up"))
	n, err := testutil.GatherAndCount(reg, "kai_store_failed_commands_total")
	require.NoError(t, err)
	require.Positive(t, n)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var counted float64
	for _, mf := range mfs {
		if mf.GetName() == "kai_store_failed_commands_total" {
			for _, m := range mf.GetMetric() {
				counted += m.GetCounter().GetValue()
			}
		}
	}
	require.GreaterOrEqual(t, counted, float64(failed.Load()), "every failed call counted")
}
