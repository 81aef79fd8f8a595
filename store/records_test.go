package store

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/kai-platform/kai-scaler/internal/testenv"
	"github.com/kai-platform/kai-scaler/scaling"
)

func TestNewRedisClient(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		masterName string
		wantType   string
		wantErr    bool
	}{
		{name: "one url", url: "redis://127.0.0.1:6379/2", wantType: "*redis.Client"},
		{name: "tls url with password", url: "rediss://user:secret@redis.example:6380", wantType: "*redis.Client"},
		{name: "sentinel url", url: "redis://sentinel-0:26379?master_name=mymaster&addr=sentinel-1:26379", wantType: "*redis.Client"},
		{name: "cluster url", url: "redis://node-0:6379?addr=node-1:6379", wantType: "*redis.ClusterClient"},
		{name: "address list is a cluster", url: "node-0:6379, node-1:6379,node-2:6379", wantType: "*redis.ClusterClient"},
		{name: "url list is a cluster", url: "redis://:secret@node-0:6379,redis://node-1:6379", wantType: "*redis.ClusterClient"},
		{name: "address list with master name is sentinel", url: "s-0:26379,s-1:26379", masterName: "mymaster", wantType: "*redis.Client"},
		{name: "one bare address", url: "127.0.0.1:6379", wantType: "*redis.Client"},
		{name: "empty", url: " ", wantErr: true},
		{name: "only commas", url: ",,", wantErr: true},
		{name: "bad scheme", url: "http://secret@host:1", wantErr: true},
		{name: "bad db", url: "redis://:secret@host:1/notadb", wantErr: true},
		{name: "bad url in list", url: "redis://:secret@host:1/x/y,host:2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newRedisClient(tt.url, tt.masterName)
			if tt.wantErr {
				require.Error(t, err)
				require.NotContains(t, err.Error(), "secret", "errors never quote credentials")
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			require.Equal(t, tt.wantType, typeName(c))
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *redis.Client:
		return "*redis.Client"
	case *redis.ClusterClient:
		return "*redis.ClusterClient"
	default:
		return "other"
	}
}

func TestNewRedisClientSetsTimeouts(t *testing.T) {
	c, err := newRedisClient("redis://127.0.0.1:6379?read_timeout=7s", "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	o := c.(*redis.Client).Options()
	require.Equal(t, redisDialTimeout, o.DialTimeout)
	require.Equal(t, 7*time.Second, o.ReadTimeout, "the URL's own setting wins")
	require.Equal(t, redisWriteTimeout, o.WriteTimeout)
	require.Equal(t, redisPoolTimeout, o.PoolTimeout)
	require.Equal(t, redisMaxRetries, o.MaxRetries)
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "connection refused", err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, want: true},
		{name: "closed client", err: redis.ErrClosed, want: true},
		{name: "pool timeout", err: redis.ErrPoolTimeout, want: true},
		{name: "deadline", err: context.DeadlineExceeded, want: true},
		{name: "loading", err: redisReply("LOADING Redis is loading the dataset in memory"), want: true},
		{name: "readonly replica", err: redisReply("READONLY You can't write against a read only replica."), want: true},
		{name: "wrong type is an answer", err: redisReply("WRONGTYPE Operation against a key holding the wrong kind of value")},
		{name: "script error is an answer", err: redisReply("ERR user_script:1: oops")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, unavailable(tt.err))
			require.Equal(t, tt.want, errors.Is(wrap("op", tt.err), ErrUnavailable))
			require.ErrorIs(t, wrap("op", tt.err), tt.err, "the cause stays reachable")
		})
	}
}

// redisReply is an error reply as go-redis returns it.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

func TestOrderedInt64(t *testing.T) {
	vals := []int64{-1 << 62, -1000, -1, 0, 1, 999, 1_700_000_000_000, 1 << 62}
	for i := 1; i < len(vals); i++ {
		require.Equal(t, -1, bytes.Compare(orderedInt64(vals[i-1]), orderedInt64(vals[i])), "%d < %d", vals[i-1], vals[i])
	}
	for _, v := range vals {
		require.Equal(t, v, fromOrderedInt64(orderedInt64(v)))
	}
}

func TestMatchEvent(t *testing.T) {
	e := scaling.Event{ID: "x", Service: "m", EventType: scaling.EventScaleUp, Timestamp: 100}
	tests := []struct {
		name string
		q    EventQuery
		want bool
	}{
		{name: "zero query", want: true},
		{name: "since equal", q: EventQuery{Since: 100}, want: true},
		{name: "since after", q: EventQuery{Since: 101}},
		{name: "until equal", q: EventQuery{Until: 100}, want: true},
		{name: "until before", q: EventQuery{Until: 99}},
		{name: "type listed", q: EventQuery{Types: []scaling.EventType{scaling.EventNoScale, scaling.EventScaleUp}}, want: true},
		{name: "type not listed", q: EventQuery{Types: []scaling.EventType{scaling.EventScaleDown}}},
		// The cursor: listing order is Timestamp, ID, service, all descending.
		{name: "cursor newer", q: EventQuery{Before: EventKey{Timestamp: 101, ID: "a", Service: "a"}}, want: true},
		{name: "cursor older", q: EventQuery{Before: EventKey{Timestamp: 99, ID: "z", Service: "z"}}},
		{name: "cursor is the event", q: EventQuery{Before: EventKeyOf(e)}},
		{name: "cursor same time, greater ID", q: EventQuery{Before: EventKey{Timestamp: 100, ID: "y", Service: "a"}}, want: true},
		{name: "cursor same time, smaller ID", q: EventQuery{Before: EventKey{Timestamp: 100, ID: "w", Service: "z"}}},
		{name: "cursor same ID, greater service", q: EventQuery{Before: EventKey{Timestamp: 100, ID: "x", Service: "n"}}, want: true},
		{name: "cursor same ID, smaller service", q: EventQuery{Before: EventKey{Timestamp: 100, ID: "x", Service: "l"}}},
		{name: "cursor and type", q: EventQuery{Before: EventKey{Timestamp: 101, ID: "x"}, Types: []scaling.EventType{scaling.EventNoScale}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, matchEvent(tt.q, e)) })
	}
}

func TestAgeCutoff(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	c, ok := ageCutoff(EventRetention{MaxAge: time.Hour}, now)
	require.True(t, ok)
	require.Equal(t, int64(10_000_000-3_600_000), c)
	_, ok = ageCutoff(EventRetention{MaxPerService: 3}, now)
	require.False(t, ok)
	require.Equal(t, DefaultEventRetention, retention(EventRetention{}))
	require.Equal(t, DefaultPredictionsPerService, predictionsPerService(0))
}

func TestMergeEvents(t *testing.T) {
	a := []scaling.Event{{ID: "a2", Timestamp: 20}, {ID: "a1", Timestamp: 10}}
	b := []scaling.Event{{ID: "b2", Timestamp: 20}, {ID: "b0", Timestamp: 5}}
	got := mergeEvents([][]scaling.Event{a, b}, 3)
	ids := make([]string, len(got))
	for i, e := range got {
		ids[i] = e.ID
	}
	require.Equal(t, []string{"b2", "a2", "a1"}, ids)
	require.NotNil(t, mergeEvents(nil, 0), "an empty listing is [] in JSON, not null")
	require.NotNil(t, mergePredictions(nil, 0))
}

// Regression guard: a record that no longer decodes is reported with ErrCorrupt, never skipped,
// by both backends.
func TestCorruptRecordsAreReported(t *testing.T) {
	ctx := t.Context()
	check := func(t *testing.T, s Store) {
		_, err := s.ListPatterns(ctx)
		require.ErrorIs(t, err, ErrCorrupt)
		_, err = s.GetPattern(ctx, "broken")
		require.ErrorIs(t, err, ErrCorrupt)
		_, err = s.PutDerivedPattern(ctx, scaling.Pattern{Service: "broken"})
		require.ErrorIs(t, err, ErrCorrupt)
		_, err = s.ListDependencies(ctx)
		require.ErrorIs(t, err, ErrCorrupt)
		ba := scaling.Dependency{SourceService: "b", TargetService: "a"}
		err = s.PutDependency(ctx, ba, func(existing []scaling.Dependency) error { return nil })
		require.ErrorIs(t, err, ErrCorrupt, "a check cannot see the path a -> b, so nothing is written")
	}
	bad := []byte(`{"service": "broken", "timeWindows": [`)

	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "corrupt.db")
		b, err := OpenBolt(path, BoltOptions{})
		require.NoError(t, err)
		require.NoError(t, b.db.Update(func(tx *bolt.Tx) error {
			return errors.Join(tx.Bucket(bucketPatterns).Put([]byte("broken"), bad),
				tx.Bucket(bucketDependencies).Put([]byte("a/b"), bad))
		}))
		t.Cleanup(func() { _ = b.Close() })
		check(t, b)
	})

	t.Run("redis", func(t *testing.T) {
		addr := testenv.RedisAddr(t)
		r, err := NewRedis(RedisOptions{URL: "redis://" + addr, Prefix: "kai-test:corrupt:" + time.Now().Format(time.RFC3339Nano) + ":"})
		require.NoError(t, err)
		ab := scaling.DependencyKey{Source: "a", Target: "b"}
		t.Cleanup(func() {
			_ = r.client.Del(context.Background(), r.patternKey("broken"), r.patternIndexKey(), r.dependencyKey(ab), r.dependencyIndexKey(), r.outKey("a")).Err()
			_ = r.Close()
		})
		require.NoError(t, r.client.Set(ctx, r.patternKey("broken"), bad, 0).Err())
		require.NoError(t, r.client.ZAdd(ctx, r.patternIndexKey(), redis.Z{Member: "broken"}).Err())
		require.NoError(t, r.client.Set(ctx, r.dependencyKey(ab), bad, 0).Err())
		require.NoError(t, r.client.ZAdd(ctx, r.dependencyIndexKey(), redis.Z{Member: dependencyMember(ab)}).Err())
		require.NoError(t, r.client.SAdd(ctx, r.outKey("a"), "b").Err())
		check(t, r)
	})
}
