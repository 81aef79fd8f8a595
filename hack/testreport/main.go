// Command testreport turns "go test -json" on standard input into what a person watching
// "make test" needs while it runs: one line per package as it finishes, with its counts and
// the running totals, the failed tests' names, a note about the packages still running when
// nothing finished for a while, and a closing summary. It writes the tests' plain output to
// -log, grouped per package like "go test -v" prints it, for hack/run-tests.sh's report.
//
//	go test -json ./... 2>&1 | testreport -log .cache/test.log
//
// It exits 1 when a test, a package or a build failed, so a pipeline keeps go test's verdict.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	logPath := flag.String("log", "", "file to write the tests' plain output to (default: none)")
	quiet := flag.Duration("heartbeat", time.Minute, "after this long without a finished package, list the ones running")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go test -json ... | testreport [-log FILE] [-heartbeat 1m]")
		os.Exit(2)
	}
	if *logPath == "" {
		os.Exit(run(os.Stdin, os.Stdout, io.Discard, *quiet, time.Now))
	}
	f, err := os.Create(*logPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(f)
	code := run(os.Stdin, os.Stdout, w, *quiet, time.Now)
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: write %s: %v\n", *logPath, err)
		code = max(code, 2)
	}
	os.Exit(code)
}

// run reads events until EOF, printing as it goes; the exit code is 1 after any failure.
func run(in io.Reader, out, log io.Writer, quiet time.Duration, now func() time.Time) int {
	r := newReport(out, log, now)
	lines := make(chan []byte)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20) // a test may print long lines
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		if err := sc.Err(); err != nil {
			lines <- []byte("testreport: reading go test output: " + err.Error())
		}
	}()
	tick := time.NewTicker(max(quiet/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return r.finish()
			}
			r.line(line)
		case <-tick.C:
			r.heartbeat(quiet)
		}
	}
}
