package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kai-platform/kai-scaler/internal/redisha"
	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

var haPrefixSeq atomic.Int64

// openHA returns an opener for the contract suite: each store gets a key prefix of its own on
// the shared deployment at url (the deployment dies with the test, so nothing is cleaned up).
func openHA(url, masterName string, waitReplicas int) func(t *testing.T) store.Store {
	return func(t *testing.T) store.Store {
		r, err := store.NewRedis(store.RedisOptions{
			URL: url, MasterName: masterName,
			Prefix:                fmt.Sprintf("kai-ha-test:%d:", haPrefixSeq.Add(1)),
			Retention:             storetest.Retention,
			PredictionsPerService: storetest.PredictionsPerService,
			Limits:                storetest.Limits,
			WaitReplicas:          waitReplicas,
		})
		if err != nil {
			t.Fatalf("open redis store: %v", err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
}

// The store's whole contract (the suite the single Redis and Bolt pass) against a real Redis
// Cluster of three masters: multi-key scripts and transactions must stay within one slot
// (CROSSSLOT otherwise), and pipelines and MGET must be split by slot. With and without
// waiting for the replica's acknowledgement.
func TestRedisClusterContract(t *testing.T) {
	c := redisha.StartCluster(t)
	url := strings.Join(c.Addrs(), ",")
	t.Run("wait=0", func(t *testing.T) { storetest.Run(t, openHA(url, "", 0)) })
	t.Run("wait=1", func(t *testing.T) { storetest.Run(t, openHA(url, "", 1)) })
	// The old layout's hashes and the new keys sit on different shards; with wait=1 the moved
	// chunks are waited for on the master of {obj} before the old hash is deleted.
	t.Run("one URL", func(t *testing.T) {
		a := c.Addrs()
		oneURL(t, "redis://"+a[0]+"?addr="+strings.Join(a[1:], "&addr=")+"&wait_replicas=1")
	})
	t.Run("migrate layout, wait=1", func(t *testing.T) {
		ctx := t.Context()
		r := openHA(url, "", 1)(t).(*store.Redis)
		raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
		t.Cleanup(func() { _ = raw.Close() })
		const n = 700 // more than one HSCAN batch
		for i := range n {
			p := scaling.Pattern{Service: fmt.Sprintf("svc-%04d", i), PatternType: scaling.PatternDaily,
				TimeWindows: []scaling.TimeWindow{{HourOfDay: i % 24, ExpectedLoad: 0.5}}}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.HSet(ctx, r.Prefix()+"patterns", p.Service, b).Err(); err != nil {
				t.Fatalf("write old layout: %v", err)
			}
		}
		moved, err := r.MigrateLayout(ctx)
		if err != nil || moved != n {
			t.Fatalf("MigrateLayout moved %d, %v; want %d", moved, err, n)
		}
		ps, err := r.ListPatterns(ctx)
		if err != nil || len(ps) != n {
			t.Fatalf("ListPatterns after migration: %d patterns, %v; want %d", len(ps), err, n)
		}
		if left, err := raw.Exists(ctx, r.Prefix()+"patterns").Result(); err != nil || left != 0 {
			t.Fatalf("old hash left: %d, %v", left, err)
		}
	})
}

// The contract against a Sentinel group, through REDIS_URL's comma-separated sentinels plus
// the master name.
func TestRedisSentinelContract(t *testing.T) {
	s := redisha.StartSentinel(t)
	url := strings.Join(s.SentinelAddrs(), ",")
	t.Run("wait=0", func(t *testing.T) { storetest.Run(t, openHA(url, s.MasterName, 0)) })
	t.Run("wait=1", func(t *testing.T) { storetest.Run(t, openHA(url, s.MasterName, 1)) })
	a := s.SentinelAddrs()
	t.Run("one URL", func(t *testing.T) {
		oneURL(t, "redis://"+a[0]+"?master_name="+s.MasterName+"&addr="+a[1]+"&addr="+a[2]+"&wait_replicas=1")
	})
}

// oneURL checks that REDIS_URL written as one URL, with wait_replicas, reaches the deployment
// and waits for a replica.
func oneURL(t *testing.T, url string) {
	r, err := store.NewRedis(store.RedisOptions{URL: url, Prefix: fmt.Sprintf("kai-ha-test:%d:", haPrefixSeq.Add(1))})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if r.WaitReplicas() != 1 {
		t.Fatalf("waits for %d replicas, want 1", r.WaitReplicas())
	}
	p := scaling.Pattern{Service: "api", PatternType: scaling.PatternDaily, TimeWindows: []scaling.TimeWindow{{HourOfDay: 3, ExpectedLoad: 0.25}}}
	if err := r.PutPattern(t.Context(), p); err != nil {
		t.Fatalf("put pattern: %v", err)
	}
	got, err := r.GetPattern(t.Context(), "api")
	if err != nil || got.TimeWindows[0] != p.TimeWindows[0] {
		t.Fatalf("get pattern: %+v, %v", got, err)
	}
}
