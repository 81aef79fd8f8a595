package actuator

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

// monday is 2025-01-06 (a Monday) 08:30 UTC.
var monday = time.Date(2025, 1, 6, 8, 30, 0, 0, time.UTC)

func svc(name string, lead time.Duration) ServiceConfig {
	return ServiceConfig{Ref: ServiceRef{Service: name, Namespace: "default"}, LeadTime: lead, CapacityPerReplica: 100}
}

// untouched is a workload kai-scaler never changed.
func untouched(name string, min, max, current int32, now time.Time) Workload {
	return Workload{Service: name, Namespace: "default", HPAName: name, MinReplicas: min, MaxReplicas: max,
		BaseMinReplicas: min, CurrentReplicas: current, DesiredReplicas: current, ObservedAt: now}
}

// touched is a workload whose floor kai-scaler raised from base to min at changedAt.
func touched(name string, base, min, max, current int32, changedAt, now time.Time) Workload {
	w := untouched(name, min, max, current, now)
	w.BaseMinReplicas, w.Touched, w.FloorChangedAt = base, true, changedAt
	return w
}

func dow(d int) *int           { return &d }
func ratio(r float64) *float64 { return &r }
func n32(n int32) *int32       { return &n }

func daily(service, tz string, hour int, load float64) scaling.Pattern {
	return scaling.Pattern{Service: service, PatternType: scaling.PatternDaily, Timezone: tz,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: hour, ExpectedLoad: load}}}
}

func weekly(service string, day, hour int, load float64) scaling.Pattern {
	return scaling.Pattern{Service: service, PatternType: scaling.PatternWeekly,
		TimeWindows: []scaling.TimeWindow{{DayOfWeek: dow(day), HourOfDay: hour, ExpectedLoad: load}}}
}

// derived is p as the forecaster derives it, at updated.
func derived(p scaling.Pattern, updated time.Time) scaling.Pattern {
	p.Source, p.LastUpdated = scaling.SourceDerived, updated.UnixMilli()
	return p
}

func dep(src, dst string, typ scaling.DependencyType, set func(*scaling.Dependency)) scaling.Dependency {
	d := scaling.Dependency{SourceService: src, TargetService: dst, DependencyType: typ, Enabled: true}
	set(&d)
	return d
}

func prediction(service string, fitted time.Time, validFor time.Duration, step time.Duration, floors ...int32) scaling.Prediction {
	p := scaling.Prediction{Service: service, Model: "test", Quantile: 0.9, FittedAt: fitted.UnixMilli(),
		ValidUntil: fitted.Add(validFor).UnixMilli(), StepSeconds: int64(step / time.Second)}
	for i, f := range floors {
		p.Points = append(p.Points, scaling.PredictionPoint{
			Timestamp: fitted.Add(time.Duration(i+1) * step).UnixMilli(), RecommendedMinReplicas: f})
	}
	return p
}

type want struct {
	floor   int32
	reason  string
	restore bool
}

func TestPlanFloors(t *testing.T) {
	one := func(name string, lead time.Duration) []ServiceConfig { return []ServiceConfig{svc(name, lead)} }
	tests := []struct {
		name        string
		in          PlanInput
		want        map[string]want
		wantSkipped map[string]string // service -> reason substring
	}{
		{
			name: "base only",
			in:   PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{untouched("api", 2, 10, 3, monday)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "daily window within lead time",
			in: PlanInput{Now: monday, Services: one("api", 45*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {5, SourcePattern, false}},
		},
		{
			name: "lead time boundary: exactly lead before the window counts",
			in: PlanInput{Now: monday.Add(-15 * time.Minute), Services: one("api", 45*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {5, SourcePattern, false}},
		},
		{
			name: "lead time boundary: a second earlier does not",
			in: PlanInput{Now: monday.Add(-15*time.Minute - time.Second), Services: one("api", 45*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "last second of the window counts",
			in: PlanInput{Now: monday.Add(90*time.Minute - time.Second), Services: one("api", 45*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {5, SourcePattern, false}},
		},
		{
			name: "window end is exclusive",
			in: PlanInput{Now: monday.Add(90 * time.Minute), Services: one("api", 45*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "weekly window on its day",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{weekly("api", 1, 9, 0.8)}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePattern, false}},
		},
		{
			name: "weekly window on another day does not apply",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{weekly("api", 2, 9, 0.8)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "daily pattern ignores dayOfWeek",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{{Service: "api", PatternType: scaling.PatternDaily,
					TimeWindows: []scaling.TimeWindow{{DayOfWeek: dow(3), HourOfDay: 9, ExpectedLoad: 0.4}}}}, PredictiveEnabled: true},
			want: map[string]want{"api": {4, SourcePattern, false}},
		},
		{
			name: "weekly lead time crosses midnight into monday",
			in: PlanInput{Now: time.Date(2025, 1, 5, 23, 30, 0, 0, time.UTC), Services: one("api", time.Hour),
				Workloads: []Workload{untouched("api", 2, 10, 3, monday)}, Patterns: []scaling.Pattern{weekly("api", 1, 0, 0.6)}, PredictiveEnabled: true},
			want: map[string]want{"api": {6, SourcePattern, false}},
		},
		{
			name: "time zone: 09:00 in New York is 14:00 UTC in winter",
			in: PlanInput{Now: time.Date(2025, 1, 6, 13, 30, 0, 0, time.UTC), Services: one("api", 45*time.Minute),
				Workloads: []Workload{untouched("api", 2, 10, 3, monday)}, Patterns: []scaling.Pattern{daily("api", "America/New_York", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {5, SourcePattern, false}},
		},
		{
			name: "time zone: the same instant read in UTC is outside the window",
			in: PlanInput{Now: time.Date(2025, 1, 6, 13, 30, 0, 0, time.UTC), Services: one("api", 45*time.Minute),
				Workloads: []Workload{untouched("api", 2, 10, 3, monday)}, Patterns: []scaling.Pattern{daily("api", "", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "time zone: DST day, 09:00 EDT is 13:00 UTC",
			in: PlanInput{Now: time.Date(2025, 3, 9, 12, 30, 0, 0, time.UTC), Services: one("api", 45*time.Minute),
				Workloads: []Workload{untouched("api", 2, 10, 3, monday)}, Patterns: []scaling.Pattern{daily("api", "America/New_York", 9, 0.5)}, PredictiveEnabled: true},
			want: map[string]want{"api": {5, SourcePattern, false}},
		},
		{
			name: "weekly window in a time zone where the day differs from UTC",
			// Tuesday 01:30 in Tokyo is Monday 16:30 UTC.
			in: PlanInput{Now: time.Date(2025, 1, 6, 16, 0, 0, 0, time.UTC), Services: one("api", time.Hour),
				Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{{Service: "api", PatternType: scaling.PatternWeekly, Timezone: "Asia/Tokyo",
					TimeWindows: []scaling.TimeWindow{{DayOfWeek: dow(2), HourOfDay: 1, ExpectedLoad: 0.7}}}}, PredictiveEnabled: true},
			want: map[string]want{"api": {7, SourcePattern, false}},
		},
		{
			name: "expected load times max ignores float noise: 0.3 x 10 = 3",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 1, 10, 1, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.3)}, PredictiveEnabled: true},
			want: map[string]want{"api": {3, SourcePattern, false}},
		},
		{
			name: "pattern below base is clamped to base",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 3, 10, 3, monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.1)}, PredictiveEnabled: true},
			want: map[string]want{"api": {3, SourceBase, false}},
		},
		{
			name: "prediction above max is clamped to max",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-time.Minute), time.Hour, 10*time.Minute, 4, 40)}, PredictiveEnabled: true},
			want: map[string]want{"api": {10, SourceMax, false}},
		},
		{
			name: "predictive disabled ignores patterns and predictions",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns:    []scaling.Pattern{daily("api", "", 9, 0.9)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-time.Minute), time.Hour, 10*time.Minute, 7)}},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "prediction: max over the point in force and points within the lead time plus a step",
			// Points at 08:34 (6), 08:44 (8), 08:54 (9); lead 5m plus a 10m step reaches 08:45, so 9 is out.
			in: PlanInput{Now: monday, Services: one("api", 5*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-6*time.Minute), time.Hour, 10*time.Minute, 6, 8, 9)}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePrediction, false}},
		},
		{
			name: "prediction: the point whose step holds now counts",
			// Points at 08:25 (7), 08:35 (3), 08:45 (9); now 08:30 is inside the first step; 08:45 is past now+step.
			in: PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-15*time.Minute), time.Hour, 10*time.Minute, 7, 3, 9)}, PredictiveEnabled: true},
			want: map[string]want{"api": {7, SourcePrediction, false}},
		},
		{
			name: "stale prediction is ignored",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-2*time.Hour), time.Hour, 10*time.Minute, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "newest prediction wins",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{
					prediction("api", monday.Add(-time.Minute), time.Hour, 10*time.Minute, 4, 4),
					prediction("api", monday.Add(-5*time.Minute), time.Hour, 10*time.Minute, 9, 9),
				}, PredictiveEnabled: true},
			want: map[string]want{"api": {4, SourcePrediction, false}},
		},
		{
			name: "derived pattern gives way to a prediction in force",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns:    []scaling.Pattern{derived(daily("api", "", 9, 0.8), monday.Add(-time.Hour))},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-time.Minute), time.Hour, 10*time.Minute, 4, 4)}, PredictiveEnabled: true},
			want: map[string]want{"api": {4, SourcePrediction, false}},
		},
		{
			name: "derived pattern stands in for an expired prediction",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns:    []scaling.Pattern{derived(daily("api", "", 9, 0.8), monday.Add(-3*time.Hour))},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-3*time.Hour), 2*time.Hour, 10*time.Minute, 4, 4)}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePattern, false}},
		},
		{
			name: "derived pattern stands in where there is no prediction",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{derived(daily("api", "", 9, 0.8), monday.Add(-7*24*time.Hour))}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePattern, false}},
		},
		{
			name: "derived pattern older than the week it was derived for is ignored",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns: []scaling.Pattern{derived(daily("api", "", 9, 0.8), monday.Add(-7*24*time.Hour-time.Second))}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}},
		},
		{
			name: "hand-written pattern combines with a prediction in force by max",
			in: PlanInput{Now: monday, Services: one("api", 30*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Patterns:    []scaling.Pattern{daily("api", "", 9, 0.8)},
				Predictions: []scaling.Prediction{prediction("api", monday.Add(-time.Minute), time.Hour, 10*time.Minute, 4, 4)}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePattern, false}},
		},
		{
			name: "prediction without recommended floor uses upper load over capacity",
			in: PlanInput{Now: monday, Services: one("api", 10*time.Minute), Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
				Predictions: []scaling.Prediction{{Service: "api", FittedAt: monday.UnixMilli(), ValidUntil: monday.Add(time.Hour).UnixMilli(), StepSeconds: 300,
					Points: []scaling.PredictionPoint{{Timestamp: monday.Add(5 * time.Minute).UnixMilli(), UpperLoad: 610}}}}, PredictiveEnabled: true},
			want: map[string]want{"api": {7, SourcePrediction, false}},
		},
		{
			name: "going up is immediate even right after a change",
			in: PlanInput{Now: monday, Services: one("api", time.Hour), Workloads: []Workload{touched("api", 2, 3, 10, 3, monday.Add(-time.Minute), monday)},
				Patterns: []scaling.Pattern{daily("api", "", 9, 0.8)}, PredictiveEnabled: true},
			want: map[string]want{"api": {8, SourcePattern, false}},
		},
		{
			name: "going down waits for the interval",
			in:   PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{touched("api", 2, 12, 20, 12, monday.Add(-2*time.Minute), monday)}, PredictiveEnabled: true},
			want: map[string]want{"api": {12, SourceStepDown, false}},
		},
		{
			name: "going down steps by at most a quarter",
			in:   PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{touched("api", 2, 12, 20, 12, monday.Add(-10*time.Minute), monday)}, PredictiveEnabled: true},
			want: map[string]want{"api": {9, SourceStepDown, false}},
		},
		{
			name: "going down to base restores",
			in:   PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{touched("api", 2, 3, 20, 3, monday.Add(-10*time.Minute), monday)}, PredictiveEnabled: true},
			want: map[string]want{"api": {2, SourceBase, true}},
		},
		{
			name: "touched at base restores (forgets the base)",
			in:   PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{touched("api", 2, 2, 20, 2, monday.Add(-time.Minute), monday)}},
			want: map[string]want{"api": {2, SourceBase, true}},
		},
		{
			name:        "missing workload is kept",
			in:          PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("web", 0)}, Workloads: []Workload{untouched("web", 2, 10, 3, monday)}},
			want:        map[string]want{"web": {2, SourceBase, false}},
			wantSkipped: map[string]string{"api": "no observation"},
		},
		{
			name: "stale observation is kept",
			in: PlanInput{Now: monday, Services: one("api", 0), Workloads: []Workload{touched("api", 2, 9, 10, 9, monday.Add(-time.Hour), monday.Add(-10*time.Minute))},
				MaxObservationAge: 5 * time.Minute},
			wantSkipped: map[string]string{"api": "stale"},
		},
		{
			name: "proportional uses the larger of the source's current replicas and planned floor",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", time.Hour), svc("db", 0)},
				Workloads:         []Workload{untouched("api", 2, 10, 4, monday), untouched("db", 1, 10, 1, monday)},
				Patterns:          []scaling.Pattern{daily("api", "", 9, 0.9)},
				Dependencies:      []scaling.Dependency{dep("api", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(0.5) })},
				PredictiveEnabled: true, DependenciesEnabled: true},
			want: map[string]want{"api": {9, SourcePattern, false}, "db": {5, "dependency:api", false}},
		},
		{
			name: "proportional follows current replicas when above the floor",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("db", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 7, monday), untouched("db", 1, 10, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(0.5) })},
				DependenciesEnabled: true},
			want: map[string]want{"api": {2, SourceBase, false}, "db": {4, "dependency:api", false}},
		},
		{
			name: "fixed applies while the source is above its base",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 3, monday), untouched("cache", 1, 10, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyFixed, func(d *scaling.Dependency) { d.Replicas = n32(6) })},
				DependenciesEnabled: true},
			want: map[string]want{"cache": {6, "dependency:api", false}},
		},
		// Regression tests for issue 11, item 1: a target with no HPA and no max annotation
		// got a floor of 2,147,483,647.
		{
			name: "fixed on a target without a known max is capped at the default ceiling",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 3, monday), untouched("cache", 1, 0, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyFixed, func(d *scaling.Dependency) { d.Replicas = n32(2147483647) })},
				DependenciesEnabled: true},
			want: map[string]want{"cache": {DefaultMaxReplicasWithoutMax, SourceMax, false}},
		},
		{
			name: "minimum on a target without a known max is capped at the configured ceiling",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 2, monday), untouched("cache", 1, 0, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(500) })},
				DependenciesEnabled: true, MaxReplicasWithoutMax: 20},
			want: map[string]want{"cache": {20, SourceMax, false}},
		},
		{
			name: "the ceiling never lowers a base above it",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 2, monday), untouched("cache", 30, 0, 30, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(500) })},
				DependenciesEnabled: true, MaxReplicasWithoutMax: 20},
			want: map[string]want{"cache": {30, SourceMax, false}},
		},
		{
			name: "fixed does not apply with the source at its base",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 2, monday), untouched("cache", 1, 10, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyFixed, func(d *scaling.Dependency) { d.Replicas = n32(6) })},
				DependenciesEnabled: true},
			want: map[string]want{"cache": {1, SourceBase, false}},
		},
		{
			name: "minimum",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:           []Workload{untouched("api", 2, 10, 2, monday), untouched("cache", 1, 10, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("api", "cache", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) })},
				DependenciesEnabled: true},
			want: map[string]want{"cache": {3, "dependency:api", false}},
		},
		{
			name: "disabled dependency is ignored and its raised floor steps back",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads: []Workload{untouched("api", 2, 10, 2, monday), touched("cache", 1, 2, 10, 2, monday.Add(-time.Hour), monday)},
				Dependencies: []scaling.Dependency{func() scaling.Dependency {
					d := dep("api", "cache", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) })
					d.Enabled = false
					return d
				}()},
				DependenciesEnabled: true},
			want: map[string]want{"cache": {1, SourceBase, true}},
		},
		{
			name: "dependencies feature disabled",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("cache", 0)},
				Workloads:    []Workload{untouched("api", 2, 10, 2, monday), untouched("cache", 1, 10, 1, monday)},
				Dependencies: []scaling.Dependency{dep("api", "cache", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) })}},
			want: map[string]want{"cache": {1, SourceBase, false}},
		},
		{
			name: "chain of three resolves in one pass whatever the listing order",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("c", 0), svc("b", 0), svc("a", time.Hour)},
				Workloads: []Workload{untouched("c", 1, 20, 1, monday), untouched("b", 1, 20, 1, monday), untouched("a", 2, 10, 2, monday)},
				Patterns:  []scaling.Pattern{daily("a", "", 9, 1)},
				Dependencies: []scaling.Dependency{
					dep("b", "c", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(0.5) }),
					dep("a", "b", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(1.5) }),
				},
				PredictiveEnabled: true, DependenciesEnabled: true},
			want: map[string]want{"a": {10, SourcePattern, false}, "b": {15, "dependency:a", false}, "c": {8, "dependency:b", false}},
		},
		{
			name: "two sources on one target combine by max",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("a", 0), svc("b", 0), svc("db", 0)},
				Workloads: []Workload{untouched("a", 2, 10, 6, monday), untouched("b", 2, 10, 4, monday), untouched("db", 1, 10, 1, monday)},
				Dependencies: []scaling.Dependency{
					dep("a", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(0.5) }),
					dep("b", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(1) }),
				},
				DependenciesEnabled: true},
			want: map[string]want{"db": {4, "dependency:b", false}},
		},
		{
			name: "dependency above max is clamped",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("a", 0), svc("db", 0)},
				Workloads:           []Workload{untouched("a", 2, 10, 10, monday), untouched("db", 1, 5, 1, monday)},
				Dependencies:        []scaling.Dependency{dep("a", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(2) })},
				DependenciesEnabled: true},
			want: map[string]want{"db": {5, SourceMax, false}},
		},
		{
			name: "cycle members are skipped and their dependants hold their floor",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("a", 0), svc("b", 0), svc("c", 0)},
				Workloads: []Workload{untouched("a", 2, 10, 2, monday), untouched("b", 2, 10, 2, monday),
					touched("c", 1, 6, 10, 6, monday.Add(-time.Hour), monday)},
				Dependencies: []scaling.Dependency{
					dep("a", "b", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) }),
					dep("b", "a", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) }),
					dep("a", "c", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(2) }),
				},
				DependenciesEnabled: true},
			want:        map[string]want{"c": {6, SourceHold, false}},
			wantSkipped: map[string]string{"a": "dependency cycle a -> b -> a", "b": "dependency cycle a -> b -> a"},
		},
		{
			name: "self dependency is a cycle",
			in: PlanInput{Now: monday, Services: one("a", 0), Workloads: []Workload{untouched("a", 2, 10, 2, monday)},
				Dependencies:        []scaling.Dependency{dep("a", "a", scaling.DependencyMinimum, func(d *scaling.Dependency) { d.MinReplicas = n32(3) })},
				DependenciesEnabled: true},
			wantSkipped: map[string]string{"a": "dependency cycle a -> a"},
		},
		{
			name: "unobserved source: target may rise but not fall",
			in: PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0), svc("db", time.Hour)},
				Workloads:         []Workload{touched("db", 1, 4, 10, 4, monday.Add(-time.Hour), monday)},
				Patterns:          []scaling.Pattern{daily("db", "", 9, 0.7)},
				Dependencies:      []scaling.Dependency{dep("api", "db", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(1) })},
				PredictiveEnabled: true, DependenciesEnabled: true},
			want:        map[string]want{"db": {7, SourcePattern, false}},
			wantSkipped: map[string]string{"api": "no observation"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanFloors(tt.in)
			got := make(map[string]want)
			for _, d := range plan.Decisions {
				got[d.Service] = want{d.Floor, d.Reason, d.Restore}
				require.NotEmpty(t, d.Contributions, d.Service)
				require.Equal(t, SourceBase, d.Contributions[0].Source)
			}
			for svc, w := range tt.want {
				require.Equal(t, w, got[svc], "decision for %s: %+v", svc, plan.Decisions)
			}
			skipped := make(map[string]string)
			for _, s := range plan.Skipped {
				skipped[s.Service] = s.Reason
			}
			require.Len(t, skipped, len(tt.wantSkipped), "skipped: %+v", plan.Skipped)
			for svc, sub := range tt.wantSkipped {
				require.Contains(t, skipped[svc], sub)
			}
			require.Equal(t, len(tt.in.Services), len(plan.Decisions)+len(plan.Skipped), "every service is decided or skipped")
		})
	}
}

// TestPlanFloorsStepDownOverIntervals replays the planner every minute after a peak and checks
// the floor comes down in bounded steps, one per interval, and is restored at base.
func TestPlanFloorsStepDownOverIntervals(t *testing.T) {
	now := monday
	w := touched("api", 2, 12, 20, 12, now, now)
	var floors []int32
	restored := false
	for i := 0; i < 40 && !restored; i++ {
		now = now.Add(time.Minute)
		w.ObservedAt = now
		plan := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("api", 0)}, Workloads: []Workload{w}})
		require.Len(t, plan.Decisions, 1)
		d := plan.Decisions[0]
		if d.Floor != w.MinReplicas {
			floors = append(floors, d.Floor)
			require.GreaterOrEqual(t, now.Sub(w.FloorChangedAt), DefaultStepDown.Interval, "stepped before the interval")
			w.MinReplicas, w.FloorChangedAt = d.Floor, now
		}
		restored = d.Restore
	}
	require.True(t, restored)
	// 12 -ceil(3)-> 9 -ceil(2.25)-> 6 -ceil(1.5)-> 4 -1-> 3 -1-> 2.
	require.Equal(t, []int32{9, 6, 4, 3, 2}, floors)
}

func TestPlanFloorsCustomStepDown(t *testing.T) {
	w := touched("api", 2, 20, 20, 20, monday.Add(-2*time.Minute), monday)
	plan := PlanFloors(PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0)}, Workloads: []Workload{w},
		StepDown: StepDownPolicy{Interval: time.Minute, MaxFraction: 0.5, MinStep: 1}})
	require.Equal(t, int32(10), plan.Decisions[0].Floor)
	plan = PlanFloors(PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 0)}, Workloads: []Workload{w},
		StepDown: StepDownPolicy{Interval: time.Minute, MaxFraction: 0.01, MinStep: 3}})
	require.Equal(t, int32(17), plan.Decisions[0].Floor)
}

func TestPlanFloorsIsPure(t *testing.T) {
	in := PlanInput{Now: monday, Services: []ServiceConfig{svc("a", time.Hour), svc("b", 0)},
		Workloads:         []Workload{untouched("a", 2, 10, 2, monday), untouched("b", 1, 10, 1, monday)},
		Patterns:          []scaling.Pattern{daily("a", "", 9, 0.5)},
		Dependencies:      []scaling.Dependency{dep("a", "b", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(0.5) })},
		PredictiveEnabled: true, DependenciesEnabled: true}
	require.Equal(t, PlanFloors(in), PlanFloors(in))
}

// forecastPoints is a prediction fitted at fitted whose i-th point, one step after the previous,
// expects means[i] and has upper bound uppers[i] (recommended floor: upper over capacity 100).
func forecastPoints(service string, fitted time.Time, step time.Duration, means, uppers []float64) scaling.Prediction {
	p := scaling.Prediction{Service: service, Model: "test", Quantile: 0.8, FittedAt: fitted.UnixMilli(),
		ValidUntil: fitted.Add(time.Hour).UnixMilli(), StepSeconds: int64(step / time.Second)}
	for i := range means {
		p.Points = append(p.Points, scaling.PredictionPoint{Timestamp: fitted.Add(time.Duration(i+1) * step).UnixMilli(),
			ExpectedLoad: means[i], UpperLoad: uppers[i], RecommendedMinReplicas: CeilReplicas(uppers[i] / 100)})
	}
	return p
}

// TestPlanFloorsPredictionRiseAware checks the upper bound is provisioned only while the expected
// load rises within the lead time, and the expected load at now otherwise.
func TestPlanFloorsPredictionRiseAware(t *testing.T) {
	// Points every 10m from 08:30: now is 08:35 unless said otherwise, lead 5m, so the window
	// holds 08:30 (in force), 08:40 and 08:50 (one step past the lead time).
	at := monday.Add(-10 * time.Minute) // fitted 08:20: first point 08:30
	tests := []struct {
		name          string
		now           time.Time
		lead          time.Duration
		capacity      float64
		means, uppers []float64
		w             Workload
		want          int32
		reason        string
		detail        string
	}{
		{
			name: "rising expected load: upper bound of the window", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 320, 500, 900}, uppers: []float64{450, 480, 700, 1200},
			want: 7, reason: SourcePrediction, detail: "rises within the lead time",
		},
		{
			name: "rise only one step past the lead time still counts", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 300, 310, 900}, uppers: []float64{450, 450, 620, 1200},
			want: 7, reason: SourcePrediction, detail: "rises within the lead time",
		},
		{
			name: "rise past the window is not seen yet: expected load at now", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 300, 300, 900}, uppers: []float64{450, 450, 450, 1200},
			want: 3, reason: SourcePrediction, detail: "not rising",
		},
		{
			name: "falling expected load: the window's highest expected load, not the upper bound", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			// 08:30 (in force) expects 800 -> 8 replicas; uppers ask 12. No interpolation: the
			// floor moves when a point leaves the window, not a replica at a time.
			means: []float64{800, 600, 400}, uppers: []float64{1200, 900, 600},
			want: 8, reason: SourcePrediction, detail: "expected load 800 of test model at 2025-01-06T08:30:00Z (not rising",
		},
		{
			name: "expected load just above a replica boundary rounds up", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{702, 700, 650}, uppers: []float64{1000, 1000, 900},
			want: 8, reason: SourcePrediction, detail: "not rising",
		},
		{
			name: "a climb within one replica's capacity is noise: expected load, not the upper bound", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 320, 390, 350}, uppers: []float64{450, 480, 600, 500},
			want: 4, reason: SourcePrediction, detail: "not rising by more than the 100 noise margin",
		},
		{
			name: "a climb just over one replica's capacity is a rise", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 320, 401, 350}, uppers: []float64{450, 480, 600, 500},
			want: 6, reason: SourcePrediction, detail: "rises within the lead time: 300 to 401",
		},
		{
			name: "a dip within the margin does not end a rise: the bound of its passed points holds", now: monday.Add(25 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			// 08:30 300, 08:40 700 (upper 1000), a dip to 640-660 in the window 08:50-09:10, crest 1000 at 09:20.
			means: []float64{300, 700, 640, 650, 660, 1000}, uppers: []float64{400, 1000, 800, 800, 800, 1300},
			want: 10, reason: SourcePrediction, detail: "q0.80 peak of test model at 2025-01-06T08:40:00Z (expected load rises within the lead time: 300 to 1000",
		},
		{
			name: "the crest has passed: expected load, not the held bound", now: monday.Add(15 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{300, 700, 500, 450}, uppers: []float64{400, 1000, 700, 600},
			want: 7, reason: SourcePrediction, detail: "not rising",
		},
		{
			name: "falling but no capacity per replica: upper bound throughout", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 0,
			means: []float64{800, 600, 400}, uppers: []float64{1200, 900, 600},
			want: 10, reason: SourceMax, // the window's 12 is cut to max
		},
		{
			name: "a point without expected load: upper bound throughout", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{800, 0, 400}, uppers: []float64{900, 900, 600},
			want: 9, reason: SourcePrediction, detail: "q0.80 peak",
		},
		{
			name: "now before the first point: its expected load holds, later rise counts", now: monday.Add(-5 * time.Minute), lead: 30 * time.Minute, capacity: 100,
			means: []float64{300, 300, 500}, uppers: []float64{400, 400, 800},
			want: 8, reason: SourcePrediction, detail: "rises",
		},
		{
			name: "falling after a raised floor: the step-down policy still limits the lowering", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{400, 300, 200}, uppers: []float64{800, 600, 400},
			w:    touched("api", 2, 10, 20, 10, monday.Add(3*time.Minute), monday.Add(5*time.Minute)),
			want: 10, reason: SourceStepDown,
		},
		{
			name: "falling after a raised floor, interval elapsed: one step of a quarter", now: monday.Add(5 * time.Minute), lead: 5 * time.Minute, capacity: 100,
			means: []float64{400, 300, 200}, uppers: []float64{800, 600, 400},
			w:    touched("api", 2, 10, 20, 10, monday.Add(-10*time.Minute), monday.Add(5*time.Minute)),
			want: 7, reason: SourceStepDown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.w
			if w.Service == "" {
				w = untouched("api", 2, 10, 3, tt.now)
			}
			cfg := svc("api", tt.lead)
			cfg.CapacityPerReplica = tt.capacity
			plan := PlanFloors(PlanInput{Now: tt.now, Services: []ServiceConfig{cfg}, Workloads: []Workload{w},
				Predictions: []scaling.Prediction{forecastPoints("api", at, 10*time.Minute, tt.means, tt.uppers)}, PredictiveEnabled: true})
			require.Len(t, plan.Decisions, 1)
			d := plan.Decisions[0]
			require.Equal(t, tt.want, d.Floor, "contributions: %+v", d.Contributions)
			require.Equal(t, tt.reason, d.Reason)
			if tt.detail != "" {
				var pred *Contribution
				for i := range d.Contributions {
					if d.Contributions[i].Source == SourcePrediction {
						pred = &d.Contributions[i]
					}
				}
				require.NotNil(t, pred)
				require.Contains(t, pred.Detail, tt.detail)
			}
		})
	}
}

// TestPlanFloorsPredictionAcrossARamp replays a forecast of a ramp and a fall every minute and
// checks the floor leads the rise at the upper bound and comes down in steps after the peak.
func TestPlanFloorsPredictionAcrossARamp(t *testing.T) {
	start := monday
	// 10-minute points: flat 300 until 09:30, ramp to 1500 by 10:00, fall back to 300 by 10:30.
	var means, uppers []float64
	for i := range 16 {
		m := 300.0
		switch at := start.Add(time.Duration(i+1) * 10 * time.Minute); {
		case at.After(start.Add(time.Hour)) && !at.After(start.Add(90*time.Minute)):
			m = 300 + 1200*at.Sub(start.Add(time.Hour)).Minutes()/30
		case at.After(start.Add(90*time.Minute)) && at.Before(start.Add(2*time.Hour)):
			m = 1500 - 1200*at.Sub(start.Add(90*time.Minute)).Minutes()/30
		}
		means, uppers = append(means, m), append(uppers, m*1.3)
	}
	p := forecastPoints("api", start, 10*time.Minute, means, uppers)
	p.ValidUntil = start.Add(4 * time.Hour).UnixMilli()
	w := untouched("api", 2, 30, 3, start)
	floorAt := map[time.Duration]int32{}
	for now := start.Add(10 * time.Minute); now.Before(start.Add(150 * time.Minute)); now = now.Add(time.Minute) {
		w.ObservedAt = now
		d := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("api", 5*time.Minute)}, Workloads: []Workload{w},
			Predictions: []scaling.Prediction{p}, PredictiveEnabled: true}).Decisions[0]
		if d.Restore {
			w.MinReplicas, w.Touched, w.FloorChangedAt = w.BaseMinReplicas, false, now
		} else if d.Floor != w.MinReplicas {
			if !w.Touched {
				w.Touched, w.BaseMinReplicas = true, w.MinReplicas
			}
			w.MinReplicas, w.FloorChangedAt = d.Floor, now
		}
		floorAt[now.Sub(start)] = w.MinReplicas
	}
	require.Equal(t, int32(3), floorAt[30*time.Minute], "flat: the expected load (3), not its upper bound (4)")
	require.Equal(t, int32(3), floorAt[54*time.Minute], "the ramp's first rising point (09:40) is not within lead plus a step yet")
	require.Equal(t, int32(10), floorAt[55*time.Minute], "the ramp is provisioned at its upper bound ahead: 700 x 1.3 at 09:40")
	require.Equal(t, int32(20), floorAt[75*time.Minute], "the peak's upper bound (1500 x 1.3) is in place 15m before it")
	require.Equal(t, int32(20), floorAt[89*time.Minute], "held at the upper bound until the peak")
	require.Equal(t, int32(15), floorAt[90*time.Minute], "at the peak nothing ahead rises: the expected load at now")
	prev := floorAt[90*time.Minute]
	for m := 91; m < 150; m++ {
		f := floorAt[time.Duration(m)*time.Minute]
		require.LessOrEqual(t, f, prev, "no rise after the peak at %dm", m)
		require.GreaterOrEqual(t, f, prev-max(1, CeilReplicas(0.25*float64(prev))), "a step of at most a quarter at %dm", m)
		prev = f
	}
	require.Equal(t, int32(3), floorAt[140*time.Minute], "back at the expected load once flat")
}

func TestRiseLegs(t *testing.T) {
	tests := []struct {
		name  string
		means []float64
		want  []rise
	}{
		{name: "empty", means: nil, want: nil},
		{name: "flat wiggles within the margin", means: []float64{500, 560, 480, 579, 500, 520}, want: nil},
		{name: "a climb of exactly the margin is not a rise", means: []float64{500, 600, 600}, want: nil},
		{name: "one rise to its crest, then a fall", means: []float64{500, 450, 700, 900, 1000, 600, 500}, want: []rise{{trough: 1, crest: 4}}},
		{name: "a dip within the margin does not end a rise", means: []float64{300, 700, 640, 660, 1000, 500}, want: []rise{{trough: 0, crest: 4}}},
		{name: "the latest of equal lows is the trough", means: []float64{300, 300, 300, 900}, want: []rise{{trough: 2, crest: 3}}},
		{name: "a fall beyond the margin ends a rise; the next one starts at its low", means: []float64{100, 400, 250, 600, 700}, want: []rise{{trough: 0, crest: 1}, {trough: 2, crest: 4}}},
		{name: "still climbing at the last point", means: []float64{100, 200, 300}, want: []rise{{trough: 0, crest: 2}}},
		{name: "a fall only", means: []float64{900, 700, 500}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := make([]scaling.PredictionPoint, len(tt.means))
			for i, m := range tt.means {
				pts[i] = scaling.PredictionPoint{Timestamp: int64(i) * 60_000, ExpectedLoad: m}
			}
			require.Equal(t, tt.want, riseLegs(pts, 100))
		})
	}
}

// TestPlanFloorsPredictionNoisyPlateau replays a forecast of a noisy plateau every 30 s: each
// point after a lower one "rises", but by less than a replica, so the floor must never jump to
// the upper bound and back (each jump starts pods that are removed minutes later).
func TestPlanFloorsPredictionNoisyPlateau(t *testing.T) {
	start := monday
	wiggle := []float64{0, 40, -30, 45, -50, 30, 50, -20} // peak to peak 100: one replica
	var means, uppers []float64
	for i := range 40 { // 5-minute points over 3h20m
		m := 1000 + wiggle[i%len(wiggle)]
		means, uppers = append(means, m), append(uppers, m*1.3)
	}
	p := forecastPoints("api", start, 5*time.Minute, means, uppers)
	p.ValidUntil = start.Add(4 * time.Hour).UnixMilli()
	w := untouched("api", 2, 30, 2, start)
	var changes int
	for now := start.Add(5 * time.Minute); now.Before(start.Add(3 * time.Hour)); now = now.Add(30 * time.Second) {
		w.ObservedAt = now
		d := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("api", 5*time.Minute)}, Workloads: []Workload{w},
			Predictions: []scaling.Prediction{p}, PredictiveEnabled: true}).Decisions[0]
		require.LessOrEqual(t, d.Floor, int32(11), "at %s: never the upper bound (13-15) on a plateau: %+v", now.Format(time.Kitchen), d.Contributions)
		if d.Floor != w.MinReplicas {
			changes++
			if !w.Touched {
				w.Touched, w.BaseMinReplicas = true, w.MinReplicas
			}
			w.MinReplicas, w.FloorChangedAt = d.Floor, now
		}
	}
	require.Equal(t, 1, changes, "raised once to the plateau's expected size (every window expects at most 1050 -> 11) and held")
}

// TestPredictionFloorCalibratedSettings checks the planner honours the floor settings a
// calibration stored with the prediction.
func TestPredictionFloorCalibratedSettings(t *testing.T) {
	at := monday.Add(-10 * time.Minute) // points every 10m from 08:30; lead 5m
	// A rise from 300 to 1500 between 08:40 and 09:00, bound 1.5x the expected load.
	means := []float64{300, 300, 900, 1500, 1500, 1500}
	uppers := []float64{450, 450, 1350, 2250, 2250, 2250}
	flat := []float64{500, 500, 500, 500, 500, 500}
	flatUp := []float64{800, 800, 800, 800, 800, 800}
	half, zero, two, five := 0.5, 0.0, 2.0, 5.0
	tests := []struct {
		name         string
		means, upper []float64
		now          time.Time
		settings     *scaling.FloorSettings
		want         int32 // 0: no prediction contribution
		wantDetail   string
	}{
		{name: "no calibration: the upper bound ahead of the rise", means: means, upper: uppers, now: monday.Add(5 * time.Minute), want: 14},
		{name: "off: no prediction floor", means: means, upper: uppers, now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{Off: true}},
		{name: "bound share 0: the expected load ahead of the rise", means: means, upper: uppers, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &zero}, want: 9},
		{name: "bound share 0.5: half-way to the upper bound", means: means, upper: uppers, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &half}, want: 12},
		{name: "a longer lead sees the crest", means: means, upper: uppers, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &zero, LeadSeconds: 1200}, want: 15},
		{name: "interpolated: the load forecast at now+lead, not the next point", means: means, upper: uppers, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &zero, Interpolate: true}, want: 3},
		{name: "interpolated, later: part-way up the rise", means: means, upper: uppers, now: monday.Add(15 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &zero, Interpolate: true}, want: 9},
		{name: "flat: the expected load", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{BoundShare: &half}, want: 5},
		{name: "flat, rises only: nothing", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{BoundShare: &half, RisesOnly: true}},
		{name: "flat, bound throughout: half-way to the upper bound", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &half, BoundThroughout: true}, want: 7},
		{name: "flat, bound throughout at share 2: twice the bound's distance above the expected load", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &two, BoundThroughout: true, Interpolate: true}, want: 11, wantDetail: "2 times the distance to the q0.80 bound"},
		{name: "a share above MaxBoundShare: read as MaxBoundShare", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &five, BoundThroughout: true, Interpolate: true}, want: 14, wantDetail: "3 times the distance to the q0.80 bound"},
		{name: "flat, bound throughout, interpolated: the upper bound", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundThroughout: true, Interpolate: true}, want: 8},
		{name: "falling, bound throughout, interpolated: the bound as it falls", means: []float64{1500, 1500, 1200, 900, 600, 600}, upper: []float64{2250, 2250, 1800, 1350, 900, 900},
			now: monday.Add(15 * time.Minute), settings: &scaling.FloorSettings{BoundShare: &half, BoundThroughout: true, Interpolate: true}, want: 17},
		{name: "falling, interpolated: the expected load as it falls", means: []float64{1500, 1500, 1200, 900, 600, 600}, upper: []float64{2250, 2250, 1800, 1350, 900, 900},
			now: monday.Add(15 * time.Minute), settings: &scaling.FloorSettings{BoundShare: &half, Interpolate: true}, want: 14},
		{name: "flat, bound throughout and rises only: rises only wins", means: flat, upper: flatUp, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{BoundShare: &half, BoundThroughout: true, RisesOnly: true}},
		{name: "a wiggle within a wide noise margin is no rise", means: []float64{500, 500, 700, 500, 500, 500}, upper: []float64{800, 800, 1100, 800, 800, 800},
			now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{NoiseMarginReplicas: 3}, want: 7},
		// A prediction can hold no point the planner reads (stored empty, or every point past
		// PlanningEnd): no floor, under every reading, and no panic.
		{name: "no points: nothing", means: []float64{}, upper: []float64{}, now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{}},
		{name: "no points, interpolated: nothing", means: []float64{}, upper: []float64{}, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{Interpolate: true}},
		{name: "no points, interpolated throughout: nothing", means: []float64{}, upper: []float64{}, now: monday.Add(5 * time.Minute),
			settings: &scaling.FloorSettings{Interpolate: true, BoundThroughout: true}},
		{name: "smoothing flattens a one-point spike", means: []float64{500, 500, 1400, 500, 500, 500}, upper: []float64{500, 500, 1400, 500, 500, 500},
			now: monday.Add(5 * time.Minute), settings: &scaling.FloorSettings{SmoothingPoints: 3, NoiseMarginReplicas: 4}, want: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := forecastPoints("api", at, 10*time.Minute, tt.means, tt.upper)
			if tt.settings != nil {
				p.Calibration = &scaling.Calibration{FloorSettings: *tt.settings, Reason: "test"}
			}
			f := NewPredictionFloor(p, svc("api", 5*time.Minute), tt.settings)
			c, ok := predictionContribution(&f, p, tt.now)
			if tt.want == 0 {
				require.False(t, ok, "contribution %+v", c)
				_, ok := f.Floor(tt.now)
				require.False(t, ok, "Floor agrees with the contribution")
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, c.Floor, c.Detail)
			if tt.settings != nil && tt.settings.BoundThroughout { // these cases are not rises
				if tt.wantDetail == "" {
					tt.wantDetail = "of the way to the q0.80 bound of test model at"
				}
				require.Contains(t, c.Detail, tt.wantDetail)
				require.Contains(t, c.Detail, "held on steady stretches too")
			}
			fresh := NewPredictionFloor(p, svc("api", 5*time.Minute), tt.settings)
			got, ok := fresh.Floor(tt.now)
			require.True(t, ok)
			require.Equal(t, tt.want, got, "Floor agrees with the contribution")
		})
	}
}

// The planner reads a prediction until PlanningEnd, however far it runs: a day-long forecast
// plans, at every instant of its validity, the floors of the same forecast cut there, which is
// what calibration replays. Here the load climbs so slowly from the validity's end that the
// climb passes the noise margin only after PlanningEnd: read to the end, it would be a rise
// under way at the end of the validity (its bound, 8 replicas, instead of the expected load's 6).
func TestPredictionFloorReadsUntilPlanningEnd(t *testing.T) {
	at := monday
	const step = 10 * time.Minute
	means, uppers := make([]float64, 144), make([]float64, 144)
	for i := range means {
		means[i] = 500
		if climb := time.Duration(i+1)*step - time.Hour; climb > 0 { // 500 → 1000 over the 8 h after the validity
			means[i] += min(500, 500*climb.Hours()/8)
		}
		uppers[i] = 1.5 * means[i]
	}
	day := forecastPoints("api", at, step, means, uppers)
	three, one := 3.0, 1.0
	for _, tt := range []struct {
		name     string
		settings *scaling.FloorSettings
		// want is the floor at the validity's end; readToEnd what reading the whole forecast
		// would plan there.
		want, readToEnd int32
	}{
		{name: "defaults", want: 6, readToEnd: 8},
		{name: "interpolated", settings: &scaling.FloorSettings{BoundShare: &one, Interpolate: true, NoiseMarginReplicas: 1}, want: 6, readToEnd: 8},
		{name: "smoothed over 65 min", settings: &scaling.FloorSettings{BoundShare: &one, SmoothingPoints: 7, NoiseMarginReplicas: 1}, want: 6, readToEnd: 8},
		{name: "bound throughout: the bound either way", settings: &scaling.FloorSettings{BoundShare: &three, BoundThroughout: true, NoiseMarginReplicas: 1},
			want: 13, readToEnd: 13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := svc("api", 5*time.Minute)
			cut := day
			end := PlanningEnd(day, cfg.LeadTime)
			require.Equal(t, at.Add(2*time.Hour+5*time.Minute).UnixMilli(), end, "valid for an hour, then the lead and an hour")
			cut.Points = slices.DeleteFunc(slices.Clone(day.Points), func(pt scaling.PredictionPoint) bool { return pt.Timestamp > end })
			full, short := NewPredictionFloor(day, cfg, tt.settings), NewPredictionFloor(cut, cfg, tt.settings)
			for now := at; !now.After(at.Add(time.Hour)); now = now.Add(30 * time.Second) {
				want, wantOK := short.Floor(now)
				got, ok := full.Floor(now)
				require.Equal(t, wantOK, ok, "%s", now)
				require.Equal(t, want, got, "%s", now)
			}
			got, ok := full.Floor(at.Add(time.Hour))
			require.True(t, ok)
			require.Equal(t, tt.want, got)
			unbounded := day
			unbounded.ValidUntil = 0 // no end of validity: read to the forecast's end
			whole := NewPredictionFloor(unbounded, cfg, tt.settings)
			got, ok = whole.Floor(at.Add(time.Hour))
			require.True(t, ok)
			require.Equal(t, tt.readToEnd, got)
		})
	}
}

// A PredictionFloor answers from where its last query fell (seek): in whatever order it is
// asked, each answer must be the one a fresh PredictionFloor gives.
func TestPredictionFloorAnswersAlikeInAnyOrder(t *testing.T) {
	// Six hours of waves every 10 min, each climbing well past the noise margin: several
	// rises, so both the point and the rise searches move.
	const n = 36
	means, uppers := make([]float64, n), make([]float64, n)
	for i := range means {
		means[i] = 500 + 400*float64([]int{0, 1, 2, 3, 2, 1}[i%6])
		uppers[i] = 1.4 * means[i]
	}
	waves := forecastPoints("api", monday, 10*time.Minute, means, uppers)
	waves.ValidUntil = 0 // valid throughout: no query ends at the expiry check
	reversed := waves
	reversed.Points = slices.Clone(waves.Points)
	slices.Reverse(reversed.Points) // out of order: read through PlanningView's copy

	var times []time.Time // every 70 s from before the first point to past the last
	for at := monday.Add(-30 * time.Minute); at.Before(monday.Add(7 * time.Hour)); at = at.Add(70 * time.Second) {
		times = append(times, at)
	}
	backwards := slices.Clone(times)
	slices.Reverse(backwards)
	shuffled := slices.Clone(times)
	rng := rand.New(rand.NewPCG(1, 1))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var leaping []time.Time // on by an hour, back by 50 min, ...
	for i := 0; i+51 < len(times); i += 9 {
		leaping = append(leaping, times[i+51], times[i])
	}

	zero := 0.0
	for _, tt := range []struct {
		name     string
		p        scaling.Prediction
		settings *scaling.FloorSettings
		times    []time.Time
	}{
		{name: "defaults, forwards", p: waves, times: times},
		{name: "defaults, backwards", p: waves, times: backwards},
		{name: "defaults, shuffled", p: waves, times: shuffled},
		{name: "defaults, leaping", p: waves, times: leaping},
		{name: "interpolated, forwards", p: waves, settings: &scaling.FloorSettings{BoundShare: &zero, Interpolate: true}, times: times},
		{name: "interpolated, backwards", p: waves, settings: &scaling.FloorSettings{BoundShare: &zero, Interpolate: true}, times: backwards},
		{name: "interpolated, shuffled", p: waves, settings: &scaling.FloorSettings{BoundShare: &zero, Interpolate: true}, times: shuffled},
		{name: "interpolated rises only, leaping", p: waves, settings: &scaling.FloorSettings{Interpolate: true, RisesOnly: true, LeadSeconds: 1200}, times: leaping},
		{name: "smoothed, shuffled", p: waves, settings: &scaling.FloorSettings{SmoothingPoints: 3, Tolerance: 0.1}, times: shuffled},
		{name: "points out of order, shuffled", p: reversed, times: shuffled},
		{name: "points out of order, interpolated, backwards", p: reversed, settings: &scaling.FloorSettings{Interpolate: true}, times: backwards},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := svc("api", 5*time.Minute)
			f := NewPredictionFloor(tt.p, cfg, tt.settings)
			answered := 0
			for _, now := range tt.times {
				fresh := NewPredictionFloor(tt.p, cfg, tt.settings)
				want, wantOK := fresh.Floor(now)
				got, ok := f.Floor(now)
				require.Equal(t, wantOK, ok, "%s", now)
				require.Equal(t, want, got, "%s", now)
				if ok {
					answered++
				}
			}
			require.Positive(t, answered, "some query asks for a floor")
		})
	}
}

// riseLegs cuts a prediction's expected loads into rises (riseLegsOf, as the planner does).
func riseLegs(pts []scaling.PredictionPoint, margin float64) []rise {
	exp := make([]float64, len(pts))
	for i, pt := range pts {
		exp[i] = pt.ExpectedLoad
	}
	return riseLegsOf(exp, margin)
}

// TestPlanFloorsPredictionHold checks the hold (FloorSettings.HoldSeconds): a floor does not
// come down for a dip the prediction sees ending within the hold, comes down for one that
// lasts longer, and is never raised by it.
func TestPlanFloorsPredictionHold(t *testing.T) {
	// Points every 10 minutes from 08:40: 800 until 08:50, 400 from 09:00 to 09:10, 800 again
	// from 09:20, valid until 09:30. At 08:55, with a 5 minute lead read between the points,
	// the expected load asks for 6 replicas (600 at 08:55, falling to 400 at 09:00).
	p := forecastPoints("api", monday, 10*time.Minute, []float64{800, 800, 400, 400, 800, 800}, []float64{900, 900, 500, 500, 900, 900})
	now := monday.Add(25 * time.Minute)
	settings := func(hold time.Duration) *scaling.Calibration {
		return &scaling.Calibration{Reason: "test", FloorSettings: scaling.FloorSettings{BoundShare: ratio(0), LeadSeconds: 300,
			NoiseMarginReplicas: 1, Interpolate: true, BoundThroughout: true, HoldSeconds: int64(hold / time.Second)}}
	}
	tests := []struct {
		name       string
		hold       time.Duration
		cur        int32 // the floor in force, raised long ago
		want       int32
		wantDetail string    // of the winning contribution
		at         time.Time // when planned, if not at 08:55
	}{
		{name: "no hold: down by the step-down policy towards 6", cur: 8, want: 6},
		{name: "the dip ends within the hold: kept", hold: 30 * time.Minute, cur: 8, want: 8,
			wantDetail: "holding 8: the prediction asks for 8 again within the next 30m0s"},
		{name: "the dip outlasts the hold: down as without one", hold: 10 * time.Minute, cur: 8, want: 6},
		{name: "a floor below the held one is not raised to it", hold: 30 * time.Minute, cur: 7, want: 7,
			wantDetail: "holding 7: the prediction asks for 8 again"},
		{name: "a floor below what the prediction asks now rises to that only", hold: 30 * time.Minute, cur: 5, want: 6},
		{name: "the hold reads no further than the prediction is valid", hold: 3 * time.Hour, cur: 9, want: 8,
			wantDetail: "holding 8: the prediction asks for 8 again within the next 3h0m0s"},
		{name: "a stale prediction holds nothing: down by the step-down policy towards the base", hold: 3 * time.Hour, cur: 8, want: 6,
			at: monday.Add(61 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := p
			p.Calibration = settings(tt.hold)
			now := now
			if !tt.at.IsZero() {
				now = tt.at
			}
			w := touched("api", 2, tt.cur, 30, tt.cur, monday.Add(-time.Hour), now)
			d := PlanFloors(PlanInput{Now: now, Services: []ServiceConfig{svc("api", 5*time.Minute)}, Workloads: []Workload{w},
				Predictions: []scaling.Prediction{p}, PredictiveEnabled: true}).Decisions[0]
			require.Equal(t, tt.want, d.Floor, "%+v", d.Contributions)
			if tt.wantDetail != "" {
				require.Equal(t, SourcePrediction, d.Reason)
				var details []string
				for _, c := range d.Contributions {
					if c.Floor == d.Floor {
						details = append(details, c.Detail)
					}
				}
				require.Contains(t, strings.Join(details, "\n"), tt.wantDetail)
			}
		})
	}
}

// TestHeldFloorReadsThePlannersRounds checks HeldFloor is the highest floor of the rounds over
// the hold: with a lead of 5 minutes read between the points, the highest load over
// [now, now+hold+lead].
func TestHeldFloorReadsThePlannersRounds(t *testing.T) {
	// Points every 10 minutes from 08:40: 500, 900 (08:50), 300 from 09:00 to 09:30, 700 at 09:40.
	means := []float64{500, 900, 300, 300, 300, 300, 700, 300, 300, 300, 300, 300}
	p := forecastPoints("api", monday, 10*time.Minute, means, means)
	p.ValidUntil = monday.Add(2 * time.Hour).UnixMilli()
	s := scaling.FloorSettings{BoundShare: ratio(0), LeadSeconds: 300, Interpolate: true, BoundThroughout: true, HoldSeconds: 1800}
	f := NewPredictionFloor(p, svc("api", 5*time.Minute), &s)
	tests := []struct {
		at          time.Duration // after 08:30
		floor, held int32
	}{ // out of time order on purpose: the queries' memory must not matter
		{at: 25 * time.Minute, floor: 6, held: 6}, // 08:55: 600 falling to 300 by 09:00
		{at: 40 * time.Minute, floor: 3, held: 7}, // 09:10: the hold reaches 09:40's 700
		{at: 30 * time.Minute, floor: 3, held: 5}, // 09:00: the hold reaches 09:35, half-way to 700
		{at: 0, floor: 5, held: 9},                // 08:30: the hold reaches 08:50's 900
		{at: 75 * time.Minute, floor: 5, held: 5}, // 09:45: 700 falling to 300 by 09:50, 500 at 09:45
	}
	for _, tt := range tests {
		now := monday.Add(tt.at)
		got, ok := f.Floor(now)
		require.True(t, ok, now.Format(time.Kitchen))
		require.Equal(t, tt.floor, got, "floor at %s", now.Format(time.Kitchen))
		held, ok := f.HeldFloor(now, DefaultInterval)
		require.True(t, ok, now.Format(time.Kitchen))
		require.Equal(t, tt.held, held, "held at %s", now.Format(time.Kitchen))
	}
	unheld := NewPredictionFloor(p, svc("api", 5*time.Minute), &scaling.FloorSettings{BoundShare: ratio(0), Interpolate: true})
	_, ok := unheld.HeldFloor(monday.Add(30*time.Minute), DefaultInterval)
	require.False(t, ok, "no hold, no held floor")
	require.Equal(t, 60, HoldRounds(30*time.Minute, DefaultInterval))
	require.Zero(t, HoldRounds(0, DefaultInterval))
}

// TestPlanFloorsStepDownAtOnce checks FloorSettings.StepDownAtOnce: a floor above what the
// prediction asks comes down to it at once instead of by the step-down policy, while the
// prediction is valid, and a floor that must not be lowered is still kept.
func TestPlanFloorsStepDownAtOnce(t *testing.T) {
	// As in TestPlanFloorsPredictionHold: at 08:55 the expected load asks for 6 replicas.
	p := forecastPoints("api", monday, 10*time.Minute, []float64{800, 800, 400, 400, 800, 800}, []float64{900, 900, 500, 500, 900, 900})
	now := monday.Add(25 * time.Minute)
	tests := []struct {
		name       string
		atOnce     bool
		changedAgo time.Duration
		at         time.Time // when planned, if not at 08:55
		unseenDep  bool      // the floor depends on a service not observed
		want       int32
		reason     string
	}{
		{name: "by the policy: held within its interval", changedAgo: time.Minute, want: 20, reason: SourceStepDown},
		{name: "by the policy: a quarter off past it", changedAgo: 5 * time.Minute, want: 15, reason: SourceStepDown},
		{name: "at once: down to what the prediction asks", atOnce: true, changedAgo: time.Minute, want: 6, reason: SourcePrediction},
		{name: "at once, the prediction expired: by the policy", atOnce: true, changedAgo: time.Minute, at: monday.Add(61 * time.Minute),
			want: 20, reason: SourceStepDown},
		{name: "at once, a dependency not observed: kept", atOnce: true, changedAgo: time.Minute, unseenDep: true, want: 20, reason: SourceHold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := p
			p.Calibration = &scaling.Calibration{Reason: "test", FloorSettings: scaling.FloorSettings{BoundShare: ratio(0), LeadSeconds: 300,
				NoiseMarginReplicas: 1, Interpolate: true, StepDownAtOnce: tt.atOnce}}
			at := now
			if !tt.at.IsZero() {
				at = tt.at
			}
			in := PlanInput{Now: at, Services: []ServiceConfig{svc("api", 5*time.Minute)}, PredictiveEnabled: true,
				Workloads:   []Workload{touched("api", 2, 20, 30, 20, at.Add(-tt.changedAgo), at)},
				Predictions: []scaling.Prediction{p}}
			if tt.unseenDep {
				in.DependenciesEnabled, in.Dependencies = true, []scaling.Dependency{dep("db", "api", scaling.DependencyProportional, func(d *scaling.Dependency) { d.Ratio = ratio(1) })}
			}
			d := PlanFloors(in).Decisions[0]
			require.Equal(t, tt.want, d.Floor, "%+v", d.Contributions)
			require.Equal(t, tt.reason, d.Reason, "%+v", d.Contributions)
		})
	}
}

// TestFloorsEveryIsFloorAt checks that the sweep a calibration reads its rounds with asks for
// the floors FloorAt asks for, instant by instant, on random noisy forecasts (waves, plateaus,
// missing loads) under every kind of setting, from before the first point to past expiry,
// at steps finer and coarser than the forecast's.
func TestFloorsEveryIsFloorAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	shares := []float64{-1, -0.5, 0, 0.5, 1, 2}
	for seed := range 200 {
		step := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}[rng.IntN(3)]
		n := 2 + rng.IntN(40)
		means, uppers := make([]float64, n), make([]float64, n)
		level := 100 + rng.Float64()*2000
		for i := range means {
			if rng.IntN(4) == 0 {
				level = max(0, level+(rng.Float64()-0.4)*800) // a step up or down
			}
			means[i] = level * (1 + 0.2*rng.NormFloat64())
			uppers[i] = means[i] * (1 + rng.Float64())
		}
		if rng.IntN(10) == 0 {
			means[rng.IntN(n)] = 0 // a point without an expected load: the bound throughout
		}
		p := forecastPoints("api", monday, step, means, uppers)
		if rng.IntN(5) == 0 {
			p.ValidUntil = 0
		}
		b := shares[rng.IntN(len(shares))]
		settings := &scaling.FloorSettings{BoundShare: &b, Interpolate: rng.IntN(4) > 0, LeadSeconds: int64(rng.IntN(1800)),
			NoiseMarginReplicas: float64(rng.IntN(4)), SmoothingPoints: 1 + 2*rng.IntN(3), RisesOnly: rng.IntN(5) == 0,
			BoundThroughout: rng.IntN(3) == 0, Tolerance: 0.1 * float64(rng.IntN(2)), Off: rng.IntN(30) == 0}
		every := time.Duration(1+rng.IntN(600)) * time.Second
		from := monday.Add(-time.Duration(rng.IntN(7200)) * time.Second)
		if rng.IntN(2) == 0 { // rounds on the points, as a replay's mostly are
			every = []time.Duration{15 * time.Second, 30 * time.Second, time.Minute}[rng.IntN(3)]
			from = monday.Add(-time.Duration(rng.IntN(120)) * every)
		}
		rounds := int(time.Duration(n+8)*step/every) + 1
		cfg := svc("api", 5*time.Minute)
		got := make([]int32, rounds)
		swept := NewPredictionFloor(p, cfg, settings)
		swept.FloorsEvery(got, from.UnixMilli(), every.Milliseconds())
		asked := NewPredictionFloor(p, cfg, settings)
		for r := range rounds {
			at := from.Add(time.Duration(r) * every)
			want, _ := asked.FloorAt(at.UnixMilli())
			require.Equal(t, want, got[r], "seed %d, settings %+v, every %s: round %d at %s", seed, *settings, every, r, at)
		}
	}
}

// TestDerivedPatternSaysWhenItStandsIn checks the floor a derived pattern sets says it was
// derived, when, and that it stands in for a prediction, so a decision record tells it from a
// hand-written pattern.
func TestDerivedPatternSaysWhenItStandsIn(t *testing.T) {
	in := PlanInput{Now: monday, Services: []ServiceConfig{svc("api", 30*time.Minute)}, Workloads: []Workload{untouched("api", 2, 10, 3, monday)},
		Patterns: []scaling.Pattern{derived(daily("api", "", 9, 0.8), monday.Add(-3*time.Hour))}, PredictiveEnabled: true}
	d := PlanFloors(in).Decisions[0]
	require.Equal(t, SourcePattern, d.Reason)
	i := slices.IndexFunc(d.Contributions, func(c Contribution) bool { return c.Source == SourcePattern })
	require.GreaterOrEqual(t, i, 0)
	require.Contains(t, d.Contributions[i].Detail, "derived by the forecaster at 2025-01-06T05:30:00Z, standing in while no prediction is in force")

	in.Patterns[0].Source = scaling.SourceManual
	d = PlanFloors(in).Decisions[0]
	i = slices.IndexFunc(d.Contributions, func(c Contribution) bool { return c.Source == SourcePattern })
	require.GreaterOrEqual(t, i, 0)
	require.NotContains(t, d.Contributions[i].Detail, "derived")
}

// TestCentredMean checks the sliding sum against each window summed afresh: within 1e-12 of
// the load's scale, on a load that leaps by six orders of magnitude (the sum of a large value
// that left the window must not linger in the small ones after it), and with values not finite.
func TestCentredMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	noisy := make([]float64, 5000)
	for i := range noisy {
		noisy[i] = 900 * (1 + 0.3*rng.NormFloat64())
	}
	leaps := make([]float64, 3000)
	for i := range leaps {
		leaps[i] = 1 + rng.Float64()
		if i/500%2 == 1 {
			leaps[i] *= 1e6
		}
	}
	withInf := slices.Clone(noisy[:200])
	withInf[50] = math.Inf(1)
	withNaN := slices.Clone(noisy[:200])
	withNaN[50] = math.NaN()
	bothInfs := slices.Clone(withInf)
	bothInfs[60] = math.Inf(-1)
	tests := []struct {
		name string
		v    []float64
		w    int
	}{
		{"one point", noisy[:1], 5},
		{"window of one", noisy[:100], 1},
		{"even window", noisy[:100], 4},
		{"window longer than the series", noisy[:10], 25},
		{"noisy, 25 minutes at 15 s", noisy, 101},
		{"noisy, 25 minutes at 1 s", noisy, 1501},
		{"leaps of a million", leaps, 61},
		{"an infinite point", withInf, 13},
		{"a point not a number", withNaN, 13},
		{"both infinities", bothInfs, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := centredMean(tt.v, tt.w)
			require.Len(t, got, len(tt.v))
			h := tt.w / 2
			for i := range tt.v {
				lo, hi := max(0, i-h), min(len(tt.v), i+tt.w-h)
				var sum float64
				for _, x := range tt.v[lo:hi] {
					sum += x
				}
				want := sum / float64(hi-lo)
				if math.IsNaN(want) {
					require.True(t, math.IsNaN(got[i]), "point %d: got %v, want NaN", i, got[i])
					continue
				}
				if math.IsInf(want, 0) {
					require.Equal(t, want, got[i], "point %d", i)
					continue
				}
				require.InDelta(t, want, got[i], 1e-12*max(1, math.Abs(want)), "point %d", i)
			}
		})
	}
}
