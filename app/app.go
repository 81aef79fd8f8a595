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
	"github.com/kai-platform/kai-scaler/web"
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

// App is kai-scaler wired once, from a Config: its store, the forecast trigger the API
// drives, the HTTP handler (API, admin page, /metrics) and the components that run beside it.
// Run is what serve runs; tests that need the pieces (several API variants over one
// pipeline, records written straight into the store) build an App with New.
type App struct {
	cfg        Config
	logger     *slog.Logger
	st         store.Store
	forecasts  api.ForecastTrigger
	apiOpts    api.Options
	handler    http.Handler
	components []component
}

// New opens the store and wires every enabled feature against the cluster or, with
// cfg.Demo, the demo's simulation; nothing runs until RunComponents or Run. The metrics go
// to reg, which the handler's /metrics serves. Close releases the store.
func New(ctx context.Context, cfg Config, logger *slog.Logger, reg *prometheus.Registry) (*App, error) {
	if cfg.Demo {
		cfg = demoConfig(cfg)
		if err := resetDemoStore(cfg, logger); err != nil {
			return nil, err
		}
	}
	st, err := openStore(ctx, cfg, logger, reg)
	if err != nil {
		return nil, err
	}
	a, err := wireApp(ctx, cfg, logger, reg, st)
	if err != nil {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
		}
		return nil, err
	}
	return a, nil
}

func wireApp(ctx context.Context, cfg Config, logger *slog.Logger, reg *prometheus.Registry, st store.Store) (*App, error) {
	env, err := newEnvironment(ctx, cfg, logger, reg, st)
	if err != nil {
		return nil, err
	}
	if env.seed != nil {
		env.seed(ctx, st)
	}
	forecasts, components, err := wire(cfg, logger, env, st, reg)
	if err != nil {
		return nil, err
	}
	opts := api.Options{
		Store:       st,
		Logger:      logger.With("component", "api"),
		Registerer:  reg,
		Gatherer:    reg,
		Token:       cfg.APIToken,
		CORSOrigins: cfg.CORSOrigins,
		Dashboards:  DashboardLinks(cfg.GrafanaURL),
		Forecasts:   forecasts,
		Now:         env.now,
		UI:          web.Handler(web.Options{GrafanaURL: cfg.GrafanaURL}),
	}
	if (cfg.PredictiveScaling || cfg.ScalingDependencies) && env.services != nil {
		// The actuator plans for this list only: a write for another service would never act.
		opts.Managed = managedList(env.services)
	}
	return &App{cfg: cfg, logger: logger, st: st, forecasts: forecasts, apiOpts: opts, handler: api.New(opts).Handler(),
		components: components}, nil
}

// APIOptions are the options of the app's own API without its metrics registry, for a test
// that serves variants of it (another token, Grafana links) over the same pipeline.
func (a *App) APIOptions() api.Options {
	o := a.apiOpts
	o.Registerer, o.Gatherer = nil, nil
	return o
}

// Store is the app's store.
func (a *App) Store() store.Store { return a.st }

// Forecasts is what the API triggers forecast runs through (nil with predictive scaling off).
func (a *App) Forecasts() api.ForecastTrigger { return a.forecasts }

// Handler serves the API, the admin page and /metrics.
func (a *App) Handler() http.Handler { return a.handler }

// RunComponents runs the forecaster, actuator, HPA event recorder (and, in the demo, the
// simulation) until ctx ends or one fails.
func (a *App) RunComponents(ctx context.Context) error { return runAll(ctx, a.components) }

// Close closes the store.
func (a *App) Close() error {
	if err := a.st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Run builds the App (New), serves its handler on cfg.ListenAddr and runs its components
// until ctx ends, then shuts the server down gracefully and closes the store. A returned
// error says what failed; Run logs nothing it returns.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, reg *prometheus.Registry) (err error) {
	a, err := New(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.Close()) }()
	return serve(ctx, a.cfg, logger, a.handler, a.components)
}

// openStore opens Redis or the embedded store (the demo's own, reset, see demoConfig).
func openStore(ctx context.Context, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (store.Store, error) {
	st, err := store.Open(ctx, cfg.RedisURL, cfg.DataDir, store.Options{
		RedisPrefix:     cfg.RedisPrefix,
		RedisMasterName: cfg.RedisMasterName,
		Logger:          logger.With("component", "store"),
		Registerer:      reg,
		Limits: store.Limits{MaxPatterns: cfg.MaxPatterns, MaxDependencies: cfg.MaxDependencies,
			MaxOverridesPerService: cfg.MaxOverridesPerService},
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

// DashboardLinks lists the dashboards of the catalog as links into the Grafana at grafanaURL,
// with the parameters that narrow each to one service; none when no Grafana URL is configured.
func DashboardLinks(grafanaURL string) []api.DashboardLink {
	if grafanaURL == "" {
		return nil
	}
	var links []api.DashboardLink
	for _, e := range dashboards.Catalog() {
		links = append(links, api.DashboardLink{UID: e.UID, Title: e.Title, URL: dashboards.EmbedURL(grafanaURL, e.UID), Selects: e.Selects})
	}
	return links
}

// isLoopback reports whether addr is a TCP address on a loopback IP.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
