package kube

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	"k8s.io/client-go/tools/cache"
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

// TestWorkloadsWarnOnceOfAnUnreadBehavior: a behavior this code cannot read (a newer API's: the
// API server of our version refuses it, so it is put straight into the informer's cache) still
// leaves the service observed, with the default behavior, and is said once, not every round;
// again when the reason changes.
func TestWorkloadsWarnOnceOfAnUnreadBehavior(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	newer := func(policy string) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
					SelectPolicy: ptr.To(autoscalingv2.ScalingPolicySelect(policy))}}},
		}
	}
	require.NoError(t, indexer.Add(newer("Median")))
	var logs bytes.Buffer
	started := make(chan struct{})
	close(started)
	c := &Cluster{log: slog.New(slog.NewTextHandler(&logs, nil)), now: time.Now, started: started,
		views: map[string]*view{metav1.NamespaceAll: {hpas: autoscalinglisters.NewHorizontalPodAutoscalerLister(indexer)}}}
	services := []actuator.ServiceRef{{Service: "api", Namespace: "shop"}}
	for range 3 {
		ws, err := c.Workloads(t.Context(), services)
		require.NoError(t, err)
		require.Len(t, ws, 1)
		require.Equal(t, int32(2), ws[0].MinReplicas)
		require.Equal(t, actuator.Behavior{}, ws[0].Behavior, "replayed with the default behavior")
	}
	require.Equal(t, 1, strings.Count(logs.String(), "cannot read the HPA's spec.behavior"), logs.String())
	require.Contains(t, logs.String(), `hpa=api err="behavior.scaleUp.selectPolicy: \"Median\" must be Max, Min or Disabled"`)

	require.NoError(t, indexer.Update(newer("Mean")))
	_, err := c.Workloads(t.Context(), services)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(logs.String(), "cannot read the HPA's spec.behavior"), "a new reason is said")

	require.NoError(t, indexer.Update(newer("Max")))
	ws, err := c.Workloads(t.Context(), services)
	require.NoError(t, err)
	require.Equal(t, actuator.Behavior{ScaleUp: actuator.ScalingRules{Select: actuator.SelectMax}}, ws[0].Behavior)
	require.NoError(t, indexer.Update(newer("Median")))
	_, err = c.Workloads(t.Context(), services)
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(logs.String(), "cannot read the HPA's spec.behavior"), "refused again after it was read: said again")
}
