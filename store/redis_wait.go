package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultWaitTimeout bounds how long a write waits for its replicas (RedisOptions.WaitReplicas)
// unless WaitTimeout or the URL's wait_timeout says otherwise: below the client's read timeout,
// so an API call fails with 503 well within its own budget.
const DefaultWaitTimeout = time.Second

// errNotReplicated is a write that the master applied but too few replicas acknowledged in
// time: it may or may not survive a failover, so it is not acknowledged (ErrUnavailable).
var errNotReplicated = errors.New("write not acknowledged by enough replicas")

// write runs fn's commands. Without WaitReplicas it runs them on the client as they come;
// with it, it queues them in one pipeline on the master serving key followed by WAIT on the
// same connection (WAIT counts the replicas that have this connection's writes), and fails
// unless enough replicas acknowledged. Every command fn issues must be on key's slot.
// fn's commands hold their replies when write returns.
func (r *Redis) write(ctx context.Context, key string, fn func(c redis.Cmdable) error) error {
	if r.waitReplicas <= 0 {
		return fn(r.client)
	}
	return r.waited(ctx, key, func(p redis.Pipeliner) { _ = fn(p) })
}

// runScript runs s like s.Run, waiting for replicas as write does when WaitReplicas is set.
// Scripts write only keys of KEYS[1]'s slot (hash tags), so KEYS[1] picks the master.
func (r *Redis) runScript(ctx context.Context, s *redis.Script, keys []string, args ...any) *redis.Cmd {
	if r.waitReplicas <= 0 {
		return s.Run(ctx, r.client, keys, args...)
	}
	var cmd *redis.Cmd
	queue := func(p redis.Pipeliner) { cmd = s.EvalSha(ctx, p, keys, args...) }
	err := r.waited(ctx, keys[0], queue)
	if err != nil && cmd != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// First use of the script on this master (or a replica promoted since): the EVALSHA
		// wrote nothing, so load it there and run it again.
		if lerr := r.loadScript(ctx, keys[0], s); lerr != nil {
			cmd.SetErr(lerr)
			return cmd
		}
		err = r.waited(ctx, keys[0], queue)
	}
	if cmd == nil { // no master to queue on
		cmd = redis.NewCmd(ctx)
	}
	if err != nil && cmd.Err() == nil {
		cmd.SetErr(err)
	}
	return cmd
}

func (r *Redis) loadScript(ctx context.Context, key string, s *redis.Script) error {
	node, err := r.masterFor(ctx, key)
	if err != nil {
		return err
	}
	if err := s.Load(ctx, node).Err(); err != nil {
		r.afterNodeError(ctx, err)
		return fmt.Errorf("load script: %w", err)
	}
	return nil
}

// waited runs queue's commands and WAIT in one pipeline on key's master.
func (r *Redis) waited(ctx context.Context, key string, queue func(p redis.Pipeliner)) error {
	node, err := r.masterFor(ctx, key)
	if err != nil {
		return err
	}
	var wait *redis.Cmd
	_, err = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		queue(p)
		// Pipelines have no WAIT method; the reply is read within the client's read timeout,
		// which NewRedis keeps above the wait timeout.
		wait = p.Do(ctx, "wait", r.waitReplicas, r.waitTimeout.Milliseconds())
		return nil
	})
	if err != nil {
		r.afterNodeError(ctx, err)
		return err
	}
	acked, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("read wait reply: %w", err)
	}
	return r.checkWait(acked)
}

func (r *Redis) checkWait(acked int64) error {
	if acked < int64(r.waitReplicas) {
		return fmt.Errorf("%w: %d of %d within %s", errNotReplicated, acked, r.waitReplicas, r.waitTimeout)
	}
	return nil
}

// masterFor is the client of the master serving key: the client itself, except on a Cluster,
// where it is the node client of key's slot (a pipeline on the ClusterClient could send WAIT
// to another node than the write).
func (r *Redis) masterFor(ctx context.Context, key string) (*redis.Client, error) {
	switch c := r.client.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, key)
		if err != nil {
			c.ReloadState(ctx)
			return nil, fmt.Errorf("find the master of %s: %w", key, err)
		}
		return node, nil
	default:
		return nil, fmt.Errorf("waiting for replicas is not supported with %T", r.client)
	}
}

// afterNodeError makes a Cluster client reload its slot map when a node client it handed out
// failed or redirected us: the ClusterClient does that by itself only for its own commands.
// The health hook does not see node clients' commands, so they are observed here.
func (r *Redis) afterNodeError(ctx context.Context, err error) {
	c, ok := r.client.(*redis.ClusterClient)
	if !ok {
		return
	}
	if unavailable(err) || redirected(err) {
		c.ReloadState(ctx)
	}
	r.health.observe(ctx, "pipeline", replyErr(err))
}

// redirected reports a MOVED or ASK reply: the slot is served elsewhere now (a failover).
func redirected(err error) bool {
	if _, ok := redis.IsMovedError(err); ok {
		return true
	}
	_, ok := redis.IsAskError(err)
	return ok
}

// waitParams takes wait_replicas and wait_timeout out of a redis:// URL's query (go-redis
// refuses parameters it does not know) and returns the URL without them.
func waitParams(raw string) (rest string, replicas int, timeout time.Duration, err error) {
	before, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, 0, 0, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", 0, 0, fmt.Errorf("parse redis url query: %w", err)
	}
	if v := q.Get("wait_replicas"); v != "" {
		replicas, err = strconv.Atoi(v)
		if err != nil || replicas < 0 {
			return "", 0, 0, fmt.Errorf("redis url: wait_replicas %q is not a count", v)
		}
	}
	if v := q.Get("wait_timeout"); v != "" {
		timeout, err = time.ParseDuration(v)
		if err != nil || timeout <= 0 {
			return "", 0, 0, fmt.Errorf("redis url: wait_timeout %q is not a positive duration", v)
		}
	}
	q.Del("wait_replicas")
	q.Del("wait_timeout")
	if len(q) == 0 {
		return before, replicas, timeout, nil
	}
	return before + "?" + q.Encode(), replicas, timeout, nil
}

// splitWaitParams applies waitParams to each entry of REDIS_URL that is a URL with a query;
// the last entry that sets a parameter wins.
func splitWaitParams(raw string) (rest string, replicas int, timeout time.Duration, err error) {
	parts := strings.Split(raw, ",")
	for i, part := range parts {
		if !strings.Contains(part, "://") {
			continue
		}
		p, n, d, err := waitParams(strings.TrimSpace(part))
		if err != nil {
			return "", 0, 0, err
		}
		parts[i] = p
		if n > 0 {
			replicas = n
		}
		if d > 0 {
			timeout = d
		}
	}
	return strings.Join(parts, ","), replicas, timeout, nil
}

// WaitReplicas is how many replicas every write waits for (0: none).
func (r *Redis) WaitReplicas() int { return r.waitReplicas }
