package forecaster

import (
	"context"
	"fmt"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

// PodStartupMeter measures how long a workload's pods take from creation to ready: the kube
// adapter's Cluster.PodStartup.
type PodStartupMeter interface {
	PodStartup(ctx context.Context, ref actuator.ServiceRef) (actuator.PodStartup, error)
}

// DefaultPodStartupTimeout is Options.PodStartupTimeout's default.
const DefaultPodStartupTimeout = 10 * time.Second

// measurePodStartup measures svc's pods' start-up for calibration, within
// Options.PodStartupTimeout: it lists pods from the API server, where the bounds come from the
// informers' caches, and a slow API server must cost calibration the measurement, not the
// forecast run. It measures nothing (zero, nil) without a meter or where the services file
// gives the start-up.
func (f *Forecaster) measurePodStartup(ctx context.Context, svc scaling.ManagedService, b ReplicaBounds) (actuator.PodStartup, error) {
	if f.opts.PodStartups == nil || svc.PodStartupSeconds > 0 {
		return actuator.PodStartup{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.PodStartupTimeout)
	defer cancel()
	return f.opts.PodStartups.PodStartup(ctx, actuator.ServiceRef{Service: svc.Name, Namespace: svc.Namespace, HPAName: svc.HPAName(), Target: b.Target})
}

// podStartupOf is the pod start-up calibration replays for svc, given what its pods measured
// or why they could not be measured; where it came from (scaling.PodStartupFromServicesFile,
// PodStartupMeasured or PodStartupDefault); and, but for the services file's, a note for the
// calibration's reason saying how it was found. The file's wins: its author may know better
// than the pods running now (a slower image on its way).
func podStartupOf(svc scaling.ManagedService, measured actuator.PodStartup, measureErr error) (startup time.Duration, source, note string) {
	switch {
	case svc.PodStartupSeconds > 0:
		return svc.PodStartup(), scaling.PodStartupFromServicesFile, ""
	case measureErr == nil && measured.Startup > 0:
		return measured.Startup, scaling.PodStartupMeasured,
			fmt.Sprintf("; pod start-up measured on the service's pods: the median from creation to ready of the %d newest ready since they started", measured.Pods)
	}
	note = "; pod start-up two fifths of the lead time: the services file sets no podStartup"
	if measureErr != nil {
		note += " and the pods' could not be measured (" + measureErr.Error() + ")"
	}
	return svc.PodStartup(), scaling.PodStartupDefault, note
}
