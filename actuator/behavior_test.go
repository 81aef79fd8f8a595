package actuator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScalingRulesDefaults(t *testing.T) {
	pods := []ScalingPolicy{{Value: 1, Period: time.Minute}}
	tests := []struct {
		name     string
		in       ScalingRules
		up, down ScalingRules
	}{
		{
			name: "unset is autoscaling/v2's defaults",
			up: ScalingRules{Policies: []ScalingPolicy{{Value: 4, Period: 15 * time.Second}, {Percent: true, Value: 100, Period: 15 * time.Second}},
				Tolerance: 0.1},
			down: ScalingRules{StabilizationWindow: 5 * time.Minute, Policies: []ScalingPolicy{{Percent: true, Value: 100, Period: 15 * time.Second}},
				Tolerance: 0.1},
		},
		{
			name: "negative window and tolerance are none",
			in:   ScalingRules{StabilizationWindow: -1, Tolerance: -1, Policies: pods},
			up:   ScalingRules{Policies: pods},
			down: ScalingRules{Policies: pods},
		},
		{
			name: "set fields are kept",
			in:   ScalingRules{StabilizationWindow: time.Minute, Select: SelectMin, Policies: pods, Tolerance: 0.05},
			up:   ScalingRules{StabilizationWindow: time.Minute, Select: SelectMin, Policies: pods, Tolerance: 0.05},
			down: ScalingRules{StabilizationWindow: time.Minute, Select: SelectMin, Policies: pods, Tolerance: 0.05},
		},
		{
			name: "disabled keeps no policies",
			in:   ScalingRules{Select: SelectDisabled, Policies: []ScalingPolicy{}},
			up:   ScalingRules{Select: SelectDisabled, Policies: []ScalingPolicy{}, Tolerance: 0.1},
			down: ScalingRules{StabilizationWindow: 5 * time.Minute, Select: SelectDisabled, Policies: []ScalingPolicy{}, Tolerance: 0.1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.up, tt.in.ScaleUpDefaults())
			require.Equal(t, tt.down, tt.in.ScaleDownDefaults())
		})
	}
}

func TestBehaviorString(t *testing.T) {
	tests := []struct {
		name string
		in   Behavior
		want string
	}{
		{name: "the defaults", want: "default"},
		{
			name: "one direction set shows both resolved",
			in:   Behavior{ScaleDown: ScalingRules{Policies: []ScalingPolicy{{Value: 1, Period: time.Minute}}, Tolerance: 0.2}},
			want: "up: window 0s, 4 pods per 15s or 100% per 15s, tolerance 0.1; down: window 5m0s, 1 pod per 1m0s, tolerance 0.2",
		},
		{
			name: "min select and disabled",
			in: Behavior{
				ScaleUp:   ScalingRules{Select: SelectMin, Policies: []ScalingPolicy{{Value: 2, Period: time.Minute}, {Percent: true, Value: 50, Period: time.Minute}}},
				ScaleDown: ScalingRules{Select: SelectDisabled, StabilizationWindow: -1},
			},
			want: "up: window 0s, 2 pods per 1m0s and 50% per 1m0s, tolerance 0.1; down: window 0s, disabled, tolerance 0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.in.String())
		})
	}
}

func TestLongestPeriod(t *testing.T) {
	require.Equal(t, 15*time.Second, ScalingRules{}.ScaleUpDefaults().LongestPeriod())
	require.Equal(t, 2*time.Minute, ScalingRules{Policies: []ScalingPolicy{{Value: 1, Period: time.Minute}, {Value: 1, Period: 2 * time.Minute}}}.LongestPeriod())
	require.Zero(t, ScalingRules{Select: SelectDisabled}.LongestPeriod())
}
