package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/api"
	"github.com/kai-platform/kai-scaler/demo"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/hpaevents"
	hpahistory "github.com/kai-platform/kai-scaler/hpaevents/history"
	hpalive "github.com/kai-platform/kai-scaler/hpaevents/live"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// wire builds what runs beside the HTTP server for the enabled features, and the forecast
// trigger the API serves (nil when the forecaster does not run here).
func wire(ctx context.Context, logger *slog.Logger, opts Options, st store.Store, reg prometheus.Registerer) (api.ForecastTrigger, []component, error) {
	if opts.Demo {
		return wireDemo(logger, opts, st, reg)
	}
	return wireCluster(ctx, logger, opts, st, reg)
}

// wireDemo runs every feature against the simulated cluster and synthetic load.
func wireDemo(logger *slog.Logger, opts Options, st store.Store, reg prometheus.Registerer) (api.ForecastTrigger, []component, error) {
	d, err := demo.New(demo.Options{
		Store: st, Registerer: reg, Logger: logger, Speed: opts.DemoSpeed,
		PredictiveEnabled: true, DependenciesEnabled: true, EventsEnabled: true, DryRun: opts.DryRun,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	logger.Info("demo mode: simulated cluster and synthetic load; every feature enabled", "speed", opts.DemoSpeed)
	return d.Forecaster, []component{{name: "demo", run: d.Run}}, nil
}

// leaseName is the coordination.k8s.io Lease the replicas elect their leader on.
const leaseName = "kai-scaler"

// wireCluster runs the enabled features against Prometheus and the Kubernetes cluster. Every
// replica serves the API and keeps informers warm; only the leader forecasts on schedule,
// writes floors and records HPA events.
func wireCluster(_ context.Context, logger *slog.Logger, opts Options, st store.Store, reg prometheus.Registerer) (api.ForecastTrigger, []component, error) {
	if !opts.PredictiveScaling && !opts.ScalingDependencies && !opts.HPAEventLogging {
		logger.Info("every feature is disabled: serving the API only")
		return nil, nil, nil
	}
	servicesFile, err := openServicesFile(opts.ServicesFile, logger, reg)
	if err != nil {
		return nil, nil, err
	}
	// services is the list at start: it fixes the watched namespaces and the HPA event
	// sources' service names; the forecaster and the actuator read the reloaded list.
	services := servicesFile.Services()
	cfg, err := restConfig(opts.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cluster, err := kube.New(kube.Options{
		Client: client, Namespaces: namespacesOf(services), DryRun: opts.DryRun,
		MaxReplicasWithoutMax: opts.MaxReplicasWithoutHPA,
		Logger:                logger.With("component", "cluster"), Registerer: reg,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cluster adapter: %w", err)
	}
	// synced is closed once the informer caches are filled: the leader's first actuator round
	// would otherwise fail on empty caches and leave every floor alone for a whole interval.
	synced := make(chan struct{})
	comps := []component{{name: "cluster informers", run: func(ctx context.Context) error {
		if err := cluster.Start(ctx); err != nil {
			return err
		}
		close(synced)
		return nil
	}}, {name: "services file", run: func(ctx context.Context) error {
		return servicesFile.Watch(ctx, servicesReloadInterval)
	}}}
	var leaderRuns []component

	var prom *promquery.Client
	if opts.PrometheusURL != "" {
		prom, err = promquery.New(promquery.Options{URL: opts.PrometheusURL, Headers: opts.PrometheusHeaders,
			Logger: logger}) // promquery.New adds component=promquery itself
		if err != nil {
			return nil, nil, fmt.Errorf("prometheus client: %w", err)
		}
	}

	var trigger api.ForecastTrigger
	if opts.PredictiveScaling {
		if prom == nil {
			return nil, nil, errors.New("ENABLE_PREDICTIVE_SCALING needs PROMETHEUS_URL (the load history)")
		}
		if len(services) == 0 {
			return nil, nil, errors.New("ENABLE_PREDICTIVE_SCALING needs SERVICES_FILE (the services to forecast)")
		}
		history := forecaster.PromHistory{Client: prom}
		f := forecaster.New(forecaster.Options{
			Services: servicesFile.Services,
			History:  history, Load: history, Store: st,
			Bounds:     forecaster.ClusterBounds{Cluster: cluster},
			Registerer: reg, Logger: logger, // forecaster.New adds component=forecaster itself
			Schedule: opts.ForecastSchedule,
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
	if opts.PredictiveScaling || opts.ScalingDependencies {
		act := actuator.New(actuator.Options{
			Cluster: cluster, Patterns: st, Predictions: st, Dependencies: st,
			Overrides: st, Decisions: st, Shadow: st, DryRun: opts.DryRun,
			Services:              func() []actuator.ServiceConfig { return actuatorConfigs(servicesFile.Services()) },
			PredictiveEnabled:     opts.PredictiveScaling,
			DependenciesEnabled:   opts.ScalingDependencies,
			MaxReplicasWithoutMax: opts.MaxReplicasWithoutHPA,
			Logger:                logger.With("component", "actuator"), Registerer: reg,
		})
		leaderRuns = append(leaderRuns, component{name: "actuator", run: act.Run})
	}
	if opts.HPAEventLogging {
		rec, err := hpaevents.NewRecorder(hpaevents.RecorderOptions{Store: st,
			Logger: logger.With("component", "hpaevents"), Registerer: reg})
		if err != nil {
			return nil, nil, fmt.Errorf("hpa event recorder: %w", err)
		}
		leaderRuns = append(leaderRuns, component{name: "hpa event recorder", run: func(ctx context.Context) error {
			rec.Run(ctx)
			return nil
		}})
		live, err := hpalive.New(hpalive.Options{Client: client.AutoscalingV2(), Sink: rec,
			Namespace: watchNamespace(services), Services: services, Logger: logger.With("component", "hpaevents-live")})
		if err != nil {
			return nil, nil, fmt.Errorf("hpa live source: %w", err)
		}
		watch := hpaevents.WatchOptions{Live: live, Backfill: historyBackfill, Logger: logger.With("component", "hpaevents")}
		if prom != nil {
			// Fills the log for the time no leader was watching; events already stored are not repeated.
			watch.History, err = hpahistory.New(hpahistory.Options{Querier: prom, Sink: rec,
				Services: services, Logger: logger.With("component", "hpaevents-history")})
			if err != nil {
				return nil, nil, fmt.Errorf("hpa history source: %w", err)
			}
		}
		leaderRuns = append(leaderRuns, component{name: "hpa watch", run: func(ctx context.Context) error {
			return hpaevents.Watch(ctx, watch)
		}})
	}

	identity := opts.LeaderIdentity
	comps = append(comps, component{name: "leader", run: func(ctx context.Context) error {
		// Campaign only once this replica sees the cluster.
		select {
		case <-synced:
		case <-ctx.Done():
			return nil
		}
		return kube.RunWithLeaderElection(ctx, kube.LeaderOptions{
			Client: client, Namespace: opts.LeaderNamespace, Name: leaseName, Identity: identity,
			Logger: logger.With("component", "leader"), Registerer: reg,
		}, func(ctx context.Context) error { return runAll(ctx, leaderRuns) })
	}})
	logger.Info("cluster mode", "services", len(services), "namespaces", namespacesOf(services), "leader_identity", identity)
	return trigger, comps, nil
}

// runDrainTimeout is how long forecast runs get after SIGTERM to record themselves aborted and
// release the run lock; below shutdownTimeout.
const runDrainTimeout = 10 * time.Second

// historyBackfill is how far back the HPA history is read when a replica becomes leader.
const historyBackfill = 6 * time.Hour

// runAll runs the components until ctx ends or one fails.
func runAll(ctx context.Context, comps []component) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range comps {
		g.Go(func() error {
			if err := c.run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// actuatorConfigs turns managed services into what the actuator plans for.
func actuatorConfigs(services []scaling.ManagedService) []actuator.ServiceConfig {
	configs := make([]actuator.ServiceConfig, 0, len(services))
	for _, s := range services {
		configs = append(configs, actuator.ServiceConfig{
			Ref:      actuator.ServiceRef{Service: s.Name, Namespace: s.Namespace, HPAName: s.HPAName()},
			LeadTime: time.Duration(s.LeadTimeSeconds) * time.Second, CapacityPerReplica: s.CapacityPerReplica,
		})
	}
	return configs
}

// namespacesOf lists the services' namespaces, sorted; empty means every namespace.
func namespacesOf(services []scaling.ManagedService) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range services {
		if !seen[s.Namespace] {
			seen[s.Namespace] = true
			out = append(out, s.Namespace)
		}
	}
	sort.Strings(out)
	return out
}

// watchNamespace is where HPAs are watched: the services' one namespace, or all ("").
func watchNamespace(services []scaling.ManagedService) string {
	if ns := namespacesOf(services); len(ns) == 1 {
		return ns[0]
	}
	return ""
}
