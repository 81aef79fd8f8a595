package hpasim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
)

// TestReplayFollowsTheReactiveTrack calibrates with every candidate following the reactive
// run's track and again with each syncing its own HPA throughout: every score, day by day, and
// the choice and its reason are the same to the bit, whatever the HPA's behavior, start-up or
// bounds, and whether the floors come down at once, hold or follow surges.
func TestReplayFollowsTheReactiveTrack(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	noisy, level := noisyDaily(start, 17)
	surges := buildingSurges(start, 4)
	ramps, rampPreds, rampsNow := liveLike(5 * time.Minute)
	slowUp := actuator.Behavior{
		ScaleUp:   actuator.ScalingRules{StabilizationWindow: 3 * time.Minute, Policies: []actuator.ScalingPolicy{{Value: 2, Period: 5 * time.Minute}}},
		ScaleDown: actuator.ScalingRules{Select: actuator.SelectDisabled},
	}
	hpa := Config{MinReplicas: 1, MaxReplicas: 50, CapacityPerReplica: 20, PodStartup: 2 * time.Minute}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }
	forNoisy := func(h Config) CalibrationInput {
		now := noisy.End()
		return CalibrationInput{History: noisy, Predictions: hourlyForecasts(noisy, now, 2, level, 1.3), HPA: h,
			LeadTime: 5 * time.Minute, Now: now, Window: 2 * 24 * time.Hour, Surge: true}
	}
	forSurges := func(h Config) CalibrationInput {
		now := surges.End()
		return CalibrationInput{History: surges, Predictions: hourlyForecasts(surges, now, 3, func(time.Time) float64 { return 300 }, 1.2),
			HPA: h, LeadTime: 5 * time.Minute, Now: now, Window: 3 * 24 * time.Hour, Surge: true}
	}
	for _, tt := range []struct {
		name string
		in   CalibrationInput
	}{
		{name: "noisy daily load, default HPA", in: forNoisy(hpa)},
		{name: "noisy daily load, a cautious behavior", in: forNoisy(with(hpa, func(c *Config) { c.Behavior = cautiousBehavior }))},
		{name: "noisy daily load, a scale-up window and no scale-down", in: forNoisy(with(hpa, func(c *Config) { c.Behavior = slowUp }))},
		{name: "noisy daily load, pods ready at once, three at least, ten at most", in: forNoisy(with(hpa, func(c *Config) {
			c.PodStartup, c.MinReplicas, c.MaxReplicas = 0, 3, 10
		}))},
		{name: "noisy daily load, an availability target", in: func() CalibrationInput {
			in := forNoisy(hpa)
			in.AvailabilityTarget = 0.99
			return in
		}()},
		{name: "noisy daily load, no spec.behavior", in: forNoisy(with(hpa, func(c *Config) { c.Behavior.Unset = true }))},
		{name: "surges no forecast sees", in: forSurges(hpa)},
		{name: "surges no forecast sees, no spec.behavior", in: forSurges(with(hpa, func(c *Config) { c.Behavior.Unset = true }))},
		{name: "surges no forecast sees, slow pods and a slow scale-down", in: forSurges(with(hpa, func(c *Config) {
			c.PodStartup, c.Behavior = 6*time.Minute, cautiousBehavior
		}))},
		{name: "office ramps at the forecaster's step", in: calibrationBenchInput(ramps, rampPreds, rampsNow)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			followed := Calibrate(tt.in)
			in := tt.in
			in.syncEveryStep = true
			synced := Calibrate(in)
			require.Equal(t, synced, followed)
			require.Greater(t, len(followed.Scores), 10)
		})
	}
}

// TestReplayFollowsTheTrackUnderRandomFloors replays random floors, which bind and let go far
// more often than any candidate's, on random load, with random HPAs, through replayFloors with
// and without the reactive track: the same summaries, day by day, to the bit.
func TestReplayFollowsTheTrackUnderRandomFloors(t *testing.T) {
	behaviors := []actuator.Behavior{
		{}, cautiousBehavior, {Unset: true},
		{ScaleUp: actuator.ScalingRules{StabilizationWindow: 3 * time.Minute, Policies: []actuator.ScalingPolicy{{Value: 2, Period: 5 * time.Minute}}},
			ScaleDown: actuator.ScalingRules{Select: actuator.SelectDisabled}},
		{ScaleDown: actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{{Percent: true, Value: 50, Period: 30 * time.Second}}}},
	}
	startups := []time.Duration{0, 15 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute}
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 99))
		step := []time.Duration{15 * time.Second, time.Minute}[rng.IntN(2)]
		cfg := Config{MinReplicas: int32(1 + rng.IntN(3)), MaxReplicas: int32(5 + rng.IntN(36)), CapacityPerReplica: 10,
			PodStartup: startups[rng.IntN(len(startups))], Behavior: behaviors[rng.IntN(len(behaviors))]}
		n := 3000
		times, loads := make([]time.Time, n), make([]float64, n)
		mid := 10 * float64(cfg.MaxReplicas) / 2
		level := mid
		for i := range n {
			times[i] = start.Add(time.Duration(i) * step)
			level = max(1, level+0.1*(mid-level)+0.1*mid*rng.NormFloat64()) // around half of max replicas
			loads[i] = level
			if rng.IntN(200) == 0 {
				loads[i] *= 4 // a spike
			}
		}
		cfg.InitialReplicas = max(cfg.MinReplicas, forecast.ReplicasFor(loads[0], cfg.CapacityPerReplica))
		floors := replayedFloors{floors: make([]int32, n)}
		var surge *surgeReplay
		if rng.IntN(2) == 0 {
			surge = &surgeReplay{floors: make([]int32, n), release: make([]int32, n), tolerance: 0.1}
		}
		var floor int32
		for i := range n {
			if rng.IntN(20) == 0 {
				floor = int32(rng.IntN(int(cfg.MaxReplicas) + 1))
			}
			floors.floors[i] = floor
			if surge != nil && rng.IntN(30) == 0 {
				surge.floors[i], surge.release[i] = int32(rng.IntN(int(cfg.MaxReplicas)+1)), int32(rng.IntN(int(cfg.MaxReplicas)+1))
			}
		}
		policy := actuator.StepDownPolicy{AtOnce: rng.IntN(3) == 0}
		scored := rng.IntN(n / 4)
		track := &reactiveTrack{}
		reactive, _ := replayFloors(cfg, times, loads, replayedFloors{floors: make([]int32, n)}, nil, scored, step, actuator.StepDownPolicy{}, track)
		wantReactive, _ := replayFloors(cfg, times, loads, replayedFloors{floors: make([]int32, n)}, nil, scored, step, actuator.StepDownPolicy{}, nil)
		require.Equal(t, wantReactive, reactive, "seed %d: recording changes nothing", seed)
		followed, followedDays := replayFloors(cfg, times, loads, floors, surge, scored, step, policy, track)
		synced, syncedDays := replayFloors(cfg, times, loads, floors, surge, scored, step, policy, nil)
		require.Equal(t, synced, followed, "seed %d: step %v, %+v", seed, step, cfg)
		require.Equal(t, syncedDays, followedDays, "seed %d", seed)
		require.NotEqual(t, reactive, synced, "seed %d: the floors bound", seed)
	}
}
