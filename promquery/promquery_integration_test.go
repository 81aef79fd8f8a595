package promquery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/promtest"
	"github.com/kai-platform/kai-scaler/promquery"
)

// fixture is three weeks and a day of 1-minute load for three services ending at end, with a
// two-hour gap in checkout's history starting at gapStart.
type fixture struct {
	srv      *promtest.Server
	end      time.Time
	start    time.Time
	gapStart time.Time
	values   map[string][]float64
}

const gapLen = 120 // minutes

func startFixture(t *testing.T) fixture {
	t.Helper()
	end := time.Now().UTC().Truncate(time.Minute)
	n := 22 * 24 * 60
	start := end.Add(-time.Duration(n-1) * time.Minute)
	f := fixture{end: end, start: start, gapStart: end.Add(-10 * 24 * time.Hour), values: map[string][]float64{}}
	loads := map[string]promtest.Load{
		"auth":     {Base: 80, DailyAmp: 40, WeeklyAmp: 10, PeakHour: 9, Noise: 0.05, Seed: 1},
		"checkout": {Base: 200, DailyAmp: 120, WeeklyAmp: 60, PeakHour: 14, Noise: 0.05, Seed: 2},
		"search":   {Base: 500, DailyAmp: 300, WeeklyAmp: 100, PeakHour: 20, Noise: 0.05, Seed: 3},
	}
	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	for _, name := range []string{"auth", "checkout", "search"} {
		v := loads[name].Values(start, time.Minute, n)
		if name == "checkout" {
			g := int(f.gapStart.Sub(start) / time.Minute)
			for i := g; i < g+gapLen; i++ {
				v[i] = math.NaN()
			}
		}
		f.values[name] = v
		w.Gauge("app_load", map[string]string{"service": name}, start, time.Minute, v)
	}
	require.NoError(t, w.Close())
	f.srv = promtest.Start(t, &om)
	return f
}

// countingProxy forwards to target, counting requests; fail decides per request (1-based)
// whether to answer with an error status instead.
type countingProxy struct {
	n       atomic.Int64
	headers sync.Map // header value seen -> true
}

func newProxy(t *testing.T, target string, fail func(n int64, w http.ResponseWriter) bool) (*httptest.Server, *countingProxy) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	cp := &countingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cp.n.Add(1)
		cp.headers.Store(r.Header.Get("X-Scope-OrgID"), true)
		if fail != nil && fail(n, w) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, cp
}

func newClient(t *testing.T, url string, opts promquery.Options) *promquery.Client {
	t.Helper()
	opts.URL = url
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Millisecond
	}
	c, err := promquery.New(opts)
	require.NoError(t, err)
	return c
}

func TestIntegration(t *testing.T) {
	f := startFixture(t)

	t.Run("three weeks at 1m in several requests, no duplicates at seams", func(t *testing.T) {
		proxy, cp := newProxy(t, f.srv.URL, nil)
		c := newClient(t, proxy.URL, promquery.Options{Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}})
		from := f.end.Add(-21 * 24 * time.Hour)
		s, err := c.QueryRangeOne(t.Context(), `app_load{service="auth"}`, from, f.end, time.Minute)
		require.NoError(t, err)
		require.EqualValues(t, 3, cp.n.Load(), "30,241 points need 3 requests of at most 11,000")
		_, ok := cp.headers.Load("tenant-a")
		require.True(t, ok, "configured headers are sent")
		require.Equal(t, map[string]string{"__name__": "app_load", "service": "auth"}, s.Labels)
		require.Len(t, s.Samples, 21*24*60+1)
		off := int(from.Sub(f.start) / time.Minute)
		for i, smp := range s.Samples {
			require.Equal(t, from.Add(time.Duration(i)*time.Minute), smp.T, "sample %d", i)
			require.InDelta(t, f.values["auth"][off+i], smp.V, 1e-9, "sample %d", i)
		}
	})

	t.Run("gaps stay gaps", func(t *testing.T) {
		c := newClient(t, f.srv.URL, promquery.Options{})
		from, to := f.gapStart.Add(-time.Hour), f.gapStart.Add(4*time.Hour)
		s, err := c.QueryRangeOne(t.Context(), `app_load{service="checkout"}`, from, to, 5*time.Minute)
		require.NoError(t, err)
		g := s.Grid(from, to, 5*time.Minute)
		require.Len(t, g.Values, 61)
		gaps := 0
		for i, v := range g.Values {
			at := from.Add(time.Duration(i) * 5 * time.Minute)
			// Prometheus' 5m lookback carries the last value up to 5 minutes into the gap.
			inGap := at.After(f.gapStart.Add(4*time.Minute)) && at.Before(f.gapStart.Add(gapLen*time.Minute))
			if inGap {
				require.True(t, math.IsNaN(v), "point at %s is inside the gap, got %v", at, v)
				gaps++
			} else {
				require.False(t, math.IsNaN(v), "point at %s has data", at)
			}
		}
		require.Equal(t, 23, gaps)
	})

	t.Run("several series, sorted, and QueryRangeOne refuses them", func(t *testing.T) {
		c := newClient(t, f.srv.URL, promquery.Options{})
		from := f.end.Add(-time.Hour)
		ss, err := c.QueryRange(t.Context(), `app_load`, from, f.end, time.Minute)
		require.NoError(t, err)
		require.Len(t, ss, 3)
		for i, name := range []string{"auth", "checkout", "search"} {
			require.Equal(t, name, ss[i].Labels["service"])
			require.Len(t, ss[i].Samples, 61)
		}
		_, err = c.QueryRangeOne(t.Context(), `app_load`, from, f.end, time.Minute)
		var ce *promquery.SeriesCountError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, promquery.ErrNotOneSeries)
		require.Equal(t, 3, ce.Count)
		require.Contains(t, err.Error(), `service="search"`)

		_, err = c.QueryRangeOne(t.Context(), `app_load{service="nope"}`, from, f.end, time.Minute)
		require.ErrorAs(t, err, &ce)
		require.Zero(t, ce.Count)
	})

	t.Run("bad query is reported at once, not retried", func(t *testing.T) {
		proxy, cp := newProxy(t, f.srv.URL, nil)
		c := newClient(t, proxy.URL, promquery.Options{Retries: 5})
		_, err := c.QueryRange(t.Context(), `sum(app_load`, f.end.Add(-time.Hour), f.end, time.Minute)
		require.ErrorIs(t, err, promquery.ErrBadQuery)
		require.Contains(t, err.Error(), `query range "sum(app_load": bad query: `)
		require.Contains(t, err.Error(), "parse error")
		require.EqualValues(t, 1, cp.n.Load())
		require.NotContains(t, err.Error(), proxy.URL)
	})

	t.Run("instant query", func(t *testing.T) {
		c := newClient(t, f.srv.URL, promquery.Options{})
		s, err := c.QueryOne(t.Context(), `sum(app_load{service=~"auth|search"})`, f.end)
		require.NoError(t, err)
		require.Equal(t, f.end, s.T)
		last := len(f.values["auth"]) - 1
		require.InDelta(t, f.values["auth"][last]+f.values["search"][last], s.V, 1e-6)

		ss, err := c.Query(t.Context(), `app_load`, f.end)
		require.NoError(t, err)
		require.Len(t, ss, 3)

		sc, err := c.QueryOne(t.Context(), `scalar(sum(app_load))`, f.end)
		require.NoError(t, err)
		require.Greater(t, sc.V, 0.0)

		_, err = c.QueryOne(t.Context(), `app_load`, f.end)
		require.ErrorIs(t, err, promquery.ErrNotOneSeries)
	})

	t.Run("retries 503 twice then succeeds", func(t *testing.T) {
		proxy, cp := newProxy(t, f.srv.URL, func(n int64, w http.ResponseWriter) bool {
			if n <= 2 {
				http.Error(w, "upstream overloaded", http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		c := newClient(t, proxy.URL, promquery.Options{Retries: 3})
		s, err := c.QueryRangeOne(t.Context(), `app_load{service="search"}`, f.end.Add(-time.Hour), f.end, time.Minute)
		require.NoError(t, err)
		require.Len(t, s.Samples, 61)
		require.EqualValues(t, 3, cp.n.Load())
	})

	t.Run("gives up after the configured retries", func(t *testing.T) {
		proxy, cp := newProxy(t, f.srv.URL, func(n int64, w http.ResponseWriter) bool {
			http.Error(w, "down", http.StatusBadGateway)
			return true
		})
		c := newClient(t, proxy.URL, promquery.Options{Retries: 2})
		_, err := c.QueryRange(t.Context(), `app_load`, f.end.Add(-time.Hour), f.end, time.Minute)
		require.ErrorContains(t, err, "after 3 attempts")
		require.ErrorContains(t, err, "server error: 502")
		require.EqualValues(t, 3, cp.n.Load())
	})

	t.Run("slow request times out and is retried", func(t *testing.T) {
		proxy, cp := newProxy(t, f.srv.URL, func(n int64, w http.ResponseWriter) bool {
			if n == 1 {
				time.Sleep(1500 * time.Millisecond)
			}
			return false
		})
		c := newClient(t, proxy.URL, promquery.Options{Timeout: 500 * time.Millisecond, Retries: 2})
		_, err := c.QueryRangeOne(t.Context(), `app_load{service="auth"}`, f.end.Add(-time.Hour), f.end, time.Minute)
		require.NoError(t, err)
		require.EqualValues(t, 2, cp.n.Load())
	})

	t.Run("connection refused is retried and reported without the URL", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		c := newClient(t, deadURL+"/?token=secret", promquery.Options{Retries: 1})
		_, err := c.Query(t.Context(), `up`, f.end)
		require.ErrorContains(t, err, "after 2 attempts")
		require.ErrorContains(t, err, "connection refused")
		require.NotContains(t, err.Error(), "secret")
	})

	t.Run("cancelled context stops retrying", func(t *testing.T) {
		proxy, _ := newProxy(t, f.srv.URL, func(n int64, w http.ResponseWriter) bool {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		})
		c := newClient(t, proxy.URL, promquery.Options{Retries: 100, Backoff: time.Hour})
		ctx, cancel := context.WithTimeoutCause(t.Context(), 300*time.Millisecond, errors.New("test deadline"))
		defer cancel()
		_, err := c.Query(ctx, `up`, f.end)
		require.ErrorContains(t, err, "test deadline")
	})
}

func BenchmarkQueryRangeThreeWeeks(b *testing.B) {
	end := time.Now().UTC().Truncate(time.Minute)
	n := 21*24*60 + 1
	start := end.Add(-time.Duration(n-1) * time.Minute)
	var om bytes.Buffer
	w := promtest.NewWriter(&om)
	w.Gauge("app_load", map[string]string{"service": "x"}, start, time.Minute, promtest.Load{Base: 100, DailyAmp: 50, Seed: 1}.Values(start, time.Minute, n))
	require.NoError(b, w.Close())
	srv := promtest.Start(b, &om)
	c, err := promquery.New(promquery.Options{URL: srv.URL})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.QueryRangeOne(context.Background(), `app_load`, start, end, time.Minute)
		if err != nil || len(s.Samples) != n {
			b.Fatal(fmt.Sprint(len(s.Samples), err))
		}
	}
}
