package store_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

func openBolt(t *testing.T) store.Store {
	t.Helper()
	b, err := store.OpenBolt(filepath.Join(t.TempDir(), "kai-scaler.db"), store.BoltOptions{
		Retention:             storetest.Retention,
		PredictionsPerService: storetest.PredictionsPerService,
		Limits:                storetest.Limits,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBoltContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openBolt)
}
