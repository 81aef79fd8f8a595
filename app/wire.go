package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/api"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// environment is what the one wiring runs against: a Kubernetes cluster with Prometheus
// (clusterEnvironment) or the demo's simulation (demoEnvironment). Every field but now and
// after may be unset when no enabled feature needs it.
type environment struct {
	// now is the clock of every timestamp (events, predictions, floors, the API's windows);
	// after waits on it (the schedule, the loops).
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
	// services returns the managed services in force (the services file is reloadable).
	services func() []scaling.ManagedService
	// cluster observes workloads and writes floors.
	cluster actuator.Cluster
	// podStartups measures the workloads' pod start-up for calibration; nil: the services
	// file's or its default.
	podStartups forecaster.PodStartupMeter
	// history and load feed the forecaster: the load's past and present.
	history forecaster.HistorySource
	load    forecaster.LoadSource
	// watchHPAs passes what the HPAs do to sink until ctx ends.
	watchHPAs func(ctx context.Context, sink hpaevents.Sink) error
	// background runs on every replica: informers, the services file, the simulation.
	background []component
	// lead runs fn while this replica is the leader (until ctx ends).
	lead func(ctx context.Context, fn func(ctx context.Context) error) error
	// forecastAtStart runs a forecast at once instead of waiting for the first scheduled time.
	forecastAtStart bool
	// seed writes the environment's own records into the store before anything runs; it logs
	// what it could not write (the environment runs without it).
	seed func(ctx context.Context, st store.Store)
}

// newEnvironment builds the demo's simulation, the cluster's adapters, or nothing when no
// feature is enabled (the API alone).
func newEnvironment(ctx context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer, st store.Store) (environment, error) {
	if why := servicesFileUnused(cfg); why != "" {
		if err := checkUnusedServicesFile(cfg.ServicesFile, why, logger); err != nil {
			return environment{}, err
		}
	}
	switch {
	case cfg.Demo:
		return demoEnvironment(ctx, cfg, logger, reg, st)
	case !cfg.PredictiveScaling && !cfg.ScalingDependencies && !cfg.HPAEventLogging:
		logger.Info("every feature is disabled: serving the API only")
		return environment{now: time.Now, after: time.After}, nil
	}
	return clusterEnvironment(ctx, cfg, logger, reg)
}

// servicesFileUnused says why the services file cfg names goes unread by the environment, or
// "" when there is none or it is read.
func servicesFileUnused(cfg Config) string {
	switch {
	case cfg.ServicesFile == "":
		return ""
	case cfg.Demo:
		return "the demo manages its own simulated services"
	case !cfg.PredictiveScaling && !cfg.ScalingDependencies && !cfg.HPAEventLogging:
		return "every feature is disabled, so no service is managed"
	}
	return ""
}

// checkUnusedServicesFile reads and checks a services file that will not be used, and warns
// that it is ignored. A file given but missing or invalid stops start-up all the same: the
// user meant something by it, and finding out only when a feature is enabled (or the demo
// left for the cluster) is later than needed.
func checkUnusedServicesFile(path, why string, logger *slog.Logger) error {
	if _, _, err := readServicesFile(path); err != nil {
		return err
	}
	logger.Warn("SERVICES_FILE is valid but ignored: "+why, "services_file", path)
	return nil
}

// runDrainTimeout is how long forecast runs get after SIGTERM to record themselves aborted and
// release the run lock; below shutdownTimeout.
const runDrainTimeout = 10 * time.Second

// wire builds the enabled features once, for any environment: what runs on every replica
// and, inside it, what runs on the leader only. It returns the forecast trigger the API
// serves (nil when predictive scaling is off).
func wire(cfg Config, logger *slog.Logger, env environment, st store.Store, reg prometheus.Registerer) (api.ForecastTrigger, []component, error) {
	comps := append([]component(nil), env.background...)
	var leaderRuns []component
	var trigger api.ForecastTrigger

	if cfg.PredictiveScaling {
		if env.history == nil {
			return nil, nil, errors.New("ENABLE_PREDICTIVE_SCALING needs PROMETHEUS_URL (the load history)")
		}
		f := forecaster.New(forecaster.Options{
			Services: env.services,
			History:  env.history, Load: env.load, Store: st,
			Bounds: forecaster.ClusterBounds{Cluster: env.cluster}, PodStartups: env.podStartups,
			Registerer: reg, Logger: logger, // forecaster.New adds component=forecaster itself
			Schedule: cfg.ForecastSchedule, RunAtStart: env.forecastAtStart,
			Now: env.now, After: env.after,
		})
		trigger = f
		leaderRuns = append(leaderRuns, component{name: "forecaster", run: f.Start})
		// Every replica exports predicted and actual load, so any replica's /metrics is complete.
		comps = append(comps, component{name: "forecast metrics", run: f.RunActualLoop})
		// Every replica takes manual runs: each marks runs a dead process left unfinished at
		// start, and aborts (records, unlocks) its own at shutdown.
		comps = append(comps, component{name: "forecast runs", run: func(ctx context.Context) error {
			return f.Supervise(ctx, runDrainTimeout)
		}})
	}
	if cfg.PredictiveScaling || cfg.ScalingDependencies {
		act := actuator.New(actuator.Options{
			Cluster: env.cluster, Patterns: st, Predictions: st, Dependencies: st,
			Overrides: st, Decisions: st, Shadow: st, DryRun: cfg.DryRun,
			Services:              func() []actuator.ServiceConfig { return actuatorConfigs(env.services()) },
			PredictiveEnabled:     cfg.PredictiveScaling,
			DependenciesEnabled:   cfg.ScalingDependencies,
			MaxReplicasWithoutMax: cfg.MaxReplicasWithoutHPA,
			Logger:                logger.With("component", "actuator"), Registerer: reg,
			Now: env.now, After: env.after,
		})
		leaderRuns = append(leaderRuns, component{name: "actuator", run: act.Run})
	}
	if cfg.HPAEventLogging {
		rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: st,
			Logger: logger.With("component", "hpaevents"), Registerer: reg, Now: env.now})
		if err != nil {
			return nil, nil, fmt.Errorf("hpa event recorder: %w", err)
		}
		leaderRuns = append(leaderRuns, component{name: "hpa event recorder", run: func(ctx context.Context) error {
			rec.Run(ctx)
			return nil
		}}, component{name: "hpa watch", run: func(ctx context.Context) error {
			return env.watchHPAs(ctx, rec)
		}})
	}
	if len(leaderRuns) > 0 {
		comps = append(comps, component{name: "leader", run: func(ctx context.Context) error {
			return env.lead(ctx, func(ctx context.Context) error { return runAll(ctx, leaderRuns) })
		}})
	}
	return trigger, comps, nil
}

// managedList is the API's api.ManagedSet over the services list in force, the one the
// actuator plans for: a pattern, override or dependency the API stores for another service
// could never act.
type managedList func() []scaling.ManagedService

// Manages reports whether service is in the list in force; it never fails.
func (l managedList) Manages(_ context.Context, service string) (bool, error) {
	return slices.ContainsFunc(l(), func(s scaling.ManagedService) bool { return s.Name == service }), nil
}

// actuatorConfigs turns managed services into what the actuator plans for.
func actuatorConfigs(services []scaling.ManagedService) []actuator.ServiceConfig {
	configs := make([]actuator.ServiceConfig, 0, len(services))
	for _, s := range services {
		configs = append(configs, actuator.ServiceConfig{
			Ref: actuator.ServiceRef{Service: s.Name, Namespace: s.Namespace, HPAName: s.HPAName()},
			// scaling.LeadTime, not a bare multiplication: seconds beyond ~292 years overflow to a
			// negative duration, and a list that did not come through ParseServices is unchecked.
			LeadTime: scaling.LeadTime(s.LeadTimeSeconds), CapacityPerReplica: s.CapacityPerReplica,
		})
	}
	return configs
}
