package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kai-platform/kai-scaler/scaling"
)

// servicesReloadInterval is how often the services file is checked for changes (a mounted
// ConfigMap changes in place, without a signal).
const servicesReloadInterval = 30 * time.Second

// servicesFile is the managed services list (SERVICES_FILE), reloaded when the file changes.
// A reload with invalid entries is refused whole: the previous list stays in force, and the
// errors are logged by line and counted, once per content refused. Safe for concurrent use.
type servicesFile struct {
	path string
	log  *slog.Logger

	mu       sync.RWMutex
	services []scaling.ManagedService
	data     []byte
	// refusedKey names what the last reload refused (refusalKey), "" when the file on disk is
	// the list in force. The same refusal every 30 s is counted and logged once.
	refusedKey string

	reloads *prometheus.CounterVec
	refused prometheus.Gauge
	info    *serviceInfo
}

// serviceInfo is kai_service_info: one series of value 1 per managed service in force, naming
// its namespace and HPA (kube-state-metrics' label names), so a dashboard can join kai-scaler's
// per-service series to an HPA whose name is not the service's. Safe for concurrent use.
type serviceInfo struct {
	vec *prometheus.GaugeVec

	mu       sync.Mutex
	exported map[[3]string]bool // label values: service, namespace, HPA
}

// newServiceInfo registers kai_service_info on reg (nil: not registered).
func newServiceInfo(reg prometheus.Registerer) (*serviceInfo, error) {
	i := &serviceInfo{vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kai_service_info",
		Help: "1 for each managed service in force, with its namespace and the name of the HPA whose floor it sets (the services file's hpa, by default the service's name).",
	}, []string{"service", "namespace", "horizontalpodautoscaler"})}
	if reg != nil {
		if err := reg.Register(i.vec); err != nil {
			return nil, fmt.Errorf("register kai_service_info: %w", err)
		}
	}
	return i, nil
}

// Set replaces the series with one per service of services. It works as a reset followed by a
// set, without the moment between the two: a series that stays is never removed, so a scrape
// during a reload cannot find a service missing.
func (i *serviceInfo) Set(services []scaling.ManagedService) {
	i.mu.Lock()
	defer i.mu.Unlock()
	next := make(map[[3]string]bool, len(services))
	for _, s := range services {
		next[[3]string{s.Name, s.Namespace, s.HPAName()}] = true
	}
	for l := range i.exported {
		if !next[l] {
			i.vec.DeleteLabelValues(l[0], l[1], l[2])
		}
	}
	for l := range next {
		i.vec.WithLabelValues(l[0], l[1], l[2]).Set(1)
	}
	i.exported = next
}

// openServicesFile reads path ("" means no services); an invalid file is a start-up error.
func openServicesFile(path string, log *slog.Logger, reg prometheus.Registerer) (*servicesFile, error) {
	f := &servicesFile{path: path, log: log.With("services_file", path),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_services_reloads_total",
			Help: "Reloads of the services file by result: applied, or refused (invalid; the previous list stays in force).",
		}, []string{"result"}),
		refused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kai_services_file_refused",
			Help: "1 while the services file on disk is refused (unreadable or invalid; the previous list stays in force), else 0.",
		}),
	}
	for _, r := range []string{"applied", "refused"} {
		f.reloads.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{f.reloads, f.refused} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register services file metrics: %w", err)
			}
		}
	}
	info, err := newServiceInfo(reg)
	if err != nil {
		return nil, err
	}
	f.info = info
	if path == "" {
		return f, nil
	}
	services, data, err := readServicesFile(path)
	if err != nil {
		return nil, err
	}
	f.services, f.data = services, data
	f.info.Set(services)
	return f, nil
}

// readServicesFile reads and parses the services file at path.
func readServicesFile(path string) ([]scaling.ManagedService, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read SERVICES_FILE: %w", err)
	}
	services, err := scaling.ParseServices(data)
	if err != nil {
		return nil, nil, fmt.Errorf("SERVICES_FILE %s: %w", path, err)
	}
	return services, data, nil
}

// refusalKey names what a reload refuses: the read error, or the content read (its hash; the
// file may be large). Equal keys are the same refusal.
func refusalKey(data []byte, readErr error) string {
	if readErr != nil {
		return "read: " + readErr.Error()
	}
	sum := sha256.Sum256(data)
	return "content: " + hex.EncodeToString(sum[:])
}

// Services returns the list in force; callers must not modify it.
func (f *servicesFile) Services() []scaling.ManagedService {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.services
}

// Reload re-reads the file and applies it when its content changed and is valid. It reports
// whether a new list was applied, and returns why the file is refused the first time a given
// content (or read error) is refused only: read again unchanged it is refused quietly, with
// kai_services_file_refused still 1.
func (f *servicesFile) Reload() (bool, error) {
	if f.path == "" {
		return false, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, f.refuse(refusalKey(nil, err), fmt.Errorf("read SERVICES_FILE: %w", err))
	}
	f.mu.RLock()
	same := slices.Equal(data, f.data)
	old, refusedKey := f.services, f.refusedKey
	f.mu.RUnlock()
	if same {
		// Back to the list in force (a refused edit undone): nothing to apply, nothing refused.
		f.mu.Lock()
		f.refusedKey = ""
		f.mu.Unlock()
		f.refused.Set(0)
		return false, nil
	}
	if key := refusalKey(data, nil); key == refusedKey {
		return false, nil // parsed and refused already; its errors do not change
	}
	services, err := scaling.ParseServices(data)
	if err != nil {
		return false, f.refuse(refusalKey(data, nil), err)
	}
	f.mu.Lock()
	f.services, f.data, f.refusedKey = services, data, ""
	f.info.Set(services) // a refused reload leaves the series of the list still in force
	f.mu.Unlock()
	f.refused.Set(0)
	f.reloads.WithLabelValues("applied").Inc()
	if !slices.Equal(namespacesOf(old), namespacesOf(services)) {
		f.log.Warn("the services' namespaces changed; HPAs of new namespaces are watched after a restart",
			"before", namespacesOf(old), "after", namespacesOf(services))
	}
	return true, nil
}

// refuse records a refusal of what key names and returns err, or nil when the last reload
// refused the same: it was counted and logged then.
func (f *servicesFile) refuse(key string, err error) error {
	f.refused.Set(1)
	f.mu.Lock()
	again := key == f.refusedKey
	f.refusedKey = key
	f.mu.Unlock()
	if again {
		return nil
	}
	f.reloads.WithLabelValues("refused").Inc()
	return err
}

// Watch reloads every interval until ctx ends.
func (f *servicesFile) Watch(ctx context.Context, interval time.Duration) error {
	if f.path == "" {
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		applied, err := f.Reload()
		switch {
		case err != nil:
			f.log.Error("services file refused; keeping the previous list", "err", err)
		case applied:
			f.log.Info("services file reloaded", "services", len(f.Services()))
		}
	}
}
