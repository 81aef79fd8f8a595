// Package live is hpaevents' live source: it watches autoscaling/v2 HorizontalPodAutoscalers
// with a client-go informer and passes each add, update and resync to an hpaevents.Sink as an
// Observation (FromHPA reads one HPA). It derives nothing itself.
package live
