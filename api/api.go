package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ForecastTrigger starts forecast runs on demand and reports on them. Implementations are
// safe for concurrent use; Trigger must not wait for the run to finish.
type ForecastTrigger interface {
	// Trigger starts a run for one service ("" = all); returns the run id. Its refusals are
	// recognised by behaviour (errors.As), so an implementation needs nothing from this
	// package: an error reporting UnknownService() true answers 404, Busy() true 409
	// (forecaster.ErrUnknownService and forecaster.ErrBusy do).
	Trigger(ctx context.Context, service string) (string, error)
	// Run returns the run with the given id; false when it is unknown (or forgotten).
	Run(id string) (scaling.ForecastRun, bool)
}

// unknownServiceError and busyError are the refusals of a ForecastTrigger (see Trigger).
type (
	unknownServiceError interface{ UnknownService() bool }
	busyError           interface{ Busy() bool }
)

// isUnknownService reports whether err is a trigger's refusal of a service it does not manage.
func isUnknownService(err error) bool {
	var e unknownServiceError
	return errors.As(err, &e) && e.UnknownService()
}

// isBusy reports whether err is a trigger's refusal while another run is in progress.
func isBusy(err error) bool {
	var e busyError
	return errors.As(err, &e) && e.Busy()
}

// Messages of the trigger's refusals, as the API has always answered them.
const (
	msgUnknownService = "unknown service"
	msgBusy           = "a forecast run is already in progress"
)

// DashboardLink is one Grafana dashboard the admin panel can embed.
type DashboardLink struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	URL   string `json:"url"`
	// Selects are the URL query parameters that narrow the dashboard to one managed service,
	// each mapped to the field of GET /api/services' entry that sets it: "service",
	// "namespace" or "hpa" (the HPA's name). Absent when the dashboard has none.
	Selects map[string]string `json:"selects,omitempty"`
}

// Options configures an API. Store is required; everything else has a default.
type Options struct {
	// Store is what the routes read and write; a store.Store provides it.
	Store Store
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
	// Registerer receives the HTTP and store metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Gatherer, when set, is served at /metrics by Handler.
	Gatherer prometheus.Gatherer
	// Token, when set, is required as "Authorization: Bearer <token>" on every /api/* request.
	Token string
	// CORSOrigins are the origins allowed to call the API from a browser ("*" for any).
	CORSOrigins []string
	// Now defaults to time.Now.
	Now func() time.Time
	// Forecasts may be nil: the forecast routes then answer 503.
	Forecasts ForecastTrigger
	// Dashboards are listed at GET /api/dashboards.
	Dashboards []DashboardLink
	// EffectivenessWindow is the default window of GET /api/hpa-events/{service}/effectiveness;
	// 0 means 24h.
	EffectivenessWindow time.Duration
	// RequestTimeout bounds each API request's store calls; 0 means 10s.
	RequestTimeout time.Duration
	// Services serves /api/services and the load history; nil uses Forecasts when it
	// implements ServiceObserver (the forecaster does), else those routes answer 503.
	Services ServiceObserver
	// Managed is asked whether the service of a create or update (pattern, override,
	// dependency) is managed (requireManaged); nil accepts the writes for any service.
	Managed ManagedSet
	// UI, when set, serves the admin page at / and /ui/*, without the token: the page asks
	// for it and sends it on its API calls, which keep every check of /api.
	UI http.Handler
}

// API serves kai-scaler's REST API. Create it with New; it is safe for concurrent use.
type API struct {
	store          Store
	logger         *slog.Logger
	gatherer       prometheus.Gatherer
	token          string
	corsOrigins    []string
	now            func() time.Time
	forecasts      ForecastTrigger
	dashboards     []DashboardLink
	effWindow      time.Duration
	requestTimeout time.Duration
	services       ServiceObserver
	managed        ManagedSet
	ui             http.Handler
	metrics        *metrics
}

// New returns an API over opts.Store. It panics when opts.Store is nil or when its metrics are
// already registered on opts.Registerer (programming errors, as with MustRegister).
func New(opts Options) *API {
	if opts.Store == nil {
		panic("api.New: Options.Store is required")
	}
	a := &API{
		logger:         opts.Logger,
		gatherer:       opts.Gatherer,
		token:          opts.Token,
		corsOrigins:    opts.CORSOrigins,
		now:            opts.Now,
		forecasts:      opts.Forecasts,
		dashboards:     opts.Dashboards,
		effWindow:      opts.EffectivenessWindow,
		requestTimeout: opts.RequestTimeout,
		services:       opts.Services,
		managed:        opts.Managed,
		ui:             opts.UI,
	}
	if so, ok := opts.Forecasts.(ServiceObserver); ok && a.services == nil {
		a.services = so
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.effWindow <= 0 {
		a.effWindow = 24 * time.Hour
	}
	if a.requestTimeout <= 0 {
		a.requestTimeout = 10 * time.Second
	}
	if a.dashboards == nil {
		a.dashboards = []DashboardLink{}
	}
	a.metrics = newMetrics(opts.Registerer)
	a.store = instrumentedStore{Store: opts.Store, errors: a.metrics.storeErrors}
	return a
}

// Register mounts the /api routes on r, each behind the bearer-token check when a token is
// configured. Handler adds the rest (metrics, CORS, health checks, JSON 404/405).
func (a *API) Register(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(a.authenticate, a.guardWrites)

		r.Get("/api/predictive-scaling/patterns", a.wrap(a.listPatterns))
		r.Get("/api/predictive-scaling/patterns/{service}", a.wrap(a.getPattern))
		r.Post("/api/predictive-scaling/patterns/{service}", a.wrap(a.putPattern))
		r.Delete("/api/predictive-scaling/patterns/{service}", a.wrap(a.deletePattern))
		r.Get("/api/predictive-scaling/predictions", a.wrap(a.listPredictions))
		r.Post("/api/predictive-scaling/forecast", a.wrap(a.triggerForecast))
		r.Post("/api/predictive-scaling/forecast/{service}", a.wrap(a.triggerForecast))
		r.Get("/api/predictive-scaling/runs", a.wrap(a.listRuns))
		r.Get("/api/predictive-scaling/runs/{id}", a.wrap(a.getRun))
		r.Get("/api/predictive-scaling/overrides", a.wrap(a.listOverrides))
		r.Get("/api/predictive-scaling/overrides/{service}", a.wrap(a.listOverrides))
		r.Post("/api/predictive-scaling/overrides/{service}", a.wrap(a.putOverride))
		r.Get("/api/predictive-scaling/overrides/{service}/{id}", a.wrap(a.getOverride))
		r.Delete("/api/predictive-scaling/overrides/{service}/{id}", a.wrap(a.deleteOverride))
		r.Get("/api/predictive-scaling/floors/{service}", a.wrap(a.listDecisions))
		r.Get("/api/predictive-scaling/shadow/{service}", a.wrap(a.shadow))
		r.Get("/api/predictive-scaling/load/{service}", a.wrap(a.loadHistory))
		r.Get("/api/services", a.wrap(a.listServices))

		r.Get("/api/scaling-dependencies", a.wrap(a.listDependencies))
		r.Get("/api/scaling-dependencies/{sourceService}/{targetService}", a.wrap(a.getDependency))
		r.Post("/api/scaling-dependencies/{sourceService}/{targetService}", a.wrap(a.putDependency))
		r.Delete("/api/scaling-dependencies/{sourceService}/{targetService}", a.wrap(a.deleteDependency))
		r.Post("/api/scaling-dependencies/{sourceService}/{targetService}/enable", a.wrap(a.enableDependency))
		r.Post("/api/scaling-dependencies/{sourceService}/{targetService}/disable", a.wrap(a.disableDependency))

		r.Get("/api/hpa-events", a.wrap(a.listEvents))
		r.Get("/api/hpa-events/{service}", a.wrap(a.listEvents))
		r.Get("/api/hpa-events/{service}/effectiveness", a.wrap(a.effectiveness))

		r.Get("/api/dashboards", a.wrap(a.listDashboards))
		r.Get("/api/openapi.json", a.wrap(a.getOpenAPI))
	})
}

// Handler returns the whole HTTP surface: the API routes plus /healthz, /readyz and /metrics
// (open, no token), request metrics, panic recovery, CORS, and JSON answers to unknown routes
// and methods.
func (a *API) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(a.instrument, a.recoverPanics)
	// HEAD is answered wherever GET is (RFC 9110 §9.3.2): chi routes only the methods
	// registered, so monitors probing /healthz with HEAD got 405. net/http sends no body for
	// HEAD and keeps the Content-Length a GET would have.
	r.Use(middleware.GetHead)
	if len(a.corsOrigins) > 0 {
		r.Use(cors.Handler(cors.Options{
			AllowedOrigins:   a.corsOrigins,
			AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete, http.MethodOptions},
			AllowedHeaders:   []string{"Authorization", "Content-Type"},
			ExposedHeaders:   []string{"Location"},
			AllowCredentials: false,
			MaxAge:           300,
		}))
	}
	r.NotFound(a.apiOnly(func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, &httpError{status: http.StatusNotFound, field: "path", msg: "no route for " + r.Method + " " + r.URL.Path})
	}))
	r.MethodNotAllowed(a.apiOnly(func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, field: "method", msg: "method " + r.Method + " is not allowed on " + r.URL.Path})
	}))
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Get("/readyz", a.readyz)
	if a.gatherer != nil {
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelError)}))
	}
	if a.ui != nil {
		r.Handle("/", a.ui)
		r.Handle("/ui/*", a.ui)
	}
	a.Register(r)
	return r
}

// apiOnly puts the token check in front of answers to unknown /api paths too, so that
// without a token nobody can probe which routes exist.
func (a *API) apiOnly(h http.HandlerFunc) http.HandlerFunc {
	authed := a.authenticate(h)
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api" {
			authed.ServeHTTP(w, r)
			return
		}
		h(w, r)
	}
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeoutCause(r.Context(), 2*time.Second, errors.New("store ping took too long"))
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.logger.Warn("store does not answer; reporting not ready", "err", err)
		a.writeError(w, r, &httpError{status: http.StatusServiceUnavailable, msg: "store unavailable", err: err})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
