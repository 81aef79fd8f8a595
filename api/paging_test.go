package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// TestListPagingAndLimits: the pattern and dependency lists answer pages of limit (default
// 100) with a next cursor while more follow, and a store at its cap answers a new object with
// 409. Regression test for issue 11, item 3 (14k patterns in one 2 MB answer).
func TestListPagingAndLimits(t *testing.T) {
	limits := store.Limits{MaxPatterns: 150, MaxDependencies: 150}
	for _, tc := range []struct {
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
	} {
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
				rq := request{method: "GET", path: path}
				rec := ts.do(t, rq)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				validateResponse(t, rq, rec)
				var db dependenciesBody
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &db))
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
