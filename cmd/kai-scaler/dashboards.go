package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kai-platform/kai-scaler/dashboards"
)

// runDashboards writes the Grafana dashboards' JSON (and, when asked, the PrometheusRule
// manifest of the alert rules) so the committed copies can be regenerated:
//
//	kai-scaler dashboards --out dashboards/json --prometheusrule deploy/base/prometheusrule.yaml
func runDashboards(_ context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("dashboards", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	out := fs.String("out", "", "folder to write the dashboards' JSON into (created if missing)")
	rule := fs.String("prometheusrule", "", "also write the alert rules as a PrometheusRule manifest to this file")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: kai-scaler dashboards --out DIR [--prometheusrule FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	written, err := dashboards.Write(*out)
	for _, p := range written {
		fmt.Fprintln(c.stdout, p)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler dashboards: %v\n", err)
		return 1
	}
	if *rule != "" {
		if err := writePrometheusRule(*rule); err != nil {
			fmt.Fprintf(c.stderr, "kai-scaler dashboards: %v\n", err)
			return 1
		}
		fmt.Fprintln(c.stdout, *rule)
	}
	return 0
}

func writePrometheusRule(path string) error {
	b, err := dashboards.PrometheusRule()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder of %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write prometheus rule: %w", err)
	}
	return nil
}
