package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// logSink collects JSON log lines and hands each to waiters, so a test can learn the
// address serve listens on from its "listening" line.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan map[string]any
}

func newLogSink() *logSink { return &logSink{lines: make(chan map[string]any, 256)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	for _, l := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil {
			select {
			case s.lines <- m:
			default: // nobody is waiting for more lines
			}
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSink) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m := <-s.lines:
			if m["msg"] == msg {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q log line in 60s; log:\n%s", msg, s.String())
		}
	}
}

// startServe runs "kai-scaler serve" in-process on a free loopback port and returns its base
// URL and a function that stops it (cancels ctx) and returns the exit code.
func startServe(t *testing.T, env map[string]string, args ...string) (string, *logSink, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	sink := newLogSink()
	c := cli{stdout: io.Discard, stderr: sink, getenv: envMap(env)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, c, append([]string{"serve", "--listen.addr=127.0.0.1:0", "--log.format=json"}, args...))
	}()
	var base string
	select {
	case code := <-done:
		cancel()
		t.Fatalf("serve exited early with %d; log:\n%s", code, sink.String())
	default:
	}
	m := sink.waitFor(t, "listening")
	base = "http://" + m["addr"].(string)
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatalf("serve did not stop within 30s of cancel; log:\n%s", sink.String())
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return base, sink, stop
}

func httpDo(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	if body != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func exerciseServer(t *testing.T, base string, auth map[string]string) {
	code, body := httpDo(t, "GET", base+"/healthz", "", nil)
	require.Equal(t, 200, code, body)
	code, body = httpDo(t, "GET", base+"/readyz", "", nil)
	require.Equal(t, 200, code, body)

	code, body = httpDo(t, "POST", base+"/api/predictive-scaling/patterns/coordinator",
		`{"patternType":"daily","timeWindows":[{"dayOfWeek":1,"hourOfDay":9,"expectedLoad":0.8}]}`, auth)
	require.Equal(t, 200, code, body)
	code, body = httpDo(t, "GET", base+"/api/predictive-scaling/patterns", "", auth)
	require.Equal(t, 200, code, body)
	var got struct {
		Patterns []struct {
			Service     string `json:"service"`
			LastUpdated int64  `json:"lastUpdated"`
		} `json:"patterns"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Patterns, 1)
	require.Equal(t, "coordinator", got.Patterns[0].Service)
	require.InDelta(t, time.Now().UnixMilli(), got.Patterns[0].LastUpdated, 60_000)

	code, body = httpDo(t, "GET", base+"/metrics", "", nil)
	require.Equal(t, 200, code)
	require.Contains(t, body, `kai_http_requests_total{code="200",method="POST",route="/api/predictive-scaling/patterns/{service}"} 1`)
	require.Contains(t, body, "go_goroutines")
	require.Contains(t, body, "process_cpu_seconds_total")
}

func TestServeEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	base, sink, stop := startServe(t, map[string]string{"DATA_DIR": dir, "GRAFANA_URL": "http://grafana.test"})
	exerciseServer(t, base, nil)

	code, body := httpDo(t, "GET", base+"/api/dashboards", "", nil)
	require.Equal(t, 200, code)
	require.Contains(t, body, `"url":"http://grafana.test/d/kai-predictive-scaling`)

	require.Equal(t, 0, stop(), "log:\n%s", sink.String())
	require.Contains(t, sink.String(), `"msg":"stopped"`)

	// The data survived the restart in the same directory.
	base, sink, stop = startServe(t, map[string]string{"DATA_DIR": dir})
	code, body = httpDo(t, "GET", base+"/api/predictive-scaling/patterns/coordinator", "", nil)
	require.Equal(t, 200, code, body)
	require.Equal(t, 0, stop(), "log:\n%s", sink.String())
}

func TestServeRedisWithToken(t *testing.T) {
	addr := testenv.RedisAddr(t)
	prefix := fmt.Sprintf("kai-test-serve-%d:", time.Now().UnixNano())
	t.Cleanup(func() { deleteRedisPrefix(t, addr, prefix) })
	base, sink, stop := startServe(t, map[string]string{"REDIS_URL": "redis://" + addr + "/0", "REDIS_PREFIX": prefix, "API_TOKEN": "tok"})
	code, body := httpDo(t, "GET", base+"/api/predictive-scaling/patterns", "", nil)
	require.Equal(t, 401, code, body)
	exerciseServer(t, base, map[string]string{"Authorization": "Bearer tok"})
	require.Equal(t, 0, stop(), "log:\n%s", sink.String())
	require.NotContains(t, sink.String(), "non-loopback")
}

func deleteRedisPrefix(t *testing.T, addr, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	if len(keys) > 0 {
		require.NoError(t, c.Del(ctx, keys...).Err())
	}
}

func TestServeBadConfig(t *testing.T) {
	var stderr strings.Builder
	code := run(t.Context(), cli{stdout: io.Discard, stderr: &stderr, getenv: envMap(map[string]string{"ENABLE_PREDICTIVE_SCALING": "yes"})}, []string{"serve"})
	require.Equal(t, 2, code)
	require.Contains(t, stderr.String(), `invalid ENABLE_PREDICTIVE_SCALING "yes": must be true or false`)
}

func TestServeListenError(t *testing.T) {
	base, _, stop := startServe(t, map[string]string{"DATA_DIR": t.TempDir()})
	defer stop()
	var stderr strings.Builder
	code := run(t.Context(), cli{stdout: io.Discard, stderr: &stderr, getenv: envMap(map[string]string{"DATA_DIR": t.TempDir()})},
		[]string{"serve", "--listen.addr=" + strings.TrimPrefix(base, "http://")})
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "address already in use")
}

// TestServeRefusesOpenAPIBeyondLoopback: regression test for issue 11, item 2 (the API was
// served to every interface without a token when the Secret was absent).
func TestServeRefusesOpenAPIBeyondLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "kai.example:0"} {
		t.Run(addr, func(t *testing.T) {
			var stderr strings.Builder
			code := run(t.Context(), cli{stdout: io.Discard, stderr: &stderr, getenv: envMap(map[string]string{"DATA_DIR": t.TempDir()})},
				[]string{"serve", "--listen.addr=" + addr})
			require.Equal(t, 2, code, stderr.String())
			require.Contains(t, stderr.String(), "refusing to serve the API on "+addr+" without API_TOKEN")
		})
	}
	t.Run("insecure-no-auth serves and warns", func(t *testing.T) {
		base, sink, stop := startServe(t, map[string]string{"DATA_DIR": t.TempDir()}, "--listen.addr=0.0.0.0:0", "--insecure-no-auth")
		code, body := httpDo(t, "GET", strings.Replace(base, "0.0.0.0", "127.0.0.1", 1)+"/api/predictive-scaling/patterns", "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, 0, stop(), "log:\n%s", sink.String())
		require.Contains(t, sink.String(), "without API_TOKEN (--insecure-no-auth)")
	})
	t.Run("a token allows any address", func(t *testing.T) {
		base, sink, stop := startServe(t, map[string]string{"DATA_DIR": t.TempDir(), "API_TOKEN": "tok"}, "--listen.addr=0.0.0.0:0")
		code, body := httpDo(t, "GET", strings.Replace(base, "0.0.0.0", "127.0.0.1", 1)+"/api/predictive-scaling/patterns", "", nil)
		require.Equal(t, 401, code, body)
		require.Equal(t, 0, stop(), "log:\n%s", sink.String())
	})
}
