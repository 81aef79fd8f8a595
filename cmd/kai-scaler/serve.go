package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
// HPA watch. It returns nil (or ctx's error) when ctx ends; any other error stops serve.
type component struct {
	name string
	run  func(ctx context.Context) error
}

func runServe(ctx context.Context, c cli, args []string) int {
	opts, err := parseOptions(args, c.getenv, c.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = opts.checkAuth()
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler serve: %v\n", err)
		return 2
	}
	logger := newLogger(c.stderr, opts)
	if err := serve(ctx, logger, opts); err != nil {
		logger.Error("serve stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, opts Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.LogLevel}
	if opts.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// serve opens the store, serves the API and runs the components until ctx ends, then shuts
// the server down gracefully and closes the store.
func serve(ctx context.Context, logger *slog.Logger, opts Options) (err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	dataDir := opts.DataDir
	if opts.Demo && opts.RedisURL == "" {
		// The demo's synthetic records never mix with a real embedded store.
		dataDir = filepath.Join(opts.DataDir, "demo")
	}
	st, err := store.Open(ctx, opts.RedisURL, dataDir, store.Options{
		RedisPrefix:     opts.RedisPrefix,
		RedisMasterName: opts.RedisMasterName,
		Logger:          logger.With("component", "store"),
		Registerer:      reg,
		Limits:          store.Limits{MaxPatterns: opts.MaxPatterns, MaxDependencies: opts.MaxDependencies},
	})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
		}
	}()
	backend := "embedded"
	if opts.RedisURL != "" {
		backend = "redis"
	}

	forecasts, components, err := wire(ctx, logger, opts, st, reg)
	if err != nil {
		return err
	}

	a := api.New(api.Options{
		Store:       st,
		Logger:      logger.With("component", "api"),
		Registerer:  reg,
		Gatherer:    reg,
		Token:       opts.APIToken,
		CORSOrigins: opts.CORSOrigins,
		Dashboards:  dashboardLinks(opts.GrafanaURL),
		Forecasts:   forecasts,
		UI:          web.Handler(web.Options{GrafanaURL: opts.GrafanaURL}),
	})

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	if opts.APIToken == "" && !isLoopback(ln.Addr()) {
		if !opts.InsecureNoAuth { // checkAuth passed on the name; the address says otherwise
			_ = ln.Close()
			return fmt.Errorf("refusing to serve the API on %s without API_TOKEN (or --insecure-no-auth)", ln.Addr())
		}
		logger.Warn("serving the API on a non-loopback address without API_TOKEN (--insecure-no-auth); anyone who can reach it can change scaling", "addr", ln.Addr().String())
	}
	logger.Info("listening", "addr", ln.Addr().String(), "store", backend,
		"predictive_scaling", opts.PredictiveScaling, "scaling_dependencies", opts.ScalingDependencies,
		"hpa_event_logging", opts.HPAEventLogging, "dry_run", opts.DryRun, "auth", opts.APIToken != "",
		"prometheus_headers", opts.redactedHeaders())

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

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
