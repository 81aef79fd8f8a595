package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// event is one line of "go test -json" (cmd/test2json), including the build events of
// go test -json (ImportPath, build-output, build-fail).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

// counts are test results; subtests count like tests, as "--- PASS" lines do.
type counts struct{ passed, failed, skipped int }

func (c counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.passed, c.failed, c.skipped)
}

type pkgState struct {
	started time.Time
	counts  counts
	failed  []string // failed tests, in order
	output  bytes.Buffer
}

// report accumulates events. Not safe for concurrent use: run calls it from one goroutine.
type report struct {
	out, log io.Writer
	now      func() time.Time
	start    time.Time
	// lastLine is when a line was last printed, for the heartbeat.
	lastLine time.Time

	pkgs map[string]*pkgState
	// builds holds compiler output by import path ("pkg" or "pkg [pkg.test]") until the
	// package whose build failed reports.
	builds   map[string]*bytes.Buffer
	total    counts
	done     int // packages finished, with tests or not
	pkgFails int
	// failed is true after any failure, including output go test printed outside JSON
	// (a build error of a package that did not report as JSON).
	failed bool
}

func newReport(out, log io.Writer, now func() time.Time) *report {
	t := now()
	return &report{out: out, log: log, now: now, start: t, lastLine: t, pkgs: map[string]*pkgState{}, builds: map[string]*bytes.Buffer{}}
}

func (r *report) pkg(name string) *pkgState {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgState{started: r.now()}
		r.pkgs[name] = p
	}
	return p
}

func (r *report) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format, args...)
	r.lastLine = r.now()
}

// line handles one line of input: a JSON event, or text go test printed outside JSON
// (module downloads, errors before any package ran), which is shown and logged as it is.
func (r *report) line(b []byte) {
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.Action == "" {
		r.printf("%s\n", b)
		fmt.Fprintf(r.log, "%s\n", b)
		return
	}
	r.event(e)
}

func (r *report) event(e event) {
	switch e.Action {
	case "build-output":
		// Compiler errors: the failing package's result names them (FailedBuild).
		b := r.builds[e.ImportPath]
		if b == nil {
			b = new(bytes.Buffer)
			r.builds[e.ImportPath] = b
		}
		b.WriteString(e.Output)
		return
	case "build-fail":
		r.failed = true
		return
	}
	if e.Package == "" {
		return
	}
	p := r.pkg(e.Package)
	switch e.Action {
	case "start":
		p.started = r.now()
	case "output":
		p.output.WriteString(e.Output)
	case "pass", "fail", "skip":
		if e.Test != "" {
			switch e.Action {
			case "pass":
				p.counts.passed++
				r.total.passed++
			case "fail":
				p.counts.failed++
				r.total.failed++
				p.failed = append(p.failed, e.Test)
				r.failed = true
			case "skip":
				p.counts.skipped++
				r.total.skipped++
			}
			return
		}
		r.finishPackage(e, p)
	}
}

// finishPackage prints the package's line and writes its output to the log.
func (r *report) finishPackage(e event, p *pkgState) {
	r.done++
	if b := r.builds[e.FailedBuild]; b != nil {
		_, _ = r.log.Write(b.Bytes())
		delete(r.builds, e.FailedBuild)
	}
	_, _ = r.log.Write(p.output.Bytes())
	elapsed := fmt.Sprintf("%.1fs", e.Elapsed)
	switch e.Action {
	case "skip":
		// No test files: one short line, no totals (nothing ran).
		r.printf("?    %s [no test files]\n", e.Package)
	case "fail":
		r.failed = true
		r.pkgFails++
		why := ""
		if e.FailedBuild != "" {
			why = " [build failed]"
		}
		r.printf("FAIL %s%s (%s, %s)  [so far: %s]\n", e.Package, why, p.counts, elapsed, r.total)
		for _, t := range p.failed {
			r.printf("     --- FAIL: %s\n", t)
		}
	default:
		r.printf("ok   %s (%d passed, %d skipped, %s)  [so far: %s]\n", e.Package, p.counts.passed, p.counts.skipped, elapsed, r.total)
	}
	delete(r.pkgs, e.Package)
}

// heartbeat lists the packages still running when no line was printed for quiet: the first
// package of a cold "make test" compiles for minutes.
func (r *report) heartbeat(quiet time.Duration) {
	now := r.now()
	if now.Sub(r.lastLine) < quiet {
		return
	}
	var running []string
	for name, p := range r.pkgs {
		running = append(running, fmt.Sprintf("%s (%s)", name, now.Sub(p.started).Round(time.Second)))
	}
	slices.Sort(running)
	if len(running) == 0 {
		r.printf("...  compiling (%s so far, %d packages done)\n", now.Sub(r.start).Round(time.Second), r.done)
		return
	}
	r.printf("...  running %s (%s so far, %d packages done)\n", strings.Join(running, ", "), now.Sub(r.start).Round(time.Second), r.done)
}

// finish logs what never finished (a test binary killed by -timeout prints no result), prints
// the summary and returns the exit code.
func (r *report) finish() int {
	for _, name := range slices.Sorted(maps.Keys(r.builds)) {
		_, _ = r.log.Write(r.builds[name].Bytes())
	}
	for _, name := range slices.Sorted(maps.Keys(r.pkgs)) {
		p := r.pkgs[name]
		_, _ = r.log.Write(p.output.Bytes())
		r.failed = true
		r.pkgFails++
		r.printf("FAIL %s (no result: killed or timed out; %s)\n", name, p.counts)
	}
	verdict := "PASS"
	if r.failed {
		verdict = "FAIL"
	}
	r.printf("%s: %s; %d packages, %d failed, in %s\n", verdict, r.total, r.done, r.pkgFails, r.now().Sub(r.start).Round(time.Second))
	if r.failed {
		return 1
	}
	return 0
}
