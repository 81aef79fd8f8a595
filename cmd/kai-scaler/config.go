package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kai-platform/kai-scaler/app"
	"github.com/kai-platform/kai-scaler/store"
)

// Options is the configuration of "kai-scaler serve": app.Config and the logger's. Every
// setting has an environment variable and a dotted flag: the variable sets the flag's
// default and the flag, when given, overrides it.
type Options struct {
	app.Config

	LogLevel  slog.Level
	LogFormat string
}

// setting is one configuration entry: its variable, flag, default and how it is parsed
// into Options.
type setting struct {
	env, flag, def, usage string
	isBool, secret        bool
	apply                 func(o *Options, v string) error
}

func boolSetting(env, flagName, usage string, dst func(*Options) *bool) setting {
	return setting{env: env, flag: flagName, def: "false", usage: usage, isBool: true, apply: func(o *Options, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*dst(o) = b
		return nil
	}}
}

// maxSetting is a positive count with a default.
func maxSetting(env, flagName string, def int, usage string, dst func(*Options) *int) setting {
	return setting{env: env, flag: flagName, def: strconv.Itoa(def), usage: usage,
		apply: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return errors.New("must be a positive integer")
			}
			*dst(o) = n
			return nil
		}}
}

func stringSetting(env, flagName, def, usage string, dst func(*Options) *string) setting {
	return setting{env: env, flag: flagName, def: def, usage: usage, apply: func(o *Options, v string) error {
		*dst(o) = v
		return nil
	}}
}

// serviceAccountNamespaceFile holds the pod's namespace inside a cluster.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func settings() []setting {
	return []setting{
		boolSetting("ENABLE_PREDICTIVE_SCALING", "enable.predictive-scaling", "forecast load and raise HPA floors before peaks", func(o *Options) *bool { return &o.PredictiveScaling }),
		boolSetting("ENABLE_SCALING_DEPENDENCIES", "enable.scaling-dependencies", "scale dependent services with their sources", func(o *Options) *bool { return &o.ScalingDependencies }),
		boolSetting("ENABLE_HPA_EVENT_LOGGING", "enable.hpa-event-logging", "record every HPA scaling decision", func(o *Options) *bool { return &o.HPAEventLogging }),
		{env: "REDIS_URL", flag: "redis.url", usage: "Redis URL of the shared store (redis://, rediss://, or comma-separated addresses); empty: embedded store in --data.dir", secret: true,
			apply: func(o *Options, v string) error {
				if v == "" {
					return nil
				}
				for _, part := range strings.Split(v, ",") {
					part = strings.TrimSpace(part)
					if strings.Contains(part, "://") {
						u, err := url.Parse(part)
						if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
							return errors.New("must be redis://, rediss:// or unix:// URLs or host:port addresses")
						}
						continue
					}
					if _, _, err := net.SplitHostPort(part); err != nil {
						return errors.New("must be redis://, rediss:// or unix:// URLs or host:port addresses")
					}
				}
				o.RedisURL = v
				return nil
			}},
		stringSetting("REDIS_PREFIX", "redis.prefix", "kai:", "prefix of every Redis key", func(o *Options) *string { return &o.RedisPrefix }),
		stringSetting("REDIS_MASTER_NAME", "redis.master-name", "", "Sentinel master name when --redis.url lists Sentinel addresses", func(o *Options) *string { return &o.RedisMasterName }),
		maxSetting("MAX_PATTERNS", "store.max-patterns", store.DefaultMaxPatterns, "most load patterns stored; a new one beyond is refused with 409",
			func(o *Options) *int { return &o.MaxPatterns }),
		maxSetting("MAX_DEPENDENCIES", "store.max-dependencies", store.DefaultMaxDependencies, "most scaling dependencies stored; a new one beyond is refused with 409",
			func(o *Options) *int { return &o.MaxDependencies }),
		maxSetting("MAX_OVERRIDES_PER_SERVICE", "store.max-overrides-per-service", store.DefaultMaxOverridesPerService, "most scheduled overrides of one service that have not ended; a new one beyond is refused with 409",
			func(o *Options) *int { return &o.MaxOverridesPerService }),
		{env: "DATA_DIR", flag: "data.dir", def: "./data", usage: "directory of the embedded store (used when --redis.url is empty)",
			apply: func(o *Options, v string) error {
				if v == "" {
					return errors.New("must not be empty")
				}
				o.DataDir = v
				return nil
			}},
		{env: "LISTEN_ADDR", flag: "listen.addr", def: ":8080", usage: "address of the HTTP server (API, /metrics, /healthz)",
			apply: func(o *Options, v string) error {
				_, port, err := net.SplitHostPort(v)
				if err != nil {
					return errors.New("must be host:port or :port")
				}
				if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
					return errors.New("port must be a number from 0 to 65535")
				}
				o.ListenAddr = v
				return nil
			}},
		{env: "API_TOKEN", flag: "api.token", usage: "bearer token required on /api/* (prefer the variable: flags show in process lists)", secret: true,
			apply: func(o *Options, v string) error { o.APIToken = v; return nil }},
		boolSetting("INSECURE_NO_AUTH", "insecure-no-auth", "serve /api/* without API_TOKEN on a non-loopback address (anyone who reaches it can change scaling)", func(o *Options) *bool { return &o.InsecureNoAuth }),
		{env: "CORS_ORIGINS", flag: "cors.origins", usage: "comma-separated origins allowed to call the API from a browser (* for any)",
			apply: func(o *Options, v string) error {
				o.CORSOrigins = nil
				for _, s := range splitList(v) {
					if s != "*" {
						u, err := url.Parse(s)
						if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
							return fmt.Errorf("origin %q must be * or scheme://host[:port]", s)
						}
					}
					o.CORSOrigins = append(o.CORSOrigins, strings.TrimSuffix(s, "/"))
				}
				return nil
			}},
		{env: "PROMETHEUS_URL", flag: "prometheus.url", usage: "base URL of Prometheus (or Thanos, Mimir, VictoriaMetrics) for load history", secret: true,
			apply: func(o *Options, v string) error {
				if v == "" {
					return nil
				}
				if err := checkPrometheusURL(v); err != nil {
					return err
				}
				o.PrometheusURL = v
				return nil
			}},
		{env: "PROMETHEUS_HEADERS", flag: "prometheus.headers", usage: "extra headers on Prometheus requests, name=value,name=value (e.g. X-Scope-OrgID=tenant)", secret: true,
			apply: func(o *Options, v string) error {
				h, err := parsePrometheusHeaders(v)
				o.PrometheusHeaders = h
				return err
			}},
		stringSetting("KUBECONFIG", "kubeconfig", "", "kubeconfig file; empty: in-cluster configuration", func(o *Options) *string { return &o.Kubeconfig }),
		{env: "FORECAST_SCHEDULE", flag: "forecast.schedule", def: "@hourly", usage: "when to run the forecaster: cron spec (minute hour dom month dow) or @hourly, @daily, @every 30m",
			apply: func(o *Options, v string) error {
				if _, err := cronParser.Parse(v); err != nil {
					return fmt.Errorf("must be a cron spec or descriptor: %w", err)
				}
				o.ForecastSchedule = v
				return nil
			}},
		{env: "MAX_REPLICAS_WITHOUT_HPA", flag: "actuator.max-replicas-without-hpa", def: "100", usage: "highest floor set on a workload with no HPA and no max annotation (a dependency target scaled through its scale subresource)",
			apply: func(o *Options, v string) error {
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil || n < 1 || n > 10000 {
					return errors.New("must be an integer from 1 to 10000")
				}
				o.MaxReplicasWithoutHPA = int32(n)
				return nil
			}},
		boolSetting("DRY_RUN", "dry-run", "plan and log floor changes without writing them to the cluster", func(o *Options) *bool { return &o.DryRun }),
		stringSetting("SERVICES_FILE", "services.file", "", "YAML file listing the managed services", func(o *Options) *string { return &o.ServicesFile }),
		{env: "GRAFANA_URL", flag: "grafana.url", usage: "base URL of Grafana, for dashboard links",
			apply: func(o *Options, v string) error {
				if v == "" {
					return nil
				}
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("must be an http:// or https:// URL")
				}
				o.GrafanaURL = strings.TrimSuffix(v, "/")
				return nil
			}},
		{env: "POD_NAME", flag: "leader.identity", usage: "this replica's identity in leader election; empty: the host name",
			apply: func(o *Options, v string) error {
				if v == "" {
					h, err := os.Hostname()
					if err != nil {
						return fmt.Errorf("no host name to default to: %w", err)
					}
					v = h
				}
				o.LeaderIdentity = v
				return nil
			}},
		{env: "POD_NAMESPACE", flag: "leader.namespace", usage: "namespace of the leader election Lease; empty: the pod's service account namespace, else default",
			apply: func(o *Options, v string) error {
				if v == "" {
					v = "default"
					if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil && strings.TrimSpace(string(b)) != "" {
						v = strings.TrimSpace(string(b))
					}
				}
				o.LeaderNamespace = v
				return nil
			}},
		boolSetting("KAI_DEMO", "demo", "run the whole pipeline on a simulated cluster with synthetic load (no Redis, Prometheus or cluster needed)", func(o *Options) *bool { return &o.Demo }),
		{env: "KAI_DEMO_SPEED", flag: "demo-speed", def: "60", usage: "simulated seconds per real second in the demo",
			apply: func(o *Options, v string) error {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || !(f >= 1 && f <= 100000) { // NaN fails both comparisons
					return errors.New("must be a number from 1 to 100000")
				}
				o.DemoSpeed = f
				return nil
			}},
		{env: "KAI_DEMO_START", flag: "demo-start", usage: "when the demo's simulated clock starts, RFC 3339 (e.g. 2026-12-01T05:00:00Z, the morning ramp), from six days ago to a year from now; empty: now",
			apply: func(o *Options, v string) error {
				if v == "" {
					return nil
				}
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return errors.New("must be an RFC 3339 time like 2026-12-01T05:00:00Z")
				}
				if err := checkDemoStart(t, time.Now()); err != nil {
					return err
				}
				o.DemoStart = t
				return nil
			}},
		{env: "LOG_LEVEL", flag: "log.level", def: "info", usage: "debug, info, warn or error",
			apply: func(o *Options, v string) error {
				if err := o.LogLevel.UnmarshalText([]byte(v)); err != nil {
					return errors.New("must be debug, info, warn or error")
				}
				return nil
			}},
		{env: "LOG_FORMAT", flag: "log.format", def: "text", usage: "text or json",
			apply: func(o *Options, v string) error {
				if v != "text" && v != "json" {
					return errors.New("must be text or json")
				}
				o.LogFormat = v
				return nil
			}},
	}
}

// checkDemoStart bounds the demo's start to six days before now, up to a year after. The
// stores prune runs a week old by the wall clock, while the demo dates its records by its own
// clock: started further back, the runs it had just made were gone from the list at once (and
// the zero time, app.Config's "now", was silently replaced). A start at the end of year 9999
// dated records in year 10000, which RFC 3339 cannot write.
func checkDemoStart(t, now time.Time) error {
	earliest, latest := now.Add(-demoStartMaxAge), now.AddDate(1, 0, 0)
	if t.Before(earliest) || t.After(latest) {
		return fmt.Errorf("must be from six days ago (%s) to a year from now (%s): the store keeps runs a week by the wall clock",
			earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return nil
}

// demoStartMaxAge leaves a demo started at its earliest a day of runs before the store's
// retention drops them.
const demoStartMaxAge = store.RunMaxAge - 24*time.Hour

// settingValue is a flag whose default came from the environment. It remembers whether the
// flag was given, so an error names what the user actually wrote.
type settingValue struct {
	value  string
	set    bool
	isBool bool
	// secret values are never printed (flag prints String() as the default in -h).
	secret bool
}

func (v *settingValue) String() string {
	if v == nil || v.secret {
		return ""
	}
	return v.value
}
func (v *settingValue) Set(s string) error { v.value, v.set = s, true; return nil }
func (v *settingValue) IsBoolFlag() bool   { return v.isBool }

// parseOptions reads the serve configuration from args and the environment. It returns
// flag.ErrHelp after printing usage for -h. Errors name the variable or flag and its value
// (secrets are not repeated).
func parseOptions(args []string, getenv func(string) string, usage io.Writer) (Options, error) {
	fs := flag.NewFlagSet("kai-scaler serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	all := settings()
	values := make([]*settingValue, len(all))
	for i, s := range all {
		def := s.def
		if v, ok := lookupEnv(getenv, s.env); ok {
			def = v
		}
		values[i] = &settingValue{value: def, isBool: s.isBool, secret: s.secret}
		fs.Var(values[i], s.flag, s.usage+" ($"+s.env+")")
	}
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: kai-scaler serve [flags]\n\nServes the API and runs the enabled features. Each flag defaults to its environment variable.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var o Options
	var errs []error
	for i, s := range all {
		v := values[i]
		if err := s.apply(&o, strings.TrimSpace(v.value)); err != nil {
			shown := strconv.Quote(v.value)
			if s.secret {
				shown = "(value hidden)"
			}
			if v.set {
				errs = append(errs, fmt.Errorf("invalid --%s %s: %w", s.flag, shown, err))
			} else {
				errs = append(errs, fmt.Errorf("invalid %s %s: %w", s.env, shown, err))
			}
		}
	}
	return o, errors.Join(errs...)
}

// lookupEnv treats an empty variable as unset, as container specs often define them empty.
func lookupEnv(getenv func(string) string, name string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	v := getenv(name)
	return v, v != ""
}

// checkPrometheusURL refuses a Prometheus base URL the client could not send a request to;
// serve's PROMETHEUS_URL and simulate's --prometheus.url share it.
func checkPrometheusURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL")
	}
	return nil
}

// parsePrometheusHeaders reads name=value,name=value (PROMETHEUS_HEADERS, simulate's
// --prometheus.headers); nil for none.
func parsePrometheusHeaders(v string) (map[string]string, error) {
	var h map[string]string
	for i, kv := range splitList(v) {
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t:") {
			return nil, fmt.Errorf("entry %d must be name=value", i+1)
		}
		if h == nil {
			h = map[string]string{}
		}
		h[k] = strings.TrimSpace(val)
	}
	return h, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
