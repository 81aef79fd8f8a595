package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// storesWithLimits are the real stores, bbolt and Redis, each opened by its test with limits.
func storesWithLimits(limits store.Limits) []struct {
	name string
	open func(t *testing.T) store.Store
} {
	return []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"bolt", func(t *testing.T) store.Store {
			b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai.db"), store.BoltOptions{Limits: limits})
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close() })
			return b
		}},
		{"redis", func(t *testing.T) store.Store { return storetest.OpenRedis(t, store.RedisOptions{Limits: limits}) }},
	}
}

// getValid GETs path, which must answer 200 with a body the OpenAPI document allows, and
// decodes it.
func getValid[T any](t *testing.T, ts testServer, path string) (T, *httptest.ResponseRecorder) {
	t.Helper()
	rq := request{method: "GET", path: path}
	rec := ts.do(t, rq)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	validateResponse(t, rq, rec)
	var body T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	return body, rec
}

// TestListPagingAndLimits: the pattern and dependency lists answer pages of limit (default
// 100) with a next cursor while more follow, and a store at its cap answers a new object with
// 409. Regression test for issue 11, item 3 (14k patterns in one 2 MB answer).
func TestListPagingAndLimits(t *testing.T) {
	limits := store.Limits{MaxPatterns: 150, MaxDependencies: 150}
	for _, tc := range storesWithLimits(limits) {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.open(t), nil)
			for i := range 150 {
				body := `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`
				rec := ts.do(t, request{method: "POST", path: fmt.Sprintf("/api/predictive-scaling/patterns/svc-%03d", i), body: body})
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				body = `{"dependencyType":"fixed","replicas":2}`
				rec = ts.do(t, request{method: "POST", path: fmt.Sprintf("/api/scaling-dependencies/src-%d/dst-%03d", i%7, i), body: body})
				require.Contains(t, []int{http.StatusOK, http.StatusCreated}, rec.Code, rec.Body.String())
			}

			// Default page: 100, then the remaining 50 without a next.
			var pb patternsBody
			rq := request{method: "GET", path: "/api/predictive-scaling/patterns"}
			rec := ts.do(t, rq)
			require.Equal(t, http.StatusOK, rec.Code)
			validateResponse(t, rq, rec)
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &pb))
			require.Len(t, pb.Patterns, DefaultListLimit)
			require.Equal(t, "svc-099", pb.Patterns[99].Service)
			require.NotEmpty(t, pb.Next)
			rq = request{method: "GET", path: "/api/predictive-scaling/patterns?next=" + pb.Next}
			rec = ts.do(t, rq)
			validateResponse(t, rq, rec)
			pb = patternsBody{}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &pb))
			require.Len(t, pb.Patterns, 50)
			require.Equal(t, "svc-100", pb.Patterns[0].Service)
			require.Empty(t, pb.Next)
			require.NotContains(t, rec.Body.String(), `"next"`)

			// Dependencies in pages of 40: every one once, in (source, target) order.
			var got []scaling.Dependency
			next := ""
			for range 10 {
				path := "/api/scaling-dependencies?limit=40"
				if next != "" {
					path += "&next=" + next
				}
				db, _ := getValid[dependenciesBody](t, ts, path)
				require.LessOrEqual(t, len(db.Dependencies), 40)
				got = append(got, db.Dependencies...)
				if next = db.Next; next == "" {
					break
				}
			}
			require.Len(t, got, 150)
			for i := 1; i < len(got); i++ {
				a, b := got[i-1], got[i]
				require.True(t, a.SourceService < b.SourceService || a.SourceService == b.SourceService && a.TargetService < b.TargetService, "%v before %v", a.Key(), b.Key())
			}

			// Bad paging input.
			for _, path := range []string{
				"/api/predictive-scaling/patterns?limit=0",
				"/api/predictive-scaling/patterns?limit=1001",
				"/api/predictive-scaling/patterns?next=%21%21",
				"/api/predictive-scaling/patterns?next=" + encodeCursor("Not A Name"),
				"/api/scaling-dependencies?next=" + encodeCursor("no-separator"),
				"/api/scaling-dependencies?cursor=x",
			} {
				rec := ts.do(t, request{method: "GET", path: path})
				require.Equal(t, http.StatusBadRequest, rec.Code, path)
			}

			// The caps: one more is refused with 409; replacing stays allowed.
			rq = request{method: "POST", path: "/api/predictive-scaling/patterns/one-more",
				body: `{"patternType":"daily","timeWindows":[{"hourOfDay":9,"expectedLoad":0.5}]}`}
			rec = ts.do(t, rq)
			require.Equal(t, http.StatusConflict, rec.Code)
			validateResponse(t, rq, rec)
			require.Equal(t, "limit of stored objects reached: at most 150 patterns may be stored; delete some or raise the limit", decodeErr(t, rec).Error)
			rec = ts.do(t, request{method: "POST", path: "/api/predictive-scaling/patterns/svc-001",
				body: `{"patternType":"daily","timeWindows":[{"hourOfDay":10,"expectedLoad":0.5}]}`})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			rec = ts.do(t, request{method: "POST", path: "/api/scaling-dependencies/x/y", body: `{"dependencyType":"fixed","replicas":2}`})
			require.Equal(t, http.StatusConflict, rec.Code)
			require.Contains(t, decodeErr(t, rec).Error, "at most 150 dependencies")
		})
	}
}

// TestOverridePagingAndLimit: the override lists answer pages of limit with a next cursor, in
// the order of the whole list (service, start, ID) with no gap or duplicate, and a service at
// its cap of overrides answers a new one with 409 naming "service". Regression test for 3000
// overrides of one service accepted and listed in one 1.24 MB answer.
func TestOverridePagingAndLimit(t *testing.T) {
	const limit = 5
	limits := store.Limits{MaxOverridesPerService: limit}
	for _, tc := range storesWithLimits(limits) {
		t.Run(tc.name, func(t *testing.T) {
			// The stores count what has not ended by their own clock, time.Now.
			now := time.Now().UTC().Truncate(time.Second)
			ts := newTestServer(t, tc.open(t), func(o *Options) { o.Now = func() time.Time { return now } })
			post := func(svc string, i int) *httptest.ResponseRecorder {
				// Starts repeat (i%2), so IDs break ties.
				start := now.Add(time.Duration(1+i%2) * time.Hour)
				body := fmt.Sprintf(`{"start":%q,"end":%q,"minReplicas":3,"reason":"event %d"}`,
					start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), i)
				return ts.do(t, request{method: "POST", path: "/api/predictive-scaling/overrides/" + svc, body: body})
			}
			for _, svc := range []string{"svc-b", "svc-a", "svc-a-x"} {
				for i := range limit {
					rec := post(svc, i)
					require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
				}
			}

			// The cap: one more of svc-a is refused, naming the service; other services are not.
			rq := request{method: "POST", path: "/api/predictive-scaling/overrides/svc-a",
				body: fmt.Sprintf(`{"start":%q,"end":%q,"minReplicas":3,"reason":"one more"}`, now.Add(time.Hour).Format(time.RFC3339), now.Add(2*time.Hour).Format(time.RFC3339))}
			rec := ts.do(t, rq)
			require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
			validateResponse(t, rq, rec)
			e := decodeErr(t, rec)
			require.Equal(t, "service", e.Field)
			require.Contains(t, e.Error, fmt.Sprintf("at most %d overrides per service", limit))

			list := func(path string) overridesBody {
				t.Helper()
				ob, rec := getValid[overridesBody](t, ts, path)
				if ob.Next == "" {
					require.NotContains(t, rec.Body.String(), `"next"`)
				}
				return ob
			}
			all := list("/api/predictive-scaling/overrides")
			require.Len(t, all.Overrides, 3*limit)
			require.Empty(t, all.Next)
			for i := 1; i < len(all.Overrides); i++ {
				a, b := all.Overrides[i-1], all.Overrides[i]
				require.True(t, a.Service < b.Service || a.Service == b.Service && (a.Start.Before(b.Start) || a.Start.Equal(b.Start) && a.ID < b.ID),
					"%s/%s before %s/%s", a.Service, a.ID, b.Service, b.ID)
			}
			one := list("/api/predictive-scaling/overrides/svc-a")
			require.Len(t, one.Overrides, limit)
			require.Equal(t, all.Overrides[:limit], one.Overrides, "svc-a sorts first")

			for _, base := range []string{"/api/predictive-scaling/overrides", "/api/predictive-scaling/overrides/svc-a"} {
				want := all.Overrides
				if base != "/api/predictive-scaling/overrides" {
					want = one.Overrides
				}
				for _, n := range []int{1, 2, 3} {
					var got []scaling.Override
					next := ""
					for pages := 0; ; pages++ {
						require.Less(t, pages, 3*limit+1)
						path := fmt.Sprintf("%s?limit=%d", base, n)
						if next != "" {
							path += "&next=" + next
						}
						ob := list(path)
						require.LessOrEqual(t, len(ob.Overrides), n)
						got = append(got, ob.Overrides...)
						if next = ob.Next; next == "" {
							break
						}
						require.Len(t, ob.Overrides, n, "a page with a next is full")
					}
					require.Equal(t, want, got, "%s, limit %d", base, n)
				}
			}

			// Bad paging input: 400 naming the parameter.
			first := list("/api/predictive-scaling/overrides/svc-a?limit=1")
			require.NotEmpty(t, first.Next)
			for _, tc := range []struct{ path, field string }{
				{"/api/predictive-scaling/overrides?next=%21%21", "next"},
				{"/api/predictive-scaling/overrides?next=" + encodeCursor("svc-a"), "next"},
				{"/api/predictive-scaling/overrides?next=" + encodeCursor("svc-a\x00yesterday\x00abc"), "next"},
				{"/api/predictive-scaling/overrides?next=" + encodeCursor("Not A Name\x00"+now.Format(time.RFC3339)+"\x00abc"), "next"},
				{"/api/predictive-scaling/overrides/svc-b?next=" + first.Next, "next"}, // another service's cursor
				{"/api/predictive-scaling/overrides?limit=0", "limit"},
				{"/api/predictive-scaling/overrides/svc-a?limit=1001", "limit"},
				{"/api/predictive-scaling/overrides?cursor=x", "cursor"},
			} {
				rq := request{method: "GET", path: tc.path}
				rec := ts.do(t, rq)
				require.Equal(t, http.StatusBadRequest, rec.Code, tc.path)
				validateResponse(t, rq, rec)
				require.Equal(t, tc.field, decodeErr(t, rec).Field, tc.path)
			}
		})
	}
}
