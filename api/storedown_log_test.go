package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/store"
)

// TestStoreDownIsNotLoggedPerRequest: while the store is unavailable every request answers
// 503, and none logs a line at info or above (the store logs the outage's start and end).
// Regression test for issue 11, item 11.
func TestStoreDownIsNotLoggedPerRequest(t *testing.T) {
	st := newMemStore()
	st.down = fmt.Errorf("get pattern of x: %w: dial tcp 127.0.0.1:1: connect: connection refused", store.ErrUnavailable)
	var logs bytes.Buffer
	ts := newTestServer(t, st, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for range 50 {
		rec := ts.do(t, request{method: "GET", path: "/api/predictive-scaling/patterns/x"})
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	}
	require.Empty(t, logs.String())

	// Other server errors are still logged.
	st.down = fmt.Errorf("decode pattern: unexpected end of JSON input")
	rec := ts.do(t, request{method: "GET", path: "/api/predictive-scaling/patterns/x"})
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, logs.String(), "level=ERROR")
}
