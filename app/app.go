package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kai-platform/kai-scaler/api"
	"github.com/kai-platform/kai-scaler/dashboards"
	"github.com/kai-platform/kai-scaler/store"
)

// HTTP server limits. WriteTimeout bounds the slowest answer (a store call has 10s in api).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	// shutdownTimeout is how long in-flight requests get after SIGTERM; below Kubernetes'
	// default 30s termination grace period.
	shutdownTimeout = 15 * time.Second
)

// component runs beside the HTTP server until ctx ends: the forecaster, the actuator, the
// HPA watch. It returns nil (or ctx's error) when ctx ends; any other error stops Run.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// Run opens the store, serves the API and /metrics on cfg.ListenAddr and runs the enabled
// features until ctx ends, then shuts the server down gracefully and closes the store. The
// metrics go to reg, which /metrics serves. A returned error says what failed; Run logs
// nothing it returns.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, reg *prometheus.Registry) (err error) {
	if cfg.Demo {
		cfg = demoConfig(cfg)
		if err := resetDemoStore(cfg, logger); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
		}
	}()

	env, err := newEnvironment(ctx, cfg, logger, reg, st)
	if err != nil {
		return err
	}
	if env.seed != nil {
		env.seed(ctx, st)
	}
	forecasts, components, err := wire(cfg, logger, env, st, reg)
	if err != nil {
		return err
	}

	a := api.New(api.Options{
		Store:       st,
		Logger:      logger.With("component", "api"),
		Registerer:  reg,
		Gatherer:    reg,
		Token:       cfg.APIToken,
		CORSOrigins: cfg.CORSOrigins,
		Dashboards:  dashboardLinks(cfg.GrafanaURL),
		Forecasts:   forecasts,
		Now:         env.now,
	})
	return serve(ctx, cfg, logger, a.Handler(), components)
}

// openStore opens Redis or the embedded store (the demo's own, reset, see demoConfig).
func openStore(ctx context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (store.Store, error) {
	st, err := store.Open(ctx, cfg.RedisURL, cfg.DataDir, store.Options{
		RedisPrefix:     cfg.RedisPrefix,
		RedisMasterName: cfg.RedisMasterName,
		Logger:          logger.With("component", "store"),
		Registerer:      reg,
		Limits:          store.Limits{MaxPatterns: cfg.MaxPatterns, MaxDependencies: cfg.MaxDependencies},
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// serve listens, serves h and runs the components until ctx ends or one fails.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, h http.Handler, components []component) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	if cfg.APIToken == "" && !isLoopback(ln.Addr()) {
		if !cfg.InsecureNoAuth { // CheckAuth passed on the name; the address says otherwise
			_ = ln.Close()
			return fmt.Errorf("refusing to serve the API on %s without API_TOKEN (or --insecure-no-auth)", ln.Addr())
		}
		logger.Warn("serving the API on a non-loopback address without API_TOKEN (--insecure-no-auth); anyone who can reach it can change scaling", "addr", ln.Addr().String())
	}
	backend := "embedded"
	if cfg.RedisURL != "" {
		backend = "redis"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "store", backend, "demo", cfg.Demo,
		"predictive_scaling", cfg.PredictiveScaling, "scaling_dependencies", cfg.ScalingDependencies,
		"hpa_event_logging", cfg.HPAEventLogging, "dry_run", cfg.DryRun, "auth", cfg.APIToken != "",
		"prometheus_headers", cfg.redactedHeaders())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		logger.Info("shutting down", "timeout", shutdownTimeout)
		sctx, cancel := context.WithTimeoutCause(context.WithoutCancel(gctx), shutdownTimeout, errors.New("http shutdown deadline"))
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("http shutdown: %w", err)
		}
		return nil
	})
	g.Go(func() error { return runAll(gctx, components) })
	if err := g.Wait(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

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

// dashboardLinks lists the dashboards of the catalog as links into Grafana; none when no
// Grafana URL is configured.
func dashboardLinks(grafanaURL string) []api.DashboardLink {
	if grafanaURL == "" {
		return nil
	}
	var links []api.DashboardLink
	for _, e := range dashboards.Catalog() {
		links = append(links, api.DashboardLink{UID: e.UID, Title: e.Title, URL: dashboards.EmbedURL(grafanaURL, e.UID, "")})
	}
	return links
}

// isLoopback reports whether addr is a TCP address on a loopback IP.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
