package live

import (
	"context"
	"errors"
	"fmt"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"log/slog"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	autoscalingv2client "k8s.io/client-go/kubernetes/typed/autoscaling/v2"
	"k8s.io/client-go/tools/cache"

	"github.com/kai-platform/kai-scaler/scaling"
)

// DefaultResync is how often the live source re-reads every HPA from its cache even without
// a change, so pending events settle on time when an HPA stops changing.
const DefaultResync = time.Minute

// Options configure a Source. Client and Sink are required.
type Options struct {
	// Client lists and watches HPAs: clientset.AutoscalingV2().
	Client autoscalingv2client.HorizontalPodAutoscalersGetter
	Sink   hpaevents.Sink
	// Namespace limits the watch to one namespace ("" watches all, which needs a ClusterRole).
	Namespace string
	// Services maps HPAs to managed services; empty means every HPA, named after itself.
	Services []scaling.ManagedService
	Resync   time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Source watches autoscaling/v2 HPAs with a client-go informer and passes each add,
// update and resync to the Sink as an Observation.
type Source struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	svc  hpaevents.ServiceMap
}

// New returns a Source; it starts watching when Run is called.
func New(opts Options) (*Source, error) {
	if opts.Client == nil || opts.Sink == nil {
		return nil, errors.New("live hpa source needs a client and a sink")
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	s := &Source{opts: opts, log: opts.Logger, now: opts.Now, svc: hpaevents.NewServiceMap(opts.Services)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Run watches until ctx ends. It returns an error when the cache cannot sync (no access to
// HPAs); once synced, watch failures are retried by the informer.
func (s *Source) Run(ctx context.Context) error {
	hpas := s.opts.Client.HorizontalPodAutoscalers(s.opts.Namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return hpas.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return hpas.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &autoscalingv2.HorizontalPodAutoscaler{}, s.opts.Resync, cache.Indexers{})
	handle := func(obj any) {
		h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			return
		}
		service, ok := s.svc.Lookup(h.Namespace, h.Name)
		if !ok {
			return
		}
		s.opts.Sink.Observe(ctx, FromHPA(h, service, s.now()))
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
	}); err != nil {
		return fmt.Errorf("watch hpas: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		inf.RunWithContext(ctx)
	}()
	syncCtx, cancel := context.WithTimeoutCause(ctx, 2*time.Minute, errors.New("hpa cache did not sync within 2m"))
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		<-done
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch hpas in namespace %q: %w", s.opts.Namespace, context.Cause(syncCtx))
	}
	s.log.Info("watching hpas", "namespace", s.opts.Namespace, "resync", s.opts.Resync)
	<-done
	return nil
}

// FromHPA reads an autoscaling/v2 HPA as an Observation at time at. Each spec metric is
// paired with its status.currentMetrics entry (same type and name) and read in the unit of its
// target: utilization percent, average value or value (quantities as decimal numbers, so CPU
// average values are in cores). The HPA's tolerances each way come from spec.behavior (see
// Observation.ScaleUpTolerance): unset leaves them 0, the deriver's default; an explicit 0 is
// none, which Observation spells as negative.
func FromHPA(h *autoscalingv2.HorizontalPodAutoscaler, service string, at time.Time) hpaevents.Observation {
	o := hpaevents.Observation{
		Time:            at,
		Namespace:       h.Namespace,
		HPA:             h.Name,
		Service:         service,
		MaxReplicas:     h.Spec.MaxReplicas,
		MinReplicas:     1,
		CurrentReplicas: h.Status.CurrentReplicas,
		DesiredReplicas: h.Status.DesiredReplicas,
	}
	if h.Spec.MinReplicas != nil {
		o.MinReplicas = *h.Spec.MinReplicas
	}
	if b := h.Spec.Behavior; b != nil {
		o.ScaleUpTolerance = toleranceOf(b.ScaleUp)
		o.ScaleDownTolerance = toleranceOf(b.ScaleDown)
	}
	if h.Status.LastScaleTime != nil {
		o.LastScaleTime = h.Status.LastScaleTime.Time
	}
	for _, c := range h.Status.Conditions {
		o.Conditions = append(o.Conditions, hpaevents.Condition{
			Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, LastTransitionTime: c.LastTransitionTime.Time,
		})
	}
	used := make([]bool, len(h.Status.CurrentMetrics))
	for _, spec := range h.Spec.Metrics {
		m, target, ok := specMetric(spec)
		if !ok {
			continue
		}
		m.TargetKind, m.Target = targetOf(target)
		for i, st := range h.Status.CurrentMetrics {
			typ, name, cur, ok := statusMetric(st)
			if used[i] || !ok || typ != m.Type || name != m.Name {
				continue
			}
			used[i] = true
			m.Current, m.HasCurrent = currentIn(cur, m.TargetKind)
			break
		}
		o.Metrics = append(o.Metrics, m)
	}
	return o
}

func specMetric(s autoscalingv2.MetricSpec) (hpaevents.Metric, autoscalingv2.MetricTarget, bool) {
	switch {
	case s.Type == autoscalingv2.ResourceMetricSourceType && s.Resource != nil:
		return hpaevents.Metric{Type: hpaevents.MetricResource, Name: string(s.Resource.Name)}, s.Resource.Target, true
	case s.Type == autoscalingv2.ContainerResourceMetricSourceType && s.ContainerResource != nil:
		return hpaevents.Metric{Type: hpaevents.MetricContainerResource, Name: string(s.ContainerResource.Name)}, s.ContainerResource.Target, true
	case s.Type == autoscalingv2.PodsMetricSourceType && s.Pods != nil:
		return hpaevents.Metric{Type: hpaevents.MetricPods, Name: s.Pods.Metric.Name}, s.Pods.Target, true
	case s.Type == autoscalingv2.ObjectMetricSourceType && s.Object != nil:
		return hpaevents.Metric{Type: hpaevents.MetricObject, Name: s.Object.Metric.Name}, s.Object.Target, true
	case s.Type == autoscalingv2.ExternalMetricSourceType && s.External != nil:
		return hpaevents.Metric{Type: hpaevents.MetricExternal, Name: s.External.Metric.Name}, s.External.Target, true
	}
	return hpaevents.Metric{}, autoscalingv2.MetricTarget{}, false
}

func statusMetric(s autoscalingv2.MetricStatus) (hpaevents.MetricType, string, autoscalingv2.MetricValueStatus, bool) {
	switch {
	case s.Type == autoscalingv2.ResourceMetricSourceType && s.Resource != nil:
		return hpaevents.MetricResource, string(s.Resource.Name), s.Resource.Current, true
	case s.Type == autoscalingv2.ContainerResourceMetricSourceType && s.ContainerResource != nil:
		return hpaevents.MetricContainerResource, string(s.ContainerResource.Name), s.ContainerResource.Current, true
	case s.Type == autoscalingv2.PodsMetricSourceType && s.Pods != nil:
		return hpaevents.MetricPods, s.Pods.Metric.Name, s.Pods.Current, true
	case s.Type == autoscalingv2.ObjectMetricSourceType && s.Object != nil:
		return hpaevents.MetricObject, s.Object.Metric.Name, s.Object.Current, true
	case s.Type == autoscalingv2.ExternalMetricSourceType && s.External != nil:
		return hpaevents.MetricExternal, s.External.Metric.Name, s.External.Current, true
	}
	return "", "", autoscalingv2.MetricValueStatus{}, false
}

func targetOf(t autoscalingv2.MetricTarget) (hpaevents.TargetKind, float64) {
	switch {
	case t.Type == autoscalingv2.UtilizationMetricType && t.AverageUtilization != nil:
		return hpaevents.TargetUtilization, float64(*t.AverageUtilization)
	case t.Type == autoscalingv2.AverageValueMetricType && t.AverageValue != nil:
		return hpaevents.TargetAverageValue, quantity(t.AverageValue)
	case t.Type == autoscalingv2.ValueMetricType && t.Value != nil:
		return hpaevents.TargetValue, quantity(t.Value)
	}
	return hpaevents.TargetKind(t.Type), 0
}

func currentIn(c autoscalingv2.MetricValueStatus, kind hpaevents.TargetKind) (float64, bool) {
	switch {
	case kind == hpaevents.TargetUtilization && c.AverageUtilization != nil:
		return float64(*c.AverageUtilization), true
	case kind == hpaevents.TargetAverageValue && c.AverageValue != nil:
		return quantity(c.AverageValue), true
	case kind == hpaevents.TargetValue && c.Value != nil:
		return quantity(c.Value), true
	}
	return 0, false
}

func quantity(q *resource.Quantity) float64 { return q.AsApproximateFloat64() }

// toleranceOf is one direction's tolerance as Observation holds it: 0 when r or its tolerance
// is unset (or negative, which the API server rejects), -1 for an explicit 0 (none), else the
// quantity as a share (0.05 for 5 %).
func toleranceOf(r *autoscalingv2.HPAScalingRules) float64 {
	if r == nil || r.Tolerance == nil {
		return 0
	}
	switch v := quantity(r.Tolerance); {
	case v > 0:
		return v
	case v == 0:
		return -1
	}
	return 0
}

var _ hpaevents.LiveSource = (*Source)(nil)
