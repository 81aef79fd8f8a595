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

func TestMeasurePodStartup(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", Namespace: "shop", HPA: "checkout-hpa"}
	withPodStartup := svc
	withPodStartup.PodStartupSeconds = 90
	measured := actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}
	tests := []struct {
		name    string
		svc     scaling.ManagedService
		bounds  ReplicaBounds
		meter   *fakeMeter // nil: none
		want    actuator.PodStartup
		wantErr string
		// wantRef is the ref measured; nil: nothing measured.
		wantRef *actuator.ServiceRef
	}{
		{name: "an HPA's target", svc: svc, bounds: ReplicaBounds{HasHPA: true}, meter: &fakeMeter{m: measured}, want: measured,
			wantRef: &actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa"}},
		{name: "a target without HPA, as observed", svc: svc, bounds: ReplicaBounds{Target: "statefulsets/db"}, meter: &fakeMeter{m: measured}, want: measured,
			wantRef: &actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa", Target: "statefulsets/db"}},
		{name: "too few pods", svc: svc, meter: &fakeMeter{err: errors.New("1 of 1 pods ready since their start, need 3")},
			wantErr: "1 of 1 pods ready since their start, need 3", wantRef: &actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa"}},
		{name: "a stalled API server: given up at the timeout", svc: svc, meter: &fakeMeter{hang: true},
			wantErr: "list pods: context deadline exceeded", wantRef: &actuator.ServiceRef{Service: "checkout", Namespace: "shop", HPAName: "checkout-hpa"}},
		{name: "not measured where the services file gives it", svc: withPodStartup, meter: &fakeMeter{m: measured}},
		{name: "no meter", svc: svc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Forecaster{opts: Options{PodStartupTimeout: 50 * time.Millisecond}}
			if tt.meter != nil {
				f.opts.PodStartups = tt.meter
			}
			got, err := f.measurePodStartup(t.Context(), tt.svc, tt.bounds)
			if tt.meter != nil {
				var refs []actuator.ServiceRef
				if tt.wantRef != nil {
					refs = []actuator.ServiceRef{*tt.wantRef}
				}
				require.Equal(t, refs, tt.meter.refs)
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
	measured := actuator.PodStartup{Startup: 47 * time.Second, Pods: 12}
	tests := []struct {
		name       string
		svc        scaling.ManagedService
		measured   actuator.PodStartup
		measureErr error
		want       time.Duration
		wantSource string
		wantNote   string
	}{
		{name: "the services file's wins over the pods'", svc: own, measured: measured, want: 90 * time.Second,
			wantSource: scaling.PodStartupFromServicesFile},
		{name: "measured", svc: svc, measured: measured, want: 47 * time.Second, wantSource: scaling.PodStartupMeasured,
			wantNote: "; pod start-up measured on the service's pods: the median from creation to ready of the 12 newest ready since they started"},
		{name: "not measured: two fifths of the 10m lead time, and why", svc: svc,
			measureErr: errors.New("list pods of Deployment shop/checkout: forbidden"), want: 4 * time.Minute,
			wantSource: scaling.PodStartupDefault,
			wantNote:   "; pod start-up two fifths of the lead time: the services file sets no podStartup and the pods' could not be measured (list pods of Deployment shop/checkout: forbidden)"},
		{name: "no meter", svc: svc, want: 4 * time.Minute, wantSource: scaling.PodStartupDefault,
			wantNote: "; pod start-up two fifths of the lead time: the services file sets no podStartup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, note := podStartupOf(tt.svc, tt.measured, tt.measureErr)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantSource, source)
			require.Equal(t, tt.wantNote, note)
		})
	}
}
