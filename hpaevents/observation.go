package hpaevents

import (
	"math"
	"time"
)

// MetricType is the kind of an HPA metric source, as it appears in triggerMetric
// ("<type>:<name>").
type MetricType string

const (
	MetricResource          MetricType = "resource"
	MetricContainerResource MetricType = "containerresource"
	MetricPods              MetricType = "pods"
	MetricObject            MetricType = "object"
	MetricExternal          MetricType = "external"
)

// TargetKind is how an HPA metric's target is expressed; trigger values and thresholds are
// in its unit.
type TargetKind string

const (
	// TargetUtilization is a percentage of the pods' resource requests.
	TargetUtilization TargetKind = "Utilization"
	// TargetAverageValue is a value per pod.
	TargetAverageValue TargetKind = "AverageValue"
	// TargetValue is a total value (object and external metrics).
	TargetValue TargetKind = "Value"
)

// Metric is one metric of an HPA: its target from spec.metrics and, when the HPA controller
// could read it, its current value from status.currentMetrics, in the same unit.
type Metric struct {
	Type MetricType
	// Name is the resource name (cpu, memory) for resource metrics, else the metric name.
	Name       string
	TargetKind TargetKind
	Target     float64
	// Current is meaningful only when HasCurrent is true.
	Current    float64
	HasCurrent bool
}

// Trigger is the metric's name in the events' triggerMetric format, e.g. "resource:cpu".
func (m Metric) Trigger() string { return string(m.Type) + ":" + m.Name }

// Ratio is current/target, the usage ratio the HPA controller scales by; ok is false when
// the current value is unknown or the target is not positive.
func (m Metric) Ratio() (ratio float64, ok bool) {
	if !m.HasCurrent || m.Target <= 0 || math.IsNaN(m.Current) {
		return 0, false
	}
	return m.Current / m.Target, true
}

// NeededReplicas is what the HPA's metrics ask for before its tolerance, stabilization and
// policies: the highest usage ratio among them × ready, the replicas with metrics (the
// controller averages usage over the ready pods; pods still starting would inflate it in
// every scale-up). 0 when no metric has a current value or ready is not positive.
func (o Observation) NeededReplicas(ready int32) float64 {
	need, _ := o.Need(ready)
	return need
}

// Need is NeededReplicas and whether it was measured: some metric has a current value and
// ready is positive. A measured 0 is a metric reporting no load at all.
func (o Observation) Need(ready int32) (replicas float64, known bool) {
	var ratio float64
	for _, m := range o.Metrics {
		if r, ok := m.Ratio(); ok {
			ratio, known = max(ratio, r), true
		}
	}
	if ready <= 0 {
		return 0, false
	}
	return ratio * float64(ready), known
}

// Condition is one of the HPA's status conditions (AbleToScale, ScalingActive, ScalingLimited).
type Condition struct {
	Type   string
	Status string // "True", "False" or "Unknown"
	Reason string
	// LastTransitionTime is zero when unknown (the history source does not have it).
	LastTransitionTime time.Time
}

// HPA condition types and reasons the deriver reads (set by the HPA controller).
const (
	CondAbleToScale    = "AbleToScale"
	CondScalingActive  = "ScalingActive"
	CondScalingLimited = "ScalingLimited"

	ReasonTooManyReplicas     = "TooManyReplicas"
	ReasonTooFewReplicas      = "TooFewReplicas"
	ReasonScaleUpLimit        = "ScaleUpLimit"
	ReasonScaleDownLimit      = "ScaleDownLimit"
	ReasonScaleUpStabilized   = "ScaleUpStabilized"
	ReasonScaleDownStabilized = "ScaleDownStabilized"
	// ReasonTolerance explains a no-scale event no condition explains: the HPA's own
	// tolerance, readiness or rounding kept the replica count. Where the observation carries
	// the HPA's tolerances, the ratio the HPA reports is outside them, so it is the ratio the
	// controller recomputes over ready pods (pods starting or without metrics count as idle
	// on a scale-up) that is within tolerance.
	ReasonTolerance = "WithinTolerance"
	// ReasonFloorRaised marks a limited-scale event that is the floor's action, not the HPA's
	// decision: the HPA scaled up only to a raised minReplicas (TooFewReplicas), which on a
	// managed HPA is kai-scaler's raise. Effectiveness scores these apart (issue 12).
	ReasonFloorRaised = "FloorRaised"
)

// FloorRaise reports whether a scaling from from to to, limited for reason at o, is the HPA
// following its raised floor: a scale-up held at minReplicas (TooFewReplicas) goes up only
// because minReplicas rose above the current count; the metrics asked for no more.
func FloorRaise(o Observation, from, to int32, reason string) bool {
	return reason == ReasonTooFewReplicas && to > from && to <= o.MinReplicas
}

// Observation is one look at an HPA, from the live (informer) or the history
// (kube-state-metrics) source. It is a plain value: deriving events from it does no I/O.
type Observation struct {
	// Time is when the HPA was seen in this state (informer event time or sample time).
	Time      time.Time
	Namespace string
	HPA       string
	// Service is the managed service the HPA scales (the HPA name when not configured).
	Service         string
	MinReplicas     int32
	MaxReplicas     int32
	CurrentReplicas int32
	DesiredReplicas int32
	Metrics         []Metric
	Conditions      []Condition
	// LastScaleTime is status.lastScaleTime; zero when unknown (history source) or never scaled.
	LastScaleTime time.Time
	// ScaleUpTolerance and ScaleDownTolerance are the HPA's own tolerances each way
	// (spec.behavior.scaleUp.tolerance and scaleDown.tolerance, autoscaling/v2 since
	// Kubernetes 1.33): the HPA controller leaves the replicas as they are while a metric's
	// usage ratio r is within 1-ScaleDownTolerance <= r <= 1+ScaleUpTolerance. Each is the
	// share as a number (0.05 for 5 %); 0 means unknown or unset, where the tolerance of the
	// Deriver or Settle options applies (DefaultTolerance unless configured, the controller's
	// default); negative means the HPA sets a tolerance of 0 (none: any deviation scales).
	// The live source reads them from the HPA; the history source (kube-state-metrics) cannot.
	ScaleUpTolerance, ScaleDownTolerance float64
}

// Tolerances returns the scale-up and scale-down tolerances the HPA controller applies to o's
// HPA: o's own where it knows them (0 for a negative field: none), def where it does not.
func (o Observation) Tolerances(def float64) (up, down float64) {
	return tolerance(o.ScaleUpTolerance, def), tolerance(o.ScaleDownTolerance, def)
}

// tolerance resolves one of Observation's tolerance fields: v when positive, 0 when negative
// (the HPA sets none), def when 0 (or NaN: unknown).
func tolerance(v, def float64) float64 {
	switch {
	case v > 0:
		return v
	case v < 0:
		return 0
	}
	return def
}

// Key identifies the HPA observed: "namespace/name".
func (o Observation) Key() string { return o.Namespace + "/" + o.HPA }

// Condition returns the condition of type typ, if present.
func (o Observation) Condition(typ string) (Condition, bool) {
	for _, c := range o.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

// limited returns the reason when ScalingLimited is True with one of the reasons that mean
// the HPA wanted a count its bounds or behavior policies did not allow.
func (o Observation) limited() (string, bool) {
	c, ok := o.Condition(CondScalingLimited)
	if !ok || c.Status != "True" {
		return "", false
	}
	switch c.Reason {
	case ReasonTooManyReplicas, ReasonTooFewReplicas, ReasonScaleUpLimit, ReasonScaleDownLimit:
		return c.Reason, true
	}
	return "", false
}

// proposal is what one metric asks for, as the HPA controller's replica calculator computes
// it: ceil(current replicas × usage ratio), or the current count while the ratio is within
// tolerance.
type proposal struct {
	metric   Metric
	ratio    float64
	replicas int32
}

// propose is what m asks for with the tolerances up (above the target) and down (below it):
// the ratio r is within them when 1-down <= r <= 1+up, computed as the HPA controller's
// Tolerances.isWithin computes it (since Kubernetes 1.33: at a ratio of exactly 1.1 the older
// |r-1| <= 0.1 rounded the other way), as hpasim's HPA does.
func propose(m Metric, current int32, up, down float64) (proposal, bool) {
	r, ok := m.Ratio()
	if !ok {
		return proposal{}, false
	}
	p := proposal{metric: m, ratio: r, replicas: current}
	if !(1-down <= r && r <= 1+up) {
		p.replicas = int32(math.Ceil(r * float64(current)))
	}
	return p, true
}

// governing returns the proposal that drives the HPA's decision: the HPA controller takes the
// largest proposal across metrics, so the metric asking for the most replicas (ties: the
// higher ratio, then the first listed) is the one whose current/target ratio decided. The
// tolerances are o's own where it knows them, def (the default tolerance) where it does not.
func governing(o Observation, def float64) (proposal, bool) {
	up, down := o.Tolerances(def)
	var best proposal
	found := false
	for _, m := range o.Metrics {
		p, ok := propose(m, o.CurrentReplicas, up, down)
		if !ok {
			continue
		}
		if !found || p.replicas > best.replicas || (p.replicas == best.replicas && p.ratio > best.ratio) {
			best, found = p, true
		}
	}
	return best, found
}

// findMetric returns the metric of o named by trigger ("type:name").
func findMetric(o Observation, trigger string) (Metric, bool) {
	for _, m := range o.Metrics {
		if m.Trigger() == trigger {
			return m, true
		}
	}
	return Metric{}, false
}

// InferReasons fills the condition reasons a source that does not read them (kube-state-metrics
// exports none) leaves out, where the HPA controller leaves one explanation (see
// history.ObservationsFromKSM). It reads the metrics with o's tolerances where o knows them,
// else with DefaultTolerance.
func InferReasons(o *Observation) {
	gov, hasGov := governing(*o, DefaultTolerance)
	for i := range o.Conditions {
		c := &o.Conditions[i]
		switch {
		case c.Type == CondScalingLimited && c.Status == "True":
			switch {
			case o.MaxReplicas > 0 && o.DesiredReplicas >= o.MaxReplicas && (!hasGov || gov.replicas > o.DesiredReplicas):
				c.Reason = ReasonTooManyReplicas
			case o.DesiredReplicas <= o.MinReplicas && (!hasGov || gov.replicas < o.DesiredReplicas):
				c.Reason = ReasonTooFewReplicas
			case o.DesiredReplicas > o.CurrentReplicas || (hasGov && gov.replicas > o.DesiredReplicas):
				c.Reason = ReasonScaleUpLimit
			default:
				c.Reason = ReasonScaleDownLimit
			}
		case c.Type == CondAbleToScale && c.Status == "False":
			c.Reason = "NotAbleToScale"
		}
	}
	if _, limited := o.limited(); limited || !hasGov || gov.replicas >= o.CurrentReplicas || o.DesiredReplicas != o.CurrentReplicas {
		return
	}
	if c, ok := o.Condition(CondAbleToScale); ok && c.Status == "False" {
		return
	}
	for i := range o.Conditions {
		if o.Conditions[i].Type == CondAbleToScale {
			o.Conditions[i].Reason = ReasonScaleDownStabilized
			return
		}
	}
	o.Conditions = append(o.Conditions, Condition{Type: CondAbleToScale, Status: "True", Reason: ReasonScaleDownStabilized})
}
