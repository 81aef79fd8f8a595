package forecaster

import (
	"context"
	"errors"
	"fmt"
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

type fakeMeter struct {
	m    actuator.PodStartup
	err  error
	refs []actuator.ServiceRef
	// hang makes it answer only when its context ends, as a stalled API server would.
	hang bool
}

func (f *fakeMeter) PodStartup(ctx context.Context, ref actuator.ServiceRef) (actuator.PodStartup, error) {
	f.refs = append(f.refs, ref)
	if f.hang {
		<-ctx.Done()
		return actuator.PodStartup{}, fmt.Errorf("list pods: %w", context.Cause(ctx))
	}
	return f.m, f.err
}

func TestClusterBounds(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", Namespace: "shop", HPA: "checkout-hpa"}
	withPodStartup := svc
	withPodStartup.PodStartupSeconds = 90
	ref := actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa"}
	observed := fakeObserver{ws: []actuator.Workload{{Service: "checkout", HPAName: "checkout-hpa", MaxReplicas: 20, BaseMinReplicas: 2}}}
	tests := []struct {
		name    string
		svc     *scaling.ManagedService // nil: svc
		obs     fakeObserver
		meter   *fakeMeter
		want    ReplicaBounds
		wantErr string
		// wantMeasured is the ref the pods' start-up was measured for; nil: not measured.
		wantMeasured *actuator.ServiceRef
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
			// Calibration replays the HPA with it: a slower scale-up than the default changes the fit.
			name: "the HPA's behavior is passed on",
			obs: fakeObserver{ws: []actuator.Workload{{Service: "checkout", HPAName: "checkout-hpa", MaxReplicas: 20, BaseMinReplicas: 2,
				Behavior: actuator.Behavior{ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Minute, Select: actuator.SelectMin,
					Policies: []actuator.ScalingPolicy{{Value: 2, Period: time.Minute}}, Tolerance: 0.05}}}}},
			want: ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true,
				Behavior: actuator.Behavior{ScaleUp: actuator.ScalingRules{StabilizationWindow: time.Minute, Select: actuator.SelectMin,
					Policies: []actuator.ScalingPolicy{{Value: 2, Period: time.Minute}}, Tolerance: 0.05}}},
		},
		{
			name:         "the pods' start-up measured where the services file gives none",
			obs:          observed,
			meter:        &fakeMeter{m: actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}},
			want:         ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true, PodStartup: actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}},
			wantMeasured: &ref,
		},
		{
			name:         "a target without HPA is measured as the target it is",
			obs:          fakeObserver{ws: []actuator.Workload{{Service: "checkout", Target: "statefulsets/db", MaxReplicas: 5, BaseMinReplicas: 1}}},
			meter:        &fakeMeter{err: errors.New("1 of 1 pods ready since their start, need 3")},
			want:         ReplicaBounds{MaxReplicas: 5, BaseMinReplicas: 1, PodStartupErr: errors.New("1 of 1 pods ready since their start, need 3")},
			wantMeasured: &actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa", Target: "statefulsets/db"},
		},
		{
			name:         "a stalled API server: not measured, within the timeout",
			obs:          observed,
			meter:        &fakeMeter{hang: true},
			want:         ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true, PodStartupErr: fmt.Errorf("list pods: %w", context.DeadlineExceeded)},
			wantMeasured: &ref,
		},
		{
			name:  "not measured where the services file gives it",
			svc:   &withPodStartup,
			obs:   observed,
			meter: &fakeMeter{m: actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}},
			want:  ReplicaBounds{MaxReplicas: 20, BaseMinReplicas: 2, HasHPA: true},
		},
		{name: "not observed", obs: fakeObserver{}, meter: &fakeMeter{}, wantErr: `workload shop/checkout not observed (no HPA "checkout-hpa"?)`},
		{name: "cluster error", obs: fakeObserver{err: errors.New("apiserver down")}, wantErr: "observe shop/checkout: apiserver down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svc
			if tt.svc != nil {
				s = *tt.svc
			}
			b := ClusterBounds{Cluster: &tt.obs, PodsTimeout: 50 * time.Millisecond}
			if tt.meter != nil {
				b.Pods = tt.meter
			}
			got, err := b.ReplicaBounds(t.Context(), s)
			require.Equal(t, []actuator.ServiceRef{ref}, tt.obs.refs)
			if tt.meter != nil {
				var measured []actuator.ServiceRef
				if tt.wantMeasured != nil {
					measured = []actuator.ServiceRef{*tt.wantMeasured}
				}
				require.Equal(t, measured, tt.meter.refs)
			}
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPodStartupOf(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", LeadTimeSeconds: 600}
	own := svc
	own.PodStartupSeconds = 90
	measured := ReplicaBounds{PodStartup: actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}}
	tests := []struct {
		name       string
		svc        scaling.ManagedService
		bounds     ReplicaBounds
		want       time.Duration
		wantSource string
		wantNote   string
	}{
		{name: "the services file's wins over the pods'", svc: own, bounds: measured, want: 90 * time.Second,
			wantSource: scaling.PodStartupFromServicesFile},
		{name: "measured", svc: svc, bounds: measured, want: 47 * time.Second, wantSource: scaling.PodStartupMeasured,
			wantNote: "; pod start-up measured on the service's pods: the median from creation to ready of the 12 newest ready since they started"},
		{name: "not measured: two fifths of the 10m lead time, and why", svc: svc,
			bounds: ReplicaBounds{PodStartupErr: errors.New("list pods of Deployment shop/checkout: forbidden")}, want: 4 * time.Minute,
			wantSource: scaling.PodStartupDefault,
			wantNote:   "; pod start-up two fifths of the lead time: the services file sets no podStartup and the pods' could not be measured (list pods of Deployment shop/checkout: forbidden)"},
		{name: "no meter", svc: svc, want: 4 * time.Minute, wantSource: scaling.PodStartupDefault,
			wantNote: "; pod start-up two fifths of the lead time: the services file sets no podStartup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, note := podStartupOf(tt.svc, tt.bounds)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantSource, source)
			require.Equal(t, tt.wantNote, note)
		})
	}
}
