package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

const overridesPath = "/api/predictive-scaling/overrides"

// seedRecords adds overrides, floor decisions and shadow days to st.
func seedRecords(t testing.TB, st *memStore) {
	t.Helper()
	ctx := context.Background()
	for _, o := range []scaling.Override{
		{ID: "o1", Service: "checkout", Start: testNow.Add(24 * time.Hour), End: testNow.Add(30 * time.Hour), MinReplicas: ptr[int32](20), Reason: "launch", CreatedAt: 1},
		{ID: "o2", Service: "search", Start: testNow.Add(-time.Hour), End: testNow.Add(time.Hour), ExpectedLoad: ptr(0.5), Reason: "sale", CreatedAt: 2},
		{ID: "old", Service: "checkout", Start: testNow.Add(-3 * time.Hour), End: testNow.Add(-time.Hour), MinReplicas: ptr[int32](5), Reason: "ended, not pruned yet", CreatedAt: 3},
	} {
		require.NoError(t, st.PutOverride(ctx, o))
	}
	for i := range 3 {
		require.NoError(t, st.AddDecision(ctx, scaling.FloorDecision{
			Service: "checkout", Timestamp: testNow.UnixMilli() - int64(3-i)*60_000, From: int32(2 + i), To: int32(3 + i),
			Reason: "prediction", Contributions: []scaling.DecisionContribution{{Source: "base", Floor: 2}, {Source: "prediction", Floor: int32(3 + i), Detail: "q0.90"}},
			Settings: scaling.DecisionSettings{LeadTimeSeconds: 300, Quantile: 0.9, Model: "fourier-daily",
				Calibration: &scaling.Calibration{FloorSettings: scaling.FloorSettings{BoundShare: ptr(0.5), LeadSeconds: 150},
					Reason: "replayed 2.0 days of history through the HPA, pods ready 2m0s after they start, with 36 settings", Budget: 0.1,
					PodStartupSeconds: 120, PodStartupSource: scaling.PodStartupDefault, WindowMinutes: 2880,
					UnderProvisionedReduction: 0.9, ReplicaHoursIncrease: 0.07, Candidates: 36}},
			Summary: fmt.Sprintf("checkout floor %d→%d: prediction q0.90, lead 5m0s", 2+i, 3+i),
		}))
	}
	for i := range 10 {
		day := testNow.AddDate(0, 0, -i).Format(time.DateOnly)
		require.NoError(t, st.PutShadowDay(ctx, scaling.ShadowDay{Service: "checkout", Day: day, Samples: 2880, ObservedSeconds: 86400,
			UnderprovisionedReplicaMinutes: 10, UnderprovisionedReplicaMinutesWithFloors: 4, UnderprovisionedReplicaMinutesSaved: 6, ExtraReplicaHours: 1.5}))
	}
}

func TestRecordRoutes(t *testing.T) {
	tests := []struct {
		name       string
		req        request
		wantStatus int
		check      func(t *testing.T, st *memStore, rec *http.Response, body []byte)
	}{
		{name: "list every override, ended ones left out", req: request{method: "GET", path: overridesPath}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b overridesBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Overrides, 2)
				require.Equal(t, []string{"o1", "o2"}, []string{b.Overrides[0].ID, b.Overrides[1].ID})
			}},
		{name: "list one service's overrides", req: request{method: "GET", path: overridesPath + "/search"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, fmt.Sprintf(`{"overrides":[{"id":"o2","service":"search","start":%q,"end":%q,"expectedLoad":0.5,"reason":"sale","createdAt":2}]}`,
					testNow.Add(-time.Hour).Format(time.RFC3339), testNow.Add(time.Hour).Format(time.RFC3339)), string(body))
			}},
		{name: "list of a service without overrides is empty", req: request{method: "GET", path: overridesPath + "/payments"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, `{"overrides":[]}`, string(body))
			}},
		{name: "create override", req: request{method: "POST", path: overridesPath + "/checkout",
			body: `{"start":"2026-12-24T08:00:00+01:00","end":"2026-12-24T20:00:00Z","minReplicas":12,"reason":"Christmas Eve sale"}`}, wantStatus: 201,
			check: func(t *testing.T, st *memStore, resp *http.Response, body []byte) {
				var o scaling.Override
				require.NoError(t, json.Unmarshal(body, &o))
				require.NotEmpty(t, o.ID)
				require.Equal(t, overridesPath+"/checkout/"+o.ID, resp.Header.Get("Location"))
				require.Equal(t, time.Date(2026, 12, 24, 7, 0, 0, 0, time.UTC), o.Start, "times are stored in UTC")
				require.Equal(t, testNow.UnixMilli(), o.CreatedAt)
				stored, err := st.ListOverrides(context.Background(), "checkout")
				require.NoError(t, err)
				require.Contains(t, stored, o)
			}},
		{name: "create override with expectedLoad and the service in the body", req: request{method: "POST", path: overridesPath + "/search",
			body: `{"service":"search","start":"2026-11-28T08:00:00Z","end":"2026-11-28T09:00:00Z","expectedLoad":0.9,"reason":"launch"}`}, wantStatus: 201},
		// Regression tests: the Location of a created override answered 405 (only DELETE existed).
		{name: "get one override", req: request{method: "GET", path: overridesPath + "/checkout/o1"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, fmt.Sprintf(`{"id":"o1","service":"checkout","start":%q,"end":%q,"minReplicas":20,"reason":"launch","createdAt":1}`,
					testNow.Add(24*time.Hour).Format(time.RFC3339), testNow.Add(30*time.Hour).Format(time.RFC3339)), string(body))
			}},
		{name: "get missing override", req: request{method: "GET", path: overridesPath + "/checkout/nope"}, wantStatus: 404,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, `{"error":"service checkout has no override with this id","field":"id"}`, string(body))
			}},
		{name: "get another service's override is not found", req: request{method: "GET", path: overridesPath + "/checkout/o2"}, wantStatus: 404},
		{name: "get an ended override is not found, as in the list", req: request{method: "GET", path: overridesPath + "/checkout/old"}, wantStatus: 404},
		{name: "delete override", req: request{method: "DELETE", path: overridesPath + "/checkout/o1"}, wantStatus: 204,
			check: func(t *testing.T, st *memStore, _ *http.Response, _ []byte) {
				stored, err := st.ListOverrides(context.Background(), "checkout")
				require.NoError(t, err)
				require.Len(t, stored, 1)
				require.Equal(t, "old", stored[0].ID)
			}},
		{name: "delete missing override", req: request{method: "DELETE", path: overridesPath + "/checkout/nope"}, wantStatus: 404},
		{name: "delete another service's override is not found", req: request{method: "DELETE", path: overridesPath + "/checkout/o2"}, wantStatus: 404},

		{name: "floor decisions newest first", req: request{method: "GET", path: "/api/predictive-scaling/floors/checkout"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b decisionsBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Decisions, 3)
				require.Equal(t, int32(5), b.Decisions[0].To)
				require.Equal(t, "prediction", b.Decisions[0].Contributions[1].Source)
			}},
		{name: "floor decisions since and limit", req: request{method: "GET", path: fmt.Sprintf("/api/predictive-scaling/floors/checkout?since=%d&limit=1", testNow.UnixMilli()-120_000)}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b decisionsBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Decisions, 1)
				require.Equal(t, testNow.UnixMilli()-60_000, b.Decisions[0].Timestamp)
			}},
		{name: "floor decisions since RFC 3339", req: request{method: "GET", path: "/api/predictive-scaling/floors/checkout?since=" + testNow.Add(-150*time.Second).Format(time.RFC3339)}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b decisionsBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Decisions, 2)
			}},
		{name: "floor decisions of a service without any", req: request{method: "GET", path: "/api/predictive-scaling/floors/search"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, `{"decisions":[]}`, string(body))
			}},

		{name: "shadow: default 7 days and totals", req: request{method: "GET", path: "/api/predictive-scaling/shadow/checkout"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b shadowBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Days, 7)
				require.Equal(t, testNow.Format(time.DateOnly), b.Days[0].Day)
				require.Equal(t, 7, b.Totals.Days)
				require.InDelta(t, 42, b.Totals.UnderprovisionedReplicaMinutesSaved, 1e-9)
				require.InDelta(t, 10.5, b.Totals.ExtraReplicaHours, 1e-9)
			}},
		{name: "shadow: days=2", req: request{method: "GET", path: "/api/predictive-scaling/shadow/checkout?days=2"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				var b shadowBody
				require.NoError(t, json.Unmarshal(body, &b))
				require.Len(t, b.Days, 2)
			}},
		{name: "shadow: a service without dry-run samples", req: request{method: "GET", path: "/api/predictive-scaling/shadow/search"}, wantStatus: 200,
			check: func(t *testing.T, _ *memStore, _ *http.Response, body []byte) {
				require.JSONEq(t, `{"service":"search","days":[],"totals":{"days":0,"observedSeconds":0,"underprovisionedReplicaMinutes":0,"underprovisionedReplicaMinutesWithFloors":0,"underprovisionedReplicaMinutesSaved":0,"extraReplicaHours":0}}`, string(body))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			seed(t, st)
			seedRecords(t, st)
			ts := newTestServer(t, st, nil)
			rec := ts.do(t, tt.req)
			require.Equal(t, tt.wantStatus, rec.Code, "body: %s", rec.Body)
			if rec.Code != http.StatusNoContent {
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, st, rec.Result(), rec.Body.Bytes())
			}
			validateResponse(t, tt.req, rec)
		})
	}
}

func TestRecordRoutesStoreDown(t *testing.T) {
	st := newMemStore()
	st.down = errStoreDown
	ts := newTestServer(t, st, nil)
	for _, rq := range []request{
		{method: "GET", path: overridesPath},
		{method: "GET", path: overridesPath + "/checkout"},
		{method: "POST", path: overridesPath + "/checkout", body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T09:00:00Z","minReplicas":3,"reason":"x"}`},
		{method: "GET", path: overridesPath + "/checkout/o1"},
		{method: "DELETE", path: overridesPath + "/checkout/o1"},
		{method: "GET", path: "/api/predictive-scaling/floors/checkout"},
		{method: "GET", path: "/api/predictive-scaling/shadow/checkout"},
	} {
		rec := ts.do(t, rq)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s %s: %s", rq.method, rq.path, rec.Body)
		validateResponse(t, rq, rec)
	}
}

// recordBadInputCases are the bad-input table's cases for overrides, floor decisions and shadow.
func recordBadInputCases() []badInputCase {
	const ov = overridesPath + "/checkout"
	body := func(fields string) string {
		return `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","reason":"launch"` + fields + `}`
	}
	return []badInputCase{
		{"override: empty body", request{method: "POST", path: ov}, 400, "body"},
		{"override: not JSON", request{method: "POST", path: ov, body: `start=now`}, 400, "body"},
		{"override: unknown field", request{method: "POST", path: ov, body: body(`,"minReplicas":3,"priority":1`)}, 400, "priority"},
		{"override: id in the body", request{method: "POST", path: ov, body: body(`,"minReplicas":3,"id":"mine"`)}, 400, "id"},
		{"override: missing start", request{method: "POST", path: ov, body: `{"end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "start"},
		{"override: missing end", request{method: "POST", path: ov, body: `{"start":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: start not RFC 3339", request{method: "POST", path: ov, body: `{"start":"tomorrow","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "start"},
		{"override: end as a number", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":1764356400000,"minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: end before start", request{method: "POST", path: ov, body: `{"start":"2026-11-28T20:00:00Z","end":"2026-11-28T08:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: end equals start", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T08:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: already ended", request{method: "POST", path: ov, body: `{"start":"2026-11-26T08:00:00Z","end":"2026-11-26T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: more than a year ahead", request{method: "POST", path: ov, body: `{"start":"2027-12-01T08:00:00Z","end":"2027-12-01T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "end"},
		{"override: neither minReplicas nor expectedLoad", request{method: "POST", path: ov, body: body(``)}, 400, "minReplicas"},
		{"override: both minReplicas and expectedLoad", request{method: "POST", path: ov, body: body(`,"minReplicas":3,"expectedLoad":0.5`)}, 400, "expectedLoad"},
		{"override: minReplicas zero", request{method: "POST", path: ov, body: body(`,"minReplicas":0`)}, 400, "minReplicas"},
		{"override: minReplicas above the cap", request{method: "POST", path: ov, body: body(`,"minReplicas":10001`)}, 400, "minReplicas"},
		{"override: minReplicas overflows int32", request{method: "POST", path: ov, body: body(`,"minReplicas":3000000000`)}, 400, "minReplicas"},
		{"override: minReplicas fractional", request{method: "POST", path: ov, body: body(`,"minReplicas":2.5`)}, 400, "minReplicas"},
		{"override: expectedLoad above 1", request{method: "POST", path: ov, body: body(`,"expectedLoad":1.5`)}, 400, "expectedLoad"},
		{"override: expectedLoad zero", request{method: "POST", path: ov, body: body(`,"expectedLoad":0`)}, 400, "expectedLoad"},
		{"override: expectedLoad string", request{method: "POST", path: ov, body: body(`,"expectedLoad":"0.5"`)}, 400, "expectedLoad"},
		{"override: missing reason", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3}`}, 400, "reason"},
		// Regression tests: a blank reason was accepted (201) while "" was refused, and control
		// characters were stored and returned.
		{"override: blank reason", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"   "}`}, 400, "reason"},
		{"override: reason with control characters", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"ctl \u0000 \u001b[31m"}`}, 400, "reason"},
		{"override: reason with a line break", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"sale\nday"}`}, 400, "reason"},
		{"override: null reason", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":null}`}, 400, "reason"},
		{"override: null start", request{method: "POST", path: ov, body: `{"start":null,"end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"x"}`}, 400, "start"},
		{"override: null minReplicas", request{method: "POST", path: ov, body: body(`,"minReplicas":null`)}, 400, "minReplicas"},
		{"override: expectedLoad beyond float64", request{method: "POST", path: ov, body: body(`,"expectedLoad":1e400`)}, 400, "expectedLoad"},
		{"override: reason too long", request{method: "POST", path: ov, body: `{"start":"2026-11-28T08:00:00Z","end":"2026-11-28T20:00:00Z","minReplicas":3,"reason":"` + strings.Repeat("x", 257) + `"}`}, 400, "reason"},
		{"override: body service differs", request{method: "POST", path: ov, body: body(`,"minReplicas":3,"service":"search"`)}, 400, "service"},
		{"override: bad service in path", request{method: "POST", path: overridesPath + "/Checkout", body: body(`,"minReplicas":3`)}, 400, "service"},
		{"override: bad service on delete", request{method: "DELETE", path: overridesPath + "/a_b/o1"}, 400, "service"},
		{"override: bad service on get", request{method: "GET", path: overridesPath + "/a_b/o1"}, 400, "service"},
		{"override: get with a parameter", request{method: "GET", path: overridesPath + "/checkout/o1?x=1"}, 400, "x"},
		{"override: list with a parameter", request{method: "GET", path: overridesPath + "?service=checkout"}, 400, "service"},
		{"override: wrong content type", request{method: "POST", path: ov, body: body(`,"minReplicas":3`), header: map[string]string{"Content-Type": "text/plain"}}, 415, "Content-Type"},
		{"floors: limit zero", request{method: "GET", path: "/api/predictive-scaling/floors/checkout?limit=0"}, 400, "limit"},
		{"floors: limit too big", request{method: "GET", path: "/api/predictive-scaling/floors/checkout?limit=1001"}, 400, "limit"},
		{"floors: bad since", request{method: "GET", path: "/api/predictive-scaling/floors/checkout?since=yesterday"}, 400, "since"},
		{"floors: negative since", request{method: "GET", path: "/api/predictive-scaling/floors/checkout?since=-1"}, 400, "since"},
		{"floors: unknown parameter", request{method: "GET", path: "/api/predictive-scaling/floors/checkout?type=scale-up"}, 400, "type"},
		{"floors: bad service", request{method: "GET", path: "/api/predictive-scaling/floors/CHECKOUT"}, 400, "service"},
		{"shadow: days zero", request{method: "GET", path: "/api/predictive-scaling/shadow/checkout?days=0"}, 400, "days"},
		{"shadow: days too many", request{method: "GET", path: "/api/predictive-scaling/shadow/checkout?days=36"}, 400, "days"},
		{"shadow: days not a number", request{method: "GET", path: "/api/predictive-scaling/shadow/checkout?days=week"}, 400, "days"},
		{"shadow: unknown parameter", request{method: "GET", path: "/api/predictive-scaling/shadow/checkout?limit=3"}, 400, "limit"},
	}
}
