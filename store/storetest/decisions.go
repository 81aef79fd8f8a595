package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

var overrideBase = time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC)

func override(id, service string, startHours, endHours int) scaling.Override {
	return scaling.Override{
		ID: id, Service: service,
		Start:       overrideBase.Add(time.Duration(startHours) * time.Hour),
		End:         overrideBase.Add(time.Duration(endHours) * time.Hour),
		MinReplicas: ptr[int32](12),
		Reason:      "Christmas sale: ümlauts and \"quotes\" survive",
		CreatedAt:   1_700_000_000_000,
	}
}

func testOverrides(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	got, err := s.ListOverrides(ctx, "")
	require.NoError(t, err)
	require.Empty(t, got)
	require.ErrorIs(t, s.DeleteOverride(ctx, "api", "nope"), store.ErrNotFound)
	require.Error(t, s.PutOverride(ctx, override("", "api", 0, 1)), "an override needs an id")

	a2 := override("a2", "api", 5, 6)
	a1 := override("a1", "api", 1, 3)
	a1.MinReplicas, a1.ExpectedLoad = nil, ptr(0.75)
	a3 := override("a0", "api", 5, 9) // same start as a2: ordered by ID
	b1 := override("b1", "billing", 0, 2)
	// "api-x" shares a prefix with "api": listing api must not include it.
	x1 := override("x1", "api-x", 0, 2)
	for _, o := range []scaling.Override{a2, a1, a3, b1, x1} {
		require.NoError(t, s.PutOverride(ctx, o))
	}
	got, err = s.ListOverrides(ctx, "api")
	require.NoError(t, err)
	require.Equal(t, []scaling.Override{a1, a3, a2}, got)
	got, err = s.ListOverrides(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []scaling.Override{a1, a3, a2, x1, b1}, got)
	got, err = s.ListOverrides(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, got)

	// Putting an ID again replaces that override.
	a2b := a2
	a2b.Reason = "moved"
	a2b.Start = a2.Start.Add(-5 * time.Hour)
	require.NoError(t, s.PutOverride(ctx, a2b))
	got, err = s.ListOverrides(ctx, "api")
	require.NoError(t, err)
	require.Equal(t, []scaling.Override{a2b, a1, a3}, got)

	// An ID is per service: deleting billing's b1 under api is not found.
	require.ErrorIs(t, s.DeleteOverride(ctx, "api", "b1"), store.ErrNotFound)
	require.NoError(t, s.DeleteOverride(ctx, "api", "a1"))
	require.ErrorIs(t, s.DeleteOverride(ctx, "api", "a1"), store.ErrNotFound)
	got, err = s.ListOverrides(ctx, "api")
	require.NoError(t, err)
	require.Equal(t, []scaling.Override{a2b, a3}, got)

	// Pruning drops what ended at or before now: b1 and x1 end at +2h, a2b at +6h.
	n, err := s.PruneOverrides(ctx, overrideBase.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got, err = s.ListOverrides(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []scaling.Override{a2b, a3}, got)
	n, err = s.PruneOverrides(ctx, overrideBase.Add(2*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.PruneOverrides(ctx, overrideBase.Add(100*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got, err = s.ListOverrides(ctx, "")
	require.NoError(t, err)
	require.Empty(t, got)
}

// liveOverride is an override of service from startHours to endHours around now (whole
// seconds, UTC: it survives the JSON round trip unchanged).
func liveOverride(id, service string, now time.Time, startHours, endHours int) scaling.Override {
	o := override(id, service, 0, 0)
	o.Start = now.Add(time.Duration(startHours) * time.Hour)
	o.End = now.Add(time.Duration(endHours) * time.Hour)
	return o
}

// testOverrideLimit: a service holding Limits.MaxOverridesPerService overrides that have not
// ended (by the store's clock, time.Now) is refused a new one; ended ones, other services and
// replacements are not limited, and concurrent writers never exceed the cap together.
func testOverrideLimit(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	limit := Limits.MaxOverridesPerService

	// Ended overrides wait to be pruned; they do not count.
	for i := range limit + 2 {
		require.NoError(t, s.PutOverride(ctx, liveOverride(fmt.Sprintf("ended-%d", i), "api", now, -3, -1)))
	}
	for i := range limit {
		require.NoError(t, s.PutOverride(ctx, liveOverride(fmt.Sprintf("live-%d", i), "api", now, 1, 2)))
	}
	err := s.PutOverride(ctx, liveOverride("one-more", "api", now, 1, 2))
	require.ErrorIs(t, err, store.ErrLimit)
	require.ErrorContains(t, err, fmt.Sprintf("at most %d overrides per service", limit))
	got, err := s.ListOverrides(ctx, "api")
	require.NoError(t, err)
	require.Len(t, got, 2*limit+2, "nothing written")

	replaced := liveOverride("live-0", "api", now, 3, 4)
	replaced.Reason = "moved"
	require.NoError(t, s.PutOverride(ctx, replaced), "replacing is allowed at the cap")
	// "api-x" shares a prefix with "api": it has a cap of its own.
	require.NoError(t, s.PutOverride(ctx, liveOverride("x", "api-x", now, 1, 2)))
	require.NoError(t, s.PutOverride(ctx, liveOverride("b", "billing", now, 1, 2)))
	require.NoError(t, s.DeleteOverride(ctx, "api", "live-1"))
	require.NoError(t, s.PutOverride(ctx, liveOverride("one-more", "api", now, 1, 2)), "room again after a delete")
	require.ErrorIs(t, s.PutOverride(ctx, liveOverride("two-more", "api", now, 1, 2)), store.ErrLimit)

	// Concurrent writers to one service: exactly the cap is written.
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 4 * limit {
		wg.Go(func() {
			err := s.PutOverride(ctx, liveOverride(fmt.Sprintf("race-%d", i), "race", now, 1, 2))
			if err == nil {
				ok.Add(1)
				return
			}
			if !errors.Is(err, store.ErrLimit) && !errors.Is(err, store.ErrConflict) {
				t.Errorf("put override: %v", err)
			}
		})
	}
	wg.Wait()
	got, err = s.ListOverrides(ctx, "race")
	require.NoError(t, err)
	require.Len(t, got, limit)
	require.Equal(t, limit, int(ok.Load()))
}

// testOverridePaging: pages of PageOverrides, at every limit, concatenate to ListOverrides
// (of one service or of all, by service, start and ID) without a gap or a duplicate, and
// EndAfter leaves out the overrides that have ended.
func testOverridePaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	for _, svc := range []string{"api", "api-x", "billing", "a"} {
		// Two share a start (ordered by ID); one has ended.
		for i, o := range []scaling.Override{
			liveOverride("z", svc, now, 2, 3),
			liveOverride("b", svc, now, 1, 3),
			liveOverride("a", svc, now, 1, 3),
			liveOverride("ended", svc, now, -2, -1),
		} {
			o.Reason = fmt.Sprintf("%s %d", svc, i)
			require.NoError(t, s.PutOverride(ctx, o))
		}
	}
	for _, svc := range []string{"", "api"} {
		all, err := s.ListOverrides(ctx, svc)
		require.NoError(t, err)
		var live []scaling.Override
		for _, o := range all {
			if o.End.After(now) {
				live = append(live, o)
			}
		}
		for _, tc := range []struct {
			endAfter time.Time
			want     []scaling.Override
		}{{time.Time{}, all}, {now, live}} {
			for _, limit := range []int{1, 2, 3, 1000} {
				var got []scaling.Override
				var after store.OverrideKey
				for pages := 0; ; pages++ {
					require.Less(t, pages, 100)
					page, err := s.PageOverrides(ctx, store.OverrideQuery{Service: svc, After: after, EndAfter: tc.endAfter, Limit: limit})
					require.NoError(t, err)
					require.LessOrEqual(t, len(page), limit)
					if len(page) == 0 {
						break
					}
					got = append(got, page...)
					after = store.OverrideKeyOf(page[len(page)-1])
				}
				require.Equal(t, tc.want, got, "service %q, limit %d, endAfter %v", svc, limit, tc.endAfter)
			}
		}
	}
	// A cursor need not be stored: the page starts after it.
	page, err := s.PageOverrides(ctx, store.OverrideQuery{After: store.OverrideKey{Service: "api", Start: now.Add(time.Hour), ID: "aa"}, Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, []string{"api/b", "api/z"}, []string{page[0].Service + "/" + page[0].ID, page[1].Service + "/" + page[1].ID})
}

func decision(service string, ts int64, from, to int32) scaling.FloorDecision {
	half := 0.5
	return scaling.FloorDecision{
		Service: service, Timestamp: ts, From: from, To: to, Reason: "prediction",
		Contributions: []scaling.DecisionContribution{
			{Source: "base", Floor: 2, Detail: "floor before kai-scaler"},
			{Source: "prediction", Floor: to, Detail: "q0.90 peak of fourier-daily model at 2026-11-27T09:00:00Z"},
			{Source: "override", Floor: 1},
		},
		DryRun: ts%2 == 0,
		Settings: scaling.DecisionSettings{LeadTimeSeconds: 300, CapacityPerReplica: 95, Quantile: 0.9,
			Model: "fourier-daily", ModelReason: "lowest backtest MASE", PredictionFittedAt: ts - 60_000, BacktestCoverage: 0.91,
			Calibration: &scaling.Calibration{FloorSettings: scaling.FloorSettings{BoundShare: &half, LeadSeconds: 150, SurgeSeconds: 60},
				Reason: "replayed 7.0 days of history through the HPA, pods ready 2m0s after they start, with 36 settings", Budget: 0.1,
				PodStartupSeconds: 120, PodStartupSource: scaling.PodStartupMeasured, WindowMinutes: 10080,
				UnderProvisionedReduction: 0.93, ReplicaHoursIncrease: 0.061, Candidates: 36}},
		Summary: fmt.Sprintf("%s floor %d→%d: prediction", service, from, to),
	}
}

func testDecisions(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()

	got, err := s.ListDecisions(ctx, store.DecisionQuery{Service: "api"})
	require.NoError(t, err)
	require.Empty(t, got)

	d1 := decision("api", base, 2, 5)
	d2 := decision("api", base+30_000, 5, 8)
	d3 := decision("api", base+60_000, 8, 6)
	other := decision("billing", base+45_000, 1, 3)
	for _, d := range []scaling.FloorDecision{d2, other, d3, d1} {
		require.NoError(t, s.AddDecision(ctx, d))
	}
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api"})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{d3, d2, d1}, got)
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{d3, d2}, got)
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Since: base + 30_000})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{d3, d2}, got, "since is inclusive")
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api", Since: base + 1, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{d3}, got)
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "billing"})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{other}, got)

	// A decision of the same service and time replaces the earlier one.
	d3b := decision("api", base+60_000, 8, 7)
	require.NoError(t, s.AddDecision(ctx, d3b))
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "api"})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{d3b, d2, d1}, got)
	require.Error(t, s.AddDecision(ctx, decision("", base, 1, 2)), "a decision needs a service")
}

func testDecisionRetention(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	limit := Retention.MaxPerService

	var want []scaling.FloorDecision
	for i := range limit + 10 {
		d := decision("api", base+int64(i)*1000, int32(i), int32(i+1))
		require.NoError(t, s.AddDecision(ctx, d))
		if i >= 10 {
			want = append([]scaling.FloorDecision{d}, want...)
		}
	}
	other := decision("billing", base-1000, 1, 2)
	require.NoError(t, s.AddDecision(ctx, other))
	got, err := s.ListDecisions(ctx, store.DecisionQuery{Service: "api"})
	require.NoError(t, err)
	require.Equal(t, want, got, "the newest MaxPerService are kept")
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "billing"})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{other}, got, "another service's record is untouched")

	now := time.Now()
	old := decision("aged", now.Add(-Retention.MaxAge-time.Hour).UnixMilli(), 1, 2)
	fresh := decision("aged", now.Add(-Retention.MaxAge+time.Hour).UnixMilli(), 2, 3)
	require.NoError(t, s.AddDecision(ctx, old))
	require.NoError(t, s.AddDecision(ctx, fresh))
	got, err = s.ListDecisions(ctx, store.DecisionQuery{Service: "aged"})
	require.NoError(t, err)
	require.Equal(t, []scaling.FloorDecision{fresh}, got)
}

func shadowDay(service string, day time.Time, saved float64) scaling.ShadowDay {
	return scaling.ShadowDay{
		Service: service, Day: day.Format(time.DateOnly), Samples: 2880, ObservedSeconds: 86_400,
		UnderprovisionedReplicaMinutes: saved + 3.5, UnderprovisionedReplicaMinutesWithFloors: 3.5,
		UnderprovisionedReplicaMinutesSaved: saved, ExtraReplicaHours: 1.25, UpdatedAt: day.UnixMilli(),
	}
}

func testShadowDays(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	day0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

	got, err := s.ListShadowDays(ctx, "api", 0)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Error(t, s.PutShadowDay(ctx, scaling.ShadowDay{Service: "api", Day: "yesterday"}))

	// More days than kept, in shuffled order: the newest ShadowMaxDays are kept, newest first.
	n := store.ShadowMaxDays + 5
	for _, i := range []int{3, 0, 1, 2} {
		require.NoError(t, s.PutShadowDay(ctx, shadowDay("api", day0.AddDate(0, 0, n-1-i), float64(i))))
	}
	for i := 4; i < n; i++ {
		require.NoError(t, s.PutShadowDay(ctx, shadowDay("api", day0.AddDate(0, 0, n-1-i), float64(i))))
	}
	got, err = s.ListShadowDays(ctx, "api", 0)
	require.NoError(t, err)
	require.Len(t, got, store.ShadowMaxDays)
	require.Equal(t, shadowDay("api", day0.AddDate(0, 0, n-1), 0), got[0])
	require.Equal(t, day0.AddDate(0, 0, 5).Format(time.DateOnly), got[len(got)-1].Day)
	got, err = s.ListShadowDays(ctx, "api", 2)
	require.NoError(t, err)
	require.Equal(t, []scaling.ShadowDay{shadowDay("api", day0.AddDate(0, 0, n-1), 0), shadowDay("api", day0.AddDate(0, 0, n-2), 1)}, got)

	// Putting a day again replaces it; other services are separate.
	again := shadowDay("api", day0.AddDate(0, 0, n-1), 42)
	require.NoError(t, s.PutShadowDay(ctx, again))
	require.NoError(t, s.PutShadowDay(ctx, shadowDay("billing", day0, 7)))
	got, err = s.ListShadowDays(ctx, "api", 1)
	require.NoError(t, err)
	require.Equal(t, []scaling.ShadowDay{again}, got)
	got, err = s.ListShadowDays(ctx, "billing", 0)
	require.NoError(t, err)
	require.Equal(t, []scaling.ShadowDay{shadowDay("billing", day0, 7)}, got)
}
