// Package kube is the actuator's client-go adapter: it implements actuator.Cluster against a
// real kube-apiserver. It observes HPAs and their scale targets through shared informers,
// writes HPA spec.minReplicas (or a target's replicas through its scale subresource when the
// service has no HPA), keeps the pre-kai-scaler floor in an annotation on the object, and
// records every change as a Kubernetes Event, a log line and metrics.
//
// What to write is decided by pure functions over the object's current floor and annotations
// (marks.go); this package only reads, patches and reports. Planning is not here: see
// actuator.PlanFloors.
package kube
