package hpaevents

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// DefaultSettleWindow is how long after a scaling decision its outcome is judged: long enough
// for new pods to start and take load, short enough that later load changes are not blamed on it.
const DefaultSettleWindow = 10 * time.Minute

// SettleOptions tune Settle; zero values take the defaults.
type SettleOptions struct {
	// Window is DefaultSettleWindow when 0.
	Window time.Duration
	// Tolerance is DefaultTolerance when 0: a trigger metric is within its threshold while
	// current/target <= 1+Tolerance. An observation that carries its HPA's scale-up tolerance
	// (Observation.ScaleUpTolerance) is judged by that instead.
	Tolerance float64
}

func (o SettleOptions) withDefaults() SettleOptions {
	if o.Window <= 0 {
		o.Window = DefaultSettleWindow
	}
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	return o
}

// Settled reports whether nothing more can be learnt about e: its replicas and outcome are
// known (or unknowable: a scaling event without trigger metric keeps a pending outcome).
func Settled(e scaling.Event) bool {
	if e.ActualReplicas == nil {
		return false
	}
	if e.EventType == scaling.EventNoScale || e.TriggerMetric == "" {
		return true
	}
	return e.Outcome != scaling.OutcomePending
}

// Settle fills e's ActualReplicas and Outcome from what followed it: later observations of
// its HPA (in time order) and later events of its service. It returns e unchanged while it is
// too early to tell, so calling it again with more observations is how a pending event settles.
//
// ActualReplicas is the count reached: the desired count once current reaches it, the current
// count when the next decision comes first or when the window ends without reaching it.
// A no-scale event's ActualReplicas is its current count.
//
// Outcome (scaling events only, per DESIGN.md): ineffective as soon as an opposite scaling
// follows within the window; otherwise, once the window has passed, effective when the trigger
// metric is within its threshold at the last observation inside the window, else ineffective.
// Within means current/target <= 1 + the HPA's scale-up tolerance, as that observation knows
// it (opts.Tolerance when it does not).
func Settle(e scaling.Event, later []Observation, laterEvents []scaling.Event, now time.Time, opts SettleOptions) scaling.Event {
	opts = opts.withDefaults()
	if e.EventType == scaling.EventNoScale {
		if e.ActualReplicas == nil {
			e.ActualReplicas = ptr(e.CurrentReplicas)
		}
		return e
	}
	start := time.UnixMilli(e.Timestamp)
	end := start.Add(opts.Window)

	var next *scaling.Event // the next decision of the same HPA, if any
	for i := range laterEvents {
		n := laterEvents[i]
		if n.ID == e.ID || n.Service != e.Service || n.Namespace != e.Namespace || n.EventType == scaling.EventNoScale || n.Timestamp <= e.Timestamp {
			continue
		}
		if next == nil || n.Timestamp < next.Timestamp {
			next = &laterEvents[i]
		}
	}

	var inWindow []Observation
	passed := !now.Before(end)
	for _, o := range later {
		if o.Namespace != e.Namespace || o.Service != e.Service || o.Time.Before(start) {
			continue
		}
		if o.Time.After(end) {
			passed = true
			continue
		}
		inWindow = append(inWindow, o)
	}

	if e.ActualReplicas == nil {
		for _, o := range inWindow {
			if next != nil && o.Time.UnixMilli() >= next.Timestamp {
				break
			}
			if o.CurrentReplicas == e.DesiredReplicas {
				e.ActualReplicas = ptr(o.CurrentReplicas)
				break
			}
		}
		if e.ActualReplicas == nil && next != nil && next.Timestamp <= end.UnixMilli() {
			e.ActualReplicas = ptr(next.CurrentReplicas)
		}
		if e.ActualReplicas == nil && passed && len(inWindow) > 0 {
			e.ActualReplicas = ptr(inWindow[len(inWindow)-1].CurrentReplicas)
		}
	}

	if e.Outcome != scaling.OutcomePending || e.TriggerMetric == "" {
		return e
	}
	dir := direction(e)
	for _, n := range laterEvents {
		if n.ID == e.ID || n.Service != e.Service || n.Namespace != e.Namespace || n.EventType == scaling.EventNoScale ||
			n.Timestamp <= e.Timestamp || n.Timestamp > end.UnixMilli() {
			continue
		}
		// The floor's raises and the HPA's decisions do not reverse one another: a raise after
		// an HPA scale-down is the forecast's peak, and the HPA scaling down once the floor is
		// lowered again after the peak is the plan, not a raise undone (issue 12).
		if IsFloorRaise(n) || IsFloorRaise(e) {
			continue
		}
		if d := direction(n); d != 0 && d == -dir {
			e.Outcome = scaling.OutcomeIneffective
			return e
		}
	}
	if !passed {
		return e
	}
	for i := len(inWindow) - 1; i >= 0; i-- {
		m, ok := findMetric(inWindow[i], e.TriggerMetric)
		if !ok {
			continue
		}
		r, ok := m.Ratio()
		if !ok {
			continue
		}
		if up, _ := inWindow[i].Tolerances(opts.Tolerance); r <= 1+up {
			e.Outcome = scaling.OutcomeEffective
		} else {
			e.Outcome = scaling.OutcomeIneffective
		}
		return e
	}
	return e // no reading of the trigger metric in the window: stays pending
}

// direction is +1 for a decision to add replicas, -1 to remove them, 0 when unknown.
func direction(e scaling.Event) int {
	switch {
	case e.DesiredReplicas > e.CurrentReplicas:
		return 1
	case e.DesiredReplicas < e.CurrentReplicas:
		return -1
	}
	switch e.Reason {
	case ReasonTooManyReplicas, ReasonScaleUpLimit:
		return 1
	case ReasonTooFewReplicas, ReasonScaleDownLimit:
		return -1
	}
	return 0
}

func ptr[T any](v T) *T { return &v }
