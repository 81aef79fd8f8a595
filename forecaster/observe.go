package forecaster

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/scaling"
)

// ServiceStatuses lists every managed service with its workload as observed now, for the
// admin page. Bounds must be a ClusterBounds (or anything else that can observe workloads)
// for the HPA status to be filled in; otherwise each status says it is unobservable.
func (f *Forecaster) ServiceStatuses(ctx context.Context) ([]scaling.ServiceStatus, error) {
	svcs := f.opts.Services()
	out := make([]scaling.ServiceStatus, 0, len(svcs))
	obs, canObserve := f.opts.Bounds.(ClusterBounds)
	var byName map[string]actuator.Workload
	var obsErr error
	if canObserve {
		refs := make([]actuator.ServiceRef, 0, len(svcs))
		for _, s := range svcs {
			refs = append(refs, actuator.ServiceRef{Service: s.Name, Namespace: s.Namespace, HPAName: s.HPAName()})
		}
		// One call for every service: the cluster adapter reads them from its informer cache.
		ws, err := obs.Cluster.Workloads(ctx, refs)
		if err != nil {
			obsErr = fmt.Errorf("observe workloads: %w", err)
		}
		byName = make(map[string]actuator.Workload, len(ws))
		for _, w := range ws {
			byName[w.Service] = w
		}
	}
	for _, s := range svcs {
		st := scaling.ServiceStatus{Service: s.Name, Namespace: s.Namespace}
		w, ok := byName[s.Name]
		switch {
		case ok:
			st.HPA = &scaling.HPAStatus{
				Name: w.HPAName, MinReplicas: w.MinReplicas, BaseMinReplicas: w.BaseMinReplicas,
				MaxReplicas: w.MaxReplicas, CurrentReplicas: w.CurrentReplicas, DesiredReplicas: w.DesiredReplicas,
				ObservedAt: w.ObservedAt.UnixMilli(),
			}
		case obsErr != nil:
			st.Error = obsErr.Error()
		case !canObserve:
			st.Error = "workloads are not observed on this server"
		default:
			st.Error = fmt.Sprintf("workload %s/%s not observed (no HPA %q?)", s.Namespace, s.Name, s.HPAName())
		}
		out = append(out, st)
	}
	return out, nil
}

// LoadHistory reads a managed service's actual load from the history source on the grid
// start, start+step, ... end. It answers an error wrapping ErrUnknownService for a service
// that is not managed.
func (f *Forecaster) LoadHistory(ctx context.Context, service string, start, end time.Time, step time.Duration) ([]scaling.LoadPoint, error) {
	var svc *scaling.ManagedService
	for _, s := range f.opts.Services() {
		if s.Name == service {
			svc = &s
			break
		}
	}
	if svc == nil {
		return nil, fmt.Errorf("load history of %q: %w", service, ErrUnknownService)
	}
	series, err := f.opts.History.Range(ctx, *svc, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("load history of %s: %w", service, err)
	}
	out := make([]scaling.LoadPoint, len(series.Values))
	for i, v := range series.Values {
		out[i].Timestamp = series.Start.Add(time.Duration(i) * series.Step).UnixMilli()
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[i].Load = &v
		}
	}
	return out, nil
}
