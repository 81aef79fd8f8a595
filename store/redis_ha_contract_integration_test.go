package store_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kai-platform/kai-scaler/internal/redisha"
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
}

// The contract against a Sentinel group, through REDIS_URL's comma-separated sentinels plus
// the master name.
func TestRedisSentinelContract(t *testing.T) {
	s := redisha.StartSentinel(t)
	url := strings.Join(s.SentinelAddrs(), ",")
	t.Run("wait=0", func(t *testing.T) { storetest.Run(t, openHA(url, s.MasterName, 0)) })
	t.Run("wait=1", func(t *testing.T) { storetest.Run(t, openHA(url, s.MasterName, 1)) })
}
