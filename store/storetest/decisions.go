package storetest

import (
	"fmt"
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

func decision(service string, ts int64, from, to int32) scaling.FloorDecision {
	return scaling.FloorDecision{
		Service: service, Timestamp: ts, From: from, To: to, Reason: "prediction",
		Contributions: []scaling.DecisionContribution{
			{Source: "base", Floor: 2, Detail: "floor before kai-scaler"},
			{Source: "prediction", Floor: to, Detail: "q0.90 peak of fourier-daily model at 2026-11-27T09:00:00Z"},
			{Source: "override", Floor: 1},
		},
		DryRun: ts%2 == 0,
		Settings: scaling.DecisionSettings{LeadTimeSeconds: 300, CapacityPerReplica: 95, Quantile: 0.9,
			Model: "fourier-daily", ModelReason: "lowest backtest MASE", PredictionFittedAt: ts - 60_000, BacktestCoverage: 0.91},
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
