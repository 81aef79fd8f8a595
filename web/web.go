package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFS embed.FS

// Options configures the admin page.
type Options struct {
	// GrafanaURL is GRAFANA_URL: its origin is the only one the page may frame (the
	// dashboards page). Empty: no frames at all.
	GrafanaURL string
}

// asset is one embedded file, ready to serve: its bytes, a gzip copy when that is smaller,
// and a strong ETag so a reload revalidates with a 304 instead of downloading again.
type asset struct {
	name        string
	contentType string
	body        []byte
	gzipped     []byte
	etag        string
}

// handler serves the assets of static/ at /ui/<path> and index.html at /.
type handler struct {
	csp string
}

// embedded reads and compresses the embedded files once per process, on the first request:
// serve starts without that work (~20 ms), and every handler shares the result.
var embedded = sync.OnceValues(func() (map[string]*asset, error) { return loadAssets(staticFS, "static") })

// Handler returns the admin page's handler, to mount at / and /ui/*.
func Handler(opts Options) http.Handler {
	return &handler{csp: ContentSecurityPolicy(opts.GrafanaURL)}
}

// ContentSecurityPolicy is the policy of every answer: nothing inline, nothing from another
// origin, and frames only from Grafana's origin when grafanaURL is an absolute URL.
func ContentSecurityPolicy(grafanaURL string) string {
	frames := "'none'"
	if o := origin(grafanaURL); o != "" {
		frames = o
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src 'self'",
		"frame-src " + frames,
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// origin is scheme://host[:port] of an absolute http(s) URL, or "" for anything else (a
// relative GRAFANA_URL is the page's own origin, which 'self' would not cover for frames;
// such setups are rare and the page then shows Grafana's links instead).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !hostRE.MatchString(u.Host) {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// hostRE is what a host[:port] in a CSP source may hold: no ';' or space that would end the
// directive.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

func loadAssets(fsys fs.FS, root string) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		name := strings.TrimPrefix(p, root+"/")
		a, err := newAsset(name, body)
		if err != nil {
			return err
		}
		out[name] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load embedded assets: %w", err)
	}
	if out["index.html"] == nil {
		return nil, fmt.Errorf("load embedded assets: no index.html")
	}
	return out, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js": // the platform's table may say text/plain; modules need a JavaScript type
		ct = "text/javascript; charset=utf-8"
	case "":
		ct = "text/plain; charset=utf-8" // LICENSE, VERSION
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	a := &asset{name: name, contentType: ct, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip %s: %w", name, err)
	}
	if buf.Len() < len(body) {
		a.gzipped = buf.Bytes()
	}
	return a, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(r.URL.Path, "/ui/")
	}
	assets, err := embedded()
	if err != nil { // a build defect, caught by the package's tests
		http.Error(w, "admin page unavailable: "+err.Error(), http.StatusInternalServerError)
		return
	}
	a := assets[name]
	if a == nil || name == "" {
		http.NotFound(w, r)
		return
	}
	// Revalidate every time: the files change with the binary, and a 304 costs ~200 bytes.
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	hdr.Add("Vary", "Accept-Encoding")
	body := a.body
	if a.gzipped != nil && acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	// ServeContent answers If-None-Match with 304 and HEAD without a body.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(strings.ReplaceAll(q, " ", "")) != "q=0" {
			return true
		}
	}
	return false
}
