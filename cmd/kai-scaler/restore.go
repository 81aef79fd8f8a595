package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"

	"github.com/kai-platform/kai-scaler/actuator/kube"
)

// runRestore puts every floor kai-scaler raised back to its base: each HPA (and scale target
// without HPA) carrying the base annotation, in one namespace or all.
func runRestore(ctx context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	kubeconfig := fs.String("kubeconfig", c.getenv("KUBECONFIG"), "kubeconfig file (env KUBECONFIG); empty: in-cluster configuration, then ~/.kube/config")
	namespace := fs.String("namespace", "", "restore only this namespace; empty: all namespaces")
	dryRun := fs.Bool("dry-run", false, "print what would be restored; write nothing")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: kai-scaler restore [--kubeconfig FILE] [--namespace NS] [--dry-run]\n\n"+
			"Puts every HPA (and scale target) carrying kai-scaler.io/base-min-replicas back to that\n"+
			"base floor and removes kai-scaler's annotations.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "kai-scaler restore: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, err := kube.RestConfig(*kubeconfig)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler restore: %v\n", err)
		return 1
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler restore: kubernetes client: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := kube.New(kube.Options{Client: cs, DryRun: *dryRun, Logger: logger, Instance: "kai-scaler-restore"})
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler restore: %v\n", err)
		return 1
	}
	restored, err := cluster.RestoreAll(ctx, *namespace)
	verb := "restored"
	if *dryRun {
		verb = "would restore"
	}
	for _, r := range restored {
		if r.Err != nil {
			fmt.Fprintf(c.stdout, "failed    %s %s/%s: %v\n", r.Kind, r.Namespace, r.Name, r.Err)
			continue
		}
		fmt.Fprintf(c.stdout, "%s %s %s/%s: floor %d -> %d\n", verb, r.Kind, r.Namespace, r.Name, r.From, r.To)
	}
	if len(restored) == 0 && err == nil {
		fmt.Fprintln(c.stdout, "nothing to restore: no object carries kai-scaler.io/base-min-replicas")
	}
	if err == nil {
		err = kube.RestoreErrors(restored)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler restore: %v\n", err)
		return 1
	}
	return 0
}
