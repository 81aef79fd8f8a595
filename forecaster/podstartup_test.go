package forecaster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

// TestSayUnmeasured: why a service's pods' start-up was not measured is said once, not at every
// run; again when the reason changes or after a measurement; too few pods only at info.
func TestSayUnmeasured(t *testing.T) {
	var logs bytes.Buffer
	f := &Forecaster{log: slog.New(slog.NewTextHandler(&logs, nil))}
	forbidden := errors.New("list pods of Deployment shop/checkout: forbidden")
	tooFew := fmt.Errorf("Deployment shop/checkout: %w: 1 of 1 pods ready since their start, need 3", actuator.ErrTooFewPods)
	said := func() []string {
		var lines []string
		for l := range strings.Lines(logs.String()) {
			lines = append(lines, strings.TrimSpace(l))
		}
		return lines
	}
	f.sayUnmeasured("checkout", forbidden)
	f.sayUnmeasured("checkout", forbidden)
	f.sayUnmeasured("search", forbidden)
	require.Len(t, said(), 2, "once per service")
	require.Contains(t, said()[0], `level=WARN msg="cannot measure the pods' start-up; calibration replays two fifths of the lead time (set podStartup in the services file to give it)" service=checkout err="list pods of Deployment shop/checkout: forbidden"`)
	f.sayUnmeasured("checkout", nil)
	f.sayUnmeasured("checkout", forbidden)
	require.Len(t, said(), 3, "said again after a measurement")
	f.sayUnmeasured("checkout", tooFew)
	f.sayUnmeasured("checkout", tooFew)
	require.Len(t, said(), 4, "a new reason is said, once")
	require.Contains(t, said()[3], "level=INFO")
}
