package api

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// memStore is a hand-written in-memory store.Store for handler tests. The concurrency and
// integration tests run against the real Redis and bolt stores instead.
type memStore struct {
	mu          sync.Mutex
	patterns    map[string]scaling.Pattern
	deps        map[scaling.DependencyKey]scaling.Dependency
	predictions []scaling.Prediction
	events      []scaling.Event
	runs        map[string]scaling.ForecastRun
	locks       map[string]memLock
	overrides   []scaling.Override
	decisions   []scaling.FloorDecision
	shadow      []scaling.ShadowDay
	down        error // when set, every call fails with it
}

var _ store.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{patterns: map[string]scaling.Pattern{}, deps: map[scaling.DependencyKey]scaling.Dependency{}}
}

func (s *memStore) ListPatterns(context.Context) ([]scaling.Pattern, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	var out []scaling.Pattern
	for _, p := range s.patterns {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

func (s *memStore) GetPattern(_ context.Context, svc string) (scaling.Pattern, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return scaling.Pattern{}, s.down
	}
	p, ok := s.patterns[svc]
	if !ok {
		return scaling.Pattern{}, store.ErrNotFound
	}
	return p, nil
}

func (s *memStore) PutPattern(_ context.Context, p scaling.Pattern) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.patterns[p.Service] = p
	return nil
}

func (s *memStore) PutDerivedPattern(_ context.Context, p scaling.Pattern) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return false, s.down
	}
	if old, ok := s.patterns[p.Service]; ok && old.Source != scaling.SourceDerived {
		return false, nil
	}
	s.patterns[p.Service] = p
	return true, nil
}

func (s *memStore) DeletePattern(_ context.Context, svc string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if _, ok := s.patterns[svc]; !ok {
		return store.ErrNotFound
	}
	delete(s.patterns, svc)
	return nil
}

func (s *memStore) AddPrediction(_ context.Context, p scaling.Prediction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.predictions = append(s.predictions, p)
	return nil
}

func (s *memStore) ListPredictions(_ context.Context, svc string, limit int) ([]scaling.Prediction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	var out []scaling.Prediction
	for _, p := range s.predictions {
		if svc == "" || p.Service == svc {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].FittedAt != out[j].FittedAt {
			return out[i].FittedAt > out[j].FittedAt
		}
		return out[i].Service < out[j].Service
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) PagePredictions(ctx context.Context, q store.PredictionQuery) ([]scaling.Prediction, error) {
	all, err := s.ListPredictions(ctx, q.Service, 0)
	if err != nil {
		return nil, err
	}
	b := q.Before
	out := []scaling.Prediction{}
	for _, p := range all {
		after := b.IsZero() || p.FittedAt < b.FittedAt || p.FittedAt == b.FittedAt && p.Service > b.Service
		if after && (q.Limit <= 0 || len(out) < q.Limit) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *memStore) ListDependencies(context.Context) ([]scaling.Dependency, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	return s.listDeps(), nil
}

func (s *memStore) listDeps() []scaling.Dependency {
	var out []scaling.Dependency
	for _, d := range s.deps {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].SourceService+"/"+out[i].TargetService < out[j].SourceService+"/"+out[j].TargetService
	})
	return out
}

func (s *memStore) GetDependency(_ context.Context, k scaling.DependencyKey) (scaling.Dependency, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return scaling.Dependency{}, s.down
	}
	d, ok := s.deps[k]
	if !ok {
		return scaling.Dependency{}, store.ErrNotFound
	}
	return d, nil
}

func (s *memStore) PutDependency(_ context.Context, d scaling.Dependency, check func([]scaling.Dependency) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if check != nil {
		if err := check(s.listDeps()); err != nil {
			return err
		}
	}
	s.deps[d.Key()] = d
	return nil
}

func (s *memStore) SetDependencyEnabled(_ context.Context, k scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return scaling.Dependency{}, s.down
	}
	d, ok := s.deps[k]
	if !ok {
		return scaling.Dependency{}, store.ErrNotFound
	}
	d.Enabled = enabled
	d.LastUpdated = now.UnixMilli()
	s.deps[k] = d
	return d, nil
}

func (s *memStore) DeleteDependency(_ context.Context, k scaling.DependencyKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if _, ok := s.deps[k]; !ok {
		return store.ErrNotFound
	}
	delete(s.deps, k)
	return nil
}

func (s *memStore) AppendEvents(_ context.Context, evs ...scaling.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	for _, e := range evs {
		i := slices.IndexFunc(s.events, func(o scaling.Event) bool { return o.ID == e.ID })
		if i >= 0 {
			s.events[i] = e
		} else {
			s.events = append(s.events, e)
		}
	}
	return nil
}

func (s *memStore) ListEvents(_ context.Context, q store.EventQuery) ([]scaling.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	// newer reports whether a comes before b in listing order: Timestamp, ID, service, descending.
	newer := func(a, b store.EventKey) bool {
		if a.Timestamp != b.Timestamp {
			return a.Timestamp > b.Timestamp
		}
		if a.ID != b.ID {
			return a.ID > b.ID
		}
		return a.Service > b.Service
	}
	var out []scaling.Event
	for _, e := range s.events {
		if q.Service != "" && e.Service != q.Service ||
			q.Since != 0 && e.Timestamp < q.Since ||
			q.Until != 0 && e.Timestamp > q.Until ||
			len(q.Types) > 0 && !slices.Contains(q.Types, e.EventType) ||
			!q.Before.IsZero() && !newer(q.Before, store.EventKeyOf(e)) {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return newer(store.EventKeyOf(out[i]), store.EventKeyOf(out[j])) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (s *memStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *memStore) Close() error { return nil }

var errStoreDown = fmt.Errorf("redis: connection refused: %w", store.ErrUnavailable)

func (s *memStore) PutRun(_ context.Context, r scaling.ForecastRun) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if s.runs == nil {
		s.runs = map[string]scaling.ForecastRun{}
	}
	s.runs[r.ID] = r
	return nil
}

func (s *memStore) GetRun(_ context.Context, id string) (scaling.ForecastRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return scaling.ForecastRun{}, s.down
	}
	r, ok := s.runs[id]
	if !ok {
		return scaling.ForecastRun{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func (s *memStore) ListRuns(_ context.Context, limit int) ([]scaling.ForecastRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	out := []scaling.ForecastRun{}
	for _, r := range s.runs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].QueuedAt != out[j].QueuedAt {
			return out[i].QueuedAt > out[j].QueuedAt
		}
		return out[i].ID > out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) PageRuns(ctx context.Context, before store.RunKey, limit int) ([]scaling.ForecastRun, error) {
	all, err := s.ListRuns(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := []scaling.ForecastRun{}
	for _, r := range all {
		after := before.IsZero() || r.QueuedAt < before.QueuedAt || r.QueuedAt == before.QueuedAt && r.ID < before.ID
		if after && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}

// memLock is a lease of memStore's LockStore.
type memLock struct {
	owner   string
	expires time.Time
}

func (s *memStore) setLockIf(name, owner string, ttl time.Duration, free bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return false, s.down
	}
	if ttl <= 0 {
		return false, fmt.Errorf("lock %s: ttl %s", name, ttl)
	}
	l, held := s.locks[name]
	held = held && time.Now().Before(l.expires)
	if held && l.owner != owner || !held && !free {
		return false, nil
	}
	if s.locks == nil {
		s.locks = map[string]memLock{}
	}
	s.locks[name] = memLock{owner: owner, expires: time.Now().Add(ttl)}
	return true, nil
}

func (s *memStore) TryLock(_ context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.setLockIf(name, owner, ttl, true)
}

func (s *memStore) RenewLock(_ context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.setLockIf(name, owner, ttl, false)
}

func (s *memStore) Unlock(_ context.Context, name, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	l, ok := s.locks[name]
	if !ok || l.owner != owner || !time.Now().Before(l.expires) {
		return fmt.Errorf("unlock %s: %w", name, store.ErrLockNotHeld)
	}
	delete(s.locks, name)
	return nil
}

func (s *memStore) PutOverride(_ context.Context, o scaling.Override) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.overrides = slices.DeleteFunc(s.overrides, func(x scaling.Override) bool { return x.Service == o.Service && x.ID == o.ID })
	s.overrides = append(s.overrides, o)
	return nil
}

func (s *memStore) ListOverrides(_ context.Context, service string) ([]scaling.Override, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	out := []scaling.Override{}
	for _, o := range s.overrides {
		if service == "" || o.Service == service {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (s *memStore) PageOverrides(ctx context.Context, q store.OverrideQuery) ([]scaling.Override, error) {
	all, err := s.ListOverrides(ctx, q.Service)
	if err != nil {
		return nil, err
	}
	after := func(o scaling.Override) bool {
		a := q.After
		switch {
		case a.IsZero():
			return true
		case o.Service != a.Service:
			return o.Service > a.Service
		case !o.Start.Equal(a.Start):
			return o.Start.After(a.Start)
		}
		return o.ID > a.ID
	}
	out := []scaling.Override{}
	for _, o := range all {
		if len(out) < q.Limit && after(o) && (q.EndAfter.IsZero() || o.End.After(q.EndAfter)) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *memStore) DeleteOverride(_ context.Context, service, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	n := len(s.overrides)
	s.overrides = slices.DeleteFunc(s.overrides, func(x scaling.Override) bool { return x.Service == service && x.ID == id })
	if len(s.overrides) == n {
		return fmt.Errorf("override %s/%s: %w", service, id, store.ErrNotFound)
	}
	return nil
}

func (s *memStore) PruneOverrides(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return 0, s.down
	}
	n := len(s.overrides)
	s.overrides = slices.DeleteFunc(s.overrides, func(x scaling.Override) bool { return !x.End.After(now) })
	return n - len(s.overrides), nil
}

func (s *memStore) AddDecision(_ context.Context, d scaling.FloorDecision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.decisions = slices.DeleteFunc(s.decisions, func(x scaling.FloorDecision) bool {
		return x.Service == d.Service && x.Timestamp == d.Timestamp
	})
	s.decisions = append(s.decisions, d)
	return nil
}

func (s *memStore) ListDecisions(_ context.Context, q store.DecisionQuery) ([]scaling.FloorDecision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	out := []scaling.FloorDecision{}
	for _, d := range s.decisions {
		if d.Service == q.Service && (q.Since == 0 || d.Timestamp >= q.Since) && (q.Before == nil || d.Timestamp < *q.Before) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp > out[j].Timestamp })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (s *memStore) PutShadowDay(_ context.Context, d scaling.ShadowDay) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.shadow = slices.DeleteFunc(s.shadow, func(x scaling.ShadowDay) bool { return x.Service == d.Service && x.Day == d.Day })
	s.shadow = append(s.shadow, d)
	return nil
}

func (s *memStore) ListShadowDays(_ context.Context, service string, limit int) ([]scaling.ShadowDay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	out := []scaling.ShadowDay{}
	for _, d := range s.shadow {
		if d.Service == service {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Day > out[j].Day })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error) {
	all, err := s.ListPatterns(ctx)
	if err != nil {
		return nil, err
	}
	out := []scaling.Pattern{}
	for _, p := range all {
		if p.Service > after && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *memStore) PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error) {
	all, err := s.ListDependencies(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		return a.SourceService < b.SourceService || a.SourceService == b.SourceService && a.TargetService < b.TargetService
	})
	out := []scaling.Dependency{}
	for _, d := range all {
		gt := d.SourceService > after.Source || d.SourceService == after.Source && d.TargetService > after.Target
		if gt && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}
