// Package demo is the simulation `kai-scaler serve --demo` runs against, in place of
// Kubernetes and Prometheus: synthetic services with daily and weekly rhythms, the simulated
// cluster of hpasim under their load, the load history the forecaster reads, and a clock that
// runs faster than real time. It wires nothing: package app runs kai-scaler's real parts
// against it exactly as against a cluster. Nothing here is used outside the demo.
package demo
