package forecaster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// sayUnmeasured logs, once for each reason, why a service's pods' start-up could not be
// measured (err; nil: it was, or was not tried): a warning, but for too few pods to measure,
// which a small or new workload has, and which is said at info.
func (f *Forecaster) sayUnmeasured(service string, err error) {
	if err == nil {
		f.unmeasured.Delete(service)
		return
	}
	if last, ok := f.unmeasured.Swap(service, err.Error()); ok && last == err.Error() {
		return
	}
	level := slog.LevelWarn
	if errors.Is(err, actuator.ErrTooFewPods) {
		level = slog.LevelInfo
	}
	f.log.Log(context.Background(), level, "cannot measure the pods' start-up; calibration replays two fifths of the lead time (set podStartup in the services file to give it)",
		"service", service, "err", err)
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
