package hpasim

import (
	"math"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
)

// Defaults of the Kubernetes HPA controller (kube-controller-manager flags); the scaling
// policies' defaults are actuator.ScalingRules'.
const (
	DefaultSyncPeriod        = 15 * time.Second
	DefaultTolerance         = actuator.DefaultHPATolerance
	DefaultTargetUtilization = 70
)

// Config describes one simulated HPA and its scale target.
type Config struct {
	Name                     string
	MinReplicas, MaxReplicas int32
	// InitialReplicas is the replica count at start (all ready); 0 means MinReplicas.
	InitialReplicas int32
	// CapacityPerReplica is the load one ready replica carries at the HPA's target.
	CapacityPerReplica float64
	// TargetUtilization is the target (percent) reported in records; the metric value is
	// reported on the same scale. 0 means 70.
	TargetUtilization float64
	// MetricName is the trigger metric named in records; empty means "resource:cpu".
	MetricName string
	// Behavior is the HPA's spec.behavior: stabilization windows, scaling policies and
	// tolerances; its zero value is the autoscaling/v2 default.
	Behavior actuator.Behavior
	// PodStartup is how long a new replica takes to become ready and carry load.
	PodStartup time.Duration
}

func (c Config) withDefaults() Config {
	if c.InitialReplicas <= 0 {
		c.InitialReplicas = c.MinReplicas
	}
	if c.TargetUtilization <= 0 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	if c.MetricName == "" {
		c.MetricName = "resource:cpu"
	}
	return c
}

// Reasons carried by records, as the HPA controller names them in its conditions.
const (
	// ScalingLimited condition reasons.
	ReasonDesiredWithinRange = "DesiredWithinRange"
	ReasonTooFewReplicas     = "TooFewReplicas"
	ReasonTooManyReplicas    = "TooManyReplicas"
	ReasonScaleUpLimit       = "ScaleUpLimit"
	ReasonScaleDownLimit     = "ScaleDownLimit"
	// AbleToScale condition reasons.
	ReasonSucceededRescale    = "SucceededRescale"
	ReasonReadyForNewScale    = "ReadyForNewScale"
	ReasonScaleDownStabilized = "ScaleDownStabilized"
	ReasonScaleUpStabilized   = "ScaleUpStabilized"
)

// Record is one HPA controller sync: what it saw and what it decided. It is a plain value the
// HPA-event deriver can turn into events.
type Record struct {
	HPA  string
	Time time.Time
	// CurrentReplicas is the scale target's replicas before the sync; DesiredReplicas after it.
	CurrentReplicas, DesiredReplicas int32
	// ReadyReplicas carried the load at the sync.
	ReadyReplicas int32
	// MinReplicas and MaxReplicas are the bounds in force.
	MinReplicas, MaxReplicas int32
	// MetricName is "<type>:<name>"; MetricValue and MetricTarget are utilization percent
	// averaged over ready pods, and the target.
	MetricName                string
	MetricValue, MetricTarget float64
	// Recommendation is the replica count the metric alone asked for, before stabilization,
	// policies and bounds.
	Recommendation int32
	// ScalingLimited is true when bounds or policies changed the recommendation; LimitedReason
	// names the bound (TooFewReplicas, TooManyReplicas, ScaleUpLimit, ScaleDownLimit) or is
	// DesiredWithinRange.
	ScalingLimited bool
	LimitedReason  string
	// AbleToScaleReason is SucceededRescale, ReadyForNewScale, ScaleDownStabilized or ScaleUpStabilized.
	AbleToScaleReason string
}

type recommendation struct {
	at       int64
	replicas int32
}

type scaleEvent struct {
	at    int64
	delta int32
}

// HPA is one simulated HorizontalPodAutoscaler with its scale target's pods. Not safe for
// concurrent use; Cluster serialises access. Its times are nanoseconds since epoch, the
// start it was made at (which keeps them in range on a trace of any year): a calibration
// syncs it hundreds of thousands of times, and time.Time's arithmetic and comparisons were a
// sixth of that cost.
type HPA struct {
	cfg    Config
	min    int32
	epoch  time.Time
	pods   []int64          // ready-at time of each pod, oldest first
	highs  []recommendation // see stabilize
	lows   []recommendation // see stabilize
	events []scaleEvent     // scale events within eventSpan, oldest first
	// up and down are the configured behavior with its defaults filled in (not kept in cfg:
	// a resolved window of 0 means none, where Config's 0 means the default).
	up, down actuator.ScalingRules
	// eventSpan is the longest policy period: an older scale event limits no policy.
	eventSpan int64
	// unset is an HPA without spec.behavior, which the controller scales by its older rules
	// (actuator.Behavior.Unset).
	unset    bool
	lastSync time.Time
	// need is what the metric asked for at the last sync (Workload.NeededReplicas); needKnown
	// says a sync measured it (Workload.NeedKnown).
	need      float64
	needKnown bool
	// deferAtFloor lets a sync that keeps the replicas at minReplicas defer its recommendation
	// (deferRecommendation); deferred holds them from deferredFrom on, oldest first.
	deferAtFloor bool
	deferred     []recommendation
	deferredFrom int
}

// NewHPA returns an HPA whose InitialReplicas pods are ready at start.
func NewHPA(cfg Config, start time.Time) *HPA {
	cfg = cfg.withDefaults()
	h := &HPA{cfg: cfg, min: cfg.MinReplicas, epoch: start,
		up: cfg.Behavior.ScaleUp.ScaleUpDefaults(), down: cfg.Behavior.ScaleDown.ScaleDownDefaults(), unset: cfg.Behavior.Unset}
	h.eventSpan = int64(max(h.up.LongestPeriod(), h.down.LongestPeriod()))
	for range cfg.InitialReplicas {
		h.pods = append(h.pods, 0)
	}
	return h
}

// Config returns the HPA's configuration, defaults filled in.
func (h *HPA) Config() Config { return h.cfg }

// MinReplicas is spec.minReplicas, the floor.
func (h *HPA) MinReplicas() int32 { return h.min }

// SetMinReplicas changes spec.minReplicas; like the API server, it refuses nothing but keeps
// min at least 1 and at most max.
func (h *HPA) SetMinReplicas(n int32) { h.min = min(max(n, 1), h.cfg.MaxReplicas) }

// NeededReplicas is what the metric asked for at the last sync, unrounded and before the
// tolerance, stabilization and policies; 0 before the first sync with ready pods.
func (h *HPA) NeededReplicas() float64 { return h.need }

// NeedKnown reports whether the last sync measured NeededReplicas (with ready pods, on a load
// the trace has): zero is then a load of none.
func (h *HPA) NeedKnown() bool { return h.needKnown }

// Replicas is the scale target's spec.replicas (all pods, ready or starting).
func (h *HPA) Replicas() int32 { return int32(len(h.pods)) }

// ReadyReplicas counts pods ready at now.
func (h *HPA) ReadyReplicas(now time.Time) int32 { return h.readyAt(h.since(now)) }

// since is now in the HPA's own time: nanoseconds since its epoch.
func (h *HPA) since(now time.Time) int64 { return int64(now.Sub(h.epoch)) }

func (h *HPA) readyAt(now int64) int32 {
	// pods is ordered by ready-at time: pods are added at the end, each ready PodStartup
	// after a later sync, and removed from the end. Most often all are ready.
	// Those still starting are the newest, at the end, and few (a scale-up's worth): counted
	// back from the end, the call is inlined; a binary search was 7 % of a calibration.
	n := len(h.pods)
	for n > 0 && h.pods[n-1] > now {
		n--
	}
	return int32(n)
}

// Due reports whether a sync is due at now (one per SyncPeriod, DefaultSyncPeriod).
func (h *HPA) Due(now time.Time) bool {
	return h.lastSync.IsZero() || now.Sub(h.lastSync) >= DefaultSyncPeriod
}

// Sync runs one controller sync at now with the target's total load, scales the target, and
// returns what it decided.
func (h *HPA) Sync(now time.Time, load float64) Record {
	h.lastSync = now
	d := h.sync(h.since(now), load)
	rec := Record{
		HPA: h.cfg.Name, Time: now, CurrentReplicas: d.current, DesiredReplicas: d.desired, ReadyReplicas: d.ready,
		MinReplicas: h.min, MaxReplicas: h.cfg.MaxReplicas,
		MetricName: h.cfg.MetricName, MetricTarget: h.cfg.TargetUtilization,
		Recommendation: d.recommendation, ScalingLimited: d.limited != withinRange,
		LimitedReason: d.limited.String(), AbleToScaleReason: d.ableToScale.String(),
	}
	if d.ready > 0 && h.cfg.CapacityPerReplica > 0 {
		rec.MetricValue = load / (float64(d.ready) * h.cfg.CapacityPerReplica) * h.cfg.TargetUtilization
	}
	return rec
}

// decision is what one sync saw and decided, without the labels a Record carries: calibration's
// replay syncs hundreds of thousands of times and reads only the replica counts, and building
// and copying a Record at each sync cost it 8 %. For the same cause its reasons are codes,
// named only where a Record is built (Sync).
type decision struct {
	current, ready, recommendation, desired int32
	limited, ableToScale                    reason
}

// reason is a condition reason (ReasonDesiredWithinRange and the rest) as a code.
type reason uint8

const (
	noReason reason = iota
	withinRange
	tooFew
	tooMany
	scaleUpLimit
	scaleDownLimit
	succeededRescale
	readyForNewScale
	scaleDownStabilized
	scaleUpStabilized
)

var reasonNames = [...]string{
	noReason: "", withinRange: ReasonDesiredWithinRange, tooFew: ReasonTooFewReplicas, tooMany: ReasonTooManyReplicas,
	scaleUpLimit: ReasonScaleUpLimit, scaleDownLimit: ReasonScaleDownLimit, succeededRescale: ReasonSucceededRescale,
	readyForNewScale: ReasonReadyForNewScale, scaleDownStabilized: ReasonScaleDownStabilized,
	scaleUpStabilized: ReasonScaleUpStabilized,
}

// String is the reason as the HPA controller names it in its conditions.
func (r reason) String() string { return reasonNames[r] }

// sync is Sync at now nanoseconds since the HPA's epoch.
func (h *HPA) sync(now int64, load float64) decision {
	cur := h.Replicas()
	ready := h.readyAt(now)
	d := decision{current: cur, ready: ready, limited: withinRange, ableToScale: readyForNewScale}
	if ready > 0 && h.cfg.CapacityPerReplica > 0 {
		h.need = load / h.cfg.CapacityPerReplica // usage ÷ target × ready pods
		h.needKnown = !math.IsNaN(load)
	}
	d.recommendation = h.metricReplicas(cur, ready, load)
	if h.deferAtFloor && !h.unset && cur == h.min && d.recommendation <= cur {
		h.deferRecommendation(now, d.recommendation)
		d.desired = cur
		return d
	}
	if h.deferredFrom < len(h.deferred) {
		h.undefer()
	}

	switch {
	case cur > h.cfg.MaxReplicas:
		// The controller skips metrics and goes straight to the bound.
		d.desired, d.limited = h.cfg.MaxReplicas, tooMany
	case cur < h.min:
		// Below the floor: straight to minReplicas, not rate-limited (this is why raising the
		// floor ahead of a peak works).
		d.desired, d.limited = h.min, tooFew
	default:
		stabilized, why := h.stabilize(now, cur, d.recommendation)
		if why != noReason {
			d.ableToScale = why
		}
		d.desired, d.limited = h.limit(now, cur, stabilized)
	}
	if d.desired != cur {
		d.ableToScale = succeededRescale
		h.scaleTo(now, d.desired)
	}
	return d
}

// deferRecommendation keeps the recommendation of a sync at now that left the replicas at
// minReplicas, where deferAtFloor lets it: with spec.behavior, replicas at minReplicas and a
// recommendation no higher decide no change whatever the windows hold (neither window can
// raise the replicas, and minReplicas bounds a scale-down), so the windows need not see it
// until a sync that may scale (undefer), and the policies are not read. A floor that binds
// holds the HPA at it for hours; a calibration's replays that follow the reactive track set
// it (5 % fewer instructions a calibration on per-minute history). Such a sync's decision has no
// reasons. A recommendation at or before now less the longest window can bound no window
// later, and is dropped.
func (h *HPA) deferRecommendation(now int64, replicas int32) {
	cutoff := now - int64(max(h.down.StabilizationWindow, h.up.StabilizationWindow))
	for h.deferredFrom < len(h.deferred) && h.deferred[h.deferredFrom].at <= cutoff {
		h.deferredFrom++
	}
	if h.deferredFrom >= 64 && 2*h.deferredFrom >= len(h.deferred) {
		h.deferred = h.deferred[:copy(h.deferred, h.deferred[h.deferredFrom:])]
		h.deferredFrom = 0
	}
	h.deferred = append(h.deferred, recommendation{at: now, replicas: replicas})
}

// undefer puts the deferred recommendations into the windows, as the syncs that made them
// would have one by one (TestDeferredRecommendationsWindowAsSyncs).
func (h *HPA) undefer() {
	recs := h.deferred[h.deferredFrom:]
	last := recs[len(recs)-1].at
	h.highs = mergeWindow(h.highs, recs, last-int64(h.down.StabilizationWindow), true)
	if h.up.StabilizationWindow > 0 {
		h.lows = mergeWindow(h.lows, recs, last-int64(h.up.StabilizationWindow), false)
	}
	h.deferred, h.deferredFrom = h.deferred[:0], 0
}

// mergeWindow is window (as windowed keeps it) after windowed took each of recs, later ones,
// in turn, the last with the given cutoff: of the recommendations after cutoff (and the last,
// which windowed keeps whatever the cutoff), those above (below) every later one, in time
// order. That is what remains of one-by-one windowing, since a recommendation is dropped only
// for a later one at least as high (low) or for leaving the window; worked out from the newest
// back it costs a comparison each, where windowed's bookkeeping cost a sync's worth.
func mergeWindow(window, recs []recommendation, cutoff int64, highest bool) []recommendation {
	beats := func(a, b int32) bool { return highest && a > b || !highest && a < b }
	// The chain of recs above (below) every later one, newest first, built at the end of recs'
	// own array would clobber what is still to be read: built in a scratch slice instead.
	n := len(recs)
	chain := make([]recommendation, 0, 8)
	chain = append(chain, recs[n-1])
	for i := n - 2; i >= 0 && recs[i].at > cutoff; i-- {
		if beats(recs[i].replicas, chain[len(chain)-1].replicas) {
			chain = append(chain, recs[i])
		}
	}
	bound := chain[len(chain)-1].replicas // the highest (lowest) of recs in the window
	kept := window[:0]
	for _, r := range window {
		if r.at > cutoff && beats(r.replicas, bound) {
			kept = append(kept, r)
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		kept = append(kept, chain[i])
	}
	return kept
}

// metricReplicas is the replica calculator for a utilization metric whose per-pod usage is
// load / ready pods (k8s.io/kubernetes/pkg/controller/podautoscaler/replica_calculator.go).
func (h *HPA) metricReplicas(cur, ready int32, load float64) int32 {
	if ready == 0 || h.cfg.CapacityPerReplica <= 0 {
		return cur // no metrics: the controller keeps the scale
	}
	unready := cur - ready
	ratio := load / (float64(ready) * h.cfg.CapacityPerReplica)
	if !(unready > 0 && ratio > 1) {
		if h.withinTolerance(ratio) {
			return cur
		}
		return actuator.CeilReplicas(ratio * float64(ready))
	}
	// Scaling up with unready pods: they count as idle, so pods still starting are not
	// requested twice.
	newRatio := load / (float64(cur) * h.cfg.CapacityPerReplica)
	if h.withinTolerance(newRatio) || newRatio < 1 {
		return cur
	}
	n := actuator.CeilReplicas(newRatio * float64(cur))
	if n < cur {
		return cur
	}
	return n
}

// withinTolerance reports whether usage ÷ target is within the HPA's tolerances, which may
// differ each way.
func (h *HPA) withinTolerance(ratio float64) bool {
	return 1-h.down.Tolerance <= ratio && ratio <= 1+h.up.Tolerance
}

// stabilize applies the stabilization windows: a scale-down goes no lower than the highest
// recommendation within the scale-down window, a scale-up no higher than the lowest within the
// scale-up window (none by default).
func (h *HPA) stabilize(now int64, cur, proposal int32) (int32, reason) {
	// highs holds only the recommendations that may yet be the window's highest, in time order
	// and each higher than all later ones: one no higher than a later one leaves the window
	// first, so it never bounds a scale-down. The first unexpired is then the highest, and a
	// sync no longer scans the whole window (twenty recommendations at a 15 s replay, a sixth
	// of a calibration). lows is the same for the lowest.
	down := windowed(&h.highs, now, now-int64(h.down.StabilizationWindow), proposal, true)
	if h.unset {
		// The older path takes the window's highest either way (stabilizeRecommendation).
		if down == proposal {
			return down, noReason
		}
		return down, scaleDownStabilized
	}
	up := proposal
	if h.up.StabilizationWindow > 0 {
		up = windowed(&h.lows, now, now-int64(h.up.StabilizationWindow), proposal, false)
	}
	out := min(max(cur, up), down)
	switch {
	case out == proposal:
		return out, noReason
	case proposal < cur:
		return out, scaleDownStabilized
	default:
		return out, scaleUpStabilized
	}
}

// windowed keeps in *recs the recommendations made after cutoff that may yet be the window's
// highest (or lowest), adds proposal, and returns the highest (lowest), the first. The
// unexpired move to the front, so the array is reused: reslicing past the prefix made every
// append reallocate once the array's tail was reached.
func windowed(recs *[]recommendation, now, cutoff int64, proposal int32, highest bool) int32 {
	r := *recs
	first := 0
	for first < len(r) && r[first].at <= cutoff {
		first++
	}
	if first > 0 {
		r = r[:copy(r, r[first:])]
	}
	kept := len(r)
	for kept > 0 {
		if last := r[kept-1].replicas; highest && last > proposal || !highest && last < proposal {
			break // it bounds the window until it leaves it
		}
		kept--
	}
	r = append(r[:kept], recommendation{at: now, replicas: proposal})
	*recs = r
	return r[0].replicas
}

// limit applies the scaling policies and the min/max bounds, returning the reason when they bind.
func (h *HPA) limit(now int64, cur, desired int32) (int32, reason) {
	if h.unset {
		return h.unsetLimit(cur, desired)
	}
	switch {
	case desired > cur:
		allowed, reason := h.cfg.MaxReplicas, tooMany
		if upLimit := h.policyLimit(now, cur, h.up, true); upLimit < allowed {
			allowed, reason = upLimit, scaleUpLimit
		}
		if desired > allowed {
			return allowed, reason
		}
	case desired < cur:
		allowed, reason := h.min, tooFew
		if downLimit := h.policyLimit(now, cur, h.down, false); downLimit > allowed {
			allowed, reason = downLimit, scaleDownLimit
		}
		if desired < allowed {
			return allowed, reason
		}
	default:
		if desired > h.cfg.MaxReplicas {
			return h.cfg.MaxReplicas, tooMany
		}
		if desired < h.min {
			return h.min, tooFew
		}
	}
	return desired, withinRange
}

// unsetLimit is limit by the controller's older path (convertDesiredReplicasWithRules): the
// scale-up cap or maxReplicas above, whichever is lower, and minReplicas below.
func (h *HPA) unsetLimit(cur, desired int32) (int32, reason) {
	allowed, why := h.cfg.MaxReplicas, tooMany
	if upLimit := actuator.UnsetScaleUpLimit(cur); upLimit < allowed {
		allowed, why = upLimit, scaleUpLimit
	}
	switch {
	case desired < h.min:
		return h.min, tooFew
	case desired > allowed:
		return allowed, why
	}
	return desired, withinRange
}

// policyLimit is how far r's policies let the replicas go from cur, up or down, given the scale
// events of their periods (calculateScaleUpLimitWithScalingRules and
// calculateScaleDownLimitWithBehaviors of the HPA controller); never past cur the other way.
func (h *HPA) policyLimit(now int64, cur int32, r actuator.ScalingRules, up bool) int32 {
	if r.Select == actuator.SelectDisabled {
		return cur
	}
	// Max (the default) takes the largest change the policies allow, Min the smallest.
	widest := up == (r.Select == actuator.SelectMax)
	var limit, start int32
	var period time.Duration = -1
	for i, p := range r.Policies {
		var proposed int32 // the default scale-down policy, 100 %, allows all: 0 from any start
		if up || !p.Percent || p.Value != 100 {
			if p.Period != period { // policies mostly share one period: the default ones do
				period, start = p.Period, cur
				for _, e := range h.events {
					if e.at+int64(period) > now {
						start -= e.delta // the replicas at the period's start
					}
				}
			}
			switch {
			case up && p.Percent:
				proposed = actuator.CeilReplicas(float64(start) * (1 + float64(p.Value)/100))
			case up:
				proposed = start + p.Value
			case p.Percent:
				proposed = int32(float64(start) * (1 - float64(p.Value)/100))
			default:
				proposed = start - p.Value
			}
		}
		if i == 0 || (proposed > limit) == widest {
			limit = proposed
		}
	}
	if up {
		return max(limit, cur)
	}
	return min(limit, cur)
}

// scaleTo sets the target's replicas: new pods become ready after PodStartup; a scale-down
// removes the newest pods first (starting ones before ready ones, as a ReplicaSet does).
func (h *HPA) scaleTo(now int64, n int32) {
	cur := h.Replicas()
	for range max(n-cur, 0) {
		h.pods = append(h.pods, now+int64(h.cfg.PodStartup))
	}
	if n < cur {
		h.pods = h.pods[:n]
	}
	kept := h.events[:0]
	for _, e := range h.events {
		if e.at+h.eventSpan > now {
			kept = append(kept, e)
		}
	}
	h.events = append(kept, scaleEvent{at: now, delta: n - cur})
}
