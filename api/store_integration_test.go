package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// openRedisStore returns the real Redis store on the test Redis under a key prefix of its
// own, deleting the prefix's keys when the test ends.
func openRedisStore(t testing.TB) store.Store { return storetest.OpenRedis(t, store.RedisOptions{}) }

// openBoltStore returns the real embedded store in a fresh file.
func openBoltStore(t testing.TB) store.Store {
	t.Helper()
	b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var realStores = []struct {
	name string
	open func(testing.TB) store.Store
}{
	{"redis", openRedisStore},
	{"bolt", openBoltStore},
}

// post sends a JSON body over real HTTP and decodes the answer into out (when not nil).
func post(t testing.TB, client *http.Client, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return resp.StatusCode
}

func get(t testing.TB, client *http.Client, url string, out any) int {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return resp.StatusCode
}

// writerPattern is the body writer w sends: w+1 windows all carrying load (w+1)/100, so a
// stored pattern mixing two writes is recognisable.
func writerPattern(w int) string {
	var ws []string
	for h := 0; h <= w%24; h++ {
		ws = append(ws, fmt.Sprintf(`{"hourOfDay":%d,"expectedLoad":%g}`, h, float64(w+1)/100))
	}
	return `{"patternType":"daily","timeWindows":[` + strings.Join(ws, ",") + `]}`
}

func TestConcurrentPostsRealStores(t *testing.T) {
	for _, rs := range realStores {
		t.Run(rs.name, func(t *testing.T) {
			st := rs.open(t)
			srv := httptest.NewServer(New(Options{Store: st}).Handler())
			t.Cleanup(srv.Close)
			client := srv.Client()
			const writers = 24
			base := srv.URL + "/api/predictive-scaling/patterns/"

			t.Run("different services lose no write", func(t *testing.T) {
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						require.Equal(t, 200, post(t, client, base+fmt.Sprintf("svc-%d", w), writerPattern(w), nil))
					})
				}
				wg.Wait()
				var all patternsBody
				require.Equal(t, 200, get(t, client, srv.URL+"/api/predictive-scaling/patterns", &all))
				require.Len(t, all.Patterns, writers)
				for _, p := range all.Patterns {
					var w int
					_, err := fmt.Sscanf(p.Service, "svc-%d", &w)
					require.NoError(t, err)
					require.Len(t, p.TimeWindows, w%24+1, p.Service)
					for _, tw := range p.TimeWindows {
						require.InDelta(t, float64(w+1)/100, tw.ExpectedLoad, 1e-12, p.Service)
					}
				}
			})

			t.Run("same service: last write wins whole", func(t *testing.T) {
				for round := range 5 {
					var wg sync.WaitGroup
					for w := range writers {
						wg.Go(func() { require.Equal(t, 200, post(t, client, base+"hot", writerPattern(w), nil)) })
					}
					wg.Wait()
					var p scaling.Pattern
					require.Equal(t, 200, get(t, client, base+"hot", &p))
					load := p.TimeWindows[0].ExpectedLoad
					w := int(load*100+0.5) - 1
					require.Len(t, p.TimeWindows, w%24+1, "round %d: windows of one writer, load of another", round)
					for _, tw := range p.TimeWindows {
						require.Equal(t, load, tw.ExpectedLoad, "round %d: a mix of two writes", round)
					}
				}
				// A write after the race is what everybody reads.
				var posted, read scaling.Pattern
				require.Equal(t, 200, post(t, client, base+"hot", writerPattern(writers+1), &posted))
				require.Equal(t, 200, get(t, client, base+"hot", &read))
				require.Equal(t, posted, read)
			})

			t.Run("two writers never close a cycle together", func(t *testing.T) {
				depBase := srv.URL + "/api/scaling-dependencies/"
				for round := range 10 {
					a, b := fmt.Sprintf("ring-a-%d", round), fmt.Sprintf("ring-b-%d", round)
					codes := make([]int, 2)
					var wg sync.WaitGroup
					for i, path := range []string{a + "/" + b, b + "/" + a} {
						wg.Go(func() { codes[i] = post(t, client, depBase+path, `{"dependencyType":"minimum","minReplicas":1}`, nil) })
					}
					wg.Wait()
					require.ElementsMatch(t, []int{200, 409}, codes, "round %d", round)
				}
			})
		})
	}
}

// TestBadInputRealStores runs the malformed requests against the real stores: nothing is
// written by any of them.
func TestBadInputRealStores(t *testing.T) {
	for _, rs := range realStores {
		t.Run(rs.name, func(t *testing.T) {
			st := rs.open(t)
			seed(t, st)
			ts := newTestServer(t, st, withFixtureServices)
			before := takeSnapshot(t, st)
			for _, tt := range badInputCases() {
				rec := ts.do(t, tt.req)
				require.Equal(t, tt.wantCode, rec.Code, "%s: %s", tt.name, rec.Body)
				require.Equal(t, tt.wantField, decodeErr(t, rec).Field, tt.name)
			}
			require.Equal(t, before, takeSnapshot(t, st))
		})
	}
}

// TestRealStoreDown points the API at a Redis that is not there and at a closed bolt file.
func TestRealStoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	deadRedis, err := store.NewRedis(store.RedisOptions{URL: "redis://" + deadAddr + "/0", Prefix: "kai-test-dead:"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = deadRedis.Close() })

	closedBolt, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{})
	require.NoError(t, err)
	require.NoError(t, closedBolt.Close())

	for name, st := range map[string]store.Store{"redis on a closed port": deadRedis, "closed bolt": closedBolt} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, st, nil)
			for _, rq := range []request{
				{method: "GET", path: "/readyz"},
				{method: "GET", path: "/api/predictive-scaling/patterns"},
				{method: "GET", path: "/api/predictive-scaling/patterns/coordinator"},
				{method: "POST", path: "/api/predictive-scaling/patterns/coordinator", body: `{"patternType":"daily","timeWindows":[]}`},
				{method: "DELETE", path: "/api/predictive-scaling/patterns/coordinator"},
				{method: "POST", path: "/api/scaling-dependencies/a/b", body: `{"dependencyType":"fixed","replicas":1}`},
				{method: "POST", path: "/api/scaling-dependencies/a/b/enable"},
				{method: "GET", path: "/api/hpa-events?type=scale-up"},
				{method: "GET", path: "/api/hpa-events/a/effectiveness"},
				{method: "GET", path: "/api/predictive-scaling/predictions"},
			} {
				rec := ts.do(t, rq)
				require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s %s: %s", rq.method, rq.path, rec.Body)
				e := decodeErr(t, rec)
				require.NotContains(t, e.Error, deadAddr)
				validateResponse(t, rq, rec)
			}
			rec := ts.do(t, request{method: "GET", path: "/healthz"})
			require.Equal(t, http.StatusOK, rec.Code)
			require.Contains(t, metricText(t, ts), `kai_store_errors_total{operation="get_pattern"} 1`)
		})
	}
}

func metricText(t testing.TB, ts testServer) string {
	t.Helper()
	rec := ts.do(t, request{method: "GET", path: "/metrics"})
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// TestOverridesRealStores creates, lists and deletes an override over HTTP on each real store.
func TestOverridesRealStores(t *testing.T) {
	for _, rs := range realStores {
		t.Run(rs.name, func(t *testing.T) {
			st := rs.open(t)
			srv := httptest.NewServer(New(Options{Store: st}).Handler())
			t.Cleanup(srv.Close)
			client := srv.Client()
			start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			body := fmt.Sprintf(`{"start":%q,"end":%q,"minReplicas":12,"reason":"launch"}`,
				start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339))
			var created scaling.Override
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/predictive-scaling/overrides/checkout", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			require.NoError(t, err)
			require.Equal(t, 201, resp.StatusCode)
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
			resp.Body.Close()
			require.NotEmpty(t, created.ID)
			require.Equal(t, start, created.Start)

			// Regression test: GET on the Location a create answers with was a 405.
			location := resp.Header.Get("Location")
			require.Equal(t, "/api/predictive-scaling/overrides/checkout/"+created.ID, location)
			var one scaling.Override
			require.Equal(t, 200, get(t, client, srv.URL+location, &one))
			require.Equal(t, created, one)

			var all overridesBody
			require.Equal(t, 200, get(t, client, srv.URL+"/api/predictive-scaling/overrides", &all))
			require.Equal(t, []scaling.Override{created}, all.Overrides)

			del := func(id string) int {
				req, err := http.NewRequest(http.MethodDelete, srv.URL+"/api/predictive-scaling/overrides/checkout/"+id, nil)
				require.NoError(t, err)
				resp, err := client.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			require.Equal(t, 204, del(created.ID))
			require.Equal(t, 404, del(created.ID))
			require.Equal(t, 404, get(t, client, srv.URL+location, nil))
			require.Equal(t, 200, get(t, client, srv.URL+"/api/predictive-scaling/overrides/checkout", &all))
			require.Empty(t, all.Overrides)
		})
	}
}
