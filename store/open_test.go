package store_test

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/store"
)

func TestOpen(t *testing.T) {
	t.Run("embedded store in a new data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		s, err := store.Open(t.Context(), "", dir, store.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		require.IsType(t, &store.Bolt{}, s)
		require.NoError(t, s.Ping(t.Context()))
		_, err = os.Stat(filepath.Join(dir, store.BoltFileName))
		require.NoError(t, err)
	})

	t.Run("no data dir and no redis", func(t *testing.T) {
		_, err := store.Open(t.Context(), "", "", store.Options{})
		require.ErrorContains(t, err, "DATA_DIR")
	})

	t.Run("bad redis url", func(t *testing.T) {
		_, err := store.Open(t.Context(), "ftp://user:secret@host", t.TempDir(), store.Options{})
		require.Error(t, err)
		require.NotContains(t, err.Error(), "secret")
	})

	t.Run("redis that does not answer yet", func(t *testing.T) {
		// A port nothing listens on: the store is returned, the failure is logged and reported
		// by Ping as unavailability.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		s, err := store.Open(t.Context(), "redis://"+addr, t.TempDir(), store.Options{Logger: logger})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		require.IsType(t, &store.Redis{}, s)
		require.ErrorIs(t, s.Ping(t.Context()), store.ErrUnavailable)
		require.Contains(t, logs.String(), "redis not answering at start")
	})
}
