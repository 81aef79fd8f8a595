// Package history is hpaevents' history source: it reads the kube-state-metrics HPA series
// from Prometheus and passes them to an hpaevents.Sink as Observations (ObservationsFromKSM,
// a pure function), for the times kai-scaler was not watching and for clusters it cannot
// watch. It derives nothing itself.
package history
