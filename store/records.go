package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ErrCorrupt is wrapped by every error about a stored record that cannot be decoded. Such
// records are reported, never skipped: a listing that silently lost a pattern or a dependency
// would make the actuator lower a floor it cannot see.
var ErrCorrupt = errors.New("stored record is corrupt")

// ErrConflict is returned when an optimistic write kept losing to concurrent writers and gave
// up; nothing was written, and the caller may retry.
var ErrConflict = errors.New("too many concurrent writers")

// DefaultPredictionsPerService is how many predictions each service keeps when the options
// leave it unset; twice the 24 the PredictionStore contract promises.
const DefaultPredictionsPerService = 48

// retention returns r, or DefaultEventRetention when r is the zero value.
func retention(r EventRetention) EventRetention {
	if r == (EventRetention{}) {
		return DefaultEventRetention
	}
	return r
}

// predictionsPerService returns n, or DefaultPredictionsPerService when n <= 0.
func predictionsPerService(n int) int {
	if n <= 0 {
		return DefaultPredictionsPerService
	}
	return n
}

// ageCutoff is the oldest event Timestamp (Unix ms) that r keeps at now; events strictly older
// are dropped. ok is false when r has no MaxAge.
func ageCutoff(r EventRetention, now time.Time) (cutoff int64, ok bool) {
	if r.MaxAge <= 0 {
		return 0, false
	}
	return now.Add(-r.MaxAge).UnixMilli(), true
}

// matchEvent reports whether e is selected by q (service aside: backends read per service).
func matchEvent(q EventQuery, e scaling.Event) bool {
	if q.Since != 0 && e.Timestamp < q.Since {
		return false
	}
	if q.Until != 0 && e.Timestamp > q.Until {
		return false
	}
	// The backends start reading after the cursor; checking it again here keeps an event that
	// moved meanwhile (re-appended with another Timestamp) from being listed on two pages.
	if !q.Before.IsZero() && compareEventKeys(EventKeyOf(e), q.Before) <= 0 {
		return false
	}
	return len(q.Types) == 0 || slices.Contains(q.Types, e.EventType)
}

// eventCursorBounds reports whether q's cursor ends its time range: it does unless Until is
// older than the cursor (a range that ends before the cursor is all after it).
func eventCursorBounds(q EventQuery) bool {
	return !q.Before.IsZero() && (q.Until == 0 || q.Until >= q.Before.Timestamp)
}

// compareEventsNewestFirst orders events by Timestamp descending, ties by ID, then service,
// descending: the exact reverse of (Timestamp, ID, Service). Within a service that is the order
// both backends index events in.
func compareEventsNewestFirst(a, b scaling.Event) int {
	return compareEventKeys(EventKeyOf(a), EventKeyOf(b))
}

// mergeEvents merges per-service lists into one, newest first, cut to limit (<= 0: no limit).
func mergeEvents(lists [][]scaling.Event, limit int) []scaling.Event {
	var out []scaling.Event
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.SortFunc(out, compareEventsNewestFirst)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []scaling.Event{}
	}
	return out
}

// mergePredictions merges per-service lists into one, newest FittedAt first (ties by service),
// cut to limit (<= 0: no limit).
func mergePredictions(lists [][]scaling.Prediction, limit int) []scaling.Prediction {
	var out []scaling.Prediction
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.SortFunc(out, func(a, b scaling.Prediction) int {
		return comparePredictionKeys(PredictionKeyOf(a), PredictionKeyOf(b))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []scaling.Prediction{}
	}
	return out
}

// groupEvents splits events by service, keeping each service's events in the given order, and
// returns the services in first-seen order.
func groupEvents(events []scaling.Event) (services []string, by map[string][]scaling.Event) {
	by = make(map[string][]scaling.Event)
	for _, e := range events {
		if _, ok := by[e.Service]; !ok {
			services = append(services, e.Service)
		}
		by[e.Service] = append(by[e.Service], e)
	}
	return services, by
}

// checkEvent refuses events a log cannot index.
func checkEvent(e scaling.Event) error {
	switch {
	case e.ID == "":
		return errors.New("event has no id")
	case e.Service == "":
		return fmt.Errorf("event %q has no service", e.ID)
	}
	return nil
}

// decode unmarshals one stored record, wrapping failures in ErrCorrupt with the record's name.
func decode[T any](what string, data []byte) (T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w: %w", what, ErrCorrupt, err)
	}
	return v, nil
}

// dependencyField is the field or key a dependency is stored under. Service names are
// DNS-1123 labels, so "/" cannot occur in either part.
func dependencyField(k scaling.DependencyKey) string { return k.Source + "/" + k.Target }

// sortPatterns and sortDependencies give listings a stable order.
func sortPatterns(ps []scaling.Pattern) {
	slices.SortFunc(ps, func(a, b scaling.Pattern) int { return cmp.Compare(a.Service, b.Service) })
}

func sortDependencies(ds []scaling.Dependency) {
	slices.SortFunc(ds, func(a, b scaling.Dependency) int {
		if c := cmp.Compare(a.SourceService, b.SourceService); c != 0 {
			return c
		}
		return cmp.Compare(a.TargetService, b.TargetService)
	})
}

// isManual reports whether a stored pattern is manual: an empty source is read as manual.
func isManual(p scaling.Pattern) bool { return p.Source != scaling.SourceDerived }

// checkOverride refuses overrides a store cannot key.
func checkOverride(o scaling.Override) error {
	switch {
	case o.ID == "" || strings.Contains(o.ID, "/"):
		return fmt.Errorf("override of %s has no usable id %q", o.Service, o.ID)
	case o.Service == "":
		return fmt.Errorf("override %s has no service", o.ID)
	}
	return nil
}

// overrideField is the field or key an override is stored under. Service names are DNS-1123
// labels and IDs hold no "/", so the pair splits unambiguously.
func overrideField(service, id string) string { return service + "/" + id }

// sortOverrides orders overrides by service, Start and ID.
func sortOverrides(os []scaling.Override) {
	slices.SortFunc(os, func(a, b scaling.Override) int { return overrideOrder(OverrideKeyOf(a), OverrideKeyOf(b)) })
}

// overrideOrder compares keys as listings order them: by service, Start, then ID.
func overrideOrder(a, b OverrideKey) int {
	if c := cmp.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// pageOverrides picks q's page from all, the overrides of q.Service (or of every service)
// sorted by sortOverrides.
func pageOverrides(all []scaling.Override, q OverrideQuery) []scaling.Override {
	out := make([]scaling.Override, 0, min(len(all), max(q.Limit, 0)))
	for _, o := range all {
		if len(out) >= q.Limit {
			break
		}
		if !q.After.IsZero() && overrideOrder(OverrideKeyOf(o), q.After) <= 0 {
			continue
		}
		if !q.EndAfter.IsZero() && !o.End.After(q.EndAfter) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// liveOverrides counts the overrides in os that have not ended at now, other than id.
func liveOverrides(os []scaling.Override, id string, now time.Time) int {
	n := 0
	for _, o := range os {
		if o.ID != id && o.End.After(now) {
			n++
		}
	}
	return n
}

// checkShadowDay refuses shadow records a store cannot key.
func checkShadowDay(d scaling.ShadowDay) error {
	if d.Service == "" {
		return errors.New("shadow day has no service")
	}
	if _, err := time.Parse(time.DateOnly, d.Day); err != nil {
		return fmt.Errorf("shadow day of %s: day %q is not YYYY-MM-DD", d.Service, d.Day)
	}
	return nil
}
