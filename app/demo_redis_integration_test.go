package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/internal/testenv"
)

// TestDemoRestartOnRedisResumesTheClock: on Redis the demo keeps the previous run's records
// and its clock resumes after them, so restarts serve fresh predictions within 10 s there too.
func TestDemoRestartOnRedisResumesTheClock(t *testing.T) {
	addr := testenv.RedisAddr(t)
	prefix := fmt.Sprintf("kai-test-demo-%d:", time.Now().UnixNano())
	t.Cleanup(func() { deleteRedisPrefix(t, addr, prefix) })
	onRedis := func(speed float64) func(*Config) {
		return func(c *Config) { c.RedisURL, c.RedisPrefix, c.DemoSpeed = "redis://"+addr+"/0", prefix, speed }
	}
	for restart := 1; restart <= 2; restart++ {
		ahead := startDemoWith(t, onRedis(1800))
		// Setting the scene, not the target: three fits take a minute and more on a loaded machine.
		require.Eventually(t, func() bool { return ahead.logs.count("forecast run finished") >= 3 }, 3*time.Minute, 50*time.Millisecond,
			"restart %d: the run before fits hours ahead; log:\n%s", restart, ahead.logs)
		ahead.stop()

		d := startDemoWith(t, onRedis(60))
		m, ok := d.logs.find("demo on Redis: the previous demo run's records are kept, and the simulated clock resumes after the newest of them so none is dated ahead of it")
		require.True(t, ok, "restart %d: the log says how; log:\n%s", restart, d.logs)
		start, err := time.Parse(time.RFC3339, m["simulated_start"].(string))
		require.NoError(t, err)
		require.True(t, start.After(time.Now().Add(time.Hour)), "restart %d: the clock resumes hours ahead, after the records", restart)
		require.Eventually(t, func() bool { return allFresh(t, d) }, 10*time.Second, 100*time.Millisecond,
			"restart %d: predictions fresh within 10 s; log:\n%s", restart, d.logs)
		d.stop()
	}
}

func deleteRedisPrefix(t *testing.T, addr, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	if len(keys) > 0 {
		require.NoError(t, c.Del(ctx, keys...).Err())
	}
}
