package main

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/app"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseOptions(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	defaults := Options{Config: app.Config{
		LeaderIdentity: host, LeaderNamespace: "default",
		RedisPrefix: "kai:", DataDir: "./data", ListenAddr: ":8080",
		ForecastSchedule: "@hourly", DemoSpeed: 60,
		MaxReplicasWithoutHPA: 100,
		MaxPatterns:           20000, MaxDependencies: 20000, MaxOverridesPerService: 100,
	}, LogLevel: slog.LevelInfo, LogFormat: "text"}
	with := func(f func(*Options)) Options {
		o := defaults
		f(&o)
		return o
	}
	// The demo's start is checked against the wall clock (checkDemoStart): this morning's ramp
	// is always within its range, where a fixed date falls out of it a week later.
	morning := time.Now().UTC().Truncate(24 * time.Hour).Add(5 * time.Hour)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want Options
	}{
		{name: "defaults", want: defaults},
		{name: "environment", env: map[string]string{
			"ENABLE_PREDICTIVE_SCALING": "true", "ENABLE_SCALING_DEPENDENCIES": "1", "ENABLE_HPA_EVENT_LOGGING": "TRUE",
			"REDIS_URL": "redis://:pw@127.0.0.1:6379/2", "REDIS_PREFIX": "x:", "DATA_DIR": "/var/lib/kai",
			"LISTEN_ADDR": "127.0.0.1:9000", "PROMETHEUS_URL": "http://prom:9090", "PROMETHEUS_HEADERS": "X-Scope-OrgID=t1, Authorization=Bearer abc",
			"KUBECONFIG": "/k/config", "FORECAST_SCHEDULE": "*/15 * * * *", "API_TOKEN": "tok",
			"CORS_ORIGINS": "https://admin.example.com, http://localhost:3000/", "DRY_RUN": "true",
			"SERVICES_FILE": "/etc/kai/services.yaml", "GRAFANA_URL": "https://grafana.example.com/", "LOG_LEVEL": "debug", "LOG_FORMAT": "json",
			"KAI_DEMO": "true", "KAI_DEMO_SPEED": "600", "KAI_DEMO_START": morning.Format(time.RFC3339), "POD_NAME": "kai-scaler-0", "POD_NAMESPACE": "ops",
			"MAX_PATTERNS": "500", "MAX_DEPENDENCIES": "700", "MAX_OVERRIDES_PER_SERVICE": "30",
		}, want: Options{Config: app.Config{
			MaxPatterns: 500, MaxDependencies: 700, MaxOverridesPerService: 30,
			Demo: true, DemoSpeed: 600, DemoStart: morning, LeaderIdentity: "kai-scaler-0", LeaderNamespace: "ops", MaxReplicasWithoutHPA: 100,
			PredictiveScaling: true, ScalingDependencies: true, HPAEventLogging: true,
			RedisURL: "redis://:pw@127.0.0.1:6379/2", RedisPrefix: "x:", DataDir: "/var/lib/kai",
			ListenAddr: "127.0.0.1:9000", PrometheusURL: "http://prom:9090",
			PrometheusHeaders: map[string]string{"X-Scope-OrgID": "t1", "Authorization": "Bearer abc"},
			Kubeconfig:        "/k/config", ForecastSchedule: "*/15 * * * *", APIToken: "tok",
			CORSOrigins: []string{"https://admin.example.com", "http://localhost:3000"}, DryRun: true,
			ServicesFile: "/etc/kai/services.yaml", GrafanaURL: "https://grafana.example.com",
		}, LogLevel: slog.LevelDebug, LogFormat: "json"}},
		{name: "flag overrides environment", env: map[string]string{"LISTEN_ADDR": ":9000", "ENABLE_PREDICTIVE_SCALING": "true"},
			args: []string{"--listen.addr=127.0.0.1:0", "--enable.predictive-scaling=false"},
			want: with(func(o *Options) { o.ListenAddr = "127.0.0.1:0" })},
		{name: "flag overrides an invalid environment value", env: map[string]string{"DRY_RUN": "maybe"}, args: []string{"--dry-run=true"},
			want: with(func(o *Options) { o.DryRun = true })},
		{name: "bool flag without value", args: []string{"--dry-run", "--enable.hpa-event-logging"},
			want: with(func(o *Options) { o.DryRun, o.HPAEventLogging = true, true })},
		{name: "empty variable is unset", env: map[string]string{"LISTEN_ADDR": "", "DATA_DIR": ""}, want: defaults},
		{name: "cron descriptor every", env: map[string]string{"FORECAST_SCHEDULE": "@every 30m"},
			want: with(func(o *Options) { o.ForecastSchedule = "@every 30m" })},
		{name: "redis address list", args: []string{"--redis.url=10.0.0.1:26379,10.0.0.2:26379", "--redis.master-name=mymaster"},
			want: with(func(o *Options) { o.RedisURL, o.RedisMasterName = "10.0.0.1:26379,10.0.0.2:26379", "mymaster" })},
		{name: "ceiling without hpa", env: map[string]string{"MAX_REPLICAS_WITHOUT_HPA": "40"},
			want: with(func(o *Options) { o.MaxReplicasWithoutHPA = 40 })},
		{name: "cors any origin", env: map[string]string{"CORS_ORIGINS": "*"},
			want: with(func(o *Options) { o.CORSOrigins = []string{"*"} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, envMap(tt.env), io.Discard)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "bool variable", env: map[string]string{"ENABLE_PREDICTIVE_SCALING": "yes please"},
			wantErr: `invalid ENABLE_PREDICTIVE_SCALING "yes please": must be true or false`},
		{name: "bool flag", args: []string{"--enable.scaling-dependencies=sometimes"},
			wantErr: `invalid --enable.scaling-dependencies "sometimes": must be true or false`},
		{name: "hpa event logging", env: map[string]string{"ENABLE_HPA_EVENT_LOGGING": "on"},
			wantErr: `invalid ENABLE_HPA_EVENT_LOGGING "on": must be true or false`},
		{name: "dry run", env: map[string]string{"DRY_RUN": "2"}, wantErr: `invalid DRY_RUN "2": must be true or false`},
		{name: "max patterns", env: map[string]string{"MAX_PATTERNS": "0"}, wantErr: `invalid MAX_PATTERNS "0": must be a positive integer`},
		{name: "demo speed", env: map[string]string{"KAI_DEMO_SPEED": "0"}, wantErr: `invalid KAI_DEMO_SPEED "0": must be a number from 1 to 100000`},
		{name: "demo start", args: []string{"--demo-start=tomorrow"}, wantErr: `invalid --demo-start "tomorrow": must be an RFC 3339 time like 2026-12-01T05:00:00Z`},
		{name: "demo speed flag", args: []string{"--demo-speed=fast"}, wantErr: `invalid --demo-speed "fast": must be a number from 1 to 100000`},
		// Regression tests: NaN passed the range check, as 0, -1 and 1e12 did not; the zero time
		// was taken as unset and replaced by now; year 9999 dated records in year 10000.
		{name: "demo speed NaN", args: []string{"--demo-speed=NaN"}, wantErr: `invalid --demo-speed "NaN": must be a number from 1 to 100000`},
		{name: "demo speed +Inf", env: map[string]string{"KAI_DEMO_SPEED": "+Inf"}, wantErr: `invalid KAI_DEMO_SPEED "+Inf": must be a number from 1 to 100000`},
		{name: "demo start at the zero time", args: []string{"--demo-start=0001-01-01T00:00:00Z"},
			wantErr: `invalid --demo-start "0001-01-01T00:00:00Z": must be from six days ago`},
		{name: "demo start before 1970", env: map[string]string{"KAI_DEMO_START": "1969-12-31T23:59:59Z"},
			wantErr: `invalid KAI_DEMO_START "1969-12-31T23:59:59Z": must be from six days ago`},
		{name: "demo start at the end of year 9999", args: []string{"--demo-start=9999-12-31T23:50:00Z"},
			wantErr: `invalid --demo-start "9999-12-31T23:50:00Z": must be from six days ago`},
		{name: "schedule", env: map[string]string{"FORECAST_SCHEDULE": "every hour"},
			wantErr: `invalid FORECAST_SCHEDULE "every hour": must be a cron spec or descriptor`},
		{name: "schedule with seconds field", args: []string{"--forecast.schedule=0 0 * * * *"},
			wantErr: `invalid --forecast.schedule "0 0 * * * *": must be a cron spec or descriptor`},
		{name: "listen address", env: map[string]string{"LISTEN_ADDR": "8080"}, wantErr: `invalid LISTEN_ADDR "8080": must be host:port or :port`},
		{name: "listen port", args: []string{"--listen.addr=:99999"}, wantErr: `invalid --listen.addr ":99999": port must be a number from 0 to 65535`},
		{name: "prometheus url hides value", env: map[string]string{"PROMETHEUS_URL": "prom:9090?token=s3cret"},
			wantErr: `invalid PROMETHEUS_URL (value hidden): must be an http:// or https:// URL`},
		{name: "redis url hides value", env: map[string]string{"REDIS_URL": "http://user:s3cret@redis"},
			wantErr: `invalid REDIS_URL (value hidden): must be redis://, rediss:// or unix:// URLs or host:port addresses`},
		{name: "headers", env: map[string]string{"PROMETHEUS_HEADERS": "X-Scope-OrgID=t1,novalue"},
			wantErr: `invalid PROMETHEUS_HEADERS (value hidden): entry 2 must be name=value`},
		{name: "cors origin", env: map[string]string{"CORS_ORIGINS": "admin.example.com"},
			wantErr: `invalid CORS_ORIGINS "admin.example.com": origin "admin.example.com" must be * or scheme://host[:port]`},
		{name: "grafana url", args: []string{"--grafana.url=grafana"}, wantErr: `invalid --grafana.url "grafana": must be an http:// or https:// URL`},
		{name: "ceiling without hpa", args: []string{"--actuator.max-replicas-without-hpa=0"},
			wantErr: `invalid --actuator.max-replicas-without-hpa "0": must be an integer from 1 to 10000`},
		{name: "log level", env: map[string]string{"LOG_LEVEL": "verbose"}, wantErr: `invalid LOG_LEVEL "verbose": must be debug, info, warn or error`},
		{name: "log format", args: []string{"--log.format=xml"}, wantErr: `invalid --log.format "xml": must be text or json`},
		{name: "data dir", args: []string{"--data.dir="}, wantErr: `invalid --data.dir "": must not be empty`},
		{name: "several errors at once", env: map[string]string{"LOG_FORMAT": "xml", "DRY_RUN": "x"},
			wantErr: "invalid DRY_RUN \"x\": must be true or false\ninvalid LOG_FORMAT \"xml\": must be text or json"},
		{name: "unknown flag", args: []string{"--redis.addr=x"}, wantErr: "flag provided but not defined: -redis.addr"},
		{name: "positional argument", args: []string{"extra"}, wantErr: "unexpected arguments: extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, envMap(tt.env), io.Discard)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tt.wantErr), "got %q, want prefix %q", err.Error(), tt.wantErr)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestCheckDemoStart(t *testing.T) {
	now := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		start   time.Time
		wantErr bool
	}{
		{"six days ago", now.Add(-6 * 24 * time.Hour), false},
		{"the morning ramp the day before", time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC), false},
		{"a year from now", now.AddDate(1, 0, 0), false},
		{"a year and a minute from now", now.AddDate(1, 0, 0).Add(time.Minute), true},
		{"six days and a minute ago: its runs soon gone from the store", now.Add(-6*24*time.Hour - time.Minute), true},
		{"the Unix epoch", time.Unix(0, 0), true},
		{"the zero time, app.Config's now", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkDemoStart(tt.start, now)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, "must be from six days ago (2026-11-26T20:00:00Z) to a year from now (2027-12-02T20:00:00Z): the store keeps runs a week by the wall clock")
		})
	}
}

func TestParseOptionsHelp(t *testing.T) {
	var out strings.Builder
	_, err := parseOptions([]string{"-h"}, envMap(map[string]string{"API_TOKEN": "s3cret", "REDIS_URL": "redis://:s3cret@r:6379", "LISTEN_ADDR": ":9000"}), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"-listen.addr", "($LISTEN_ADDR) (default :9000)", "-redis.url", "-forecast.schedule", "(default @hourly)"} {
		require.Contains(t, out.String(), want)
	}
	require.NotContains(t, out.String(), "s3cret", "secrets from the environment are not printed as defaults")
}
