package scaling

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// FieldError is bad input in one field; the API answers it with 400 and the field's name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrCycle is wrapped by CycleError.
var ErrCycle = errors.New("dependency cycle")

// CycleError is a dependency that would close a cycle; the API answers it with 409.
type CycleError struct {
	// Path is the cycle, first service repeated at the end: [a b c a].
	Path []string
}

func (e *CycleError) Error() string {
	if len(e.Path) == 2 {
		return fmt.Sprintf("a service cannot depend on itself: %s", e.Path[0])
	}
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

func (e *CycleError) Unwrap() error { return ErrCycle }

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateServiceName checks that name is a DNS-1123 label, as Kubernetes object names are.
func ValidateServiceName(field, name string) error {
	switch {
	case name == "":
		return fieldErr(field, "must not be empty")
	case len(name) > 63:
		return fieldErr(field, "must be at most 63 characters, got %d", len(name))
	case !dns1123Label.MatchString(name):
		return fieldErr(field, "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit), got %q", name)
	}
	return nil
}

// MaxTimeWindows bounds a pattern: one window per hour of the week.
const MaxTimeWindows = 7 * 24

// Validate checks a pattern as written through the API or by the forecaster.
func (p Pattern) Validate() error {
	if err := ValidateServiceName("service", p.Service); err != nil {
		return err
	}
	switch p.PatternType {
	case PatternDaily, PatternWeekly:
	case "":
		return fieldErr("patternType", "is required (daily or weekly)")
	default:
		return fieldErr("patternType", "must be daily or weekly, got %q", p.PatternType)
	}
	switch p.Source {
	case "", SourceManual, SourceDerived:
	default:
		return fieldErr("source", "must be manual or derived, got %q", p.Source)
	}
	if p.Timezone != "" {
		if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "Local" {
			return fieldErr("timezone", "must be an IANA time zone name, got %q", p.Timezone)
		}
	}
	if p.TimeWindows == nil {
		return fieldErr("timeWindows", "is required")
	}
	if len(p.TimeWindows) > MaxTimeWindows {
		return fieldErr("timeWindows", "must hold at most %d windows, got %d", MaxTimeWindows, len(p.TimeWindows))
	}
	seen := make(map[[2]int]int, len(p.TimeWindows))
	for i, w := range p.TimeWindows {
		f := fmt.Sprintf("timeWindows[%d]", i)
		day := -1
		if w.DayOfWeek != nil {
			day = *w.DayOfWeek
			if day < 0 || day > 6 {
				return fieldErr(f+".dayOfWeek", "must be 0–6 (0 = Sunday), got %d", day)
			}
		} else if p.PatternType == PatternWeekly {
			return fieldErr(f+".dayOfWeek", "is required in a weekly pattern")
		}
		if w.HourOfDay < 0 || w.HourOfDay > 23 {
			return fieldErr(f+".hourOfDay", "must be 0–23, got %d", w.HourOfDay)
		}
		if math.IsNaN(w.ExpectedLoad) || w.ExpectedLoad < 0 || w.ExpectedLoad > 1 {
			return fieldErr(f+".expectedLoad", "must be a fraction 0–1 of full capacity, got %v", w.ExpectedLoad)
		}
		if p.PatternType == PatternDaily {
			day = -1 // daily windows recur every day: the same hour twice is a duplicate
		}
		k := [2]int{day, w.HourOfDay}
		if j, dup := seen[k]; dup {
			return fieldErr(f, "duplicates timeWindows[%d] (same day and hour)", j)
		}
		seen[k] = i
	}
	return nil
}

// MaxDependencyReplicas bounds the replicas of fixed and minimum dependencies, as
// MaxOverrideReplicas bounds overrides: a typo such as 2147483647 would otherwise become a
// floor written to the cluster (issue 11, item 1).
const MaxDependencyReplicas = MaxOverrideReplicas

// Validate checks a dependency's names, type and the parameter of its type.
// It does not look for cycles: that needs every dependency (see FindCycle).
func (d Dependency) Validate() error {
	if err := ValidateServiceName("sourceService", d.SourceService); err != nil {
		return err
	}
	if err := ValidateServiceName("targetService", d.TargetService); err != nil {
		return err
	}
	extra := func(field string, set bool) error {
		if set {
			return fieldErr(field, "is not a parameter of dependency type %s", d.DependencyType)
		}
		return nil
	}
	switch d.DependencyType {
	case DependencyProportional:
		if d.Ratio == nil {
			return fieldErr("ratio", "is required for a proportional dependency")
		}
		if r := *d.Ratio; math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > 1000 {
			return fieldErr("ratio", "must be greater than 0 and at most 1000, got %v", r)
		}
		return errors.Join(extra("replicas", d.Replicas != nil), extra("minReplicas", d.MinReplicas != nil))
	case DependencyFixed:
		if d.Replicas == nil {
			return fieldErr("replicas", "is required for a fixed dependency")
		}
		if *d.Replicas < 0 || *d.Replicas > MaxDependencyReplicas {
			return fieldErr("replicas", "must be 0–%d, got %d", MaxDependencyReplicas, *d.Replicas)
		}
		return errors.Join(extra("ratio", d.Ratio != nil), extra("minReplicas", d.MinReplicas != nil))
	case DependencyMinimum:
		if d.MinReplicas == nil {
			return fieldErr("minReplicas", "is required for a minimum dependency")
		}
		if *d.MinReplicas < 0 || *d.MinReplicas > MaxDependencyReplicas {
			return fieldErr("minReplicas", "must be 0–%d, got %d", MaxDependencyReplicas, *d.MinReplicas)
		}
		return errors.Join(extra("ratio", d.Ratio != nil), extra("replicas", d.Replicas != nil))
	case "":
		return fieldErr("dependencyType", "is required (proportional, fixed or minimum)")
	default:
		return fieldErr("dependencyType", "must be proportional, fixed or minimum, got %q", d.DependencyType)
	}
}

// FindCycle reports the cycle that adding (or replacing) d among existing would close, or nil.
// Disabled dependencies count: enabling one must never create a cycle.
func FindCycle(existing []Dependency, d Dependency) *CycleError {
	if d.SourceService == d.TargetService {
		return &CycleError{Path: []string{d.SourceService, d.SourceService}}
	}
	next := make(map[string][]string)
	for _, e := range existing {
		if e.Key() == d.Key() {
			continue
		}
		next[e.SourceService] = append(next[e.SourceService], e.TargetService)
	}
	// A cycle through d is a path target -> ... -> source in the existing graph.
	prev := map[string]string{d.TargetService: ""}
	queue := []string{d.TargetService}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == d.SourceService {
			path := []string{n}
			for p := prev[n]; p != ""; p = prev[p] {
				path = append(path, p)
			}
			// path is source <- ... <- target; the cycle reads source -> target -> ... -> source.
			cycle := []string{d.SourceService}
			for i := len(path) - 1; i >= 0; i-- {
				cycle = append(cycle, path[i])
			}
			return &CycleError{Path: cycle}
		}
		for _, m := range next[n] {
			if _, ok := prev[m]; !ok {
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return nil
}
