package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/hpaevents/live"
)

// Options configure a Cluster.
type Options struct {
	// Client reaches the kube-apiserver. Required.
	Client kubernetes.Interface
	// Namespaces are the managed namespaces watched by the informers; empty watches all
	// (needs cluster-wide list/watch). Services in other namespaces are reported absent.
	Namespaces []string
	// DryRun plans and reports every change (logs, metrics with result="dry_run") but writes
	// nothing to the cluster, not even Events.
	DryRun bool
	// Logger receives one line per change; nil discards.
	Logger *slog.Logger
	// Registerer receives kai_actuator_patches_total and kai_actuator_min_replicas; nil
	// registers nothing (the metrics are still kept).
	Registerer prometheus.Registerer
	// Now is the clock (ObservedAt, floor-changed-at, event times); nil means time.Now.
	Now func() time.Time
	// ResyncPeriod of the informers; zero means 10 minutes.
	ResyncPeriod time.Duration
	// Instance names this replica in Events (reportingInstance); empty means "kai-scaler".
	Instance string
	// MaxReplicasWithoutMax caps the floor written to a target with no HPA and no max
	// annotation; zero means actuator.DefaultMaxReplicasWithoutMax.
	MaxReplicasWithoutMax int32
}

// Cluster is the client-go implementation of actuator.Cluster. Call Start before Workloads.
// Safe for concurrent use.
type Cluster struct {
	client   kubernetes.Interface
	log      *slog.Logger
	now      func() time.Time
	dryRun   bool
	instance string
	ceiling  int32
	metrics  *actuator.WriteMetrics

	factories map[string]informers.SharedInformerFactory // by namespace; "" = all
	views     map[string]*view
	health    []*health

	startOnce sync.Once
	started   chan struct{}

	// unreadBehaviors is, by HPA (namespace/name), why its spec.behavior was last refused
	// (warnUnreadBehavior): said once, not at every round.
	unreadBehaviors sync.Map
}

var _ actuator.Cluster = (*Cluster)(nil)

// view is the informer caches of one namespace (or of all).
type view struct {
	hpas         autoscalinglisters.HorizontalPodAutoscalerLister
	deployments  appslisters.DeploymentLister
	statefulsets appslisters.StatefulSetLister
}

// New builds a Cluster; it does not contact the API server until Start.
func New(opts Options) (*Cluster, error) {
	if opts.Client == nil {
		return nil, errors.New("kube: Options.Client is required")
	}
	c := &Cluster{
		client:    opts.Client,
		log:       opts.Logger,
		now:       opts.Now,
		dryRun:    opts.DryRun,
		instance:  opts.Instance,
		ceiling:   opts.MaxReplicasWithoutMax,
		factories: map[string]informers.SharedInformerFactory{},
		views:     map[string]*view{},
		started:   make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.instance == "" {
		c.instance = "kai-scaler"
	}
	if c.ceiling <= 0 {
		c.ceiling = actuator.DefaultMaxReplicasWithoutMax
	}
	m, err := actuator.NewWriteMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	resync := opts.ResyncPeriod
	if resync <= 0 {
		resync = 10 * time.Minute
	}
	namespaces := opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		if _, dup := c.factories[ns]; dup {
			continue
		}
		f := informers.NewSharedInformerFactoryWithOptions(opts.Client, resync, informers.WithNamespace(ns))
		hpa := f.Autoscaling().V2().HorizontalPodAutoscalers()
		dep := f.Apps().V1().Deployments()
		sts := f.Apps().V1().StatefulSets()
		for _, inf := range []cache.SharedIndexInformer{hpa.Informer(), dep.Informer(), sts.Informer()} {
			h := &health{now: c.now, informer: inf}
			if err := inf.SetWatchErrorHandlerWithContext(h.watchError); err != nil {
				return nil, fmt.Errorf("set watch error handler: %w", err)
			}
			if _, err := inf.AddEventHandler(h.handler()); err != nil {
				return nil, fmt.Errorf("add event handler: %w", err)
			}
			c.health = append(c.health, h)
		}
		c.factories[ns] = f
		c.views[ns] = &view{hpas: hpa.Lister(), deployments: dep.Lister(), statefulsets: sts.Lister()}
	}
	return c, nil
}

// Start starts the informers and waits until their caches are filled. They run until ctx ends.
func (c *Cluster) Start(ctx context.Context) error {
	var err error
	c.startOnce.Do(func() {
		for _, f := range c.factories {
			f.Start(ctx.Done())
		}
		for ns, f := range c.factories {
			for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
				if !ok {
					err = fmt.Errorf("sync %v informer cache of namespace %q: %w", typ, ns, context.Cause(ctx))
					return
				}
			}
		}
		now := c.now()
		for _, h := range c.health {
			h.synced(now)
		}
		close(c.started)
	})
	if err != nil {
		return err
	}
	select {
	case <-c.started:
		return nil
	default:
		return errors.New("informer caches did not sync")
	}
}

func (c *Cluster) viewOf(ns string) *view {
	if v, ok := c.views[ns]; ok {
		return v
	}
	return c.views[metav1.NamespaceAll]
}

// Workloads observes services from the informer caches. A service whose HPA is missing but
// whose scale target exists is a workload without HPA; one with neither is absent.
// ObservedAt is the last moment the caches are known to be in sync with the API server.
func (c *Cluster) Workloads(ctx context.Context, services []actuator.ServiceRef) ([]actuator.Workload, error) {
	select {
	case <-c.started:
	default:
		return nil, errors.New("cluster informers not started")
	}
	now := c.now()
	observedAt := now
	for _, h := range c.health {
		observedAt = earliest(observedAt, h.freshAt(now))
	}
	out := make([]actuator.Workload, 0, len(services))
	for _, ref := range services {
		v := c.viewOf(ref.Namespace)
		if v == nil {
			c.log.Debug("service outside the managed namespaces; not observed", "service", ref.Service, "namespace", ref.Namespace)
			continue
		}
		w, ok, unread, err := observe(v, ref)
		if err != nil {
			c.log.Warn("cannot observe service; keeping its floor", "service", ref.Service, "namespace", ref.Namespace, "err", err)
			continue
		}
		c.warnUnreadBehavior(w, unread)
		if !ok {
			continue
		}
		w.ObservedAt = observedAt
		out = append(out, w)
	}
	return out, nil
}

// warnUnreadBehavior logs, once for each reason, that an HPA's spec.behavior could not be read
// (unread; nil: it was) and is replayed with the defaults.
func (c *Cluster) warnUnreadBehavior(w actuator.Workload, unread error) {
	key := w.Namespace + "/" + w.HPAName
	if unread == nil {
		c.unreadBehaviors.Delete(key)
		return
	}
	if last, ok := c.unreadBehaviors.Swap(key, unread.Error()); ok && last == unread.Error() {
		return
	}
	c.log.Warn("cannot read the HPA's spec.behavior; calibration replays it with autoscaling/v2's default behavior",
		"service", w.Service, "namespace", w.Namespace, "hpa", w.HPAName, "err", unread)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func hpaName(ref actuator.ServiceRef) string {
	if ref.HPAName != "" {
		return ref.HPAName
	}
	return ref.Service
}

// target is a scale target without HPA: its kind's resource ("deployments" or
// "statefulsets") and name.
type target struct{ resource, name string }

func parseTarget(ref actuator.ServiceRef) (target, error) {
	if ref.Target == "" {
		return target{"deployments", ref.Service}, nil
	}
	res, name, ok := strings.Cut(ref.Target, "/")
	switch {
	case !ok || name == "":
		return target{}, fmt.Errorf("scale target %q: want deployments/NAME or statefulsets/NAME", ref.Target)
	case res == "deployments" || res == "deployment":
		return target{"deployments", name}, nil
	case res == "statefulsets" || res == "statefulset":
		return target{"statefulsets", name}, nil
	}
	return target{}, fmt.Errorf("scale target %q: kind %q is not supported (deployments, statefulsets)", ref.Target, res)
}

// readyReplicas is the ready replicas of an HPA's scale target, from the informers' cache; 0
// when the target is not a Deployment or StatefulSet or is not in the cache.
func readyReplicas(v *view, namespace string, ref autoscalingv2.CrossVersionObjectReference) int32 {
	switch ref.Kind {
	case "Deployment":
		if d, err := v.deployments.Deployments(namespace).Get(ref.Name); err == nil {
			return d.Status.ReadyReplicas
		}
	case "StatefulSet":
		if s, err := v.statefulsets.StatefulSets(namespace).Get(ref.Name); err == nil {
			return s.Status.ReadyReplicas
		}
	}
	return 0
}

// observe reads a service from the caches: its workload, whether it exists, and why its HPA's
// spec.behavior could not be read, if it could not (the workload is observed all the same,
// with the default behavior).
func observe(v *view, ref actuator.ServiceRef) (w actuator.Workload, ok bool, unreadBehavior, err error) {
	w = actuator.Workload{Service: ref.Service, Namespace: ref.Namespace}
	hpa, err := v.hpas.HorizontalPodAutoscalers(ref.Namespace).Get(hpaName(ref))
	switch {
	case err == nil:
		cur := hpaMin(hpa)
		m := readMarks(cur, hpa.Annotations)
		w.HPAName = hpa.Name
		w.MinReplicas, w.MaxReplicas = cur, hpa.Spec.MaxReplicas
		w.BaseMinReplicas, w.Touched, w.FloorChangedAt = m.base, m.touched, m.changedAt
		w.CurrentReplicas, w.DesiredReplicas = hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas
		w.ReadyReplicas = readyReplicas(v, ref.Namespace, hpa.Spec.ScaleTargetRef)
		w.NeededReplicas, w.NeedKnown = live.FromHPA(hpa, "", time.Time{}).Need(w.ReadyReplicas)
		// The API server validated it: an error here is a newer API than this code knows, whose
		// HPA is then replayed with the defaults rather than not observed.
		w.Behavior, unreadBehavior = BehaviorOf(hpa.Spec.Behavior)
		return w, true, unreadBehavior, nil
	case !apierrors.IsNotFound(err):
		return w, false, nil, fmt.Errorf("read hpa from cache: %w", err)
	}
	t, err := parseTarget(ref)
	if err != nil {
		return w, false, nil, err
	}
	w.Target = t.resource + "/" + t.name
	var (
		meta   metav1.ObjectMeta
		spec   *int32
		status int32
	)
	if t.resource == "statefulsets" {
		var s *appsv1.StatefulSet
		if s, err = v.statefulsets.StatefulSets(ref.Namespace).Get(t.name); err == nil {
			meta, spec, status = s.ObjectMeta, s.Spec.Replicas, s.Status.Replicas
		}
	} else {
		var d *appsv1.Deployment
		if d, err = v.deployments.Deployments(ref.Namespace).Get(t.name); err == nil {
			meta, spec, status = d.ObjectMeta, d.Spec.Replicas, d.Status.Replicas
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		return w, false, nil, nil
	case err != nil:
		return w, false, nil, fmt.Errorf("read %s from cache: %w", t.resource, err)
	}
	cur := replicasOf(spec)
	m := readMarks(cur, meta.Annotations)
	w.MinReplicas, w.MaxReplicas = cur, maxAnnotation(meta.Annotations)
	w.BaseMinReplicas, w.Touched, w.FloorChangedAt = m.base, m.touched, m.changedAt
	w.CurrentReplicas, w.DesiredReplicas = status, cur
	return w, true, nil, nil
}

func hpaMin(h *autoscalingv2.HorizontalPodAutoscaler) int32 {
	if h.Spec.MinReplicas == nil {
		return 1 // the API server's default
	}
	return *h.Spec.MinReplicas
}

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func maxAnnotation(ann map[string]string) int32 {
	v, err := strconv.ParseInt(ann[AnnotationMaxReplicas], 10, 32)
	if err != nil || v < 0 {
		return 0
	}
	return int32(v)
}

// SetFloor writes change.Floor. With an HPA it JSON-merge-patches spec.minReplicas and the
// annotations in one write, guarded by the resourceVersion it read (a concurrent edit makes
// it re-read and re-decide; fields it does not send, like maxReplicas or metrics, are never
// touched). Without an HPA it records the annotations on the target, then sets replicas
// through the scale subresource.
func (c *Cluster) SetFloor(ctx context.Context, change actuator.FloorChange) error {
	w := change.Workload
	log := c.log.With("service", w.Service, "namespace", w.Namespace, "reason", change.Reason)
	plan := func(cur, maxReplicas int32, ann map[string]string) (write, bool) {
		return planSet(cur, maxReplicas, c.ceiling, ann, change.Floor, c.now())
	}
	if w.HPAName != "" {
		return c.writeHPA(ctx, log.With("hpa", w.HPAName), w, change.Reason, plan)
	}
	return c.writeTarget(ctx, log, w, change.Reason, plan)
}

// Restore puts the base floor back and removes kai-scaler's annotations. A workload kai-scaler
// never touched is left alone.
func (c *Cluster) Restore(ctx context.Context, w actuator.Workload) error {
	log := c.log.With("service", w.Service, "namespace", w.Namespace, "reason", "restore")
	plan := func(cur, _ int32, ann map[string]string) (write, bool) { return planRestore(cur, ann) }
	if w.HPAName != "" {
		return c.writeHPA(ctx, log.With("hpa", w.HPAName), w, actuator.SourceBase, plan)
	}
	return c.writeTarget(ctx, log, w, actuator.SourceBase, plan)
}

type planFunc func(cur, maxReplicas int32, ann map[string]string) (write, bool)

func (c *Cluster) writeHPA(ctx context.Context, log *slog.Logger, w actuator.Workload, reason string, plan planFunc) error {
	hpas := c.client.AutoscalingV2().HorizontalPodAutoscalers(w.Namespace)
	var done *write
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		done = nil
		hpa, err := hpas.Get(ctx, w.HPAName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get hpa %s/%s: %w", w.Namespace, w.HPAName, err)
		}
		wr, ok := plan(hpaMin(hpa), hpa.Spec.MaxReplicas, hpa.Annotations)
		if !ok {
			return nil
		}
		done = &wr
		if c.dryRun {
			return nil
		}
		patch, err := mergePatch(hpa.ResourceVersion, wr.annotations, map[string]any{"minReplicas": wr.floor})
		if err != nil {
			return err
		}
		if _, err := hpas.Patch(ctx, w.HPAName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
			return c.conflictOr(log, err, "patch hpa %s/%s", w.Namespace, w.HPAName)
		}
		return nil
	})
	return c.report(ctx, log, w, reason, done, err, objectRef{kind: "HorizontalPodAutoscaler", apiVersion: "autoscaling/v2", name: w.HPAName})
}

// FieldManager names kai-scaler's writes in managedFields.
const FieldManager = "kai-scaler"

// mergePatch builds a JSON merge patch of annotations (nil values remove) and spec fields,
// carrying resourceVersion so the API server refuses it with 409 if the object changed.
func mergePatch(resourceVersion string, annotations map[string]*string, spec map[string]any) ([]byte, error) {
	meta := map[string]any{"resourceVersion": resourceVersion}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	p := map[string]any{"metadata": meta}
	if spec != nil {
		p["spec"] = spec
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return b, nil
}

func (c *Cluster) writeTarget(ctx context.Context, log *slog.Logger, w actuator.Workload, reason string, plan planFunc) error {
	t, err := parseTarget(actuator.ServiceRef{Service: w.Service, Target: w.Target})
	if err != nil {
		return c.report(ctx, log, w, reason, nil, err, objectRef{})
	}
	ref := t.objectRef()
	log = log.With(strings.ToLower(ref.kind), t.name)
	var done *write
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		done = nil
		obj, err := c.getTarget(ctx, w.Namespace, t)
		if err != nil {
			return err
		}
		var scale *autoscalingv1.Scale
		if t.resource == "statefulsets" {
			scale, err = c.client.AppsV1().StatefulSets(w.Namespace).GetScale(ctx, t.name, metav1.GetOptions{})
		} else {
			scale, err = c.client.AppsV1().Deployments(w.Namespace).GetScale(ctx, t.name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Errorf("get scale of %s/%s: %w", t.resource, t.name, err)
		}
		wr, ok := plan(scale.Spec.Replicas, maxAnnotation(obj.Annotations), obj.Annotations)
		if !ok {
			return nil
		}
		done = &wr
		if c.dryRun {
			return nil
		}
		// The annotations go first, guarded by the resourceVersion read with the floor: the
		// base is recorded before the floor moves, so a crash between the two writes leaves a
		// base to restore. (A Scale's annotations are not persisted; the target's are.)
		patch, err := mergePatch(obj.ResourceVersion, wr.annotations, nil)
		if err != nil {
			return err
		}
		var rv string
		if t.resource == "statefulsets" {
			var s *appsv1.StatefulSet
			if s, err = c.client.AppsV1().StatefulSets(w.Namespace).Patch(ctx, t.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err == nil {
				rv = s.ResourceVersion
			}
		} else {
			var d *appsv1.Deployment
			if d, err = c.client.AppsV1().Deployments(w.Namespace).Patch(ctx, t.name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err == nil {
				rv = d.ResourceVersion
			}
		}
		if err != nil {
			return c.conflictOr(log, err, "annotate %s/%s", t.resource, t.name)
		}
		if wr.floor == scale.Spec.Replicas {
			return nil
		}
		// Our annotation patch moved the resourceVersion; the scale carries the new one, so
		// any other change since our read still makes this a conflict.
		scale.ResourceVersion = rv
		scale.Spec.Replicas = wr.floor
		if t.resource == "statefulsets" {
			_, err = c.client.AppsV1().StatefulSets(w.Namespace).UpdateScale(ctx, t.name, scale, metav1.UpdateOptions{FieldManager: FieldManager})
		} else {
			_, err = c.client.AppsV1().Deployments(w.Namespace).UpdateScale(ctx, t.name, scale, metav1.UpdateOptions{FieldManager: FieldManager})
		}
		if err != nil {
			// The annotations already say applied=floor; the next read sees the old replicas
			// as someone else's value and adopts it as base, which never lowers anything.
			return c.conflictOr(log, err, "update scale of %s/%s", t.resource, t.name)
		}
		return nil
	})
	return c.report(ctx, log, w, reason, done, err, ref)
}

func (c *Cluster) conflictOr(log *slog.Logger, err error, format string, args ...any) error {
	if apierrors.IsConflict(err) {
		c.metrics.Patches.WithLabelValues(resultConflict).Inc()
		log.Debug("object changed since read; re-reading", "err", err)
		return err // unwrapped: RetryOnConflict retries only a bare conflict
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (t target) objectRef() objectRef {
	if t.resource == "statefulsets" {
		return objectRef{kind: "StatefulSet", apiVersion: "apps/v1", name: t.name}
	}
	return objectRef{kind: "Deployment", apiVersion: "apps/v1", name: t.name}
}

// getTarget reads the target's metadata (annotations, resourceVersion).
func (c *Cluster) getTarget(ctx context.Context, ns string, t target) (metav1.ObjectMeta, error) {
	if t.resource == "statefulsets" {
		s, err := c.client.AppsV1().StatefulSets(ns).Get(ctx, t.name, metav1.GetOptions{})
		if err != nil {
			return metav1.ObjectMeta{}, fmt.Errorf("get statefulset %s/%s: %w", ns, t.name, err)
		}
		return s.ObjectMeta, nil
	}
	d, err := c.client.AppsV1().Deployments(ns).Get(ctx, t.name, metav1.GetOptions{})
	if err != nil {
		return metav1.ObjectMeta{}, fmt.Errorf("get deployment %s/%s: %w", ns, t.name, err)
	}
	return d.ObjectMeta, nil
}
