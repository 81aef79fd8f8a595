package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// walkPages reads a newest-first listing page by page: page(before, limit) answers the records
// after before, and key gives a record's cursor. It fails the test when a page is longer than
// limit or the walk does not end.
func walkPages[T, K any](t *testing.T, limit int, page func(before K, limit int) ([]T, error), key func(T) K) []T {
	t.Helper()
	var before K // the zero key: the first page
	var out []T
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000, "the walk does not end")
		p, err := page(before, limit)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p), limit)
		if len(p) == 0 {
			return out
		}
		out = append(out, p...)
		before = key(p[len(p)-1])
	}
}

// eventsNewestFirst is the listing order of events, spelled out here rather than taken from the
// store: Timestamp, then ID, then service, all descending.
func eventsNewestFirst(a, b scaling.Event) int {
	if c := cmp.Compare(b.Timestamp, a.Timestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(b.ID, a.ID); c != 0 {
		return c
	}
	return cmp.Compare(b.Service, a.Service)
}

// pageSizes are the page sizes every walk is tried with: one record, sizes that do not divide
// the record counts, and one page for all.
var pageSizes = []int{1, 3, 7, 40, 1000}

// testEventPaging: pages of events continued with EventQuery.Before concatenate to the whole
// listing, each event once and in order, also when most share one Timestamp (and some an ID
// across services), combined with every other filter.
func testEventPaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	services := []string{"api", "billing", "search"}
	var all []scaling.Event
	for _, svc := range services {
		// 30 events at base (IDs repeat across services: only the service tells them apart),
		// and a few around it; within Retention.MaxPerService.
		for i := range 30 {
			all = append(all, event(fmt.Sprintf("same-%02d", i), svc, scaling.EventTypes[i%len(scaling.EventTypes)], base))
		}
		for i := range 6 {
			all = append(all, event(fmt.Sprintf("%s-%d", svc, i), svc, scaling.EventTypes[i%len(scaling.EventTypes)], base+int64(i-3)*1000))
		}
	}
	shuffled := slices.Clone(all)
	slices.Reverse(shuffled)
	require.NoError(t, s.AppendEvents(ctx, shuffled[:50]...))
	require.NoError(t, s.AppendEvents(ctx, shuffled[50:]...))
	slices.SortFunc(all, eventsNewestFirst)

	want := func(keep func(scaling.Event) bool) []scaling.Event {
		out := []scaling.Event{}
		for _, e := range all {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	scaleUps := []scaling.EventType{scaling.EventScaleUp, scaling.EventLimitedScale}
	isScaleUp := func(e scaling.Event) bool { return slices.Contains(scaleUps, e.EventType) }
	tests := []struct {
		name string
		q    store.EventQuery
		keep func(scaling.Event) bool
	}{
		{name: "every service", keep: func(scaling.Event) bool { return true }},
		{name: "one service", q: store.EventQuery{Service: "billing"}, keep: func(e scaling.Event) bool { return e.Service == "billing" }},
		{name: "since", q: store.EventQuery{Since: base}, keep: func(e scaling.Event) bool { return e.Timestamp >= base }},
		{name: "since after the shared timestamp", q: store.EventQuery{Since: base + 1}, keep: func(e scaling.Event) bool { return e.Timestamp > base }},
		{name: "until", q: store.EventQuery{Until: base}, keep: func(e scaling.Event) bool { return e.Timestamp <= base }},
		{name: "types", q: store.EventQuery{Types: scaleUps}, keep: isScaleUp},
		{
			name: "service, since, until and types",
			q:    store.EventQuery{Service: "search", Since: base - 1000, Until: base + 1000, Types: scaleUps},
			keep: func(e scaling.Event) bool {
				return e.Service == "search" && e.Timestamp >= base-1000 && e.Timestamp <= base+1000 && isScaleUp(e)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want(tt.keep)
			require.NotEmpty(t, w)
			got, err := s.ListEvents(t.Context(), tt.q)
			require.NoError(t, err)
			require.Equal(t, w, got, "the whole listing")
			for _, limit := range pageSizes {
				got := walkPages(t, limit, func(before store.EventKey, limit int) ([]scaling.Event, error) {
					q := tt.q
					q.Before, q.Limit = before, limit
					return s.ListEvents(t.Context(), q)
				}, store.EventKeyOf)
				require.Equal(t, w, got, "pages of %d", limit)
			}
		})
	}

	// A cursor need not be stored, nor be of the service listed: the page starts after it.
	before := store.EventKey{Timestamp: base, ID: "same-10", Service: "bz"}
	after := want(func(e scaling.Event) bool {
		return eventsNewestFirst(e, scaling.Event{Timestamp: base, ID: "same-10", Service: "bz"}) > 0
	})
	for _, tt := range []struct {
		name string
		q    store.EventQuery
		want []scaling.Event
	}{
		// billing's "same-10" sorts before "bz", search's after it.
		{name: "every service", q: store.EventQuery{Before: before, Limit: 4}, want: after[:4]},
		{name: "every service, no limit", q: store.EventQuery{Before: before}, want: after},
		{name: "billing", q: store.EventQuery{Service: "billing", Before: before, Limit: 2}, want: []scaling.Event{
			event("same-10", "billing", scaling.EventTypes[10%len(scaling.EventTypes)], base),
			event("same-09", "billing", scaling.EventTypes[9%len(scaling.EventTypes)], base),
		}},
		{name: "search", q: store.EventQuery{Service: "search", Before: before, Limit: 1}, want: []scaling.Event{
			event("same-09", "search", scaling.EventTypes[9%len(scaling.EventTypes)], base),
		}},
		{name: "until before the cursor", q: store.EventQuery{Until: base - 1000, Before: before}, want: want(func(e scaling.Event) bool { return e.Timestamp <= base-1000 })},
		{name: "since after the cursor", q: store.EventQuery{Since: base + 1, Before: before}, want: []scaling.Event{}},
	} {
		t.Run("unstored cursor, "+tt.name, func(t *testing.T) {
			got, err := s.ListEvents(t.Context(), tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// testDecisionPaging: pages of a service's decisions continued with DecisionQuery.Before
// concatenate to the whole record, with and without since.
func testDecisionPaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	var all []scaling.FloorDecision // newest first
	for i := 29; i >= 0; i-- {
		all = append(all, decision("api", base+int64(i)*1000, int32(i), int32(i+1)))
	}
	for _, i := range []int{7, 3, 29, 0, 12} { // out of order, and another service's between
		require.NoError(t, s.AddDecision(ctx, all[i]))
		require.NoError(t, s.AddDecision(ctx, decision("api-x", base+int64(i)*1000+500, 1, 2)))
	}
	for _, d := range all {
		require.NoError(t, s.AddDecision(ctx, d))
	}
	for _, tt := range []struct {
		name  string
		since int64
		want  []scaling.FloorDecision
	}{
		{name: "all", want: all},
		{name: "since", since: base + 10_000, want: all[:20]},
	} {
		for _, limit := range pageSizes {
			got := walkPages(t, limit, func(before *int64, limit int) ([]scaling.FloorDecision, error) {
				return s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Since: tt.since, Before: before, Limit: limit})
			}, func(d scaling.FloorDecision) *int64 { return ptr(d.Timestamp) })
			require.Equal(t, tt.want, got, "%s, pages of %d", tt.name, limit)
		}
	}
	// A cursor need not be stored: the page holds the decisions older than it.
	got, err := s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Before: ptr(base + 10_500), Limit: 2})
	require.NoError(t, err)
	require.Equal(t, all[19:21], got)
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Before: ptr(base)})
	require.NoError(t, err)
	require.Empty(t, got, "nothing is older than the oldest")
}

// testRunPaging: pages of runs continued with PageRuns concatenate to ListRuns, also when most
// runs were queued at one time.
func testRunPaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	for i := range 60 {
		require.NoError(t, s.PutRun(ctx, run(fmt.Sprintf("same-%02d", (i*7)%60), base)))
	}
	for i := range 5 {
		require.NoError(t, s.PutRun(ctx, run(fmt.Sprintf("r%d", i), base+int64(i-2)*1000)))
	}
	all, err := s.ListRuns(ctx, 0)
	require.NoError(t, err)
	require.Len(t, all, 65)
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		require.True(t, a.QueuedAt > b.QueuedAt || a.QueuedAt == b.QueuedAt && a.ID > b.ID, "%s before %s", a.ID, b.ID)
	}
	first, err := s.PageRuns(ctx, store.RunKey{}, 0)
	require.NoError(t, err)
	require.Equal(t, all, first, "the first page without a limit is ListRuns")
	for _, limit := range pageSizes {
		got := walkPages(t, limit, func(before store.RunKey, limit int) ([]scaling.ForecastRun, error) {
			return s.PageRuns(ctx, before, limit)
		}, store.RunKeyOf)
		require.Equal(t, runIDs(all), runIDs(got), "pages of %d", limit)
	}
	// A cursor need not be stored: the page starts after it.
	page, err := s.PageRuns(ctx, store.RunKey{QueuedAt: base, ID: "same-455"}, 3)
	require.NoError(t, err)
	require.Equal(t, []string{"same-45", "same-44", "same-43"}, runIDs(page))
}

// testPredictionPaging: pages of predictions continued with PagePredictions concatenate to
// ListPredictions, also when every service's predictions were fitted at the same times.
func testPredictionPaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	var services []string
	for i := range 12 {
		services = append(services, fmt.Sprintf("svc-%d", i)) // "svc-10" sorts before "svc-2"
	}
	for _, fittedAt := range []int64{3_000_000, 1_000_000, 2_000_000} {
		for _, svc := range services {
			require.NoError(t, s.AddPrediction(ctx, prediction(svc, fittedAt)))
		}
	}
	require.NoError(t, s.AddPrediction(ctx, prediction("svc-3", 2_500_000)))
	all, err := s.ListPredictions(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, all, 3*len(services)+1)
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		require.True(t, a.FittedAt > b.FittedAt || a.FittedAt == b.FittedAt && a.Service < b.Service, "%v before %v", store.PredictionKeyOf(a), store.PredictionKeyOf(b))
	}
	for _, svc := range []string{"", "svc-3"} {
		want, err := s.ListPredictions(ctx, svc, 0)
		require.NoError(t, err)
		for _, limit := range pageSizes {
			got := walkPages(t, limit, func(before store.PredictionKey, limit int) ([]scaling.Prediction, error) {
				return s.PagePredictions(ctx, store.PredictionQuery{Service: svc, Before: before, Limit: limit})
			}, store.PredictionKeyOf)
			require.Equal(t, want, got, "service %q, pages of %d", svc, limit)
		}
	}
	// A cursor need not be stored: the page starts after it.
	page, err := s.PagePredictions(ctx, store.PredictionQuery{Before: store.PredictionKey{FittedAt: 2_000_000, Service: "svc-55"}, Limit: 3})
	require.NoError(t, err)
	require.Equal(t, []scaling.Prediction{prediction("svc-6", 2_000_000), prediction("svc-7", 2_000_000), prediction("svc-8", 2_000_000)}, page)
}
