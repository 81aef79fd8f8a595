// Package app is kai-scaler serve's composition root: Run opens the store, builds the
// forecaster, the actuator, the HPA event recorder, the API and the metrics once, and runs
// them against an environment, either a Kubernetes cluster with Prometheus (cluster.go) or
// the demo's simulation (demo.go: the simulated cluster, its synthetic history and its fast
// clock). Nothing else wires these parts, so the demo runs exactly what a cluster runs.
//
// It parses no flags and reads no environment variables (cmd/kai-scaler does, into Config),
// and decides nothing about scaling: every decision is in the packages it wires.
package app
