package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/forecaster"
	"github.com/kai-platform/kai-scaler/hpaevents"
	hpahistory "github.com/kai-platform/kai-scaler/hpaevents/history"
	hpalive "github.com/kai-platform/kai-scaler/hpaevents/live"
	"github.com/kai-platform/kai-scaler/promquery"
	"github.com/kai-platform/kai-scaler/scaling"
)

// leaseName is the coordination.k8s.io Lease the replicas elect their leader on.
const leaseName = "kai-scaler"

// historyBackfill is how far back the HPA history is read when a replica becomes leader.
const historyBackfill = 6 * time.Hour

// clusterEnvironment is the Kubernetes cluster (client-go) and Prometheus. Every replica
// serves the API and keeps informers warm; only the leader forecasts on schedule, writes
// floors and records HPA events.
func clusterEnvironment(_ context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (environment, error) {
	servicesFile, err := openServicesFile(cfg.ServicesFile, logger, reg)
	if err != nil {
		return environment{}, err
	}
	// services is the list at start: it fixes the watched namespaces and the HPA event
	// sources' service names; the forecaster and the actuator read the reloaded list.
	services := servicesFile.Services()
	if cfg.PredictiveScaling {
		if cfg.PrometheusURL == "" {
			return environment{}, errors.New("ENABLE_PREDICTIVE_SCALING needs PROMETHEUS_URL (the load history)")
		}
		if len(services) == 0 {
			return environment{}, errors.New("ENABLE_PREDICTIVE_SCALING needs SERVICES_FILE (the services to forecast)")
		}
	}
	restCfg, err := kube.RestConfig(cfg.Kubeconfig)
	if err != nil {
		return environment{}, err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return environment{}, fmt.Errorf("kubernetes client: %w", err)
	}
	cluster, err := kube.New(kube.Options{
		Client: client, Namespaces: namespacesOf(services), DryRun: cfg.DryRun,
		MaxReplicasWithoutMax: cfg.MaxReplicasWithoutHPA,
		Logger:                logger.With("component", "cluster"), Registerer: reg,
	})
	if err != nil {
		return environment{}, fmt.Errorf("cluster adapter: %w", err)
	}
	env := environment{now: time.Now, after: time.After, services: servicesFile.Services, cluster: cluster, podStartups: cluster}

	var prom *promquery.Client
	if cfg.PrometheusURL != "" {
		prom, err = promquery.New(promquery.Options{URL: cfg.PrometheusURL, Headers: cfg.PrometheusHeaders,
			Logger: logger}) // promquery.New adds component=promquery itself
		if err != nil {
			return environment{}, fmt.Errorf("prometheus client: %w", err)
		}
		history := forecaster.PromHistory{Client: prom}
		env.history, env.load = history, history
	}

	// synced is closed once the informer caches are filled: the leader's first actuator round
	// would otherwise fail on empty caches and leave every floor alone for a whole interval.
	synced := make(chan struct{})
	env.background = []component{{name: "cluster informers", run: func(ctx context.Context) error {
		if err := cluster.Start(ctx); err != nil {
			return err
		}
		close(synced)
		return nil
	}}, {name: "services file", run: func(ctx context.Context) error {
		return servicesFile.Watch(ctx, servicesReloadInterval)
	}}}

	env.watchHPAs = func(ctx context.Context, sink hpaevents.Sink) error {
		live, err := hpalive.New(hpalive.Options{Client: client.AutoscalingV2(), Sink: sink,
			Namespace: watchNamespace(services), Services: services, Logger: logger.With("component", "hpaevents-live")})
		if err != nil {
			return fmt.Errorf("hpa live source: %w", err)
		}
		watch := hpaevents.WatchOptions{Live: live, Backfill: historyBackfill, Logger: logger.With("component", "hpaevents")}
		if prom != nil {
			// Fills the log for the time no leader was watching; events already stored are not repeated.
			h, err := hpahistory.New(hpahistory.Options{Querier: prom, Sink: sink,
				Services: services, Logger: logger.With("component", "hpaevents-history")})
			if err != nil {
				return fmt.Errorf("hpa history source: %w", err)
			}
			watch.History = h
		}
		return hpaevents.Watch(ctx, watch)
	}

	identity := cfg.LeaderIdentity
	env.lead = func(ctx context.Context, fn func(ctx context.Context) error) error {
		// Campaign only once this replica sees the cluster.
		select {
		case <-synced:
		case <-ctx.Done():
			return nil
		}
		return kube.RunWithLeaderElection(ctx, kube.LeaderOptions{
			Client: client, Namespace: cfg.LeaderNamespace, Name: leaseName, Identity: identity,
			Logger: logger.With("component", "leader"), Registerer: reg,
		}, fn)
	}
	logger.Info("cluster mode", "services", len(services), "namespaces", namespacesOf(services), "leader_identity", identity)
	return env, nil
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
