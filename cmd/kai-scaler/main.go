// Command kai-scaler forecasts each Kubernetes service's load from Prometheus history and
// raises HPA floors ahead of the peaks. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// cli is what every subcommand gets from the process, so tests can run them in-process.
type cli struct {
	stdout, stderr io.Writer
	// getenv reads configuration variables (os.Getenv in main).
	getenv func(string) string
}

// Exit codes of every subcommand.
const (
	exitOK    = 0
	exitFatal = 1 // nothing trustworthy was written: bad input file, I/O error
	exitUsage = 2 // bad flags
	// exitPartial: forecast and backtest wrote the series that worked and named each one
	// that could not be forecast on stderr with its reason (issue 9).
	exitPartial = 3
)

// exitCodesHelp documents the exit codes in forecast's and backtest's usage.
const exitCodesHelp = `
Exit status: 0 every series done; 1 fatal (unreadable or malformed input, write error:
nothing is trusted, an existing output file is left as it was); 2 bad flags; 3 some series
could not be forecast or scored: each is named on stderr with the reason, the others are
written.
`

// command is one subcommand. run returns the process exit code (exitOK, exitFatal, ...).
type command struct {
	summary string
	run     func(ctx context.Context, c cli, args []string) int
}

// commands lists the subcommands; each lives in a file of its name.
var commands = map[string]command{
	// subcommands are added here, one line each: "name": {summary, runName},
	"forecast":   {"fit each series of a CSV file and write its forecast and upper bound", runForecast},
	"simulate":   {"replay a load trace through a simulated HPA, reactive and with predictive floors", runSimulate},
	"backtest":   {"score every forecast model on a CSV file by rolling-origin backtest", runBacktest},
	"dashboards": {"write the Grafana dashboards JSON (and the alert PrometheusRule)", runDashboards},
	"serve":      {"serve the REST API and run the enabled scaling features", runServe},
	"rbac":       {"write the Roles and RoleBindings kai-scaler needs in the namespaces of a services file", runRBAC},
	"restore":    {"put every HPA floor kai-scaler raised back to its base and remove its annotations", runRestore},
	"version":    {"print the version, the revision and the Go version", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, c cli, args []string) int {
	// A command's stderr takes lines from several goroutines at once: forecast's and
	// backtest's progress, Prometheus' retries logged while the series are read, and the
	// results. A writer such as a test's buffer is not safe for that.
	c.stderr = &lockedWriter{w: c.stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(c.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "kai-scaler: unknown command %q\n\n", args[0])
		usage(c.stderr)
		return 2
	}
	return cmd.run(ctx, c, args[1:])
}

// parseExit is the exit code after fs.Parse failed with err: -h and --help asked for the
// usage, which is no error.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// extraArgsExit reports on w the arguments left after fs's flags, for a command that takes
// none: it returns exitUsage and true when there are any, so one stray word is refused with
// the same line by every command instead of reading as a missing flag.
func extraArgsExit(w io.Writer, fs *flag.FlagSet) (int, bool) {
	if fs.NArg() == 0 {
		return exitOK, false
	}
	fmt.Fprintf(w, "kai-scaler %s: unexpected arguments: %s\n", fs.Name(), strings.Join(fs.Args(), " "))
	return exitUsage, true
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kai-scaler <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"kai-scaler <command> -h\" for a command's flags.")
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
