package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// latencies collects per-request durations from every RunParallel goroutine.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(local []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, local...)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]
}

// runTimed runs op under b.RunParallel, timing each call, and reports p50 and p99.
func runTimed(b *testing.B, op func() error) (p50, p99 time.Duration) {
	var all latencies
	b.SetParallelism(4) // 4 × GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			start := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(start))
		}
		all.add(local)
	})
	b.StopTimer()
	p50, p99 = all.quantile(0.50), all.quantile(0.99)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	return p50, p99
}

// BenchmarkPatternAPIRedis measures GET and POST of a pattern through the whole handler
// (middleware, auth, JSON, validation) over a real loopback HTTP server against the real
// Redis store, beside the floor: a raw go-redis GET round trip of a value of the same size.
// The API sub-benchmarks report their p99 over the floor's p99 ("p99/floor-p99"); the
// target is under 5.
func BenchmarkPatternAPIRedis(b *testing.B) {
	addr := testenv.RedisAddr(b)
	st := openRedisStore(b)
	const token = "bench-token"
	srv := httptest.NewServer(New(Options{Store: st, Token: token}).Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)

	body := writerPattern(7) // 8 windows, a typical hand-written pattern
	url := srv.URL + "/api/predictive-scaling/patterns/coordinator"
	do := func(method, body string) error {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", method, resp.StatusCode)
		}
		return nil
	}
	require.NoError(b, do(http.MethodPost, body))

	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	b.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	floorKey := fmt.Sprintf("kai-test-api-bench-floor:%d", time.Now().UnixNano())
	require.NoError(b, rdb.Set(ctx, floorKey, body, time.Hour).Err())
	b.Cleanup(func() { rdb.Del(context.Background(), floorKey) })

	var floorP99 time.Duration
	b.Run("floor-redis-GET", func(b *testing.B) {
		_, floorP99 = runTimed(b, func() error { return rdb.Get(ctx, floorKey).Err() })
	})
	for _, tc := range []struct{ name, method, body string }{
		{"GET-pattern", http.MethodGet, ""},
		{"POST-pattern", http.MethodPost, body},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, p99 := runTimed(b, func() error { return do(tc.method, tc.body) })
			if floorP99 > 0 {
				b.ReportMetric(float64(p99)/float64(floorP99), "p99/floor-p99")
			}
		})
	}
}
