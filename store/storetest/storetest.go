package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// Retention is the event retention the store under test must be opened with.
var Retention = store.EventRetention{MaxPerService: 50, MaxAge: 24 * time.Hour}

// PredictionsPerService is the prediction limit the store under test must be opened with: the
// least the PredictionStore contract allows.
const PredictionsPerService = 24

// Limits are the caps contract stores are opened with: "paging and limits" fills them.
var Limits = store.Limits{MaxPatterns: 30, MaxDependencies: 30, MaxOverridesPerService: 4}

// Run runs the contract suite. open must return a new, empty store opened with Retention and
// PredictionsPerService, whose retention clock is time.Now, and register its Close with
// t.Cleanup, ignoring the error of a second Close (one test closes the store itself).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("patterns", func(t *testing.T) { t.Parallel(); testPatterns(t, open) })
	t.Run("derived patterns", func(t *testing.T) { t.Parallel(); testDerivedPatterns(t, open) })
	t.Run("concurrent pattern writers", func(t *testing.T) { t.Parallel(); testConcurrentPatterns(t, open) })
	t.Run("dependencies", func(t *testing.T) { t.Parallel(); testDependencies(t, open) })
	t.Run("paging and limits", func(t *testing.T) { t.Parallel(); testPagingAndLimits(t, open) })
	t.Run("dependency check is atomic", func(t *testing.T) { t.Parallel(); testDependencyRace(t, open) })
	t.Run("predictions", func(t *testing.T) { t.Parallel(); testPredictions(t, open) })
	t.Run("events", func(t *testing.T) { t.Parallel(); testEvents(t, open) })
	t.Run("event filters", func(t *testing.T) { t.Parallel(); testEventFilters(t, open) })
	t.Run("event retention", func(t *testing.T) { t.Parallel(); testEventRetention(t, open) })
	t.Run("concurrent event appends", func(t *testing.T) { t.Parallel(); testConcurrentEvents(t, open) })
	t.Run("runs", func(t *testing.T) { t.Parallel(); testRuns(t, open) })
	t.Run("run retention", func(t *testing.T) { t.Parallel(); testRunRetention(t, open) })
	t.Run("locks", func(t *testing.T) { t.Parallel(); testLocks(t, open) })
	t.Run("concurrent TryLock: exactly one wins", func(t *testing.T) { t.Parallel(); testLockRace(t, open) })
	t.Run("overrides", func(t *testing.T) { t.Parallel(); testOverrides(t, open) })
	t.Run("override limit", func(t *testing.T) { t.Parallel(); testOverrideLimit(t, open) })
	t.Run("override paging", func(t *testing.T) { t.Parallel(); testOverridePaging(t, open) })
	t.Run("decisions", func(t *testing.T) { t.Parallel(); testDecisions(t, open) })
	t.Run("decision retention", func(t *testing.T) { t.Parallel(); testDecisionRetention(t, open) })
	t.Run("shadow days", func(t *testing.T) { t.Parallel(); testShadowDays(t, open) })
	t.Run("event paging", func(t *testing.T) { t.Parallel(); testEventPaging(t, open) })
	t.Run("decision paging", func(t *testing.T) { t.Parallel(); testDecisionPaging(t, open) })
	t.Run("run paging", func(t *testing.T) { t.Parallel(); testRunPaging(t, open) })
	t.Run("prediction paging", func(t *testing.T) { t.Parallel(); testPredictionPaging(t, open) })
	t.Run("closed store is unavailable", func(t *testing.T) { t.Parallel(); testClosed(t, open) })
}

func ptr[T any](v T) *T { return &v }

func pattern(service string, source scaling.PatternSource, windows int, load float64) scaling.Pattern {
	p := scaling.Pattern{
		Service:     service,
		PatternType: scaling.PatternWeekly,
		Timezone:    "Europe/Berlin",
		Source:      source,
		LastUpdated: 1_700_000_000_000 + int64(windows),
	}
	for i := range windows {
		p.TimeWindows = append(p.TimeWindows, scaling.TimeWindow{
			DayOfWeek: ptr(i % 7), HourOfDay: i % 24, ExpectedLoad: load + float64(i)/1000,
		})
	}
	return p
}

func testPatterns(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	_, err := s.GetPattern(ctx, "api")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeletePattern(ctx, "api"), store.ErrNotFound)
	list, err := s.ListPatterns(ctx)
	require.NoError(t, err)
	require.Empty(t, list)

	big := pattern("api", scaling.SourceManual, 10, 0.5)
	require.NoError(t, s.PutPattern(ctx, big))
	got, err := s.GetPattern(ctx, "api")
	require.NoError(t, err)
	require.Equal(t, big, got)

	// A smaller pattern replaces the whole record: no window of the first survives.
	small := pattern("api", scaling.SourceManual, 2, 0.25)
	small.PatternType = scaling.PatternDaily
	small.Timezone = ""
	small.TimeWindows[0].DayOfWeek, small.TimeWindows[1].DayOfWeek = nil, nil
	require.NoError(t, s.PutPattern(ctx, small))
	got, err = s.GetPattern(ctx, "api")
	require.NoError(t, err)
	require.Equal(t, small, got)

	other := pattern("billing", scaling.SourceDerived, 3, 0.1)
	require.NoError(t, s.PutPattern(ctx, other))
	list, err = s.ListPatterns(ctx)
	require.NoError(t, err)
	require.Equal(t, []scaling.Pattern{small, other}, list)

	require.NoError(t, s.DeletePattern(ctx, "api"))
	_, err = s.GetPattern(ctx, "api")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeletePattern(ctx, "api"), store.ErrNotFound)
	list, err = s.ListPatterns(ctx)
	require.NoError(t, err)
	require.Equal(t, []scaling.Pattern{other}, list)
}

func testDerivedPatterns(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name        string
		stored      *scaling.Pattern
		wantWritten bool
	}{
		{name: "nothing stored", wantWritten: true},
		{name: "derived stored", stored: ptr(pattern("api", scaling.SourceDerived, 4, 0.2)), wantWritten: true},
		{name: "manual stored", stored: ptr(pattern("api", scaling.SourceManual, 4, 0.2))},
		{name: "empty source reads as manual", stored: ptr(pattern("api", "", 4, 0.2))},
	}
	s := open(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			service := fmt.Sprintf("svc-%d", i)
			if tt.stored != nil {
				tt.stored.Service = service
				require.NoError(t, s.PutPattern(ctx, *tt.stored))
			}
			// The caller's Source does not matter: a derived write is stored as derived.
			p := pattern(service, "", 6, 0.7)
			written, err := s.PutDerivedPattern(ctx, p)
			require.NoError(t, err)
			require.Equal(t, tt.wantWritten, written)

			got, err := s.GetPattern(ctx, service)
			require.NoError(t, err)
			if tt.wantWritten {
				p.Source = scaling.SourceDerived
				require.Equal(t, p, got)
			} else {
				require.Equal(t, *tt.stored, got)
			}
		})
	}

	t.Run("manual write wins over racing derived writes", func(t *testing.T) {
		ctx := t.Context()
		require.NoError(t, s.PutPattern(ctx, pattern("race", scaling.SourceDerived, 1, 0.1)))
		manual := pattern("race", scaling.SourceManual, 3, 0.9)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, err := s.PutDerivedPattern(ctx, pattern("race", scaling.SourceDerived, 2+(w+i)%5, 0.3))
					if err != nil {
						t.Errorf("put derived: %v", err)
						return
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, s.PutPattern(ctx, manual))
		// Every derived write that starts after the manual one returned must keep it.
		for range 10 {
			written, err := s.PutDerivedPattern(ctx, pattern("race", scaling.SourceDerived, 5, 0.4))
			require.NoError(t, err)
			require.False(t, written)
		}
		close(stop)
		wg.Wait()
		got, err := s.GetPattern(ctx, "race")
		require.NoError(t, err)
		require.Equal(t, manual, got)
	})
}

func testConcurrentPatterns(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	const writers, rounds = 6, 8

	t.Run("different services", func(t *testing.T) {
		var wg sync.WaitGroup
		want := make([]scaling.Pattern, writers)
		for w := range writers {
			want[w] = pattern(fmt.Sprintf("own-%d", w), scaling.SourceManual, w+1, float64(w)/10)
			wg.Go(func() {
				for range rounds {
					if err := s.PutPattern(ctx, want[w]); err != nil {
						t.Errorf("put: %v", err)
					}
				}
			})
		}
		wg.Wait()
		got, err := s.ListPatterns(ctx)
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("same service: last write wins whole", func(t *testing.T) {
		// Each writer writes its own, recognisably different pattern; readers running meanwhile
		// and the final state must always see exactly one of them, never a mix.
		candidates := make([]scaling.Pattern, writers)
		for w := range writers {
			candidates[w] = pattern("shared", scaling.SourceManual, 1+3*w, float64(w)/7)
		}
		require.NoError(t, s.PutPattern(ctx, candidates[0]))
		isCandidate := func(p scaling.Pattern) bool {
			return slices.ContainsFunc(candidates, func(c scaling.Pattern) bool { return equalPattern(c, p) })
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for range rounds {
					if err := s.PutPattern(ctx, candidates[w]); err != nil {
						t.Errorf("put: %v", err)
					}
				}
			})
		}
		done := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					p, err := s.GetPattern(ctx, "shared")
					if err != nil {
						t.Errorf("get: %v", err)
						return
					}
					if !isCandidate(p) {
						t.Errorf("read a pattern no writer wrote: %+v", p)
						return
					}
				}
			})
		}
		wg.Wait()
		close(done)
		readers.Wait()
		got, err := s.GetPattern(ctx, "shared")
		require.NoError(t, err)
		require.True(t, isCandidate(got), "stored pattern is no writer's: %+v", got)
	})
}

func equalPattern(a, b scaling.Pattern) bool {
	return fmt.Sprintf("%+v", deref(a)) == fmt.Sprintf("%+v", deref(b))
}

// deref replaces pointers by values so patterns compare by content in equalPattern.
func deref(p scaling.Pattern) any {
	type window struct {
		Day  int
		Set  bool
		Hour int
		Load float64
	}
	ws := make([]window, len(p.TimeWindows))
	for i, w := range p.TimeWindows {
		ws[i] = window{Hour: w.HourOfDay, Load: w.ExpectedLoad}
		if w.DayOfWeek != nil {
			ws[i].Day, ws[i].Set = *w.DayOfWeek, true
		}
	}
	p.TimeWindows = nil
	return []any{p, ws}
}

func dependency(source, target string, ratio float64) scaling.Dependency {
	return scaling.Dependency{
		SourceService:  source,
		TargetService:  target,
		DependencyType: scaling.DependencyProportional,
		Ratio:          ptr(ratio),
		Enabled:        true,
		LastUpdated:    1_700_000_000_000,
	}
}

func acceptAll(existing []scaling.Dependency) error { return nil }

func testDependencies(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	ab := scaling.DependencyKey{Source: "a", Target: "b"}

	_, err := s.GetDependency(ctx, ab)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteDependency(ctx, ab), store.ErrNotFound)
	_, err = s.SetDependencyEnabled(ctx, ab, false, time.UnixMilli(1))
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := s.ListDependencies(ctx)
	require.NoError(t, err)
	require.Empty(t, list)

	d := dependency("a", "b", 1.5)
	var seen []scaling.Dependency
	require.NoError(t, s.PutDependency(ctx, d, func(existing []scaling.Dependency) error {
		seen = existing
		return nil
	}))
	require.Empty(t, seen)
	got, err := s.GetDependency(ctx, ab)
	require.NoError(t, err)
	require.Equal(t, d, got)

	// Replacing is whole: the ratio of the proportional version does not survive.
	fixed := scaling.Dependency{
		SourceService: "a", TargetService: "b", DependencyType: scaling.DependencyFixed,
		Replicas: ptr[int32](4), LastUpdated: 1_700_000_000_500,
	}
	require.NoError(t, s.PutDependency(ctx, fixed, func(existing []scaling.Dependency) error {
		seen = existing
		return nil
	}))
	require.Empty(t, seen, "no path leads from b back to a: nothing to check")
	// The check sees the stored dependencies on the path from the new target back to its
	// source (Bolt may show more; every store shows at least these).
	require.NoError(t, s.PutDependency(ctx, dependency("b", "x", 1), acceptAll))
	err = s.PutDependency(ctx, dependency("x", "a", 1), func(existing []scaling.Dependency) error {
		seen = existing
		return scaling.FindCycle(existing, dependency("x", "a", 1))
	})
	var ce *scaling.CycleError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, []string{"x", "a", "b", "x"}, ce.Path)
	require.Subset(t, seen, []scaling.Dependency{fixed, dependency("b", "x", 1)})
	require.NoError(t, s.DeleteDependency(ctx, scaling.DependencyKey{Source: "b", Target: "x"}))
	got, err = s.GetDependency(ctx, ab)
	require.NoError(t, err)
	require.Equal(t, fixed, got)

	// A refusing check's error comes back unchanged, and nothing is written.
	refused := errors.New("refused by check")
	err = s.PutDependency(ctx, dependency("b", "c", 2), func([]scaling.Dependency) error { return refused })
	require.Same(t, refused, err)
	_, err = s.GetDependency(ctx, scaling.DependencyKey{Source: "b", Target: "c"})
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.PutDependency(ctx, dependency("a", "c", 0.5), nil))
	list, err = s.ListDependencies(ctx)
	require.NoError(t, err)
	require.Equal(t, []scaling.Dependency{fixed, dependency("a", "c", 0.5)}, list)

	now := time.UnixMilli(1_800_000_000_123)
	disabled, err := s.SetDependencyEnabled(ctx, ab, false, now)
	require.NoError(t, err)
	want := fixed
	want.Enabled, want.LastUpdated = false, now.UnixMilli()
	require.Equal(t, want, disabled)
	got, err = s.GetDependency(ctx, ab)
	require.NoError(t, err)
	require.Equal(t, want, got)
	enabled, err := s.SetDependencyEnabled(ctx, ab, true, now.Add(time.Second))
	require.NoError(t, err)
	require.True(t, enabled.Enabled)
	require.Equal(t, now.Add(time.Second).UnixMilli(), enabled.LastUpdated)

	require.NoError(t, s.DeleteDependency(ctx, ab))
	_, err = s.GetDependency(ctx, ab)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteDependency(ctx, ab), store.ErrNotFound)
	list, err = s.ListDependencies(ctx)
	require.NoError(t, err)
	require.Equal(t, []scaling.Dependency{dependency("a", "c", 0.5)}, list)
}

// cycleCheck refuses d when it would close a cycle, as the API does.
func cycleCheck(d scaling.Dependency) func([]scaling.Dependency) error {
	return func(existing []scaling.Dependency) error {
		if c := scaling.FindCycle(existing, d); c != nil {
			return c
		}
		return nil
	}
}

func testDependencyRace(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("a->b against b->a", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		const writers = 12
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			d := dependency("a", "b", 1)
			if w%2 == 1 {
				d = dependency("b", "a", 1)
			}
			wg.Go(func() {
				<-start
				errs[w] = s.PutDependency(ctx, d, cycleCheck(d))
			})
		}
		close(start)
		wg.Wait()

		list, err := s.ListDependencies(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1, "exactly one direction is stored")
		winner := list[0].SourceService
		for w, err := range errs {
			source := "a"
			if w%2 == 1 {
				source = "b"
			}
			if source == winner {
				require.NoError(t, err, "writer %d of the winning direction", w)
			} else {
				require.ErrorIs(t, err, scaling.ErrCycle, "writer %d of the losing direction", w)
			}
		}
	})

	t.Run("ring: exactly one edge is refused", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		const n = 8
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			d := dependency(fmt.Sprintf("s%d", i), fmt.Sprintf("s%d", (i+1)%n), 1)
			wg.Go(func() {
				<-start
				errs[i] = s.PutDependency(ctx, d, cycleCheck(d))
			})
		}
		close(start)
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, scaling.ErrCycle)
				refused++
			}
		}
		require.Equal(t, 1, refused)
		list, err := s.ListDependencies(ctx)
		require.NoError(t, err)
		require.Len(t, list, n-1)
	})
}

func prediction(service string, fittedAt int64) scaling.Prediction {
	return scaling.Prediction{
		Service: service, Model: "seasonal-naive-weekly", ModelReason: "history shorter than 3 weeks",
		FittedAt: fittedAt, ValidUntil: fittedAt + 3_600_000, StepSeconds: 300, Quantile: 0.9,
		BacktestMASE: 0.8123456789, BacktestSMAPE: 0.1, BacktestCoverage: 0.93,
		Points: []scaling.PredictionPoint{
			{Timestamp: fittedAt + 300_000, ExpectedLoad: 0.42, UpperLoad: 0.5, RecommendedMinReplicas: 3},
			{Timestamp: fittedAt + 600_000, ExpectedLoad: 1.0 / 3, UpperLoad: 0.61, RecommendedMinReplicas: 4},
		},
	}
}

func testPredictions(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	got, err := s.ListPredictions(ctx, "", 0)
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.ListPredictions(ctx, "api", 10)
	require.NoError(t, err)
	require.Empty(t, got)

	// 30 predictions in shuffled order: the newest 24 by FittedAt are kept, newest first.
	const n = 30
	order := rand.Perm(n)
	for _, i := range order {
		require.NoError(t, s.AddPrediction(ctx, prediction("api", 1_000_000+int64(i)*60_000)))
	}
	var want []scaling.Prediction
	for i := n - 1; i >= n-PredictionsPerService; i-- {
		want = append(want, prediction("api", 1_000_000+int64(i)*60_000))
	}
	got, err = s.ListPredictions(ctx, "api", 0)
	require.NoError(t, err)
	require.Equal(t, want, got)
	got, err = s.ListPredictions(ctx, "api", 5)
	require.NoError(t, err)
	require.Equal(t, want[:5], got)

	// Adding the same service and FittedAt again replaces that prediction.
	again := prediction("api", 1_000_000+int64(n-1)*60_000)
	again.Model = "fourier-daily"
	require.NoError(t, s.AddPrediction(ctx, again))
	got, err = s.ListPredictions(ctx, "api", 2)
	require.NoError(t, err)
	require.Equal(t, []scaling.Prediction{again, want[1]}, got)

	// The global listing merges services by FittedAt.
	require.NoError(t, s.AddPrediction(ctx, prediction("billing", 1_000_000+int64(n-1)*60_000-30_000)))
	require.NoError(t, s.AddPrediction(ctx, prediction("billing", 5_000_000_000)))
	got, err = s.ListPredictions(ctx, "", 4)
	require.NoError(t, err)
	require.Equal(t, []scaling.Prediction{
		prediction("billing", 5_000_000_000), again,
		prediction("billing", 1_000_000+int64(n-1)*60_000-30_000), want[1],
	}, got)
	got, err = s.ListPredictions(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, got, PredictionsPerService+2)
	got, err = s.ListPredictions(ctx, "billing", 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
}

// now is the base timestamp of event tests: recent enough for Retention.MaxAge.
func nowMs() int64 { return time.Now().Add(-time.Hour).UnixMilli() }

func event(id, service string, typ scaling.EventType, ts int64) scaling.Event {
	return scaling.Event{
		ID: id, Service: service, Namespace: "prod", EventType: typ,
		CurrentReplicas: 3, DesiredReplicas: 5, TriggerMetric: "resource:cpu",
		TriggerValue: 0.91, TriggerThreshold: 0.7, Reason: "SucceededRescale", Timestamp: ts,
	}
}

func testEvents(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()

	got, err := s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Empty(t, got)
	require.NoError(t, s.AppendEvents(ctx))
	require.Error(t, s.AppendEvents(ctx, event("", "api", scaling.EventScaleUp, base)), "an event needs an id")

	e1 := event("e1", "api", scaling.EventScaleUp, base)
	e2 := event("e2", "api", scaling.EventScaleDown, base+1000)
	e3 := event("e3", "billing", scaling.EventNoScale, base+500)
	require.NoError(t, s.AppendEvents(ctx, e1, e2, e3))
	got, err = s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Equal(t, []scaling.Event{e2, e3, e1}, got)

	// Re-appending an ID replaces the event (outcome filled in later), never duplicates it,
	// also when its timestamp changed.
	e1b := e1
	e1b.ActualReplicas = ptr[int32](5)
	e1b.Outcome = scaling.OutcomeEffective
	e1b.Timestamp = base + 2000
	require.NoError(t, s.AppendEvents(ctx, e1b))
	require.NoError(t, s.AppendEvents(ctx, e1b))
	got, err = s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Equal(t, []scaling.Event{e1b, e2, e3}, got)

	// Same timestamp: ties are ordered by ID, descending (the reverse of (timestamp, id)),
	// across services too.
	t1 := event("t-a", "api", scaling.EventScaleUp, base+5000)
	t2 := event("t-b", "billing", scaling.EventScaleUp, base+5000)
	t3 := event("t-c", "api", scaling.EventScaleUp, base+5000)
	require.NoError(t, s.AppendEvents(ctx, t2, t1, t3))
	got, err = s.ListEvents(ctx, store.EventQuery{Limit: 4})
	require.NoError(t, err)
	require.Equal(t, []scaling.Event{t3, t2, t1, e1b}, got)
}

func testEventFilters(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	types := scaling.EventTypes
	var all []scaling.Event
	for i := range 20 {
		service := []string{"api", "billing", "search"}[i%3]
		all = append(all, event(fmt.Sprintf("ev-%02d", i), service, types[i%len(types)], base+int64(i)*1000))
	}
	// Appended in a shuffled order, in several calls.
	shuffled := slices.Clone(all)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	require.NoError(t, s.AppendEvents(ctx, shuffled[:7]...))
	require.NoError(t, s.AppendEvents(ctx, shuffled[7:]...))

	newestFirst := func(keep func(i int, e scaling.Event) bool, limit int) []scaling.Event {
		out := []scaling.Event{}
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) && (limit <= 0 || len(out) < limit) {
				out = append(out, all[i])
			}
		}
		return out
	}
	ts := func(i int) int64 { return base + int64(i)*1000 }
	every := func(int, scaling.Event) bool { return true }
	tests := []struct {
		name string
		q    store.EventQuery
		want []scaling.Event
	}{
		{name: "everything", want: newestFirst(every, 0)},
		{name: "limit across services", q: store.EventQuery{Limit: 3}, want: newestFirst(every, 3)},
		{name: "limit larger than log", q: store.EventQuery{Limit: 100}, want: newestFirst(every, 0)},
		{
			name: "one service",
			q:    store.EventQuery{Service: "billing"},
			want: newestFirst(func(_ int, e scaling.Event) bool { return e.Service == "billing" }, 0),
		},
		{
			name: "unknown service",
			q:    store.EventQuery{Service: "nope"},
			want: []scaling.Event{},
		},
		{
			name: "since is inclusive",
			q:    store.EventQuery{Since: ts(15)},
			want: newestFirst(func(i int, _ scaling.Event) bool { return i >= 15 }, 0),
		},
		{
			name: "until is inclusive",
			q:    store.EventQuery{Until: ts(4)},
			want: newestFirst(func(i int, _ scaling.Event) bool { return i <= 4 }, 0),
		},
		{
			name: "until between events",
			q:    store.EventQuery{Until: ts(4) + 500},
			want: newestFirst(func(i int, _ scaling.Event) bool { return i <= 4 }, 0),
		},
		{
			name: "since and until",
			q:    store.EventQuery{Since: ts(5), Until: ts(9)},
			want: newestFirst(func(i int, _ scaling.Event) bool { return i >= 5 && i <= 9 }, 0),
		},
		{
			name: "empty range",
			q:    store.EventQuery{Since: ts(9) + 1, Until: ts(10) - 1},
			want: []scaling.Event{},
		},
		{
			name: "one type",
			q:    store.EventQuery{Types: []scaling.EventType{scaling.EventLimitedScale}},
			want: newestFirst(func(_ int, e scaling.Event) bool { return e.EventType == scaling.EventLimitedScale }, 0),
		},
		{
			name: "two types with limit",
			q:    store.EventQuery{Types: []scaling.EventType{scaling.EventScaleUp, scaling.EventNoScale}, Limit: 4},
			want: newestFirst(func(_ int, e scaling.Event) bool {
				return e.EventType == scaling.EventScaleUp || e.EventType == scaling.EventNoScale
			}, 4),
		},
		{
			name: "everything at once",
			q: store.EventQuery{
				Service: "api", Since: ts(3), Until: ts(18),
				Types: []scaling.EventType{scaling.EventScaleUp, scaling.EventScaleDown, scaling.EventNoScale}, Limit: 2,
			},
			want: newestFirst(func(i int, e scaling.Event) bool {
				return e.Service == "api" && i >= 3 && i <= 18 && e.EventType != scaling.EventLimitedScale
			}, 2),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListEvents(t.Context(), tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func testEventRetention(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	limit := Retention.MaxPerService

	t.Run("by count, per service", func(t *testing.T) {
		var want []scaling.Event
		for i := range limit + 10 {
			e := event(fmt.Sprintf("c-%03d", i), "api", scaling.EventScaleUp, base+int64(i))
			require.NoError(t, s.AppendEvents(ctx, e))
			if i >= 10 {
				want = append([]scaling.Event{e}, want...)
			}
		}
		other := event("o-1", "billing", scaling.EventScaleDown, base-1000)
		require.NoError(t, s.AppendEvents(ctx, other))
		got, err := s.ListEvents(ctx, store.EventQuery{Service: "api"})
		require.NoError(t, err)
		require.Equal(t, want, got, "the newest MaxPerService are kept")
		got, err = s.ListEvents(ctx, store.EventQuery{Service: "billing"})
		require.NoError(t, err)
		require.Equal(t, []scaling.Event{other}, got, "another service's log is untouched")

		// Re-appending a kept event does not count twice.
		require.NoError(t, s.AppendEvents(ctx, want[len(want)-1]))
		got, err = s.ListEvents(ctx, store.EventQuery{Service: "api"})
		require.NoError(t, err)
		require.Equal(t, want, got)

		// One append of many events at once is trimmed too.
		var batch []scaling.Event
		for i := range 2 * limit {
			batch = append(batch, event(fmt.Sprintf("b-%03d", i), "bulk", scaling.EventNoScale, base+int64(i)))
		}
		require.NoError(t, s.AppendEvents(ctx, batch...))
		got, err = s.ListEvents(ctx, store.EventQuery{Service: "bulk"})
		require.NoError(t, err)
		require.Len(t, got, limit)
		require.Equal(t, batch[len(batch)-1], got[0])
		require.Equal(t, batch[limit], got[limit-1])
	})

	t.Run("by age", func(t *testing.T) {
		now := time.Now()
		old := event("old", "aged", scaling.EventScaleUp, now.Add(-Retention.MaxAge-time.Hour).UnixMilli())
		fresh := event("fresh", "aged", scaling.EventScaleDown, now.Add(-Retention.MaxAge+time.Hour).UnixMilli())
		require.NoError(t, s.AppendEvents(ctx, old, fresh))
		got, err := s.ListEvents(ctx, store.EventQuery{Service: "aged"})
		require.NoError(t, err)
		require.Equal(t, []scaling.Event{fresh}, got)
	})
}

func testConcurrentEvents(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	base := nowMs()
	const writers, perWriter = 6, 8
	// Writers overlap: writer w appends IDs w*perWriter/2 ..., so half of each writer's IDs
	// are also appended by its neighbour. Every ID is stored once, whoever wrote it last.
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				n := w*perWriter/2 + i
				e := event(fmt.Sprintf("id-%03d", n), "api", scaling.EventScaleUp, base+int64(n))
				if err := s.AppendEvents(ctx, e); err != nil {
					t.Errorf("append: %v", err)
				}
			}
		})
	}
	wg.Wait()
	unique := (writers-1)*perWriter/2 + perWriter
	got, err := s.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err)
	require.Len(t, got, unique)
	for i, e := range got {
		n := unique - 1 - i
		require.Equal(t, event(fmt.Sprintf("id-%03d", n), "api", scaling.EventScaleUp, base+int64(n)), e)
	}
}

func testClosed(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
	_, err := s.GetPattern(ctx, "api")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, s.PutPattern(ctx, pattern("api", scaling.SourceManual, 1, 0.1)), store.ErrUnavailable)
	_, err = s.ListEvents(ctx, store.EventQuery{})
	require.ErrorIs(t, err, store.ErrUnavailable)
	err = s.PutDependency(ctx, dependency("a", "b", 1), acceptAll)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, s.PutRun(ctx, run("r1", nowMs())), store.ErrUnavailable)
	_, err = s.GetRun(ctx, "r1")
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.ListRuns(ctx, 0)
	require.ErrorIs(t, err, store.ErrUnavailable)
	// A lock the store cannot be asked about is an error, never a "held elsewhere" false.
	_, err = s.TryLock(ctx, "run", "a", time.Minute)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = s.RenewLock(ctx, "run", "a", time.Minute)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, s.Unlock(ctx, "run", "a"), store.ErrUnavailable)
}

func run(id string, queuedAt int64) scaling.ForecastRun {
	return scaling.ForecastRun{
		ID: id, Trigger: "manual", State: scaling.RunQueued, QueuedAt: queuedAt,
		Results: []scaling.ServiceForecastResult{},
	}
}

func runIDs(runs []scaling.ForecastRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func testRuns(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()

	_, err := s.GetRun(ctx, "r1")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := s.ListRuns(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, list)

	base := nowMs()
	r1 := run("r1", base)
	r1.Service = "api"
	r1.Results = []scaling.ServiceForecastResult{{Service: "api", State: scaling.RunQueued}}
	require.NoError(t, s.PutRun(ctx, r1))
	got, err := s.GetRun(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, r1, got)

	// A later write replaces the whole run, results included.
	r1.State, r1.StartedAt, r1.FinishedAt = scaling.RunSucceeded, base+10, base+20
	r1.Results = []scaling.ServiceForecastResult{{Service: "api", State: scaling.RunSucceeded, Model: "ets", DurationMs: 7, Pattern: "derived"}}
	require.NoError(t, s.PutRun(ctx, r1))
	got, err = s.GetRun(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, r1, got)

	// Newest QueuedAt first, ties by ID descending; a replaced run is listed once.
	require.NoError(t, s.PutRun(ctx, run("r3", base+2000)))
	require.NoError(t, s.PutRun(ctx, run("r2", base+1000)))
	require.NoError(t, s.PutRun(ctx, run("r2b", base+1000)))
	list, err = s.ListRuns(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"r3", "r2b", "r2", "r1"}, runIDs(list))
	require.Equal(t, r1, list[3])
	list, err = s.ListRuns(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, []string{"r3", "r2b"}, runIDs(list))

	// Replacing with another QueuedAt moves the run in the order, never duplicates it.
	require.NoError(t, s.PutRun(ctx, run("r1", base+3000)))
	list, err = s.ListRuns(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"r1", "r3", "r2b", "r2"}, runIDs(list))
}

func testRunRetention(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("by count", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		base := nowMs()
		extra := 5
		for i := range store.MaxRuns + extra {
			require.NoError(t, s.PutRun(ctx, run(fmt.Sprintf("r%03d", i), base+int64(i))))
		}
		list, err := s.ListRuns(ctx, 0)
		require.NoError(t, err)
		require.Len(t, list, store.MaxRuns)
		require.Equal(t, fmt.Sprintf("r%03d", store.MaxRuns+extra-1), list[0].ID)
		require.Equal(t, fmt.Sprintf("r%03d", extra), list[len(list)-1].ID)
		for i := range extra {
			_, err := s.GetRun(ctx, fmt.Sprintf("r%03d", i))
			require.ErrorIs(t, err, store.ErrNotFound)
		}
		_, err = s.GetRun(ctx, fmt.Sprintf("r%03d", extra))
		require.NoError(t, err)
	})
	t.Run("by age", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		old := time.Now().Add(-store.RunMaxAge - time.Hour).UnixMilli()
		require.NoError(t, s.PutRun(ctx, run("old", old)))
		_, err := s.GetRun(ctx, "old")
		require.ErrorIs(t, err, store.ErrNotFound, "a run older than RunMaxAge is dropped by its own put")
		require.NoError(t, s.PutRun(ctx, run("fresh", nowMs())))
		list, err := s.ListRuns(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, []string{"fresh"}, runIDs(list))
	})
}

func testLocks(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	t.Run("exclusive until unlocked; owner-only unlock and renew", func(t *testing.T) {
		s := open(t)
		ok, err := s.TryLock(ctx, "run", "a", time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.TryLock(ctx, "run", "b", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "b took a lock a holds")
		ok, err = s.TryLock(ctx, "other", "b", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "locks of different names are independent")
		ok, err = s.TryLock(ctx, "run", "a", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "the owner's retry succeeds")

		ok, err = s.RenewLock(ctx, "run", "b", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "b renewed a's lock")
		require.ErrorIs(t, s.Unlock(ctx, "run", "b"), store.ErrLockNotHeld)
		ok, err = s.TryLock(ctx, "run", "b", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "b's unlock released a's lock")

		ok, err = s.RenewLock(ctx, "run", "a", time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, s.Unlock(ctx, "run", "a"))
		require.ErrorIs(t, s.Unlock(ctx, "run", "a"), store.ErrLockNotHeld, "second unlock")
		ok, err = s.RenewLock(ctx, "run", "a", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "renewed a released lock")
		ok, err = s.TryLock(ctx, "run", "b", time.Minute)
		require.NoError(t, err)
		require.True(t, ok, "b after a released")
	})
	t.Run("expired lock is taken over; its holder can no longer renew or unlock", func(t *testing.T) {
		s := open(t)
		ok, err := s.TryLock(ctx, "run", "dead", 100*time.Millisecond)
		require.NoError(t, err)
		require.True(t, ok)
		require.Eventually(t, func() bool {
			ok, err := s.TryLock(ctx, "run", "next", time.Minute)
			return err == nil && ok
		}, 5*time.Second, 20*time.Millisecond)
		ok, err = s.RenewLock(ctx, "run", "dead", time.Minute)
		require.NoError(t, err)
		require.False(t, ok)
		require.ErrorIs(t, s.Unlock(ctx, "run", "dead"), store.ErrLockNotHeld)
		ok, err = s.TryLock(ctx, "run", "dead", time.Minute)
		require.NoError(t, err)
		require.False(t, ok, "the new holder's lock was lost")
	})
	t.Run("renewal keeps the lock past its first ttl", func(t *testing.T) {
		s := open(t)
		// Each renewal comes ttl/4 after the last, so the lock expires only if one round trip
		// stalls for 3/4 of the ttl: with a 300 ms ttl, a shared CI machine's stall of a few
		// hundred milliseconds under a Redis Cluster failed this test.
		const ttl = time.Second
		ok, err := s.TryLock(ctx, "run", "a", ttl)
		require.NoError(t, err)
		require.True(t, ok)
		for range 6 { // 6 x ttl/4: well past the first ttl
			time.Sleep(ttl / 4)
			ok, err = s.RenewLock(ctx, "run", "a", ttl)
			require.NoError(t, err)
			require.True(t, ok)
		}
		ok, err = s.TryLock(ctx, "run", "b", ttl)
		require.NoError(t, err)
		require.False(t, ok)
	})
	t.Run("bad arguments", func(t *testing.T) {
		s := open(t)
		_, err := s.TryLock(ctx, "run", "a", 0)
		require.Error(t, err)
		_, err = s.TryLock(ctx, "run", "", time.Minute)
		require.Error(t, err)
		_, err = s.RenewLock(ctx, "", "a", time.Minute)
		require.Error(t, err)
	})
}

func testLockRace(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const n = 32
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			owner := fmt.Sprintf("owner-%d", i)
			ok, err := s.TryLock(t.Context(), "run", owner, time.Minute)
			if err != nil {
				t.Errorf("TryLock %s: %v", owner, err)
				return
			}
			if ok {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Len(t, winners, 1, "winners: %v", winners)
	require.NoError(t, s.Unlock(t.Context(), "run", winners[0]))
}
