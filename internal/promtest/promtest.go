package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// Server is a running Prometheus started by Start or StartScraping.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Dir is the server's TSDB folder (removed when the test ends).
	Dir string
	// LogFile holds the server's output, shown when a test fails.
	LogFile string
}

// Options configures StartWith.
type Options struct {
	// Targets are loopback scrape targets, either "host:port" (path /metrics) or full
	// http URLs ("http://127.0.0.1:8080/custom/metrics"). Empty means no scrape_configs, so
	// nothing ever lands in the head block and the backfilled blocks are all there is.
	Targets []string
	// ScrapeInterval defaults to 1s.
	ScrapeInterval time.Duration
	// ReadyTimeout bounds backfill-to-ready; default 2 minutes (the machine is shared).
	ReadyTimeout time.Duration
}

// Start backfills om (OpenMetrics text, timestamps in seconds, ending with "# EOF"; nil for
// an empty server) into a fresh TSDB and serves it with Prometheus on a free 127.0.0.1 port
// until the test ends. It skips the test when the binaries are not configured (testenv).
func Start(t testing.TB, om io.Reader) *Server {
	t.Helper()
	return StartWith(t, om, Options{})
}

// StartScraping is Start plus scraping targets every second; see Options.Targets.
func StartScraping(t testing.TB, om io.Reader, targets []string) *Server {
	t.Helper()
	return StartWith(t, om, Options{Targets: targets})
}

// StartWith is Start with options.
func StartWith(t testing.TB, om io.Reader, opts Options) *Server {
	t.Helper()
	prom := testenv.PrometheusBin(t)
	promtool := testenv.PromtoolBin(t)
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	dir := t.TempDir()
	tsdb := filepath.Join(dir, "tsdb")
	if err := os.Mkdir(tsdb, 0o755); err != nil {
		t.Fatalf("promtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if om != nil {
		if err := backfill(ctx, promtool, om, dir, tsdb); err != nil {
			t.Fatalf("promtest: %v", err)
		}
	}
	cfg, err := config(opts)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatalf("promtest: %v", err)
	}
	// A free port can be taken between our probe and Prometheus' bind: try a few.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(ctx, t, prom, cfgFile, tsdb, filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt)))
		if err == nil {
			return s
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
}

func backfill(ctx context.Context, promtool string, om io.Reader, dir, tsdb string) error {
	in := filepath.Join(dir, "data.om")
	f, err := os.Create(in)
	if err != nil {
		return fmt.Errorf("write backfill input: %w", err)
	}
	_, err = io.Copy(f, om)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write backfill input: %w", err)
	}
	// --max-block-duration is hidden in 2.42 but works; 24h keeps the block count (and the
	// compaction Prometheus would do after start) small.
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics",
		"-q", "--max-block-duration=24h", in, tsdb)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backfill with promtool: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return os.Remove(in)
}

func config(opts Options) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", opts.ScrapeInterval, opts.ScrapeInterval)
	if len(opts.Targets) == 0 {
		return b.String(), nil
	}
	b.WriteString("scrape_configs:\n")
	for i, target := range opts.Targets {
		scheme, host, path := "http", target, "/metrics"
		if strings.Contains(target, "://") {
			u, err := url.Parse(target)
			if err != nil {
				return "", fmt.Errorf("scrape target %q: %w", target, err)
			}
			scheme, host = u.Scheme, u.Host
			if u.Path != "" {
				path = u.Path
			}
		}
		fmt.Fprintf(&b, "  - job_name: target-%d\n    scheme: %s\n    metrics_path: %q\n    scrape_interval: %s\n    scrape_timeout: %s\n    static_configs:\n      - targets: [%q]\n",
			i, scheme, path, opts.ScrapeInterval, opts.ScrapeInterval, host)
	}
	return b.String(), nil
}

func start(ctx context.Context, t testing.TB, prom, cfgFile, tsdb, logFile string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logF, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	// Not CommandContext: the server must outlive this function, until the test's cleanup.
	cmd := exec.Command(prom,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+tsdb,
		// Huge retention: 2.42 measures retention from the newest block and would delete
		// backfilled history otherwise.
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logF, logF
	if err := cmd.Start(); err != nil {
		logF.Close()
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logF.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		// The exit status of a process told to stop says nothing the tests need.
		select {
		case err := <-exited:
			_ = err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			err := <-exited
			_ = err
		}
	}
	s := &Server{URL: "http://" + addr, Dir: tsdb, LogFile: logFile}
	ready := s.URL + "/-/ready"
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("prometheus exited before ready (%v): %s", err, tail(logFile))
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("prometheus not ready at %s: %w: %s", addr, ctx.Err(), tail(logFile))
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(ready)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("promtest: prometheus log:\n%s", tail(logFile))
		}
	})
	return s, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

func tail(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// WaitForData polls the instant query until it returns a non-empty result (e.g. until a
// scrape target's first samples are in), failing the test after timeout.
func (s *Server) WaitForData(t testing.TB, query string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		n, err := s.resultCount(query)
		if err == nil && n > 0 {
			return
		}
		last = err
		if err == nil {
			last = errors.New("empty result")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("promtest: query %q returned no data within %s: %v", query, timeout, last)
}

func (s *Server) resultCount(query string) (int, error) {
	u := s.URL + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decode query response: %w", err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query: %s", body.Error)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body.Data.Result, &items); err != nil {
		// A scalar or string result is one value.
		return 1, nil
	}
	return len(items), nil
}
