package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/kai-platform/kai-scaler/actuator/kube"
	"github.com/kai-platform/kai-scaler/scaling"
)

// runRBAC writes the namespaced Roles and RoleBindings kai-scaler needs in the namespaces of a
// services file (write access there only; deploy/base/rbac.yaml keeps cluster-wide HPA reads):
//
//	kai-scaler rbac --services deploy/base/services.yaml --out deploy/base/managed-rbac.yaml
func runRBAC(_ context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("rbac", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	services := fs.String("services", "", "services file (SERVICES_FILE) whose namespaces kai-scaler manages")
	out := fs.String("out", "", "file to write the manifest to; default standard output")
	sa := fs.String("service-account", "kai-scaler", "kai-scaler's ServiceAccount")
	ns := fs.String("namespace", "kai-scaler", "namespace kai-scaler runs in (its ServiceAccount's)")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: kai-scaler rbac --services FILE [--out FILE] [--namespace NS] [--service-account NAME]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *services == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	data, err := os.ReadFile(*services)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler rbac: %v\n", err)
		return 1
	}
	svcs, err := scaling.ParseServices(data)
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler rbac: %s: %v\n", *services, err)
		return 1
	}
	var namespaces []string
	for _, s := range svcs {
		namespaces = append(namespaces, s.Namespace)
	}
	manifest, err := kube.ManagedRBAC(namespaces, kube.RBACOptions{ServiceAccount: *sa, Namespace: *ns})
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler rbac: %v\n", err)
		return 1
	}
	if *out == "" {
		_, _ = c.stdout.Write(manifest)
		return 0
	}
	if err := os.WriteFile(*out, manifest, 0o644); err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler rbac: %v\n", err)
		return 1
	}
	return 0
}
