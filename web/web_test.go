package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	h := Handler(Options{})
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string
		wantBody           string // a substring
	}{
		{"index at /", "GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/ui/js/app.js"></script>`},
		{"module", "GET", "/ui/js/app.js", 200, "text/javascript; charset=utf-8", "import"},
		{"stylesheet", "GET", "/ui/app.css", 200, "text/css; charset=utf-8", ".grid"},
		{"icon", "GET", "/ui/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"chart library", "GET", "/ui/vendor/uplot/uPlot.iife.min.js", 200, "text/javascript; charset=utf-8", "uPlot (v1.6.32)"},
		{"chart library licence", "GET", "/ui/vendor/uplot/LICENSE", 200, "text/plain; charset=utf-8", "Leon Sorokin"},
		{"head", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"unknown file", "GET", "/ui/nope.js", 404, "", ""},
		{"folder", "GET", "/ui/js/", 404, "", ""},
		{"bare /ui/", "GET", "/ui/", 404, "", ""},
		{"a write", "POST", "/", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, tc.path, nil)
			require.Equal(t, tc.wantStatus, rec.Code)
			// Every answer, errors too, carries the policy.
			require.Equal(t, ContentSecurityPolicy(""), rec.Header().Get("Content-Security-Policy"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			if tc.wantType != "" {
				require.Equal(t, tc.wantType, rec.Header().Get("Content-Type"))
			}
			require.Contains(t, rec.Body.String(), tc.wantBody)
			if tc.method == "HEAD" {
				require.Empty(t, rec.Body.String())
			}
		})
	}
}

func TestHandlerGzipAndRevalidation(t *testing.T) {
	h := Handler(Options{})
	plain := serve(t, h, "GET", "/ui/vendor/uplot/uPlot.iife.min.js", nil)
	require.Empty(t, plain.Header().Get("Content-Encoding"))
	zipped := serve(t, h, "GET", "/ui/vendor/uplot/uPlot.iife.min.js", map[string]string{"Accept-Encoding": "br, gzip"})
	require.Equal(t, "gzip", zipped.Header().Get("Content-Encoding"))
	require.Less(t, zipped.Body.Len(), plain.Body.Len()/2)
	zr, err := gzip.NewReader(zipped.Body)
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plain.Body.Bytes(), unzipped)
	refused := serve(t, h, "GET", "/ui/vendor/uplot/uPlot.iife.min.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	require.Empty(t, refused.Header().Get("Content-Encoding"))

	etag := plain.Header().Get("ETag")
	require.NotEmpty(t, etag)
	again := serve(t, h, "GET", "/ui/vendor/uplot/uPlot.iife.min.js", map[string]string{"If-None-Match": etag})
	require.Equal(t, http.StatusNotModified, again.Code)
	require.Empty(t, again.Body.String())
}

func TestContentSecurityPolicy(t *testing.T) {
	tests := []struct {
		grafana   string
		wantFrame string
	}{
		{"", "frame-src 'none'"},
		{"https://grafana.example.com:3000/sub/path?x=1", "frame-src https://grafana.example.com:3000"},
		{"http://127.0.0.1:3000", "frame-src http://127.0.0.1:3000"},
		{"/grafana", "frame-src 'none'"},
		{"javascript:alert(1)", "frame-src 'none'"},
		{"https://a.example; script-src *", "frame-src 'none'"},
		{"https://a.example;script-src", "frame-src 'none'"},
		{"http://[::1]:3000/", "frame-src http://[::1]:3000"},
	}
	for _, tc := range tests {
		t.Run(tc.grafana, func(t *testing.T) {
			csp := ContentSecurityPolicy(tc.grafana)
			require.Contains(t, csp, tc.wantFrame)
			// Nothing inline, ever.
			require.Contains(t, csp, "script-src 'self';")
			require.Contains(t, csp, "style-src 'self';")
			require.NotContains(t, csp, "unsafe")
			require.Equal(t, 9, strings.Count(csp, ";")+1, "one directive was added by the URL: %s", csp)
		})
	}
}

// The page's own files keep to what the policy and the escaping rule ask: no inline script
// or style, no event-handler attributes, and no API text parsed as HTML.
func TestAssetsHaveNoInlineCodeNorHTMLSinks(t *testing.T) {
	index, err := fs.ReadFile(staticFS, "static/index.html")
	require.NoError(t, err)
	for _, re := range []string{`<script(?:\s+[^>]*)?>\s*[^<\s]`, `\sstyle\s*=`, `\son[a-z]+\s*=`, `<style`} {
		require.NotRegexp(t, regexp.MustCompile(`(?i)`+re), string(index))
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(index), -1) {
		require.Contains(t, m, `src="/ui/`, m)
	}
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|\.style\.|setAttribute\(\s*["']style`)
	n := 0
	err = fs.WalkDir(staticFS, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		require.NoError(t, err)
		require.NotRegexp(t, sinks, string(b), p)
		// Every relative import names an embedded module.
		for _, m := range regexp.MustCompile(`from "\./([a-z]+\.js)"`).FindAllStringSubmatch(string(b), -1) {
			_, err := fs.Stat(staticFS, "static/js/"+m[1])
			require.NoError(t, err, "%s imports %s", p, m[1])
		}
		n++
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 9)
}

// The vendored chart library is the pinned version, with its licence beside it.
func TestVendoredUPlot(t *testing.T) {
	js, err := fs.ReadFile(staticFS, "static/vendor/uplot/uPlot.iife.min.js")
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(js, []byte("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")))
	lic, err := fs.ReadFile(staticFS, "static/vendor/uplot/LICENSE")
	require.NoError(t, err)
	require.Contains(t, string(lic), "The MIT License")
	ver, err := fs.ReadFile(staticFS, "static/vendor/uplot/VERSION")
	require.NoError(t, err)
	require.Contains(t, string(ver), "uPlot 1.6.32")
	_, err = fs.ReadFile(staticFS, "static/vendor/uplot/uPlot.min.css")
	require.NoError(t, err)
}
