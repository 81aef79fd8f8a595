package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ErrLimit is wrapped by the error of a write that would store more patterns, dependencies or
// overrides of a service than the store's Limits allow (issue 11, item 3). The API answers it with 409.
var ErrLimit = errors.New("limit of stored objects reached")

// Limits cap how many objects of each kind a store keeps; a write that would add one more is
// refused with ErrLimit (replacing an existing object is always allowed).
type Limits struct {
	// MaxPatterns caps the stored load patterns; 0 means DefaultMaxPatterns, < 0 no cap.
	MaxPatterns int
	// MaxDependencies caps the stored scaling dependencies; 0 means DefaultMaxDependencies, < 0 no cap.
	MaxDependencies int
	// MaxOverridesPerService caps the scheduled overrides of one service that have not ended
	// (by the store's clock; ended ones wait to be pruned and do not count); 0 means
	// DefaultMaxOverridesPerService, < 0 no cap.
	MaxOverridesPerService int
}

// Default caps of Limits: above the 10,000 services and dependencies the store is benchmarked
// with; overrides are one-off events, a few per service.
const (
	DefaultMaxPatterns            = 20000
	DefaultMaxDependencies        = 20000
	DefaultMaxOverridesPerService = 100
)

func (l Limits) withDefaults() Limits {
	if l.MaxPatterns == 0 {
		l.MaxPatterns = DefaultMaxPatterns
	}
	if l.MaxDependencies == 0 {
		l.MaxDependencies = DefaultMaxDependencies
	}
	if l.MaxOverridesPerService == 0 {
		l.MaxOverridesPerService = DefaultMaxOverridesPerService
	}
	return l
}

// overridesPerService is what the override cap counts, as limitError says it.
const overridesPerService = "overrides per service (not yet ended)"

// limitError reports a refused write: what, and the cap.
func limitError(what string, max int) error {
	return fmt.Errorf("%w: at most %d %s may be stored; delete some or raise the limit", ErrLimit, max, what)
}

// dependencyOrder compares keys as listings order them: by source, then target.
func dependencyOrder(a, b scaling.DependencyKey) int {
	if c := cmp.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	return cmp.Compare(a.Target, b.Target)
}

// parseDependencyField splits a dependencyField.
func parseDependencyField(f string) (scaling.DependencyKey, bool) {
	src, dst, ok := strings.Cut(f, "/")
	return scaling.DependencyKey{Source: src, Target: dst}, ok
}

// pageFields picks, from unsorted fields of dependencies, the up to limit fields after after in
// listing order.
func pageDependencyFields(fields []string, after scaling.DependencyKey, limit int) []string {
	keys := make([]scaling.DependencyKey, 0, len(fields))
	for _, f := range fields {
		k, ok := parseDependencyField(f)
		if ok && (after == (scaling.DependencyKey{}) || dependencyOrder(k, after) > 0) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, dependencyOrder)
	if len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = dependencyField(k)
	}
	return out
}

// compareEventKeys compares keys as listings order events, newest first: by Timestamp, then ID,
// then service, all descending. Negative when a comes first.
func compareEventKeys(a, b EventKey) int {
	if c := cmp.Compare(b.Timestamp, a.Timestamp); c != 0 {
		return c
	}
	if c := cmp.Compare(b.ID, a.ID); c != 0 {
		return c
	}
	return cmp.Compare(b.Service, a.Service)
}

// comparePredictionKeys compares keys as listings order predictions: FittedAt descending, then
// service ascending. Negative when a comes first.
func comparePredictionKeys(a, b PredictionKey) int {
	if c := cmp.Compare(b.FittedAt, a.FittedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.Service, b.Service)
}

// compareRunKeys compares keys as listings order runs: QueuedAt, then ID, both descending.
// Negative when a comes first.
func compareRunKeys(a, b RunKey) int {
	if c := cmp.Compare(b.QueuedAt, a.QueuedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}
