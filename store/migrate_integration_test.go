package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// TestMigrateLayout: patterns and dependencies stored in the single hashes of the old layout
// are moved, on a real Redis, to one key per object with indexes: they list, page, read and
// take part in cycle checks as before, the old hashes are gone, an object already written in
// the new layout is kept, and a second run moves nothing. Issue 11, item 13.
func TestMigrateLayout(t *testing.T) {
	addr := testenv.RedisAddr(t)
	r := storetest.OpenRedis(t, store.RedisOptions{})
	ctx := t.Context()
	raw := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = raw.Close() })
	prefix := r.Prefix()

	var patterns []scaling.Pattern
	for i := range 1200 { // more than one HSCAN batch
		p := scaling.Pattern{Service: fmt.Sprintf("svc-%04d", i), PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
			TimeWindows: []scaling.TimeWindow{{HourOfDay: i % 24, ExpectedLoad: 0.5}}, LastUpdated: int64(i)}
		patterns = append(patterns, p)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		require.NoError(t, raw.HSet(ctx, prefix+"patterns", p.Service, b).Err())
	}
	deps := []scaling.Dependency{
		{SourceService: "a", TargetService: "b", DependencyType: scaling.DependencyFixed, Replicas: new(int32), Enabled: true, LastUpdated: 1},
		{SourceService: "b", TargetService: "c", DependencyType: scaling.DependencyFixed, Replicas: new(int32), Enabled: true, LastUpdated: 2},
		{SourceService: "a-b", TargetService: "c", DependencyType: scaling.DependencyFixed, Replicas: new(int32), Enabled: false, LastUpdated: 3},
	}
	for _, d := range deps {
		b, err := json.Marshal(d)
		require.NoError(t, err)
		require.NoError(t, raw.HSet(ctx, prefix+"dependencies", d.SourceService+"/"+d.TargetService, b).Err())
	}
	// Written in the new layout since (by a newer replica): kept over the old copy.
	newer := patterns[7]
	newer.TimeWindows = []scaling.TimeWindow{{HourOfDay: 23, ExpectedLoad: 0.9}}
	require.NoError(t, r.PutPattern(ctx, newer))
	patterns[7] = newer

	n, err := r.MigrateLayout(ctx)
	require.NoError(t, err)
	require.Equal(t, len(patterns)+len(deps), n)
	for _, k := range []string{"patterns", "dependencies"} {
		exists, err := raw.Exists(ctx, prefix+k).Result()
		require.NoError(t, err)
		require.Zero(t, exists, "old hash %s deleted", k)
	}

	got, err := r.ListPatterns(ctx)
	require.NoError(t, err)
	require.Equal(t, patterns, got)
	page, err := r.PagePatterns(ctx, "svc-0099", 2)
	require.NoError(t, err)
	require.Equal(t, patterns[100:102], page)
	gotDeps, err := r.ListDependencies(ctx)
	require.NoError(t, err)
	require.Equal(t, []scaling.Dependency{deps[0], deps[2], deps[1]}, gotDeps, "(source, target) order")
	d, err := r.GetDependency(ctx, scaling.DependencyKey{Source: "b", Target: "c"})
	require.NoError(t, err)
	require.Equal(t, deps[1], d)

	// The adjacency came along: c -> a closes a -> b -> c -> a.
	ca := scaling.Dependency{SourceService: "c", TargetService: "a", DependencyType: scaling.DependencyFixed, Replicas: new(int32)}
	err = r.PutDependency(ctx, ca, func(existing []scaling.Dependency) error {
		if c := scaling.FindCycle(existing, ca); c != nil {
			return c
		}
		return nil
	})
	var ce *scaling.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{"c", "a", "b", "c"}, ce.Path)

	n, err = r.MigrateLayout(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// Open migrates on start.
	require.NoError(t, raw.HSet(ctx, prefix+"patterns", "late", `{"service":"late","patternType":"daily","timeWindows":[],"source":"manual","lastUpdated":1}`).Err())
	opened, err := store.Open(context.Background(), "redis://"+addr+"/0", "", store.Options{RedisPrefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = opened.Close() })
	_, err = opened.GetPattern(ctx, "late")
	require.NoError(t, err)
}
