package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kai-platform/kai-scaler/scaling"
)

// simulate's --services and --service replay one service as the services file configures it:
// its query (unless a trace is given), capacity per replica, lead time, pod start-up,
// quantile and budget or availability target, each unless its own flag is given. The HPA's bounds and behavior
// are the cluster's, not the file's: --hpa reads them from `kubectl get hpa NAME -o yaml`.

// loadService reads the services file at path (as serve reads SERVICES_FILE, every problem
// with its line) and returns its entry named name (names are unique in a file).
func loadService(path, name string) (scaling.ManagedService, error) {
	services, err := readServices(path)
	if err != nil {
		return scaling.ManagedService{}, err
	}
	names := make([]string, 0, len(services))
	for _, s := range services {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return scaling.ManagedService{}, fmt.Errorf("--service %q: no such service in --services %q, which lists %s", name, path, listSome(names, 10))
}

// readServices reads the services file at path as serve reads SERVICES_FILE (simulate's,
// forecast's and backtest's --services).
func readServices(path string) ([]scaling.ManagedService, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--services %q: cannot be read: %w", path, err)
	}
	services, err := scaling.ParseServices(data)
	if err != nil {
		return nil, fmt.Errorf("--services %q: %w", path, err)
	}
	return services, nil
}

// listSome joins the first n of names, saying how many more there are.
func listSome(names []string, n int) string {
	if len(names) == 0 {
		return "no service"
	}
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// applyService sets o's settings from svc where set says their flag was not given, and
// returns the flags it set, as name=value, for the log. The query stands for a trace only
// where none was given (hasTrace false).
func applyService(o *simOptions, svc scaling.ManagedService, set func(name string) bool, hasTrace bool) []string {
	var took []string
	take := func(name string, value any) {
		took = append(took, fmt.Sprintf("--%s=%v", name, value))
	}
	if !hasTrace {
		o.Query = svc.Query
		take("query", svc.Query)
	}
	if !set("capacity-per-replica") {
		o.CapacityPerReplica = svc.CapacityPerReplica
		take("capacity-per-replica", svc.CapacityPerReplica)
	}
	if !set("lead-time") {
		o.LeadTime = scaling.LeadTime(svc.LeadTimeSeconds)
		take("lead-time", o.LeadTime)
	}
	if !set("pod-startup") {
		o.PodStartup = svc.PodStartup()
		take("pod-startup", o.PodStartup)
	}
	if !set("quantile") && svc.Quantile > 0 {
		o.Quantile = svc.Quantile
		take("quantile", svc.Quantile)
	}
	if !set("budget") && !set("availability-target") {
		switch {
		case svc.AvailabilityTarget > 0:
			o.AvailabilityTarget = svc.AvailabilityTarget
			take("availability-target", svc.AvailabilityTarget)
		case svc.Budget > 0:
			o.Budget = svc.Budget
			take("budget", svc.Budget)
		}
	}
	return took
}
