package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/api"
	"github.com/kai-platform/kai-scaler/demo"
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
		PredictiveEnabled: true, DependenciesEnabled: true, EventsEnabled: true,
		BusyErr: api.ErrBusy, UnknownServiceErr: api.ErrUnknownService,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	logger.Info("demo mode: simulated cluster and synthetic load; every feature enabled", "speed", opts.DemoSpeed)
	return d.Forecaster, []component{{name: "demo", run: d.Run}}, nil
}

// wireCluster runs the enabled features against Prometheus and the Kubernetes cluster.
func wireCluster(ctx context.Context, logger *slog.Logger, opts Options, st store.Store, reg prometheus.Registerer) (api.ForecastTrigger, []component, error) {
	return nil, nil, nil
}
