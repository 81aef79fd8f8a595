package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// recordPage is one answer of any of the record lists: only the list's own field is set.
type recordPage struct {
	Events      []scaling.Event         `json:"events"`
	Decisions   []scaling.FloorDecision `json:"decisions"`
	Runs        []scaling.ForecastRun   `json:"runs"`
	Predictions []scaling.Prediction    `json:"predictions"`
	Next        string                  `json:"next"`
}

// records names every record of a page, list by list, so that pages can be compared and
// duplicates found: a name is unique among the records of its list.
func (p recordPage) records() []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, fmt.Sprintf("event %s/%s@%d", e.Service, e.ID, e.Timestamp))
	}
	for _, d := range p.Decisions {
		out = append(out, fmt.Sprintf("decision %s@%d", d.Service, d.Timestamp))
	}
	for _, r := range p.Runs {
		out = append(out, fmt.Sprintf("run %s@%d", r.ID, r.QueuedAt))
	}
	for _, pr := range p.Predictions {
		out = append(out, fmt.Sprintf("prediction %s@%d", pr.Service, pr.FittedAt))
	}
	return out
}

// seedPagingRecords fills st with records of every list, most of each list sharing one time, so
// that only the cursors' tie-breaks keep pages apart. base is within every retention.
func seedPagingRecords(t *testing.T, st store.Store, base int64) {
	t.Helper()
	ctx := t.Context()
	var events []scaling.Event
	for _, svc := range []string{"api", "billing", "search"} {
		for i := range 45 {
			// IDs repeat across services at the same time: only the service tells them apart.
			events = append(events, scaling.Event{
				ID: fmt.Sprintf("ev-%02d", i), Service: svc, EventType: scaling.EventTypes[i%len(scaling.EventTypes)],
				CurrentReplicas: 2, DesiredReplicas: 3, TriggerMetric: "resource:cpu", Timestamp: base,
			})
		}
		for i := range 5 {
			events = append(events, scaling.Event{
				ID: fmt.Sprintf("%s-%d", svc, i), Service: svc, EventType: scaling.EventTypes[i%len(scaling.EventTypes)],
				CurrentReplicas: 2, DesiredReplicas: 3, TriggerMetric: "resource:cpu", Timestamp: base + int64(i-2)*60_000,
			})
		}
	}
	require.NoError(t, st.AppendEvents(ctx, events...))
	for i := range 40 {
		d := scaling.FloorDecision{Service: "api", Timestamp: base + int64(i-20)*1000, From: int32(i), To: int32(i + 1),
			Reason: "prediction", Contributions: []scaling.DecisionContribution{}, Summary: "api floor"}
		require.NoError(t, st.AddDecision(ctx, d))
	}
	for i := range 3 {
		d := scaling.FloorDecision{Service: "api-x", Timestamp: base + int64(i)*1000, From: 1, To: 2,
			Reason: "base", Contributions: []scaling.DecisionContribution{}, Summary: "api-x floor"}
		require.NoError(t, st.AddDecision(ctx, d))
	}
	for i := range 60 {
		queuedAt := base
		if i%6 == 0 {
			queuedAt = base + int64(i-30)*1000
		}
		require.NoError(t, st.PutRun(ctx, scaling.ForecastRun{ID: fmt.Sprintf("run-%02d", i), Trigger: "schedule", State: scaling.RunSucceeded, QueuedAt: queuedAt}))
	}
	for _, fittedAt := range []int64{base - 120_000, base, base - 60_000} {
		for i := range 12 {
			p := scaling.Prediction{Service: fmt.Sprintf("svc-%d", i), Model: "seasonal-naive-weekly", FittedAt: fittedAt,
				ValidUntil: fittedAt + 3_600_000, StepSeconds: 300, Quantile: 0.9,
				Points: []scaling.PredictionPoint{{Timestamp: fittedAt + 300_000, ExpectedLoad: 0.5, UpperLoad: 0.6, RecommendedMinReplicas: 3}}}
			require.NoError(t, st.AddPrediction(ctx, p))
		}
	}
}

// TestRecordListPaging: the HPA event, floor decision, forecast run and prediction lists answer
// pages of limit (default 100) newest first with a next cursor while more follow; walking
// every page gives the whole list, each record once and in order, though most records share
// one time; and a cursor of another list, or not a cursor, is 400 naming next.
func TestRecordListPaging(t *testing.T) {
	base := time.Now().Add(-time.Hour).UnixMilli() // the stores' retention is by their own clock
	since := fmt.Sprint(base)
	for _, tc := range storesWithLimits(store.Limits{}) {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			seedPagingRecords(t, st, base)
			ts := newTestServer(t, st, nil)

			// page GETs one page, which must be valid, carry next only when full, and never
			// hold more than limit records.
			page := func(t *testing.T, path string, limit int) recordPage {
				t.Helper()
				p, rec := getValid[recordPage](t, ts, path)
				if p.Next == "" {
					require.NotContains(t, rec.Body.String(), `"next"`)
				} else {
					require.Len(t, p.records(), limit, "%s: a page with a next is full", path)
				}
				require.LessOrEqual(t, len(p.records()), limit, path)
				return p
			}
			withParam := func(path, param string) string {
				if strings.Contains(path, "?") {
					return path + "&" + param
				}
				return path + "?" + param
			}

			tests := []struct {
				name, path string
				count      int // records in the whole list
			}{
				{name: "events of every service", path: "/api/hpa-events", count: 150},
				{name: "events since, of two types", path: "/api/hpa-events?since=" + since + "&type=scale-up,limited-scale", count: 3 * (23 + 2)},
				{name: "events of one service", path: "/api/hpa-events/billing", count: 50},
				{name: "decisions", path: "/api/predictive-scaling/floors/api", count: 40},
				{name: "decisions since", path: "/api/predictive-scaling/floors/api?since=" + since, count: 20},
				{name: "runs", path: "/api/predictive-scaling/runs", count: 60},
				{name: "predictions of every service", path: "/api/predictive-scaling/predictions?points=false", count: 36},
				{name: "predictions of one service", path: "/api/predictive-scaling/predictions?service=svc-3", count: 3},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					whole := page(t, withParam(tt.path, "limit=1000"), 1000)
					require.Empty(t, whole.Next)
					all := whole.records()
					require.Len(t, all, tt.count)
					seen := map[string]bool{}
					for _, r := range all {
						require.False(t, seen[r], "%s listed twice", r)
						seen[r] = true
					}
					for _, limit := range []int{1, 7, DefaultListLimit} {
						var got []string
						next := ""
						for pages := 0; ; pages++ {
							require.LessOrEqual(t, pages, tt.count, "the walk does not end")
							path := tt.path
							if limit != DefaultListLimit { // the default is the default page size
								path = withParam(path, fmt.Sprintf("limit=%d", limit))
							}
							if next != "" {
								path = withParam(path, "next="+next)
							}
							p := page(t, path, limit)
							got = append(got, p.records()...)
							if next = p.Next; next == "" {
								break
							}
						}
						require.Equal(t, all, got, "pages of %d", limit)
					}
				})
			}

			// One full first page of each list, for the cursors of the wrong lists below.
			first := func(path string) string {
				p := page(t, withParam(path, "limit=1"), 1)
				require.NotEmpty(t, p.Next, path)
				return p.Next
			}
			eventsNext := first("/api/hpa-events")
			billingNext := first("/api/hpa-events/billing")
			decisionsNext := first("/api/predictive-scaling/floors/api")
			otherDecisionsNext := first("/api/predictive-scaling/floors/api-x")
			runsNext := first("/api/predictive-scaling/runs")
			predictionsNext := first("/api/predictive-scaling/predictions") // ends at svc-0
			patternsNext := encodeCursor("svc-0")                           // what the pattern list makes

			// A cursor from the list of every service is taken by the list of its record's
			// service: the newest event is search's "search-4".
			p := page(t, "/api/hpa-events/search?limit=2&next="+eventsNext, 2)
			require.Equal(t, []string{fmt.Sprintf("event search/search-3@%d", base+60_000), "event search/search-2@" + since}, p.records())
			p = page(t, "/api/predictive-scaling/predictions?service=svc-0&next="+predictionsNext, 100)
			require.Equal(t, []string{fmt.Sprintf("prediction svc-0@%d", base-60_000), fmt.Sprintf("prediction svc-0@%d", base-120_000)}, p.records())

			for _, path := range []string{
				// Not cursors at all.
				"/api/hpa-events?next=%21%21",
				"/api/predictive-scaling/runs?next=" + encodeCursor("\xff\xfe"),
				"/api/predictive-scaling/floors/api?next=" + encodeCursor("Decisions"),
				"/api/predictive-scaling/predictions?next=" + encodeCursor("Predictions\x00fitted\x00svc-1"),
				// Malformed cursors of the right list: an empty part, a time as strconv never writes it.
				"/api/hpa-events?next=" + encodeCursor("Events\x00"+since+"\x00api\x00"),
				"/api/predictive-scaling/runs?next=" + encodeCursor("Runs\x00+"+since+"\x00run-01"),
				"/api/predictive-scaling/floors/api?next=" + encodeCursor("Decisions\x00api\x000"+since),
				// A cursor the server made, spelled otherwise: base64 decoders skip line breaks.
				"/api/predictive-scaling/runs?next=" + runsNext[:4] + "%0A" + runsNext[4:],
				"/api/predictive-scaling/overrides?next=" + encodeCursor("api\x002026-11-27T12:00:00+01:00\x00id-1"),
				"/api/predictive-scaling/overrides?next=" + encodeCursor("api\x002026-11-27T11:00:00.000Z\x00id-1"),
				// Cursors of other lists.
				"/api/hpa-events?next=" + runsNext,
				"/api/hpa-events?next=" + patternsNext,
				"/api/hpa-events/search?next=" + billingNext, // another service's events
				"/api/predictive-scaling/floors/api?next=" + eventsNext,
				"/api/predictive-scaling/floors/api?next=" + otherDecisionsNext, // another service's decisions
				"/api/predictive-scaling/runs?next=" + predictionsNext,
				"/api/predictive-scaling/runs?next=" + patternsNext,
				"/api/predictive-scaling/predictions?next=" + decisionsNext,
				"/api/predictive-scaling/predictions?service=svc-3&next=" + predictionsNext, // svc-0's
				// The other lists refuse these lists' cursors.
				"/api/predictive-scaling/patterns?next=" + eventsNext,
				"/api/scaling-dependencies?next=" + decisionsNext,
				"/api/predictive-scaling/overrides?next=" + runsNext,
				"/api/predictive-scaling/overrides/api?next=" + predictionsNext,
			} {
				rq := request{method: http.MethodGet, path: path}
				rec := ts.do(t, rq)
				require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", path, rec.Body)
				validateResponse(t, rq, rec)
				e := decodeErr(t, rec)
				require.Equal(t, "next", e.Field, path)
				require.Equal(t, "next: not a cursor of this list", e.Error, path)
			}
		})
	}
}
