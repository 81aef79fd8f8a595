package store_test

import (
	"testing"

	"github.com/kai-platform/kai-scaler/store"
	"github.com/kai-platform/kai-scaler/store/storetest"
)

// openRedis returns a store on the shared test Redis under a key prefix of its own.
func openRedis(t *testing.T) store.Store { return openRedisTB(t, storetest.Retention) }

func openRedisTB(t testing.TB, retention store.EventRetention) store.Store {
	return storetest.OpenRedis(t, store.RedisOptions{Retention: retention, PredictionsPerService: storetest.PredictionsPerService, Limits: storetest.Limits})
}

func TestRedisContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openRedis)
}
