package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
)

func TestApplyService(t *testing.T) {
	svc := scaling.ManagedService{Name: "checkout", Namespace: "shop", Query: "sum(rate(x[5m]))",
		CapacityPerReplica: 50, LeadTimeSeconds: 600, Quantile: 0.95, Budget: 0.2}
	own := svc
	own.PodStartupSeconds = 90
	target := svc
	target.Budget, target.AvailabilityTarget = 0, 0.999
	defaults := simOptions{CapacityPerReplica: 0, LeadTime: 5 * time.Minute, PodStartup: 2 * time.Minute, Quantile: 0.9, Budget: 0.1}
	cases := []struct {
		name     string
		svc      scaling.ManagedService
		set      []string // flags given
		hasTrace bool
		want     simOptions
		wantTook []string
	}{
		{name: "every setting from the file", svc: svc,
			want:     simOptions{Query: "sum(rate(x[5m]))", CapacityPerReplica: 50, LeadTime: 10 * time.Minute, PodStartup: 4 * time.Minute, Quantile: 0.95, Budget: 0.2},
			wantTook: []string{"--query=sum(rate(x[5m]))", "--capacity-per-replica=50", "--lead-time=10m0s", "--pod-startup=4m0s", "--quantile=0.95", "--budget=0.2"}},
		{name: "a trace given: the query is not read", svc: svc, hasTrace: true,
			want:     simOptions{CapacityPerReplica: 50, LeadTime: 10 * time.Minute, PodStartup: 4 * time.Minute, Quantile: 0.95, Budget: 0.2},
			wantTook: []string{"--capacity-per-replica=50", "--lead-time=10m0s", "--pod-startup=4m0s", "--quantile=0.95", "--budget=0.2"}},
		{name: "flags given win", svc: svc, hasTrace: true, set: []string{"capacity-per-replica", "lead-time", "pod-startup", "quantile", "budget"},
			want: defaults},
		{name: "its own pod start-up", svc: own, hasTrace: true,
			want:     simOptions{CapacityPerReplica: 50, LeadTime: 10 * time.Minute, PodStartup: 90 * time.Second, Quantile: 0.95, Budget: 0.2},
			wantTook: []string{"--capacity-per-replica=50", "--lead-time=10m0s", "--pod-startup=1m30s", "--quantile=0.95", "--budget=0.2"}},
		{name: "an availability target instead of the budget", svc: target, hasTrace: true,
			want:     simOptions{CapacityPerReplica: 50, LeadTime: 10 * time.Minute, PodStartup: 4 * time.Minute, Quantile: 0.95, Budget: 0.1, AvailabilityTarget: 0.999},
			wantTook: []string{"--capacity-per-replica=50", "--lead-time=10m0s", "--pod-startup=4m0s", "--quantile=0.95", "--availability-target=0.999"}},
		{name: "a budget flag keeps the file's target out", svc: target, hasTrace: true, set: []string{"budget"},
			want:     simOptions{CapacityPerReplica: 50, LeadTime: 10 * time.Minute, PodStartup: 4 * time.Minute, Quantile: 0.95, Budget: 0.1},
			wantTook: []string{"--capacity-per-replica=50", "--lead-time=10m0s", "--pod-startup=4m0s", "--quantile=0.95"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := defaults
			took := applyService(&o, tc.svc, func(name string) bool { return slices.Contains(tc.set, name) }, tc.hasTrace)
			require.Equal(t, tc.want, o)
			require.Equal(t, tc.wantTook, took)
		})
	}
}

func TestLoadService(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := write("services.yaml", "services:\n  - name: checkout\n    namespace: shop\n    query: up\n    capacityPerReplica: 50\n  - name: search\n    namespace: shop\n    query: up\n    capacityPerReplica: 5\n")
	bad := write("bad.yaml", "services:\n  - name: checkout\n    namespace: shop\n    query: up\n    capacityPerReplica: -1\n")
	svc, err := loadService(good, "search")
	require.NoError(t, err)
	require.Equal(t, "search", svc.Name)
	require.Equal(t, 5.0, svc.CapacityPerReplica)
	require.Equal(t, int64(scaling.DefaultLeadTimeSeconds), svc.LeadTimeSeconds, "the file's defaults filled in, as serve reads it")
	for _, tc := range []struct{ path, name, want string }{
		{good, "cart", `--service "cart": no such service in --services "` + good + `", which lists checkout, search`},
		{bad, "checkout", `--services "` + bad + `": invalid services file: line 5: services[0].capacityPerReplica: `},
		{filepath.Join(dir, "none.yaml"), "checkout", `--services "` + filepath.Join(dir, "none.yaml") + `": cannot be read: `},
	} {
		_, err := loadService(tc.path, tc.name)
		require.ErrorContains(t, err, tc.want)
	}
	require.Equal(t, "a, b and 1 more", listSome([]string{"a", "b", "c"}, 2))
	require.Equal(t, "no service", listSome(nil, 2))
}
