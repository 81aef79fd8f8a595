package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock advances only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestReport(t *testing.T) {
	// testdata/mixed.json is real "go test -v -json ./..." output of a module with a package
	// that fails one test (and passes a subtest, skips one), one without tests, one that does
	// not compile, and one that passes.
	mixed, err := os.ReadFile("testdata/mixed.json")
	require.NoError(t, err)
	tests := []struct {
		name     string
		input    string
		wantCode int
		wantOut  string
		// wantLog are substrings of the log, in order.
		wantLog []string
	}{
		{
			name:     "failures, skips, a build failure and no test files",
			input:    string(mixed),
			wantCode: 1,
			wantOut: `FAIL trmod/a (2 passed, 1 failed, 1 skipped, 0.0s)  [so far: 2 passed, 1 failed, 1 skipped]
     --- FAIL: TestFail
?    trmod/b [no test files]
FAIL trmod/c [build failed] (0 passed, 0 failed, 0 skipped, 0.0s)  [so far: 2 passed, 1 failed, 1 skipped]
ok   trmod/d (1 passed, 0 skipped, 0.0s)  [so far: 3 passed, 1 failed, 1 skipped]
FAIL: 3 passed, 1 failed, 1 skipped; 4 packages, 2 failed, in 0s
`,
			wantLog: []string{"--- PASS: TestOK (", "a_test.go:4: no server\n--- SKIP: TestSkip", "--- FAIL: TestFail", "FAIL\ttrmod/a",
				"?   \ttrmod/b\t[no test files]", "# trmod/c [trmod/c.test]\nc/c_test.go:3:40: cannot use", "FAIL\ttrmod/c [build failed]",
				"--- PASS: TestY", "ok  \ttrmod/d"},
		},
		{
			name: "everything passes; text outside JSON is shown as it is",
			input: `go: downloading example.com/m v1.0.0
{"Action":"start","Package":"p/x"}
{"Action":"start","Package":"p/y"}
{"Action":"output","Package":"p/y","Test":"TestB","Output":"--- PASS: TestB (0.00s)\n"}
{"Action":"pass","Package":"p/y","Test":"TestB","Elapsed":0}
{"Action":"output","Package":"p/x","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p/x","Test":"TestA","Elapsed":0}
{"Action":"output","Package":"p/y","Output":"ok  \tp/y\t1.5s\n"}
{"Action":"pass","Package":"p/y","Elapsed":1.5}
{"Action":"output","Package":"p/x","Output":"ok  \tp/x\t12.25s\n"}
{"Action":"pass","Package":"p/x","Elapsed":12.25}
`,
			wantOut: `go: downloading example.com/m v1.0.0
ok   p/y (1 passed, 0 skipped, 1.5s)  [so far: 2 passed, 0 failed, 0 skipped]
ok   p/x (1 passed, 0 skipped, 12.2s)  [so far: 2 passed, 0 failed, 0 skipped]
PASS: 2 passed, 0 failed, 0 skipped; 2 packages, 0 failed, in 0s
`,
			// Interleaved packages are logged one after the other, as go test -v prints them.
			wantLog: []string{"go: downloading", "--- PASS: TestB (0.00s)\nok  \tp/y", "--- PASS: TestA (0.00s)\nok  \tp/x"},
		},
		{
			name: "a test binary killed before its result",
			input: `{"Action":"start","Package":"p/slow"}
{"Action":"output","Package":"p/slow","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p/slow","Test":"TestHang","Output":"panic: test timed out after 1m0s\n"}
`,
			wantCode: 1,
			wantOut: `FAIL p/slow (no result: killed or timed out; 0 passed, 0 failed, 0 skipped)
FAIL: 0 passed, 0 failed, 0 skipped; 0 packages, 1 failed, in 0s
`,
			wantLog: []string{"=== RUN   TestHang\npanic: test timed out"},
		},
		{
			name:     "a build failure reported only as a build event",
			input:    `{"ImportPath":"p/z","Action":"build-output","Output":"p/z/z.go:1:1: expected 'package'\n"}` + "\n" + `{"ImportPath":"p/z","Action":"build-fail"}` + "\n",
			wantCode: 1,
			wantOut:  "FAIL: 0 passed, 0 failed, 0 skipped; 0 packages, 0 failed, in 0s\n",
			wantLog:  []string{"expected 'package'"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)}
			var out, log bytes.Buffer
			code := run(strings.NewReader(tc.input), &out, &log, time.Hour, clock.now)
			require.Equal(t, tc.wantCode, code)
			require.Equal(t, tc.wantOut, out.String())
			rest := log.String()
			for _, s := range tc.wantLog {
				i := strings.Index(rest, s)
				require.GreaterOrEqual(t, i, 0, "log lacks %q (or has it out of order):\n%s", s, log.String())
				rest = rest[i+len(s):]
			}
		})
	}
}

// After a quiet spell the report names the packages still running, and only then.
func TestHeartbeat(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	r := newReport(&out, &bytes.Buffer{}, clock.now)
	clock.t = clock.t.Add(70 * time.Second)
	r.heartbeat(time.Minute)
	require.Equal(t, "...  compiling (1m10s so far, 0 packages done)\n", out.String())

	out.Reset()
	r.line([]byte(`{"Action":"start","Package":"p/envtest"}`))
	r.line([]byte(`{"Action":"start","Package":"p/api"}`))
	clock.t = clock.t.Add(30 * time.Second)
	r.heartbeat(time.Minute)
	require.Empty(t, out.String(), "the last line is 30s old")
	clock.t = clock.t.Add(45 * time.Second)
	r.heartbeat(time.Minute)
	require.Equal(t, "...  running p/api (1m15s), p/envtest (1m15s) (2m25s so far, 0 packages done)\n", out.String())
	out.Reset()
	r.heartbeat(time.Minute)
	require.Empty(t, out.String(), "one note per quiet spell")
}
