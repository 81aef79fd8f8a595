package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kai-platform/kai-scaler/app"
)

// runServe parses serve's flags and environment, builds the logger and the registry, and
// hands over to app.Run, the composition root.
func runServe(ctx context.Context, c cli, args []string) int {
	opts, err := parseOptions(args, c.getenv, c.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = opts.CheckAuth()
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "kai-scaler serve: %v\n", err)
		return 2
	}
	logger := newLogger(c.stderr, opts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if err := app.Run(ctx, opts.Config, logger, reg); err != nil {
		logger.Error("serve stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, opts Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.LogLevel}
	if opts.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}
