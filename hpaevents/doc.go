// Package hpaevents turns observations of HorizontalPodAutoscalers into scaling events
// (scale-up, scale-down, no-scale, limited-scale) with the metric that triggered each, and
// scores whether scaling worked. Deriving and scoring are pure functions; the live
// (client-go informer) and history (kube-state-metrics in Prometheus) sources are adapters.
package hpaevents
