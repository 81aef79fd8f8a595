package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// Concurrent writes share transactions; a write that fails or panics fails alone and the
// others are committed.
func TestGroupCommit(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "commit.db"), 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	g := &groupCommit{db: db}
	bucket := []byte("b")
	require.NoError(t, g.update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucket)
		return err
	}))
	errRefused := errors.New("refused")
	const writers = 64
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = g.update(func(tx *bolt.Tx) error {
				if i%10 == 3 {
					return errRefused
				}
				return tx.Bucket(bucket).Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			})
		})
	}
	wg.Wait()
	require.PanicsWithValue(t, "boom", func() {
		_ = g.update(func(*bolt.Tx) error { panic("boom") })
	})

	tests := []struct {
		name    string
		i       int
		wantErr error
	}{
		{name: "committed", i: 0},
		{name: "refused", i: 3, wantErr: errRefused},
		{name: "committed after a refused one", i: 4},
		{name: "another refused", i: writers - 1, wantErr: errRefused},
		{name: "last committed", i: writers - 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, errs[tt.i], tt.wantErr)
			require.NoError(t, db.View(func(tx *bolt.Tx) error {
				v := tx.Bucket(bucket).Get(fmt.Appendf(nil, "k%02d", tt.i))
				if tt.wantErr != nil {
					require.Nil(t, v)
				} else {
					require.Equal(t, []byte("v"), v)
				}
				return nil
			}))
		})
	}
}

// After Close, writes fail instead of hanging.
func TestGroupCommitClosed(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "commit.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	g := &groupCommit{db: db}
	require.Error(t, g.update(func(*bolt.Tx) error { return nil }))
}
