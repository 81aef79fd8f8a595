package forecaster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

type fakeObserver struct {
	ws   []actuator.Workload
	err  error
	refs []actuator.ServiceRef
}

func (f *fakeObserver) Workloads(_ context.Context, refs []actuator.ServiceRef) ([]actuator.Workload, error) {
	f.refs = append(f.refs, refs...)
	return f.ws, f.err
}

func TestClusterBounds(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", Namespace: "shop", HPA: "checkout-hpa"}
	tests := []struct {
		name    string
		obs     fakeObserver
		want    ReplicaBounds
		wantErr string
	}{
		{
			name: "base floor, not the raised one",
			obs:  fakeObserver{ws: []actuator.Workload{{Service: "checkout", MaxReplicas: 20, MinReplicas: 8, BaseMinReplicas: 2, Touched: true}}},
			want: ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2},
		},
		{
			name: "scaled by an HPA: its metric can drive surge floors",
			obs:  fakeObserver{ws: []actuator.Workload{{Service: "checkout", HPAName: "checkout-hpa", MaxReplicas: 20, MinReplicas: 2, BaseMinReplicas: 2}}},
			want: ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true},
		},
		{
			// Calibration measures its pods' start-up on it.
			name: "a target without HPA is named",
			obs:  fakeObserver{ws: []actuator.Workload{{Service: "checkout", Target: "statefulsets/db", MaxReplicas: 5, BaseMinReplicas: 1}}},
			want: ReplicaBounds{MaxReplicas: 5, BaseMinReplicas: 1, Target: "statefulsets/db"},
		},
		{
			// Calibration replays the HPA with it: a slower scale-up than the default changes the fit.
			name: "the HPA's behavior is passed on",
			obs: fakeObserver{ws: []actuator.Workload{{Service: "checkout", HPAName: "checkout-hpa", MaxReplicas: 20, BaseMinReplicas: 2,
				Behavior: actuator.Behavior{ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Minute, Select: actuator.SelectMin,
					Policies: []actuator.ScalingPolicy{{Value: 2, Period: time.Minute}}, Tolerance: 0.05}}}}},
			want: ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true,
				Behavior: actuator.Behavior{ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Minute, Select: actuator.SelectMin,
					Policies: []actuator.ScalingPolicy{{Value: 2, Period: time.Minute}}, Tolerance: 0.05}}},
		},
		{name: "not observed", obs: fakeObserver{}, wantErr: `workload shop/checkout not observed (no HPA "checkout-hpa"?)`},
		{name: "cluster error", obs: fakeObserver{err: errors.New("apiserver down")}, wantErr: "observe shop/checkout: apiserver down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClusterBounds{Cluster: &tt.obs}.ReplicaBounds(t.Context(), svc)
			require.Equal(t, []actuator.ServiceRef{{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa"}}, tt.obs.refs)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
