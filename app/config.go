package app

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// Config is the configuration of serve, parsed and checked by the command.
type Config struct {
	PredictiveScaling   bool
	ScalingDependencies bool
	HPAEventLogging     bool

	// RedisURL selects the shared Redis store; empty means the embedded store in DataDir.
	RedisURL        string
	RedisPrefix     string
	RedisMasterName string
	DataDir         string
	// MaxPatterns and MaxDependencies cap the stored objects, MaxOverridesPerService each
	// service's overrides that have not ended (store.Limits; 0: the store's default).
	MaxPatterns, MaxDependencies, MaxOverridesPerService int

	ListenAddr string
	// APIToken, when set, is required as a bearer token on /api/*. Run refuses to listen
	// beyond loopback without one unless InsecureNoAuth.
	APIToken       string
	InsecureNoAuth bool
	CORSOrigins    []string

	PrometheusURL     string
	PrometheusHeaders map[string]string
	// Kubeconfig empty means in-cluster configuration.
	Kubeconfig string
	// ForecastSchedule is a standard cron spec or a descriptor (@hourly, @every 30m).
	ForecastSchedule string
	DryRun           bool
	// MaxReplicasWithoutHPA caps the floors of workloads with no HPA and no max annotation.
	MaxReplicasWithoutHPA int32
	ServicesFile          string
	GrafanaURL            string

	// LeaderIdentity and LeaderNamespace name this replica and the namespace of the leader
	// election Lease (the pod's name and namespace, from the downward API).
	LeaderIdentity, LeaderNamespace string

	// Demo runs the whole pipeline against a simulated cluster and synthetic load, with every
	// feature enabled.
	Demo bool
	// DemoSpeed is simulated seconds per real second in the demo.
	DemoSpeed float64
	// DemoStart is when the demo's simulated clock starts; zero means now. What the first
	// minutes show depends on the simulated time of day: a morning ramp, or an evening's fall.
	DemoStart time.Time
}

// CheckAuth refuses an open API beyond loopback: without API_TOKEN anyone who can reach the
// address could change scaling (issue 11, item 2). --insecure-no-auth says it is meant.
func (c Config) CheckAuth() error {
	if c.APIToken != "" || c.InsecureNoAuth || loopbackAddr(c.ListenAddr) {
		return nil
	}
	return fmt.Errorf("refusing to serve the API on %s without API_TOKEN: set API_TOKEN, listen on a loopback address (--listen.addr=127.0.0.1:8080), or pass --insecure-no-auth", c.ListenAddr)
}

// loopbackAddr reports whether host:port can only be reached from this host: a loopback IP
// or "localhost". An empty host (":8080") listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactedHeaders lists header names only, for logs.
func (c Config) redactedHeaders() []string {
	names := make([]string, 0, len(c.PrometheusHeaders))
	for k := range c.PrometheusHeaders {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
