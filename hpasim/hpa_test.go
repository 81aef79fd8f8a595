package hpasim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
)

var t0 = time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)

type step struct {
	at   time.Duration // since t0
	load float64
	min  int32 // set spec.minReplicas before the sync; 0 leaves it
	// want is the record's DesiredReplicas; wantLimited its LimitedReason ("" = DesiredWithinRange);
	// wantAble its AbleToScaleReason ("" = not checked); wantReady the ready replicas after the sync (-1 = not checked).
	want        int32
	wantLimited string
	wantAble    string
	wantReady   int32
}

func TestHPASync(t *testing.T) {
	base := Config{Name: "api", MinReplicas: 1, MaxReplicas: 30, CapacityPerReplica: 100, PodStartup: time.Minute}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "within tolerance no scaling",
			cfg:  with(func(c *Config) { c.InitialReplicas = 4 }),
			steps: []step{
				{at: 0, load: 430, want: 4, wantReady: -1},
				{at: 15 * time.Second, load: 370, want: 4, wantReady: -1},
			},
		},
		{
			name:  "just outside tolerance scales up",
			cfg:   with(func(c *Config) { c.InitialReplicas = 4 }),
			steps: []step{{at: 0, load: 450, want: 5, wantAble: ReasonSucceededRescale, wantReady: 4}},
		},
		{
			name:  "scale down with no history is immediate",
			cfg:   with(func(c *Config) { c.InitialReplicas = 10 }),
			steps: []step{{at: 0, load: 500, want: 5, wantReady: 5}},
		},
		{
			name: "scale down waits for the stabilization window",
			cfg:  with(func(c *Config) { c.InitialReplicas = 10 }),
			steps: []step{
				{at: 0, load: 1000, want: 10, wantReady: -1},
				{at: time.Minute, load: 500, want: 10, wantAble: ReasonScaleDownStabilized, wantReady: -1},
				{at: 5*time.Minute - time.Second, load: 500, want: 10, wantAble: ReasonScaleDownStabilized, wantReady: -1},
				// The recommendation of t0 leaves the window at exactly 300 s.
				{at: 5 * time.Minute, load: 500, want: 5, wantReady: 5},
			},
		},
		{
			name: "stabilization takes the highest recent recommendation",
			cfg:  with(func(c *Config) { c.InitialReplicas = 10 }),
			steps: []step{
				{at: 0, load: 1000, want: 10, wantReady: -1},
				{at: time.Minute, load: 700, want: 10, wantReady: -1},
				{at: 5*time.Minute + 15*time.Second, load: 200, want: 7, wantAble: ReasonSucceededRescale, wantReady: 7},
			},
		},
		{
			name: "scale up is limited to the larger of +4 pods and +100 % per period",
			cfg:  with(func(c *Config) { c.InitialReplicas = 2 }),
			steps: []step{
				{at: 0, load: 2500, want: 6, wantLimited: ReasonScaleUpLimit, wantReady: 2},
				// Next period: the 4 starting pods count as idle, 2500/600 asks 25, limited to 2 x 6.
				{at: 15 * time.Second, load: 2500, want: 12, wantLimited: ReasonScaleUpLimit, wantReady: 2},
				// Within that period the limit still counts from 6: nothing more.
				{at: 20 * time.Second, load: 2500, want: 12, wantLimited: ReasonScaleUpLimit, wantReady: 2},
				{at: 30 * time.Second, load: 2500, want: 24, wantLimited: ReasonScaleUpLimit, wantReady: 2},
			},
		},
		{
			name:  "percent policy wins on a larger base",
			cfg:   with(func(c *Config) { c.InitialReplicas = 8 }),
			steps: []step{{at: 0, load: 2500, want: 16, wantLimited: ReasonScaleUpLimit, wantReady: 8}},
		},
		{
			name:  "max replicas bound",
			cfg:   with(func(c *Config) { c.InitialReplicas = 8; c.MaxReplicas = 10 }),
			steps: []step{{at: 0, load: 5000, want: 10, wantLimited: ReasonTooManyReplicas, wantReady: 8}},
		},
		{
			name:  "min replicas bound",
			cfg:   with(func(c *Config) { c.InitialReplicas = 5; c.MinReplicas = 3 }),
			steps: []step{{at: 0, load: 10, want: 3, wantLimited: ReasonTooFewReplicas, wantReady: 3}},
		},
		{
			name: "raising the floor above current scales straight to it, past the policies",
			cfg:  with(func(c *Config) { c.InitialReplicas = 2; c.PodStartup = time.Minute }),
			steps: []step{
				{at: 0, load: 150, min: 15, want: 15, wantLimited: ReasonTooFewReplicas, wantReady: 2},
				{at: time.Minute, load: 150, want: 15, wantLimited: ReasonTooFewReplicas, wantReady: 15},
			},
		},
		{
			name: "pods start after the start-up delay and starting pods are not requested twice",
			cfg:  with(func(c *Config) { c.InitialReplicas = 4; c.PodStartup = 2 * time.Minute }),
			steps: []step{
				{at: 0, load: 800, want: 8, wantReady: 4},
				// 800 over 4 ready + 4 starting (idle) is exactly 1: no further request.
				{at: 15 * time.Second, load: 800, want: 8, wantReady: 4},
				{at: 2*time.Minute - time.Second, load: 800, want: 8, wantReady: 4},
				{at: 2 * time.Minute, load: 800, want: 8, wantReady: 8},
			},
		},
		{
			name: "scale down removes starting pods first",
			cfg: with(func(c *Config) {
				c.InitialReplicas = 4
				c.PodStartup = 10 * time.Minute
				c.Behavior.ScaleDown.StabilizationWindow = -1
			}),
			steps: []step{
				{at: 0, load: 800, want: 8, wantReady: 4},
				{at: 15 * time.Second, load: 200, want: 2, wantReady: 2},
			},
		},
		{
			name: "lowering the floor lets the HPA go down only as far as its window allows",
			cfg:  with(func(c *Config) { c.InitialReplicas = 2 }),
			steps: []step{
				{at: 0, load: 150, min: 12, want: 12, wantLimited: ReasonTooFewReplicas, wantReady: -1},
				{at: 15 * time.Second, load: 150, want: 12, wantLimited: ReasonTooFewReplicas, wantReady: -1},
				// Floor dropped: the metric asks 2 (150/1200 well below target), no recommendation
				// in the window was stored while below the floor, so down it goes.
				{at: 30 * time.Second, load: 150, min: 2, want: 2, wantReady: 2},
			},
		},
		// spec.behavior other than the defaults, as kube.BehaviorOf reads it from the cluster.
		{
			name: "a scale-down policy of one pod a minute steps down, counting its own events",
			cfg: with(func(c *Config) {
				c.InitialReplicas = 10
				c.Behavior.ScaleDown = actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}}
			}),
			steps: []step{
				{at: 0, load: 500, want: 9, wantLimited: ReasonScaleDownLimit, wantReady: -1},
				{at: 15 * time.Second, load: 500, want: 9, wantLimited: ReasonScaleDownLimit, wantReady: -1},
				{at: time.Minute, load: 500, want: 8, wantLimited: ReasonScaleDownLimit, wantReady: -1},
			},
		},
		{
			name: "Min select takes the smaller of two scale-up policies, counting pods still starting",
			cfg: with(func(c *Config) {
				c.InitialReplicas = 4
				c.Behavior.ScaleUp = actuator.ScalingRules{Select: actuator.SelectMin, Policies: []actuator.ScalingPolicy{
					{Value: 2, Period: time.Minute}, {Percent: true, Value: 100, Period: time.Minute}}}
			}),
			steps: []step{
				{at: 0, load: 1000, want: 6, wantLimited: ReasonScaleUpLimit, wantReady: 4},
				{at: 15 * time.Second, load: 1000, want: 6, wantLimited: ReasonScaleUpLimit, wantReady: 4},
				{at: time.Minute, load: 1000, want: 8, wantLimited: ReasonScaleUpLimit, wantReady: 6},
			},
		},
		{
			name: "a disabled direction never scales that way",
			cfg: with(func(c *Config) {
				c.InitialReplicas = 10
				c.Behavior.ScaleDown = actuator.ScalingRules{StabilizationWindow: -1, Select: actuator.SelectDisabled}
			}),
			steps: []step{{at: 0, load: 500, want: 10, wantLimited: ReasonScaleDownLimit, wantReady: -1}},
		},
		{
			name: "a scale-up window holds a rise until the lowest recommendation within it asks for it",
			cfg:  with(func(c *Config) { c.InitialReplicas = 4; c.Behavior.ScaleUp.StabilizationWindow = time.Minute }),
			steps: []step{
				{at: 0, load: 400, want: 4, wantReady: -1},
				{at: 15 * time.Second, load: 1000, want: 4, wantAble: ReasonScaleUpStabilized, wantReady: -1},
				{at: 45 * time.Second, load: 1000, want: 4, wantAble: ReasonScaleUpStabilized, wantReady: -1},
				// The recommendation of t0 (4) leaves the window at exactly 60 s.
				{at: time.Minute, load: 1000, want: 8, wantLimited: ReasonScaleUpLimit, wantAble: ReasonSucceededRescale, wantReady: -1},
			},
		},
		{
			name: "tolerances differ each way",
			cfg: with(func(c *Config) {
				c.InitialReplicas = 4
				c.Behavior = actuator.Behavior{ScaleUp: actuator.ScalingRules{Tolerance: 0.02}, ScaleDown: actuator.ScalingRules{Tolerance: 0.3, StabilizationWindow: -1}}
			}),
			steps: []step{
				{at: 0, load: 300, want: 4, wantReady: -1}, // 25 % under the target: within 0.3
				{at: 15 * time.Second, load: 420, want: 5, wantReady: -1},
			},
		},
		// No spec.behavior: the controller's older path (actuator.Behavior.Unset).
		{
			name: "without spec.behavior a scale-up reaches at most twice the replicas or 4 a sync",
			cfg:  with(func(c *Config) { c.InitialReplicas = 1; c.Behavior.Unset = true }),
			steps: []step{
				{at: 0, load: 1000, want: 4, wantLimited: ReasonScaleUpLimit, wantReady: 1}, // the defaults: 5
				{at: 15 * time.Second, load: 1000, want: 8, wantLimited: ReasonScaleUpLimit, wantReady: 1},
				{at: 30 * time.Second, load: 1000, want: 10, wantReady: 1},
			},
		},
		{
			name:  "without spec.behavior 2 replicas scale up to 4",
			cfg:   with(func(c *Config) { c.InitialReplicas = 2; c.Behavior.Unset = true }),
			steps: []step{{at: 0, load: 2500, want: 4, wantLimited: ReasonScaleUpLimit, wantReady: 2}}, // the defaults: 6
		},
		{
			name: "without spec.behavior a scale-up held back by the cap goes on to the window's highest",
			cfg:  with(func(c *Config) { c.InitialReplicas = 5; c.Behavior.Unset = true }),
			steps: []step{
				{at: 0, load: 2000, want: 10, wantLimited: ReasonScaleUpLimit, wantReady: 5},
				// 1200 over 5 ready and 5 starting asks 12; the window holds 20 from t0, which the
				// older path takes (the defaults: 12).
				{at: 15 * time.Second, load: 1200, want: 20, wantAble: ReasonSucceededRescale, wantReady: 5},
			},
		},
		{
			name: "without spec.behavior a scale-down waits for the window and is not rate-limited",
			cfg:  with(func(c *Config) { c.InitialReplicas = 10; c.Behavior.Unset = true }),
			steps: []step{
				{at: 0, load: 1000, want: 10, wantReady: -1},
				{at: time.Minute, load: 200, want: 10, wantAble: ReasonScaleDownStabilized, wantReady: -1},
				{at: 5 * time.Minute, load: 200, want: 2, wantReady: 2},
			},
		},
		{
			name:  "no tolerance scales on a change of 1 %",
			cfg:   with(func(c *Config) { c.InitialReplicas = 4; c.Behavior.ScaleUp.Tolerance = -1 }),
			steps: []step{{at: 0, load: 404, want: 5, wantReady: -1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHPA(tt.cfg, t0)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.min != 0 {
					h.SetMinReplicas(s.min)
				}
				r := h.Sync(now, s.load)
				require.Equal(t, s.want, r.DesiredReplicas, "step %d: %+v", i, r)
				require.Equal(t, s.want, h.Replicas(), "step %d", i)
				wantLimited := s.wantLimited
				if wantLimited == "" {
					wantLimited = ReasonDesiredWithinRange
				}
				require.Equal(t, wantLimited, r.LimitedReason, "step %d: %+v", i, r)
				require.Equal(t, wantLimited != ReasonDesiredWithinRange, r.ScalingLimited, "step %d", i)
				if s.wantAble != "" {
					require.Equal(t, s.wantAble, r.AbleToScaleReason, "step %d: %+v", i, r)
				}
				if s.wantReady >= 0 {
					require.Equal(t, s.wantReady, h.ReadyReplicas(now), "step %d ready", i)
				}
			}
		})
	}
}

func TestHPARecordMetric(t *testing.T) {
	h := NewHPA(Config{Name: "api", MinReplicas: 1, MaxReplicas: 10, InitialReplicas: 4, CapacityPerReplica: 100, TargetUtilization: 60}, t0)
	r := h.Sync(t0, 600)
	require.Equal(t, "api", r.HPA)
	require.Equal(t, "resource:cpu", r.MetricName)
	require.InDelta(t, 90, r.MetricValue, 1e-9) // 150 % of target 60
	require.InDelta(t, 60, r.MetricTarget, 1e-9)
	require.Equal(t, int32(4), r.CurrentReplicas)
	require.Equal(t, int32(6), r.DesiredReplicas)
	require.Equal(t, int32(6), r.Recommendation)
}

// The HPA keeps its times as nanoseconds since it was made, which must hold for a trace of
// any year the CSV reader accepts (1 to 9999), where Unix nanoseconds overflow: 30 s before
// they do, pods asked for would count as ready at once.
func TestHPAFarFromUnixEpoch(t *testing.T) {
	for _, start := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64).Add(-30 * time.Second),
		time.Date(9999, 6, 1, 0, 0, 0, 0, time.UTC)} {
		h := NewHPA(Config{MinReplicas: 1, MaxReplicas: 10, InitialReplicas: 2, CapacityPerReplica: 100, PodStartup: time.Minute}, start)
		r := h.Sync(start, 400)
		require.Equal(t, int32(4), r.DesiredReplicas, "%s", start)
		require.Equal(t, int32(2), h.ReadyReplicas(start.Add(59*time.Second)), "%s: new pods still starting", start)
		require.Equal(t, int32(4), h.ReadyReplicas(start.Add(time.Minute)), "%s: ready after their start-up", start)
		h.Sync(start.Add(time.Minute), 100)
		require.Equal(t, int32(4), h.Replicas(), "%s: the scale-down waits for its stabilization window", start)
		h.Sync(start.Add(6*time.Minute), 100)
		require.Equal(t, int32(1), h.Replicas(), "%s: and then scales down", start)
	}
}

func TestHPADue(t *testing.T) {
	h := NewHPA(Config{MinReplicas: 1, MaxReplicas: 3, CapacityPerReplica: 1}, t0)
	require.True(t, h.Due(t0))
	h.Sync(t0, 1)
	require.False(t, h.Due(t0.Add(14*time.Second)))
	require.True(t, h.Due(t0.Add(15*time.Second)))
}

func TestMeter(t *testing.T) {
	m := Meter{Capacity: 100}
	m.Observe(time.Minute, 450, 4, 5)   // 0.5 replica short for 1 minute
	m.Observe(2*time.Minute, 300, 4, 4) // fine
	m.Observe(time.Minute, math.NaN(), 4, 4)
	s := m.Summary()
	require.InDelta(t, 0.5, s.UnderProvisionedReplicaMinutes, 1e-9)
	require.InDelta(t, 1, s.ShortfallMinutes, 1e-9)
	require.InDelta(t, (5+8+4)/60.0, s.ReplicaHours, 1e-9)
	require.InDelta(t, 4, s.EvaluatedMinutes, 1e-9)
	require.InDelta(t, 0.5, s.PeakShortfallReplicas, 1e-9)
	require.Equal(t, int32(5), s.PeakReplicas)
	require.Zero(t, s.BeyondMaxReplicaMinutes, "no max replicas given")
	require.InDelta(t, 0.5, s.Provisionable(), 1e-9)

	m = Meter{Capacity: 100, MaxReplicas: 5}
	m.Observe(time.Minute, 450, 4, 5)   // short within max only
	m.Observe(2*time.Minute, 800, 3, 5) // 5 short, 3 of them beyond what 5 replicas carry
	m.Observe(time.Minute, 9000, 5, 5)  // 85 short, all beyond max
	m.Observe(time.Minute, math.NaN(), 5, 5)
	s = m.Summary()
	require.InDelta(t, 0.5+10+85, s.UnderProvisionedReplicaMinutes, 1e-9)
	require.InDelta(t, 6+85, s.BeyondMaxReplicaMinutes, 1e-9)
	require.InDelta(t, 0.5+4, s.Provisionable(), 1e-9)
	require.InDelta(t, 91/95.5, s.BeyondMaxShare(), 1e-9)
	require.Zero(t, Summary{}.BeyondMaxShare(), "never short")
}

func TestMeterCountsPodsStarted(t *testing.T) {
	var m Meter
	for _, sync := range [][2]int32{{3, 5}, {5, 5}, {5, 4}, {4, 8}, {8, 7}} { // current, desired
		m.count(sync[0], sync[1])
	}
	s := m.Summary()
	require.Equal(t, 2, s.ScaleUps)
	require.Equal(t, 2, s.ScaleDowns)
	require.Equal(t, 2+4, s.PodsStarted, "the replicas each scale-up added")
	require.Equal(t, 4, s.ScaleEvents())
}

func TestLoadAt(t *testing.T) {
	s := forecast.Series{Start: t0, Step: time.Minute, Values: []float64{10, 20, math.NaN(), 40}}
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{-time.Minute, 10}, {0, 10}, {30 * time.Second, 15}, {time.Minute, 20},
		{90 * time.Second, 20}, {150 * time.Second, 40}, {3 * time.Minute, 40}, {time.Hour, 40},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, LoadAt(s, t0.Add(tt.at)), 1e-9, "at %s", tt.at)
	}
	require.True(t, math.IsNaN(LoadAt(forecast.Series{}, t0)))

	// An infinite sample is a gap as NaN is: a replay never sees an infinite load.
	inf := forecast.Series{Start: t0, Step: time.Minute, Values: []float64{math.Inf(1), 20, math.Inf(-1), 40, math.Inf(1)}}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 20}, {30 * time.Second, 20}, {90 * time.Second, 20}, {150 * time.Second, 40}, {4 * time.Minute, 40}, {time.Hour, 40}} {
		require.InDelta(t, tt.want, LoadAt(inf, t0.Add(tt.at)), 1e-9, "at %s", tt.at)
	}
	require.True(t, math.IsNaN(LoadAt(forecast.Series{Start: t0, Step: time.Minute, Values: []float64{math.Inf(1), math.Inf(-1)}}, t0)))
	require.Equal(t, 20.0, firstFinite(inf.Values))
}

func TestGenerateRamps(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	o := DefaultRamps(start)
	o.Days = 7
	a, b := GenerateRamps(o), GenerateRamps(o)
	require.Equal(t, a, b, "deterministic")
	require.Len(t, a.Values, 7*24*12)
	at := func(d time.Duration) float64 { return a.Values[int(d/o.Step)] }
	require.InDelta(t, 100, at(3*time.Hour), 25)                  // Monday night
	require.InDelta(t, 1000, at(10*time.Hour), 200)               // Monday plateau
	require.InDelta(t, 100, at(7*time.Hour+55*time.Minute), 25)   // just before the ramp
	require.InDelta(t, 415, at(5*24*time.Hour+10*time.Hour), 100) // Saturday
}

func TestSummaryPlus(t *testing.T) {
	a := Summary{UnderProvisionedReplicaMinutes: 3, ShortfallMinutes: 2, ReplicaHours: 10, LoadReplicaHours: 8,
		BeyondMaxReplicaMinutes: 1, PeakShortfallReplicas: 4, PeakReplicas: 12, ScaleUps: 5, ScaleDowns: 6, PodsStarted: 9, EvaluatedMinutes: 1440}
	b := Summary{UnderProvisionedReplicaMinutes: 1, ShortfallMinutes: 1, ReplicaHours: 20, LoadReplicaHours: 15,
		BeyondMaxReplicaMinutes: 0.5, PeakShortfallReplicas: 2, PeakReplicas: 15, ScaleUps: 1, ScaleDowns: 2, PodsStarted: 4, EvaluatedMinutes: 720}
	require.Equal(t, Summary{UnderProvisionedReplicaMinutes: 4, ShortfallMinutes: 3, ReplicaHours: 30, LoadReplicaHours: 23,
		BeyondMaxReplicaMinutes: 1.5, PeakShortfallReplicas: 4, PeakReplicas: 15, ScaleUps: 6, ScaleDowns: 8, PodsStarted: 13, EvaluatedMinutes: 2160}, a.plus(b))
	require.Equal(t, a, Summary{}.plus(a), "the zero Summary adds nothing")
}

// TestDeferredRecommendationsWindowAsSyncs checks mergeWindow against windowed taking the same
// recommendations one by one: random windows of every length (none too), random
// recommendations 15 s apart with ties, on both sides.
func TestDeferredRecommendationsWindowAsSyncs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for run := range 3000 {
		width := int64(time.Duration(rng.IntN(12)) * time.Minute / 2)
		highest := rng.IntN(2) == 0
		var window []recommendation
		at := int64(0)
		for range rng.IntN(40) { // the window before the recommendations were deferred
			at += int64(15 * time.Second)
			windowed(&window, at, at-width, int32(rng.IntN(6)), highest)
		}
		one := slices.Clone(window)
		var recs []recommendation
		for range 1 + rng.IntN(60) {
			at += int64(15 * time.Second)
			r := recommendation{at: at, replicas: int32(rng.IntN(6))}
			recs = append(recs, r)
			windowed(&one, r.at, r.at-width, r.replicas, highest)
		}
		got := mergeWindow(window, recs, at-width, highest)
		require.Equal(t, one, got, "run %d: window %s, highest %v", run, time.Duration(width), highest)
	}
}

// TestNoDeferralWithoutBehavior: without spec.behavior the controller takes the window's
// highest recommendation either way, so an HPA at its floor with a lower recommendation still
// scales up to an earlier, higher one its scale-up limit held back: nothing is deferred.
func TestNoDeferralWithoutBehavior(t *testing.T) {
	for _, deferring := range []bool{false, true} {
		h := NewHPA(Config{MinReplicas: 1, MaxReplicas: 20, CapacityPerReplica: 10, InitialReplicas: 2,
			Behavior: actuator.Behavior{Unset: true}}, t0)
		h.deferAtFloor = deferring
		require.Equal(t, int32(4), h.sync(0, 100).desired, "asked for 10, at most max(2×2, 4)")
		h.SetMinReplicas(4)
		require.Equal(t, int32(8), h.sync(int64(15*time.Second), 10).desired, "asks for 1, but 10 is still the window's highest")
	}
}
