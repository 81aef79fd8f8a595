package store_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// crashChildEnv names the database a re-executed test binary writes to until it is killed.
const crashChildEnv = "KAI_STORE_CRASH_CHILD_DB"

func crashPattern(i int) scaling.Pattern {
	return scaling.Pattern{
		Service: fmt.Sprintf("svc-%d", i), PatternType: scaling.PatternDaily, Source: scaling.SourceManual,
		TimeWindows: []scaling.TimeWindow{{HourOfDay: i % 24, ExpectedLoad: float64(i%100) / 100}},
		LastUpdated: int64(i),
	}
}

func crashEvent(i int) scaling.Event {
	return scaling.Event{
		ID: fmt.Sprintf("ev-%d", i), Service: fmt.Sprintf("svc-%d", i%5), EventType: scaling.EventScaleUp,
		CurrentReplicas: 1, DesiredReplicas: 2, TriggerMetric: "resource:cpu",
		Timestamp: time.Now().UnixMilli(),
	}
}

// runCrashChild writes records in a loop and prints "acked N" after write N returned, until
// the parent kills it.
func runCrashChild(t *testing.T, path string) {
	b, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatalf("child open: %v", err)
	}
	ctx := t.Context()
	for i := 0; ; i++ {
		if err := b.PutPattern(ctx, crashPattern(i)); err != nil {
			t.Fatalf("child put pattern %d: %v", i, err)
		}
		if err := b.AppendEvents(ctx, crashEvent(i)); err != nil {
			t.Fatalf("child append event %d: %v", i, err)
		}
		// The protocol with the parent: stdout is a pipe it reads line by line.
		fmt.Printf("acked %d\n", i)
	}
}

// TestBoltSurvivesKill9 kills a writing process with SIGKILL and checks that every write it
// acknowledged is in the reopened file, and that the file is consistent.
func TestBoltSurvivesKill9(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		runCrashChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Read acknowledgements until enough writes landed, then kill mid-loop.
	const wantAcks = 150
	acked := -1
	lines := bufio.NewScanner(stdout)
	deadline := time.Now().Add(60 * time.Second)
	for acked+1 < wantAcks && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked, err = strconv.Atoi(n)
			require.NoError(t, err)
		}
		require.True(t, time.Now().Before(deadline), "child too slow: %d acks", acked+1)
	}
	require.NoError(t, cmd.Process.Kill())
	// Acks printed before the kill landed are acknowledged writes too.
	for lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked, err = strconv.Atoi(n)
			require.NoError(t, err)
		}
	}
	var exitErr *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exitErr, "the child was killed, not finished")
	require.GreaterOrEqual(t, acked+1, wantAcks)
	t.Logf("child acknowledged %d writes before SIGKILL", acked+1)

	// The file is consistent at the bbolt level (pages, freelist)...
	requireBoltConsistent(t, path)

	// ...and every acknowledged record is there and decodes.
	b, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx := t.Context()
	patterns, err := b.ListPatterns(ctx)
	require.NoError(t, err, "no stored pattern is corrupt")
	require.GreaterOrEqual(t, len(patterns), acked+1)
	events, err := b.ListEvents(ctx, store.EventQuery{})
	require.NoError(t, err, "no stored event is corrupt")
	ids := make(map[string]bool, len(events))
	for _, e := range events {
		ids[e.ID] = true
	}
	for i := 0; i <= acked; i++ {
		got, err := b.GetPattern(ctx, crashPattern(i).Service)
		require.NoError(t, err, "acknowledged pattern %d", i)
		require.Equal(t, crashPattern(i), got)
		require.True(t, ids[crashEvent(i).ID], "acknowledged event %d", i)
	}

	// Writes after the recovery, which free pages and reuse them, keep the file consistent.
	for i := range 200 {
		p := crashPattern(i)
		p.LastUpdated += 1_000_000
		require.NoError(t, b.PutPattern(ctx, p))
		if i%2 == 0 {
			require.NoError(t, b.DeletePattern(ctx, p.Service))
		}
	}
	require.NoError(t, b.Close())
	requireBoltConsistent(t, path)
}

// requireBoltConsistent checks the bbolt file at path page by page (tx.Check: pages, freelist).
func requireBoltConsistent(t *testing.T, path string) {
	t.Helper()
	raw, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, raw.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}))
}

func TestBoltLockedFileFailsFast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "locked.db")
	first, err := store.OpenBolt(path, store.BoltOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Close() })

	start := time.Now()
	_, err = store.OpenBolt(path, store.BoltOptions{LockTimeout: 200 * time.Millisecond})
	require.ErrorIs(t, err, berrors.ErrTimeout)
	require.ErrorContains(t, err, "locked by another process")
	require.Less(t, time.Since(start), 5*time.Second)
}
