// Package hpaevents turns observations of HorizontalPodAutoscalers into scaling events
// (scale-up, scale-down, no-scale, limited-scale) with the metric that triggered each, and
// scores whether scaling worked.
//
// Deciding is pure: Deriver (Observation in, events out) says what happened and why;
// Settle fills an event's actualReplicas and outcome from later observations; Effectiveness
// scores a service's events over a window. The rest are thin adapters:
//
//   - package live (hpaevents/live) watches autoscaling/v2 HPAs with a client-go informer
//     (FromHPA reads one);
//   - package history (hpaevents/history) reads the kube-state-metrics HPA series from
//     Prometheus (ObservationsFromKSM), for times the scaler was not running and clusters it
//     cannot watch;
//   - Recorder takes observations from either, derives and settles events, and appends them to
//     the event store, with kai_hpa_events_total and kai_hpa_scaling_effectiveness;
//   - Watch runs the two sources in the order the deriver needs.
//
// The sources are subpackages so that what reads events (package api) links neither client-go
// nor the Prometheus client (issue 12).
//
// One decision seen twice (informer resync, restart, both sources) is stored once: event IDs
// are hashes of the HPA and the decision's anchor (status.lastScaleTime, the ScalingLimited
// transition, or the first sample showing it), and the Recorder maps a decision another
// source already stored, at a slightly different time, onto that event's ID (MatchDecision).
//
// The package does not serve the events (package api does) nor store them (package store).
package hpaevents
