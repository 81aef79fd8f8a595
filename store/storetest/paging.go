package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// testPagingAndLimits: pages concatenate to the whole sorted listing, and a store holding
// Limits refuses one more object (never a replacement). Issue 11, item 3.
func testPagingAndLimits(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	t.Run("patterns", func(t *testing.T) {
		for i := range Limits.MaxPatterns {
			// Names whose byte order differs from a naive field order ("svc-1" < "svc-10" < "svc-2").
			require.NoError(t, s.PutPattern(ctx, pattern(fmt.Sprintf("svc-%d", i), scaling.SourceManual, 1, 0.5)))
		}
		all, err := s.ListPatterns(ctx)
		require.NoError(t, err)
		require.Len(t, all, Limits.MaxPatterns)
		for _, limit := range []int{1, 7, Limits.MaxPatterns, 1000} {
			var got []scaling.Pattern
			after := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100)
				page, err := s.PagePatterns(ctx, after, limit)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), limit)
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Service
			}
			require.Equal(t, all, got, "limit %d", limit)
		}
		page, err := s.PagePatterns(ctx, "svc-25", 3)
		require.NoError(t, err)
		require.Equal(t, []string{"svc-26", "svc-27", "svc-28"}, []string{page[0].Service, page[1].Service, page[2].Service})
		page, err = s.PagePatterns(ctx, "svc-250", 2) // a cursor need not be stored
		require.NoError(t, err)
		require.Equal(t, "svc-26", page[0].Service)

		err = s.PutPattern(ctx, pattern("one-more", scaling.SourceManual, 1, 0.5))
		require.ErrorIs(t, err, store.ErrLimit)
		require.ErrorContains(t, err, fmt.Sprintf("at most %d patterns", Limits.MaxPatterns))
		written, err := s.PutDerivedPattern(ctx, pattern("one-more", scaling.SourceDerived, 1, 0.5))
		require.ErrorIs(t, err, store.ErrLimit)
		require.False(t, written)
		_, err = s.GetPattern(ctx, "one-more")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.PutPattern(ctx, pattern("svc-3", scaling.SourceManual, 2, 0.7)), "replacing is allowed at the limit")
		require.NoError(t, s.DeletePattern(ctx, "svc-3"))
		require.NoError(t, s.PutPattern(ctx, pattern("one-more", scaling.SourceManual, 1, 0.5)), "room again after a delete")
	})

	t.Run("dependencies", func(t *testing.T) {
		var keys []scaling.DependencyKey
		// Sources "a" and "a-b": "a-b/..." sorts before "a/..." as a field, after it as a source.
		for i := range Limits.MaxDependencies {
			src := []string{"a", "a-b", "b"}[i%3]
			d := dependency(src, fmt.Sprintf("t-%d", i), 0.5)
			keys = append(keys, d.Key())
			require.NoError(t, s.PutDependency(ctx, d, acceptAll))
		}
		all, err := s.ListDependencies(ctx)
		require.NoError(t, err)
		require.Len(t, all, len(keys))
		for _, limit := range []int{1, 4, 1000} {
			var got []scaling.Dependency
			var after scaling.DependencyKey
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100)
				page, err := s.PageDependencies(ctx, after, limit)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), limit)
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Key()
			}
			require.Equal(t, all, got, "limit %d", limit)
		}
		err = s.PutDependency(ctx, dependency("c", "d", 1), acceptAll)
		require.ErrorIs(t, err, store.ErrLimit)
		_, err = s.GetDependency(ctx, scaling.DependencyKey{Source: "c", Target: "d"})
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.PutDependency(ctx, dependency(keys[0].Source, keys[0].Target, 0.9), acceptAll), "replacing is allowed at the limit")
		require.NoError(t, s.DeleteDependency(ctx, keys[0]))
		require.NoError(t, s.PutDependency(ctx, dependency("c", "d", 1), acceptAll))
	})
}
