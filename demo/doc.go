// Package demo runs kai-scaler's whole pipeline in one process with no Redis, Prometheus or
// cluster: synthetic services with daily and weekly rhythms, the simulated cluster of hpasim in
// place of Kubernetes, and a clock that runs faster than real time. It is the README's run
// command (`kai-scaler serve --demo`) and a smoke test of the wiring; nothing here is used
// outside the demo.
package demo
