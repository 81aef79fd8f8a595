package forecaster

import (
	"context"
	"fmt"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

// WorkloadObserver is the part of actuator.Cluster that ClusterBounds reads.
type WorkloadObserver interface {
	Workloads(ctx context.Context, services []actuator.ServiceRef) ([]actuator.Workload, error)
}

// PodStartupMeter measures how long a workload's pods take from creation to ready: the kube
// adapter's Cluster.PodStartup.
type PodStartupMeter interface {
	PodStartup(ctx context.Context, ref actuator.ServiceRef) (actuator.PodStartup, error)
}

// ClusterBounds reads a service's HPA bounds from the cluster: maxReplicas, the base floor the
// actuator keeps on the HPA (so a raised floor never becomes the new base), and its behavior;
// and, where Pods is set and the services file gives the service no podStartup, its pods'
// measured start-up.
type ClusterBounds struct {
	Cluster WorkloadObserver
	Pods    PodStartupMeter
	// PodsTimeout bounds each measurement (it lists pods from the API server, where the rest
	// is read from the informers' caches): a slow API server costs calibration the measured
	// start-up, not the forecast run. Zero means DefaultPodsTimeout.
	PodsTimeout time.Duration
}

// DefaultPodsTimeout is ClusterBounds' default PodsTimeout.
const DefaultPodsTimeout = 10 * time.Second

var _ Bounds = ClusterBounds{}

// ReplicaBounds observes svc's workload; an unobservable one is an error, not zero bounds.
func (c ClusterBounds) ReplicaBounds(ctx context.Context, svc scaling.ManagedService) (ReplicaBounds, error) {
	ws, err := c.Cluster.Workloads(ctx, []actuator.ServiceRef{{Service: svc.Name, Namespace: svc.Namespace, HPAName: svc.HPAName()}})
	if err != nil {
		return ReplicaBounds{}, fmt.Errorf("observe %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	for _, w := range ws {
		if w.Service != svc.Name {
			continue
		}
		b := ReplicaBounds{MaxReplicas: w.MaxReplicas, BaseMinReplicas: w.BaseMinReplicas, HasHPA: w.HPAName != "",
			Behavior: w.Behavior}
		if c.Pods != nil && svc.PodStartupSeconds <= 0 {
			ref := actuator.ServiceRef{Service: svc.Name, Namespace: svc.Namespace, HPAName: svc.HPAName(), Target: w.Target}
			b.PodStartup, b.PodStartupErr = c.measure(ctx, ref)
		}
		return b, nil
	}
	return ReplicaBounds{}, fmt.Errorf("workload %s/%s not observed (no HPA %q?)", svc.Namespace, svc.Name, svc.HPAName())
}

func (c ClusterBounds) measure(ctx context.Context, ref actuator.ServiceRef) (actuator.PodStartup, error) {
	timeout := c.PodsTimeout
	if timeout <= 0 {
		timeout = DefaultPodsTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.Pods.PodStartup(ctx, ref)
}

// podStartupOf is the pod start-up calibration replays for svc, where it came from
// (scaling.PodStartupFromServicesFile, PodStartupMeasured or PodStartupDefault), and, but for
// the services file's, a note for the calibration's reason saying how it was found. The file's
// wins: its author may know better than the pods kept now (a slower image on its way).
func podStartupOf(svc scaling.ManagedService, b ReplicaBounds) (startup time.Duration, source, note string) {
	switch {
	case svc.PodStartupSeconds > 0:
		return svc.PodStartup(), scaling.PodStartupFromServicesFile, ""
	case b.PodStartup.Startup > 0:
		return b.PodStartup.Startup, scaling.PodStartupMeasured,
			fmt.Sprintf("; pod start-up measured on the service's pods: the median from creation to ready of the %d newest ready since they started", b.PodStartup.Pods)
	}
	note = "; pod start-up two fifths of the lead time: the services file sets no podStartup"
	if b.PodStartupErr != nil {
		note += " and the pods' could not be measured (" + b.PodStartupErr.Error() + ")"
	}
	return svc.PodStartup(), scaling.PodStartupDefault, note
}
