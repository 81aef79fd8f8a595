package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/kai-platform/kai-scaler/internal/buildinfo"
)

// runVersion is `kai-scaler version`: the version, the revision and the Go version.
func runVersion(_ context.Context, c cli, args []string) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if code, extra := extraArgsExit(c.stderr, fs); extra {
		return code
	}
	i := buildinfo.Get()
	fmt.Fprintf(c.stdout, "kai-scaler %s\nrevision: %s\ngo: %s\n", i.Version, i.Revision, i.GoVersion)
	return exitOK
}
