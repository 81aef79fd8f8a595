package hpaevents

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// DefaultTolerance is the HPA controller's default tolerance (--horizontal-pod-autoscaler-tolerance):
// a usage ratio within 1±0.1 does not scale.
const DefaultTolerance = 0.1

// DefaultScaleUpGrace is how long after a scaling decision a further push in the same
// direction is not reported as no-scale: new pods are not ready yet and the HPA controller
// discounts them, so the metric staying out of band is expected, not a question to answer.
const DefaultScaleUpGrace = 3 * time.Minute

// DeriverOptions tune a Deriver; zero values take the defaults.
type DeriverOptions struct {
	// Tolerance is the HPA controller's tolerance each way, for observations that do not
	// carry their HPA's own (Observation.ScaleUpTolerance, ScaleDownTolerance); 0 means
	// DefaultTolerance.
	Tolerance float64
	// Grace is DefaultScaleUpGrace when 0.
	Grace time.Duration
}

func (o DeriverOptions) withDefaults() DeriverOptions {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.Grace <= 0 {
		o.Grace = DefaultScaleUpGrace
	}
	return o
}

// Deriver turns each HPA's successive observations into events. It keeps, per HPA, the
// previous observation and the episode it is in, so a steady HPA yields no event however
// often it is observed, and a decision seen twice yields one event ID. Observe is pure apart
// from that state; a Deriver is not safe for concurrent use.
type Deriver struct {
	opts  DeriverOptions
	state map[string]*hpaState
}

type hpaState struct {
	prev Observation
	// limitedReason is the ScalingLimited reason already reported ("" when not limited).
	limitedReason string
	// noScale is the no-scale episode already reported, nil when none is going on.
	noScale *episode
	// lastDecision and lastDir are the last scaling decision seen (dir +1 up, -1 down).
	lastDecision time.Time
	lastDir      int
}

type episode struct {
	dir    int
	reason string
}

// NewDeriver returns a Deriver with no history: the first observation of each HPA is read
// on its own (a scale in progress is reported with the same ID it had before a restart).
func NewDeriver(opts DeriverOptions) *Deriver {
	return &Deriver{opts: opts.withDefaults(), state: map[string]*hpaState{}}
}

// Observe reads one observation and returns the events it reveals (often none).
// Observations of one HPA older than the previous one are ignored.
func (d *Deriver) Observe(o Observation) []scaling.Event {
	var out []scaling.Event
	for _, x := range d.observe(o) {
		out = append(out, x.Event)
	}
	return out
}

// Derived is an event with what the Recorder needs to know about how it was seen.
type Derived struct {
	scaling.Event
	// Continued is true for a limited-scale or no-scale state seen on the first observation of
	// its HPA without a time anchor (history after a restart): it may be the continuation of
	// the state an earlier run already reported, which the Recorder checks in the store.
	Continued bool
}

// ObserveDerived is Observe with the Derived details.
func (d *Deriver) ObserveDerived(o Observation) []Derived { return d.observe(o) }

func (d *Deriver) observe(o Observation) []Derived {
	st := d.state[o.Key()]
	var p *Observation
	if st != nil {
		if o.Time.Before(st.prev.Time) {
			return nil
		}
		p = &st.prev
	} else {
		st = &hpaState{}
		d.state[o.Key()] = st
	}
	defer func() { st.prev = o }()

	gov, hasGov := governing(o, d.opts.Tolerance)
	limReason, isLimited := o.limited()

	if dec, ok := decide(p, o); ok {
		typ := scaling.EventScaleUp
		st.lastDir = 1
		if dec.to < dec.from {
			typ, st.lastDir = scaling.EventScaleDown, -1
		}
		reason := ""
		if isLimited {
			typ, reason = scaling.EventLimitedScale, limReason
			if FloorRaise(o, dec.from, dec.to, limReason) {
				reason = ReasonFloorRaised
			}
		}
		st.lastDecision = dec.at
		st.limitedReason = limReason
		st.noScale = nil
		return []Derived{{Event: newEvent(o, typ, dec.from, dec.to, dec.at, gov, hasGov, reason,
			eventID("scale", o.Key(), dec.anchor, dec.from, dec.to))}}
	}

	var out []Derived
	if isLimited {
		if e, ok := d.limitedWithoutDecision(st, p, o, gov, hasGov, limReason); ok {
			c, _ := o.Condition(CondScalingLimited)
			out = append(out, Derived{Event: e, Continued: p == nil && c.LastTransitionTime.IsZero()})
		}
		st.limitedReason = limReason
		st.noScale = nil
		return out
	}
	st.limitedReason = ""

	if !hasGov || gov.replicas == o.CurrentReplicas || o.DesiredReplicas != o.CurrentReplicas {
		st.noScale = nil
		return nil
	}
	// The governing metric asks for another count, yet the HPA keeps the current one.
	dir := 1
	if gov.replicas < o.CurrentReplicas {
		dir = -1
	}
	last, lastDir := st.lastDecision, st.lastDir
	if o.LastScaleTime.After(last) {
		last, lastDir = o.LastScaleTime, 0
	}
	if !last.IsZero() && o.Time.Sub(last) < d.opts.Grace && (lastDir == 0 || lastDir == dir) {
		return nil
	}
	reason := noScaleReason(o)
	if st.noScale != nil && st.noScale.dir == dir && st.noScale.reason == reason {
		return nil
	}
	st.noScale = &episode{dir: dir, reason: reason}
	// A restart mid-episode must give the same ID: anchor it on the last scale when known.
	anchor := o.Time
	if !o.LastScaleTime.IsZero() {
		anchor = o.LastScaleTime
	}
	return []Derived{{Event: newEvent(o, scaling.EventNoScale, o.CurrentReplicas, o.DesiredReplicas, o.Time, gov, hasGov, reason,
		eventID("no-scale/"+reason, o.Key(), anchor, o.CurrentReplicas, int32(dir))), Continued: p == nil && o.LastScaleTime.IsZero()}}
}

// limitedWithoutDecision reports an HPA that starts (or changes why it is) being held by its
// bounds or policies while not scaling, e.g. at maxReplicas under rising load.
func (d *Deriver) limitedWithoutDecision(st *hpaState, p *Observation, o Observation, gov proposal, hasGov bool, reason string) (scaling.Event, bool) {
	if p != nil && st.limitedReason == reason {
		return scaling.Event{}, false
	}
	c, _ := o.Condition(CondScalingLimited)
	anchor := c.LastTransitionTime
	if p == nil && !anchor.IsZero() && !o.LastScaleTime.IsZero() && !anchor.After(o.LastScaleTime) {
		// Limited since the last scale: that decision was already reported as limited-scale.
		return scaling.Event{}, false
	}
	if anchor.IsZero() || (p != nil && st.limitedReason != "") {
		// No transition time (history), or the reason changed while the status stayed True.
		anchor = o.Time
	}
	// DesiredReplicas is what the HPA wanted when that is beyond its bounds (the status holds
	// the clamped count), so the event says how far it was held back.
	want := o.DesiredReplicas
	if hasGov && ((reason == ReasonTooManyReplicas || reason == ReasonScaleUpLimit) && gov.replicas > want ||
		(reason == ReasonTooFewReplicas || reason == ReasonScaleDownLimit) && gov.replicas < want) {
		want = gov.replicas
	}
	return newEvent(o, scaling.EventLimitedScale, o.CurrentReplicas, want, anchor, gov, hasGov, reason,
		eventID("limited/"+reason, o.Key(), anchor, o.CurrentReplicas, 0)), true
}

// noScaleReason says why an HPA whose metric left its band did not scale.
func noScaleReason(o Observation) string {
	if c, ok := o.Condition(CondScalingActive); ok && c.Status == "False" && c.Reason != "" {
		return c.Reason
	}
	if c, ok := o.Condition(CondAbleToScale); ok && c.Reason != "" {
		if c.Status == "False" {
			return c.Reason // backoff (cooldown), failed scale reads or writes
		}
		if c.Reason == ReasonScaleUpStabilized || c.Reason == ReasonScaleDownStabilized {
			return c.Reason
		}
	}
	return ReasonTolerance
}

type decision struct {
	from, to int32
	// at is the event time, anchor the time its ID is built from.
	at, anchor time.Time
}

// decide reports a scaling decision first seen in o. With status.lastScaleTime (live source)
// a decision is a new lastScaleTime; without it (history) a new divergence of desired from
// current, or a change of current the samples jumped over.
func decide(p *Observation, o Observation) (decision, bool) {
	if !o.LastScaleTime.IsZero() {
		if p != nil && !o.LastScaleTime.After(p.LastScaleTime) {
			return decision{}, false
		}
		d := decision{at: o.LastScaleTime, anchor: o.LastScaleTime}
		switch {
		case o.DesiredReplicas != o.CurrentReplicas:
			d.from, d.to = o.CurrentReplicas, o.DesiredReplicas
		case p != nil && p.CurrentReplicas != o.CurrentReplicas:
			d.from, d.to = p.CurrentReplicas, o.CurrentReplicas // the scale already settled
		default:
			return decision{}, false // a settled decision from before we watched
		}
		return d, true
	}
	d := decision{at: o.Time, anchor: o.Time}
	switch {
	case p == nil:
		if o.DesiredReplicas == o.CurrentReplicas {
			return decision{}, false
		}
		d.from, d.to = o.CurrentReplicas, o.DesiredReplicas
	case o.DesiredReplicas != o.CurrentReplicas:
		if p.DesiredReplicas == o.DesiredReplicas && p.DesiredReplicas != p.CurrentReplicas {
			return decision{}, false // the same decision, still settling
		}
		d.from, d.to = o.CurrentReplicas, o.DesiredReplicas
	case p.DesiredReplicas == p.CurrentReplicas && o.CurrentReplicas != p.CurrentReplicas:
		d.from, d.to = p.CurrentReplicas, o.CurrentReplicas // the samples missed the divergence
	case p.DesiredReplicas != p.CurrentReplicas && o.DesiredReplicas != p.DesiredReplicas:
		d.from, d.to = p.DesiredReplicas, o.DesiredReplicas // a second decision before settling
	default:
		return decision{}, false
	}
	return d, true
}

func newEvent(o Observation, typ scaling.EventType, current, desired int32, at time.Time, gov proposal, hasGov bool, reason, id string) scaling.Event {
	e := scaling.Event{
		ID:              id,
		Service:         o.Service,
		Namespace:       o.Namespace,
		EventType:       typ,
		CurrentReplicas: current,
		DesiredReplicas: desired,
		Reason:          reason,
		Timestamp:       at.UnixMilli(),
	}
	if hasGov {
		e.TriggerMetric = gov.metric.Trigger()
		e.TriggerValue = gov.metric.Current
		e.TriggerThreshold = gov.metric.Target
	}
	return e
}

// eventID is deterministic in the decision's identity, so the same decision seen again
// (resync, restart, another source with the same anchor) is stored once. Anchors are taken
// at second precision: Kubernetes times carry no more.
func eventID(kind, hpa string, anchor time.Time, a, b int32) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%d|%d", kind, hpa, anchor.Unix(), a, b))
	return hex.EncodeToString(h[:12])
}
