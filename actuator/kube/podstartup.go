package kube

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kai-platform/kai-scaler/actuator"
)

// PodStartup measures how long a service's pods take from creation to ready
// (actuator.MeasurePodStartup) for calibration to replay: it finds the scale target (the
// HPA's, else ref's target) in the informers' caches, and lists its pods by the target's
// selector. Pods are listed once per call, not watched: a pod informer would hold every pod of
// the managed namespaces for a figure calibration reads a few times an hour. The list is a
// consistent read (recent API servers serve those from their watch cache too), so pods that
// just became ready count. A list the Role does not grant (pods list) is an error saying so.
func (c *Cluster) PodStartup(ctx context.Context, ref actuator.ServiceRef) (actuator.PodStartup, error) {
	select {
	case <-c.started:
	default:
		return actuator.PodStartup{}, errors.New("cluster informers not started")
	}
	v := c.viewOf(ref.Namespace)
	if v == nil {
		return actuator.PodStartup{}, fmt.Errorf("namespace %q is not managed", ref.Namespace)
	}
	kind, name, sel, err := scaleTargetSelector(v, ref)
	if err != nil {
		return actuator.PodStartup{}, err
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	switch {
	case err != nil:
		return actuator.PodStartup{}, fmt.Errorf("%s %s/%s: selector: %w", kind, ref.Namespace, name, err)
	case selector.Empty():
		// An empty selector would select every pod of the namespace.
		return actuator.PodStartup{}, fmt.Errorf("%s %s/%s has no pod selector", kind, ref.Namespace, name)
	}
	pods, err := c.client.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	switch {
	case apierrors.IsForbidden(err):
		return actuator.PodStartup{}, fmt.Errorf("list pods of %s %s/%s: forbidden (the managed namespace's Role grants no pods list): %w", kind, ref.Namespace, name, err)
	case err != nil:
		return actuator.PodStartup{}, fmt.Errorf("list pods of %s %s/%s: %w", kind, ref.Namespace, name, err)
	}
	times := make([]actuator.PodTimes, 0, len(pods.Items))
	for i := range pods.Items {
		if p := &pods.Items[i]; p.DeletionTimestamp == nil {
			times = append(times, podTimes(p))
		}
	}
	m, err := actuator.MeasurePodStartup(times)
	if err != nil {
		return actuator.PodStartup{}, fmt.Errorf("%s %s/%s: %w", kind, ref.Namespace, name, err)
	}
	return m, nil
}

// scaleTargetSelector returns the kind, name and pod selector of the service's scale target:
// its HPA's scaleTargetRef, or without an HPA the target the service names.
func scaleTargetSelector(v *view, ref actuator.ServiceRef) (kind, name string, sel *metav1.LabelSelector, err error) {
	hpa, err := v.hpas.HorizontalPodAutoscalers(ref.Namespace).Get(hpaName(ref))
	switch {
	case err == nil:
		kind, name = hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name
	case apierrors.IsNotFound(err):
		t, err := parseTarget(ref)
		if err != nil {
			return "", "", nil, err
		}
		kind, name = "Deployment", t.name
		if t.resource == "statefulsets" {
			kind = "StatefulSet"
		}
	default:
		return "", "", nil, fmt.Errorf("read hpa from cache: %w", err)
	}
	switch kind {
	case "Deployment":
		d, err := v.deployments.Deployments(ref.Namespace).Get(name)
		if err != nil {
			return kind, name, nil, fmt.Errorf("read deployment %s/%s from cache: %w", ref.Namespace, name, err)
		}
		return kind, name, d.Spec.Selector, nil
	case "StatefulSet":
		s, err := v.statefulsets.StatefulSets(ref.Namespace).Get(name)
		if err != nil {
			return kind, name, nil, fmt.Errorf("read statefulset %s/%s from cache: %w", ref.Namespace, name, err)
		}
		return kind, name, s.Spec.Selector, nil
	}
	return kind, name, nil, fmt.Errorf("scale target %s %s/%s: pod start-up is measured for Deployments and StatefulSets only", kind, ref.Namespace, name)
}

// podTimes is a pod's creation, the last time its Ready condition became true (zero while it
// is not ready), and its containers' restarts (init containers' are part of its start-up).
func podTimes(p *corev1.Pod) actuator.PodTimes {
	t := actuator.PodTimes{Created: p.CreationTimestamp.Time}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			t.Ready = c.LastTransitionTime.Time
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		t.Restarts += s.RestartCount
	}
	return t
}
