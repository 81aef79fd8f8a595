// Package hpasim simulates the Kubernetes HorizontalPodAutoscaler controller closely enough to
// compare scaling strategies on a load trace: the 15 s sync, the 10 % tolerance, unready pods
// counted as idle when scaling up, the default scale-up policies (the larger of 100 % and 4 pods
// per 15 s), the 300 s scale-down stabilization window, the minReplicas/maxReplicas clamp, and a
// pod start-up delay before a new replica carries load. It also provides an in-memory Cluster
// implementing actuator.Cluster (services with HPAs, a target without one, the base-floor
// annotation) for the simulator and the demo, and a Meter that scores under-provisioning and
// cost. Compare replays a trace through it twice, reactive only and with floors the real
// planner (actuator.PlanFloors) derives from forecasts refitted on the trace's own past, and
// scores both: the decisions behind `kai-scaler simulate`, which only parses flags, reads the
// trace, prints the report and plots. Calibrate chooses a service's floor settings by replaying
// its recent history through the same HPA, reactive and under each candidate setting, within a
// cost budget: the forecaster calls it on every run, and Compare at every refit.
//
// It is not a Kubernetes client and does no I/O; time is whatever the caller passes in.
package hpasim
