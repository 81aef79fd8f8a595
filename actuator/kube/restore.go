package kube

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kai-platform/kai-scaler/actuator"
)

// Restored is one object RestoreAll put back (or, in dry-run, would put back).
type Restored struct {
	// Kind is HorizontalPodAutoscaler, Deployment or StatefulSet.
	Kind, Namespace, Name string
	// From is the floor found; To the base put back.
	From, To int32
	// Err is why this object could not be restored; the others still are.
	Err error
}

// RestoreAll puts the base floor back on every HPA, Deployment and StatefulSet of namespace
// ("" = all namespaces) that carries kai-scaler's base annotation, and removes the
// annotations: the way out when kai-scaler is uninstalled or misbehaves. It reads the API
// server directly (Start is not needed). The error covers listing; per-object failures are in
// Restored.Err.
func (c *Cluster) RestoreAll(ctx context.Context, namespace string) ([]Restored, error) {
	var out []Restored
	restore := func(kind, ns, name string, cur int32, ann map[string]string, w actuator.Workload) {
		if _, ok := ann[AnnotationBase]; !ok {
			return
		}
		wr, _ := planRestore(cur, ann)
		r := Restored{Kind: kind, Namespace: ns, Name: name, From: cur, To: wr.floor}
		r.Err = c.Restore(ctx, w)
		out = append(out, r)
	}
	hpas, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list hpas: %w", err)
	}
	for _, h := range hpas.Items {
		restore("HorizontalPodAutoscaler", h.Namespace, h.Name, hpaMin(&h), h.Annotations,
			actuator.Workload{Service: h.Name, Namespace: h.Namespace, HPAName: h.Name})
	}
	deps, err := c.client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("list deployments: %w", err)
	}
	for _, d := range deps.Items {
		restore("Deployment", d.Namespace, d.Name, replicasOf(d.Spec.Replicas), d.Annotations,
			actuator.Workload{Service: d.Name, Namespace: d.Namespace, Target: "deployments/" + d.Name})
	}
	sts, err := c.client.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("list statefulsets: %w", err)
	}
	for _, s := range sts.Items {
		restore("StatefulSet", s.Namespace, s.Name, replicasOf(s.Spec.Replicas), s.Annotations,
			actuator.Workload{Service: s.Name, Namespace: s.Namespace, Target: "statefulsets/" + s.Name})
	}
	return out, nil
}

// RestoreErrors joins the per-object errors of a RestoreAll result.
func RestoreErrors(rs []Restored) error {
	var errs []error
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", r.Kind, r.Namespace, r.Name, r.Err))
		}
	}
	return errors.Join(errs...)
}
