package hpasim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
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
			followReactiveTrack = false
			defer func() { followReactiveTrack = true }()
			synced := Calibrate(tt.in)
			require.Equal(t, synced, followed)
			require.Greater(t, len(followed.Scores), 10)
		})
	}
}
