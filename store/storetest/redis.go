package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/store"
)

var prefixSeq atomic.Int64

// OpenRedis opens the real Redis store on the test Redis (testenv.RedisAddr: skipped or failed
// when there is none) under a key prefix of its own, and deletes the prefix's keys when the
// test ends. opts.URL and opts.Prefix are filled in; the other options are kept.
func OpenRedis(t testing.TB, opts store.RedisOptions) *store.Redis {
	t.Helper()
	addr := testenv.RedisAddr(t)
	opts.URL = "redis://" + addr + "/0"
	opts.Prefix = fmt.Sprintf("kai-test:%d:%d:", time.Now().UnixNano(), prefixSeq.Add(1))
	r, err := store.NewRedis(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = r.Close()
		deletePrefix(t, addr, opts.Prefix)
	})
	return r
}

// deletePrefix removes every key under prefix; the test's own context is done by now.
func deletePrefix(t testing.TB, addr, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan test keys: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
		}
	}
}
