package actuator

import (
	"fmt"
	"strings"
	"time"
)

// Behavior is an HPA's spec.behavior (autoscaling/v2) as plain values: how fast and on how
// large a change the HPA controller scales each way. Calibration replays the service's HPA
// with it, and a surge floor waits for rises past its scale-up tolerance. The zero value is
// the autoscaling/v2 default in both directions, as an HPA whose spec.behavior sets nothing
// ("behavior: {}") has it.
type Behavior struct {
	ScaleUp, ScaleDown ScalingRules
	// Unset is an HPA without spec.behavior (ScaleUp and ScaleDown are then zero: the
	// controller's tolerance and scale-down window). The HPA controller takes its older path
	// for it (normalizeDesiredReplicas), which the API server's defaults do not fill in: at each
	// sync a scale-up reaches at most twice the replicas or 4, whichever is more, a scale-down is
	// bounded by the scale-down window alone, and the window's highest recommendation is taken
	// either way, so an HPA held back by that cap goes on up to what it was asked for. Below 4
	// replicas it scales up more slowly than the defaults (1 to 4, not 5; 2 to 4, not 6).
	// Most HPAs are made so (kubectl autoscale, most charts).
	Unset bool
}

// Scale-up cap of the HPA controller's older path (Behavior.Unset): at most twice the replicas
// or 4, whichever is more, at a sync (scaleUpLimitFactor, scaleUpLimitMinimum).
const (
	UnsetScaleUpFactor  = 2
	UnsetScaleUpMinimum = 4
)

// UnsetScaleUpLimit is the most replicas the controller's older path scales cur up to at a sync.
func UnsetScaleUpLimit(cur int32) int32 {
	return max(UnsetScaleUpFactor*cur, UnsetScaleUpMinimum)
}

// ScalingRules are one direction of a Behavior (autoscaling/v2 HPAScalingRules). Each zero
// field is that direction's default, which ScaleUpDefaults and ScaleDownDefaults fill in.
type ScalingRules struct {
	// StabilizationWindow: a scale-up goes no higher than the lowest recommendation within it
	// (a scale-down no lower than the highest). 0 means the default (none up, 5 minutes
	// down); negative means none.
	StabilizationWindow time.Duration
	// Select picks among Policies: SelectMax (the default) the largest change they allow,
	// SelectMin the smallest, SelectDisabled none (no scaling this way).
	Select SelectPolicy
	// Policies limit the change per period; nil means the default policies.
	Policies []ScalingPolicy
	// Tolerance is the share the metric may stray from its target this way without scaling.
	// 0 means the controller's default (DefaultHPATolerance); negative means none.
	Tolerance float64
}

// ScalingPolicy allows a change of at most Value pods (or Value percent of the replicas at the
// period's start, with Percent) within Period.
type ScalingPolicy struct {
	Percent bool
	Value   int32
	Period  time.Duration
}

// SelectPolicy is HPAScalingRules.selectPolicy.
type SelectPolicy uint8

const (
	SelectMax SelectPolicy = iota
	SelectMin
	SelectDisabled
)

// String is the policy as autoscaling/v2 spells it.
func (s SelectPolicy) String() string {
	switch s {
	case SelectMin:
		return "Min"
	case SelectDisabled:
		return "Disabled"
	}
	return "Max"
}

// Defaults of the HPA controller (kube-controller-manager) and of autoscaling/v2's behavior.
const (
	DefaultHPATolerance           = 0.1
	DefaultScaleDownStabilization = 5 * time.Minute
	defaultScaleUpPods            = 4
	defaultScaleUpPercent         = 100
	defaultPolicyPeriod           = 15 * time.Second
	defaultScaleDownPercent       = 100
)

// ScaleUpDefaults is r with autoscaling/v2's scale-up defaults where r leaves them unset: no
// stabilization window, 4 pods or 100 % (whichever is more) per 15 seconds, the controller's
// tolerance. It is r resolved for use, not to keep as r: a negative window or tolerance
// becomes 0, which in the result means none.
func (r ScalingRules) ScaleUpDefaults() ScalingRules {
	if r.Policies == nil {
		r.Policies = []ScalingPolicy{{Value: defaultScaleUpPods, Period: defaultPolicyPeriod}, {Percent: true, Value: defaultScaleUpPercent, Period: defaultPolicyPeriod}}
	}
	return r.settled(0)
}

// ScaleDownDefaults is r with autoscaling/v2's scale-down defaults where r leaves them unset: a
// 5 minute stabilization window, 100 % per 15 seconds, the controller's tolerance.
func (r ScalingRules) ScaleDownDefaults() ScalingRules {
	if r.Policies == nil {
		r.Policies = []ScalingPolicy{{Percent: true, Value: defaultScaleDownPercent, Period: defaultPolicyPeriod}}
	}
	return r.settled(DefaultScaleDownStabilization)
}

func (r ScalingRules) settled(window time.Duration) ScalingRules {
	switch {
	case r.StabilizationWindow == 0:
		r.StabilizationWindow = window
	case r.StabilizationWindow < 0:
		r.StabilizationWindow = 0
	}
	switch {
	case r.Tolerance == 0:
		r.Tolerance = DefaultHPATolerance
	case r.Tolerance < 0:
		r.Tolerance = 0
	}
	return r
}

// IsDefault reports whether r sets nothing: every field is the direction's default.
func (r ScalingRules) IsDefault() bool {
	return r.StabilizationWindow == 0 && r.Select == SelectMax && r.Policies == nil && r.Tolerance == 0
}

// IsDefault reports whether b sets nothing: autoscaling/v2's defaults both ways (an unset
// behavior is not: the controller's older path differs from them).
func (b Behavior) IsDefault() bool {
	return !b.Unset && b.ScaleUp.IsDefault() && b.ScaleDown.IsDefault()
}

// String is b resolved, each way in a line ("up: …; down: …"); "default" when it sets nothing.
func (b Behavior) String() string {
	if b.IsDefault() {
		return "default"
	}
	return "up: " + b.ScaleUpString() + "; down: " + b.ScaleDownString()
}

// ScaleUpString is b's scale-up resolved, in a line.
func (b Behavior) ScaleUpString() string {
	if b.Unset {
		r := b.ScaleUp.ScaleUpDefaults()
		return fmt.Sprintf("unset, to at most %d× or %d replicas a sync, tolerance %.3g", UnsetScaleUpFactor, UnsetScaleUpMinimum, r.Tolerance)
	}
	return b.ScaleUp.ScaleUpDefaults().String()
}

// ScaleDownString is b's scale-down resolved, in a line.
func (b Behavior) ScaleDownString() string {
	r := b.ScaleDown.ScaleDownDefaults()
	if b.Unset {
		return fmt.Sprintf("unset, window %v, tolerance %.3g", r.StabilizationWindow, r.Tolerance)
	}
	return r.String()
}

// LongestPeriod is the longest of r's policy periods: how long a scale event counts against them.
func (r ScalingRules) LongestPeriod() time.Duration {
	var longest time.Duration
	for _, p := range r.Policies {
		longest = max(longest, p.Period)
	}
	return longest
}

// String is r in a line, e.g. "window 5m0s, 100% per 15s, tolerance 0.1".
func (r ScalingRules) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "window %v", r.StabilizationWindow)
	if r.Select == SelectDisabled {
		b.WriteString(", disabled")
	} else {
		for i, p := range r.Policies {
			sep := ", "
			if i > 0 {
				sep = " or "
				if r.Select == SelectMin {
					sep = " and "
				}
			}
			unit := " pods"
			switch {
			case p.Percent:
				unit = "%"
			case p.Value == 1:
				unit = " pod"
			}
			fmt.Fprintf(&b, "%s%d%s per %v", sep, p.Value, unit, p.Period)
		}
	}
	fmt.Fprintf(&b, ", tolerance %g", r.Tolerance)
	return b.String()
}
