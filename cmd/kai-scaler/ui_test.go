package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// serve mounts the admin page (issue 13) at / without the token, under a policy that frames
// only GRAFANA_URL's origin; the API behind it keeps the token.
func TestServeAdminPage(t *testing.T) {
	base, sink, stop := startServe(t, map[string]string{
		"DATA_DIR": t.TempDir(), "GRAFANA_URL": "http://grafana.test:3000/", "API_TOKEN": "tok",
	})
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-src http://grafana.test:3000;")
	require.Contains(t, string(body), `src="/ui/js/app.js"`)

	code, _ := httpDo(t, "GET", base+"/ui/js/app.js", "", nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = httpDo(t, "GET", base+"/api/dashboards", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, 0, stop(), "log:\n%s", sink.String())
}
