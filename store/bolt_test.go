package store_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

func openBolt(t *testing.T) store.Store {
	t.Helper()
	b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai-scaler.db"), store.BoltOptions{
		Retention:             storetest.Retention,
		PredictionsPerService: storetest.PredictionsPerService,
		Limits:                storetest.Limits,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBoltContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openBolt)
}

// The limits count keys without walking the bucket: the count follows puts, replacements and
// deletes, of patterns and dependencies alike, and survives a reopen.
func TestBoltLimitCountsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kai-scaler.db")
	limits := store.Limits{MaxPatterns: 3, MaxDependencies: 2}
	open := func() *store.Bolt {
		b, err := store.OpenBolt(path, store.BoltOptions{Limits: limits})
		require.NoError(t, err)
		return b
	}
	ctx := t.Context()
	pattern := func(svc string) scaling.Pattern {
		return scaling.Pattern{Service: svc, PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
			TimeWindows: []scaling.TimeWindow{{HourOfDay: 9, ExpectedLoad: 1}}}
	}
	dep := func(src, dst string) scaling.Dependency {
		return scaling.Dependency{SourceService: src, TargetService: dst, DependencyType: scaling.DependencyFixed,
			Replicas: new(int32(2)), Enabled: true}
	}
	b := open()
	for _, s := range []string{"a", "b", "c", "a"} { // "a" again replaces: still three
		require.NoError(t, b.PutPattern(ctx, pattern(s)))
	}
	require.ErrorContains(t, b.PutPattern(ctx, pattern("d")), "at most 3 patterns")
	require.NoError(t, b.DeletePattern(ctx, "b"))
	require.NoError(t, b.PutPattern(ctx, pattern("d")))
	require.NoError(t, b.PutDependency(ctx, dep("a", "b"), nil))
	require.NoError(t, b.PutDependency(ctx, dep("a", "c"), nil))
	require.ErrorContains(t, b.PutDependency(ctx, dep("a", "d"), nil), "at most 2 dependencies")
	require.NoError(t, b.Close())

	b = open()
	defer b.Close()
	require.ErrorContains(t, b.PutPattern(ctx, pattern("e")), "at most 3 patterns")
	require.ErrorContains(t, b.PutDependency(ctx, dep("a", "d"), nil), "at most 2 dependencies")
	require.NoError(t, b.DeleteDependency(ctx, scaling.DependencyKey{Source: "a", Target: "b"}))
	require.NoError(t, b.PutDependency(ctx, dep("a", "d"), nil))
}
