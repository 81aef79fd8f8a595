package kube

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/kai-platform/kai-scaler/actuator"
)

func TestBehaviorOf(t *testing.T) {
	pods := func(value, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: value, PeriodSeconds: period}
	}
	percent := func(value, period int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: value, PeriodSeconds: period}
	}
	up := func(r autoscalingv2.HPAScalingRules) *autoscalingv2.HorizontalPodAutoscalerBehavior {
		return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &r}
	}
	down := func(r autoscalingv2.HPAScalingRules) *autoscalingv2.HorizontalPodAutoscalerBehavior {
		return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &r}
	}
	tolerance := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	selectPolicy := func(p autoscalingv2.ScalingPolicySelect) *autoscalingv2.ScalingPolicySelect { return &p }
	// The policies are valid unless a row is about them: each error row has one fault.
	valid := []autoscalingv2.HPAScalingPolicy{pods(1, 60)}

	tests := []struct {
		name     string
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
		want     actuator.Behavior
		// wantErr is the field path at fault and its value, as the error starts.
		wantErr string
	}{
		{name: "no behavior: the controller's older path", behavior: nil, want: actuator.Behavior{Unset: true}},
		{name: "no directions: defaults both ways", behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, want: actuator.Behavior{}},
		{
			// 0 would read as "the default", which for scale-down is 5 minutes, not none.
			name:     "explicit 0 window is none, not the default",
			behavior: down(autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), Policies: valid}),
			want:     actuator.Behavior{ScaleDown: actuator.ScalingRules{StabilizationWindow: -1, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}}},
		},
		{
			name:     "window in seconds",
			behavior: down(autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](300)}),
			want:     actuator.Behavior{ScaleDown: actuator.ScalingRules{StabilizationWindow: 5 * time.Minute}},
		},
		{
			name:     "largest window the API server allows",
			behavior: up(autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](3600)}),
			want:     actuator.Behavior{ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Hour}},
		},
		{
			name:     "selectPolicy Min",
			behavior: up(autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy(autoscalingv2.MinChangePolicySelect)}),
			want:     actuator.Behavior{ScaleUp: actuator.ScalingRules{Select: actuator.SelectMin}},
		},
		{
			name:     "selectPolicy Disabled",
			behavior: down(autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy(autoscalingv2.DisabledPolicySelect), Policies: valid}),
			want:     actuator.Behavior{ScaleDown: actuator.ScalingRules{Select: actuator.SelectDisabled, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}}},
		},
		{
			name:     "selectPolicy Max",
			behavior: up(autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy(autoscalingv2.MaxChangePolicySelect)}),
			want:     actuator.Behavior{ScaleUp: actuator.ScalingRules{Select: actuator.SelectMax}},
		},
		{
			name:     "Pods and Percent policies keep their order and periods",
			behavior: up(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pods(2, 60), percent(50, 15), pods(10, 1800)}}),
			want: actuator.Behavior{ScaleUp: actuator.ScalingRules{Policies: []actuator.ScalingPolicy{
				{Value: 2, Period: time.Minute}, {Percent: true, Value: 50, Period: 15 * time.Second}, {Value: 10, Period: 30 * time.Minute},
			}}},
		},
		{
			name:     "tolerance is a share",
			behavior: up(autoscalingv2.HPAScalingRules{Tolerance: tolerance("0.05")}),
			want:     actuator.Behavior{ScaleUp: actuator.ScalingRules{Tolerance: 0.05}},
		},
		{
			name:     "tolerance in milli-units",
			behavior: down(autoscalingv2.HPAScalingRules{Tolerance: tolerance("200m")}),
			want:     actuator.Behavior{ScaleDown: actuator.ScalingRules{Tolerance: 0.2}},
		},
		{
			// 0 would read as "the controller's default", 10 %.
			name:     "explicit 0 tolerance is none, not the default",
			behavior: up(autoscalingv2.HPAScalingRules{Tolerance: tolerance("0")}),
			want:     actuator.Behavior{ScaleUp: actuator.ScalingRules{Tolerance: -1}},
		},
		{
			name: "both directions at once",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60), Policies: []autoscalingv2.HPAScalingPolicy{pods(4, 15)}},
				ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy(autoscalingv2.DisabledPolicySelect), Policies: valid},
			},
			want: actuator.Behavior{
				ScaleUp:   actuator.ScalingRules{StabilizationWindow: time.Minute, Policies: []actuator.ScalingPolicy{{Value: 4, Period: 15 * time.Second}}},
				ScaleDown: actuator.ScalingRules{Select: actuator.SelectDisabled, Policies: []actuator.ScalingPolicy{{Value: 1, Period: time.Minute}}},
			},
		},

		{
			name:     "negative window",
			behavior: up(autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](-1)}),
			wantErr:  "behavior.scaleUp.stabilizationWindowSeconds: -1 ",
		},
		{
			name:     "window past an hour",
			behavior: down(autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](3601)}),
			wantErr:  "behavior.scaleDown.stabilizationWindowSeconds: 3601 ",
		},
		{
			name:     "unknown selectPolicy",
			behavior: up(autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy("Avg")}),
			wantErr:  `behavior.scaleUp.selectPolicy: "Avg" `,
		},
		{
			// Leaving policies out means the defaults; an empty list is a mistake in the manifest.
			name:     "empty policies",
			behavior: down(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}),
			wantErr:  "behavior.scaleDown.policies: empty",
		},
		{
			// The API server refuses it whatever the selectPolicy.
			name: "empty policies with Disabled",
			behavior: down(autoscalingv2.HPAScalingRules{SelectPolicy: selectPolicy(autoscalingv2.DisabledPolicySelect),
				Policies: []autoscalingv2.HPAScalingPolicy{}}),
			wantErr: "behavior.scaleDown.policies: empty",
		},
		{
			name:     "unknown policy type",
			behavior: up(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pods(1, 60), {Type: "Foo", Value: 1, PeriodSeconds: 60}}}),
			wantErr:  `behavior.scaleUp.policies[1].type: "Foo" `,
		},
		{
			name:     "policy value 0",
			behavior: down(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{pods(0, 60)}}),
			wantErr:  "behavior.scaleDown.policies[0].value: 0 ",
		},
		{
			name:     "policy period 0",
			behavior: down(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{percent(10, 0)}}),
			wantErr:  "behavior.scaleDown.policies[0].periodSeconds: 0 must be 1 to 1800",
		},
		{
			name:     "policy period past 30 minutes",
			behavior: up(autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{percent(10, 1801)}}),
			wantErr:  "behavior.scaleUp.policies[0].periodSeconds: 1801 must be 1 to 1800",
		},
		{
			name:     "negative tolerance",
			behavior: up(autoscalingv2.HPAScalingRules{Tolerance: tolerance("-0.05")}),
			wantErr:  "behavior.scaleUp.tolerance: -50m ",
		},
		{
			// A fault in one direction must not let the other through half-read.
			name: "valid scaleUp, invalid scaleDown",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)},
				ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: tolerance("-1")},
			},
			wantErr: "behavior.scaleDown.tolerance: -1 ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BehaviorOf(tt.behavior)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Zero(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
