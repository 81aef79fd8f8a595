package app

import (
	"context"
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
// errors are logged by line and counted. Safe for concurrent use.
type servicesFile struct {
	path string
	log  *slog.Logger

	mu       sync.RWMutex
	services []scaling.ManagedService
	data     []byte

	reloads *prometheus.CounterVec
}

// openServicesFile reads path ("" means no services); an invalid file is a start-up error.
func openServicesFile(path string, log *slog.Logger, reg prometheus.Registerer) (*servicesFile, error) {
	f := &servicesFile{path: path, log: log.With("services_file", path),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kai_services_reloads_total",
			Help: "Reloads of the services file by result: applied, or refused (invalid; the previous list stays in force).",
		}, []string{"result"}),
	}
	for _, r := range []string{"applied", "refused"} {
		f.reloads.WithLabelValues(r)
	}
	if reg != nil {
		if err := reg.Register(f.reloads); err != nil {
			return nil, fmt.Errorf("register services file metrics: %w", err)
		}
	}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SERVICES_FILE: %w", err)
	}
	services, err := scaling.ParseServices(data)
	if err != nil {
		return nil, fmt.Errorf("SERVICES_FILE %s: %w", path, err)
	}
	f.services, f.data = services, data
	return f, nil
}

// Services returns the list in force; callers must not modify it.
func (f *servicesFile) Services() []scaling.ManagedService {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.services
}

// Reload re-reads the file and applies it when its content changed and is valid. It reports
// whether a new list was applied.
func (f *servicesFile) Reload() (bool, error) {
	if f.path == "" {
		return false, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.reloads.WithLabelValues("refused").Inc()
		return false, fmt.Errorf("read SERVICES_FILE: %w", err)
	}
	f.mu.RLock()
	same := slices.Equal(data, f.data)
	old := f.services
	f.mu.RUnlock()
	if same {
		return false, nil
	}
	services, err := scaling.ParseServices(data)
	if err != nil {
		f.reloads.WithLabelValues("refused").Inc()
		return false, err
	}
	f.mu.Lock()
	f.services, f.data = services, data
	f.mu.Unlock()
	f.reloads.WithLabelValues("applied").Inc()
	if !slices.Equal(namespacesOf(old), namespacesOf(services)) {
		f.log.Warn("the services' namespaces changed; HPAs of new namespaces are watched after a restart",
			"before", namespacesOf(old), "after", namespacesOf(services))
	}
	return true, nil
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
