package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/kai-platform/kai-scaler/scaling"
)

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// URL is REDIS_URL: one redis:// or rediss:// URL (go-redis ParseURL syntax; with a
	// master_name query parameter it names Sentinels, with addr parameters a Cluster), or
	// several comma-separated addresses (host:port or redis://host:port), which mean a
	// Cluster, or Sentinels when MasterName is set.
	URL string
	// MasterName is the Sentinel master name used with a comma-separated address list.
	MasterName string
	// Prefix starts every key; default "kai:". Tests use a unique prefix each.
	Prefix string
	// Retention bounds each service's event log and floor decision record; zero means DefaultEventRetention.
	Retention EventRetention
	// PredictionsPerService is how many predictions each service keeps; default 48.
	PredictionsPerService int
	// Now is the clock event retention by age is measured against; default time.Now.
	Now func() time.Time
	// Limits cap the stored patterns and dependencies.
	Limits Limits
	// Logger receives one line when Redis stops answering and one when it answers again;
	// nil discards them.
	Logger *slog.Logger
	// Registerer, when set, gets kai_store_up, kai_store_outages_total and
	// kai_store_failed_commands_total.
	Registerer prometheus.Registerer
	// WaitReplicas, when > 0, makes every write wait (Redis WAIT) until that many replicas
	// acknowledged it, at most WaitTimeout; a write they do not acknowledge in time fails with
	// ErrUnavailable. Redis replicates asynchronously: without it, a write acknowledged just
	// before its master dies can be missing on the replica that takes over (Sentinel, Cluster).
	WaitReplicas int
	// WaitTimeout bounds the wait for replicas; default DefaultWaitTimeout.
	WaitTimeout time.Duration
}

// Timeouts NewRedis sets on the client unless the URL sets them: a dead server fails calls
// with ErrUnavailable within a few seconds instead of hanging the API.
const (
	redisDialTimeout  = 2 * time.Second
	redisReadTimeout  = 3 * time.Second
	redisWriteTimeout = 3 * time.Second
	redisPoolTimeout  = 2 * time.Second
	// redisMaxRetries is how often go-redis retries a command after a network error; one
	// retry hides a connection dropped by a server restart without multiplying timeouts.
	redisMaxRetries = 1
	// maxTxAttempts bounds optimistic transactions (WATCH/MULTI) that lose to concurrent writers.
	maxTxAttempts = 64
)

// Redis is a Store kept in Redis, shared by every replica of the scaler. Safe for concurrent use.
type Redis struct {
	client    redis.UniversalClient
	prefix    string
	retention EventRetention
	keep      int
	now       func() time.Time
	health    *health
	limits    Limits
	// waitReplicas > 0 makes every write wait for that many replicas (redis_wait.go).
	waitReplicas int
	waitTimeout  time.Duration
}

var _ Store = (*Redis)(nil)

// NewRedis connects to the Redis named by opts.URL. It does not wait for the server: a Redis
// that is down at start makes calls fail with ErrUnavailable until it answers (see Ping).
func NewRedis(opts RedisOptions) (*Redis, error) {
	raw, waitReplicas, waitTimeout, err := splitWaitParams(opts.URL)
	if err != nil {
		return nil, err
	}
	// Options win over the URL: a caller that sets them means them.
	if opts.WaitReplicas > 0 {
		waitReplicas = opts.WaitReplicas
	}
	if opts.WaitTimeout > 0 {
		waitTimeout = opts.WaitTimeout
	}
	if waitTimeout <= 0 {
		waitTimeout = DefaultWaitTimeout
	}
	if waitReplicas > 0 && waitTimeout >= redisReadTimeout {
		// WAIT's reply is read within the read timeout; a longer wait would read as a dead server.
		return nil, fmt.Errorf("redis wait timeout %s must be below the read timeout %s", waitTimeout, redisReadTimeout)
	}
	client, err := newRedisClient(raw, opts.MasterName)
	if err != nil {
		return nil, err
	}
	r := &Redis{
		waitReplicas: waitReplicas,
		waitTimeout:  waitTimeout,
		client:       client,
		prefix:       opts.Prefix,
		retention:    retention(opts.Retention),
		keep:         predictionsPerService(opts.PredictionsPerService),
		now:          opts.Now,
		limits:       opts.Limits.withDefaults(),
	}
	if r.prefix == "" {
		r.prefix = "kai:"
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.health = newHealth(opts.Logger, opts.Registerer, time.Now)
	quietRedisClientLog(r.health.log)
	client.AddHook(redisHealthHook{r.health})
	return r, nil
}

// newRedisClient builds the go-redis client REDIS_URL describes. Errors never quote the URL:
// it may carry a password.
func newRedisClient(raw, masterName string) (redis.UniversalClient, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("redis url is empty")
	}
	if !strings.Contains(raw, ",") && strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("parse redis url: %w", redactURLError(err))
		}
		q := u.Query()
		switch {
		case q.Has("master_name"):
			o, err := redis.ParseFailoverURL(raw)
			if err != nil {
				return nil, fmt.Errorf("parse redis sentinel url: %w", redactURLError(err))
			}
			setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
			return redis.NewFailoverClient(o), nil
		case q.Has("addr"):
			o, err := redis.ParseClusterURL(raw)
			if err != nil {
				return nil, fmt.Errorf("parse redis cluster url: %w", redactURLError(err))
			}
			setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
			return redis.NewClusterClient(o), nil
		default:
			o, err := redis.ParseURL(raw)
			if err != nil {
				return nil, fmt.Errorf("parse redis url: %w", redactURLError(err))
			}
			setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
			return redis.NewClient(o), nil
		}
	}

	// A list of addresses. Credentials, database and TLS come from the first entry when it
	// is a URL; every entry contributes its host:port.
	o := &redis.UniversalOptions{MasterName: masterName}
	for i, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "://") {
			o.Addrs = append(o.Addrs, part)
			continue
		}
		p, err := redis.ParseURL(part)
		if err != nil {
			return nil, fmt.Errorf("parse redis url entry %d: %w", i+1, redactURLError(err))
		}
		if len(o.Addrs) == 0 {
			o.Username, o.Password, o.DB, o.TLSConfig = p.Username, p.Password, p.DB, p.TLSConfig
		}
		o.Addrs = append(o.Addrs, p.Addr)
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("redis url names no address")
	}
	setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries)
	return redis.NewUniversalClient(o), nil
}

func setTimeouts(dial, read, write, pool *time.Duration, retries *int) {
	for _, d := range []struct {
		p *time.Duration
		v time.Duration
	}{{dial, redisDialTimeout}, {read, redisReadTimeout}, {write, redisWriteTimeout}, {pool, redisPoolTimeout}} {
		if *d.p == 0 {
			*d.p = d.v
		}
	}
	if *retries == 0 {
		*retries = redisMaxRetries
	}
}

// redactURLError drops the URL a *url.Error quotes, keeping what was wrong with it.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// unavailable reports whether err means Redis could not be reached or cannot serve now, as
// opposed to an answer (including an error reply about our command).
func unavailable(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		// Network errors, timeouts, a closed client or pool, a cancelled context.
		return true
	}
	// MOVED and ASK reach us only from a node client (redis_wait.go) during a failover.
	return redirected(err) || redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err)
}

// wrap adds what we were doing to a Redis error, and ErrUnavailable when Redis could not answer.
func wrap(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// patternsKey and dependenciesKey are the layout before issue 11, item 13: one hash each,
// read by MigrateLayout only.
func (r *Redis) patternsKey() string     { return r.prefix + "patterns" }
func (r *Redis) dependenciesKey() string { return r.prefix + "dependencies" }
func (r *Redis) predictionServicesKey() string {
	return r.prefix + "prediction-services"
}
func (r *Redis) eventServicesKey() string { return r.prefix + "event-services" }

// The braces are a Cluster hash tag: a service's keys live in one slot, so one script can
// change them together.
func (r *Redis) predictionsKey(service string) string {
	return r.prefix + "predictions:{" + service + "}"
}
func (r *Redis) eventTimesKey(service string) string {
	return r.prefix + "events:{" + service + "}:time"
}
func (r *Redis) eventDataKey(service string) string {
	return r.prefix + "events:{" + service + "}:data"
}

// Ping reports whether Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return wrap("ping redis", err)
	}
	return nil
}

// Close closes the client; later calls fail with ErrUnavailable.
func (r *Redis) Close() error {
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// addPredictionScript replaces the prediction fitted at ARGV[1] (score) with ARGV[2] and trims
// the service to its ARGV[3] newest.
var addPredictionScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
return 1
`)

// AddPrediction stores p; a prediction of the same service and FittedAt is replaced. Only the
// newest PredictionsPerService of each service are kept.
func (r *Redis) AddPrediction(ctx context.Context, p scaling.Prediction) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode prediction of %s: %w", p.Service, err)
	}
	// The service is listed before its data exists, so a listing never misses stored data.
	key := r.predictionServicesKey()
	if err := r.write(ctx, key, func(c redis.Cmdable) error { return c.SAdd(ctx, key, p.Service).Err() }); err != nil {
		return wrap("add prediction of "+p.Service, err)
	}
	err = r.runScript(ctx, addPredictionScript, []string{r.predictionsKey(p.Service)},
		p.FittedAt, data, r.keep).Err()
	if err != nil {
		return wrap("add prediction of "+p.Service, err)
	}
	return nil
}

// ListPredictions returns predictions newest first, of service or of all when service is "".
func (r *Redis) ListPredictions(ctx context.Context, service string, limit int) ([]scaling.Prediction, error) {
	return r.PagePredictions(ctx, PredictionQuery{Service: service, Limit: limit})
}

// PagePredictions returns one page of ListPredictions(q.Service), reading at most q.Limit
// predictions of each service, all in one pipelined round trip.
func (r *Redis) PagePredictions(ctx context.Context, q PredictionQuery) ([]scaling.Prediction, error) {
	services := []string{q.Service}
	if q.Service == "" {
		var err error
		services, err = r.client.SMembers(ctx, r.predictionServicesKey()).Result()
		if err != nil {
			return nil, wrap("list prediction services", err)
		}
	}
	cmds := make([]*redis.StringSliceCmd, len(services))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range services {
			cmds[i] = p.ZRevRangeByScore(ctx, r.predictionsKey(s), predictionRange(s, q))
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list predictions", err)
	}
	lists := make([][]scaling.Prediction, 0, len(services))
	for i, s := range services {
		raw := cmds[i].Val()
		l := make([]scaling.Prediction, 0, len(raw))
		for _, data := range raw {
			p, err := decode[scaling.Prediction]("prediction of "+s, []byte(data))
			if err != nil {
				return nil, err
			}
			l = append(l, p)
		}
		lists = append(lists, l)
	}
	return mergePredictions(lists, q.Limit), nil
}

// predictionRange is the score (FittedAt) range of service's predictions that q selects. A
// service has one prediction per FittedAt, so after the cursor come its predictions fitted
// earlier, and the one fitted at the cursor's time too when service sorts after the cursor's.
func predictionRange(service string, q PredictionQuery) *redis.ZRangeBy {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if q.Limit > 0 {
		rng.Count = int64(q.Limit)
	}
	if !q.Before.IsZero() {
		rng.Max = strconv.FormatInt(q.Before.FittedAt, 10)
		if service <= q.Before.Service {
			rng.Max = "(" + rng.Max
		}
	}
	return rng
}

// sleepJitter waits a random time that grows with attempt (up to ~64ms), so writers that
// collided do not collide again in lockstep.
func sleepJitter(ctx context.Context, attempt int) error {
	ceiling := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// appendEventsScript stores events of one service (ARGV from 3 on: id, timestamp, JSON) in its
// time index (KEYS[1], a sorted set of ids by timestamp) and data hash (KEYS[2]); an id already
// stored is replaced, score and data. It then drops events older than ARGV[1] (when not "")
// and the oldest beyond ARGV[2] (when > 0). One script, so no reader sees a half-applied
// append and retention never races another append.
var appendEventsScript = redis.NewScript(`
for i = 3, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
local function drop(ids)
  for j = 1, #ids, 500 do
    local chunk = {unpack(ids, j, math.min(j + 499, #ids))}
    redis.call('ZREM', KEYS[1], unpack(chunk))
    redis.call('HDEL', KEYS[2], unpack(chunk))
  end
end
if ARGV[1] ~= '' then
  drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1]))
end
local max = tonumber(ARGV[2])
if max > 0 then
  local extra = redis.call('ZCARD', KEYS[1]) - max
  if extra > 0 then
    drop(redis.call('ZRANGE', KEYS[1], 0, extra - 1))
  end
end
return redis.call('ZCARD', KEYS[1])
`)

// AppendEvents stores events idempotently by ID and applies retention to each service touched.
// Events of one service are stored together atomically; different services are separate writes.
func (r *Redis) AppendEvents(ctx context.Context, events ...scaling.Event) error {
	for _, e := range events {
		if err := checkEvent(e); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
	}
	services, by := groupEvents(events)
	if len(services) == 0 {
		return nil
	}
	key := r.eventServicesKey()
	if err := r.write(ctx, key, func(c redis.Cmdable) error { return c.SAdd(ctx, key, toAny(services)...).Err() }); err != nil {
		return wrap("append events", err)
	}
	cutoff := ""
	if c, ok := ageCutoff(r.retention, r.now()); ok {
		cutoff = strconv.FormatInt(c, 10)
	}
	for _, s := range services {
		args := []any{cutoff, r.retention.MaxPerService}
		for _, e := range by[s] {
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			args = append(args, e.ID, e.Timestamp, data)
		}
		keys := []string{r.eventTimesKey(s), r.eventDataKey(s)}
		if err := r.runScript(ctx, appendEventsScript, keys, args...).Err(); err != nil {
			return wrap("append events of "+s, err)
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// ListEvents returns matching events newest first (ties by ID, then service, descending),
// merged across services.
func (r *Redis) ListEvents(ctx context.Context, q EventQuery) ([]scaling.Event, error) {
	services := []string{q.Service}
	if q.Service == "" {
		var err error
		services, err = r.client.SMembers(ctx, r.eventServicesKey()).Result()
		if err != nil {
			return nil, wrap("list event services", err)
		}
	}
	if len(q.Types) == 0 && q.Limit > 0 {
		return r.newestEvents(ctx, services, q)
	}
	// Services are read concurrently: each read is a few round trips, and the API waits for all.
	lists := make([][]scaling.Event, len(services))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(redisReadConcurrency)
	for i, s := range services {
		g.Go(func() error {
			l, err := r.serviceEvents(gctx, s, q)
			lists[i] = l
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return mergeEvents(lists, q.Limit), nil
}

// redisReadConcurrency bounds the per-service reads one listing runs at once.
const redisReadConcurrency = 8

// newestEvents answers a query without a type filter: the time indexes alone decide which
// events are the newest q.Limit (by score, then ID, then service), so only those are fetched
// and decoded. Two pipelined round trips, whatever the number of services.
func (r *Redis) newestEvents(ctx context.Context, services []string, q EventQuery) ([]scaling.Event, error) {
	type candidate struct {
		service, id string
		ts          int64
	}
	key := func(c candidate) EventKey { return EventKey{Timestamp: c.ts, ID: c.id, Service: c.service} }
	var cands []candidate
	// Each service's read asks for q.Limit entries from the cursor's Timestamp down. Entries at
	// that Timestamp at or before the cursor (its own event, and any that share its
	// millisecond) are dropped, and a full read that lost some is topped up from where it
	// ended, so every service still offers up to q.Limit candidates and a page is never cut
	// short. The cursor's own service usually costs one more round trip; the rest, none.
	offsets := make([]int64, len(services))
	want := make([]int64, len(services))
	for i := range want {
		want[i] = int64(q.Limit)
	}
	for more := true; more; {
		cmds := make([]*redis.ZSliceCmd, len(services))
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, s := range services {
				if want[i] > 0 {
					rng := eventRange(q)
					rng.Offset, rng.Count = offsets[i], want[i]
					cmds[i] = p.ZRevRangeByScoreWithScores(ctx, r.eventTimesKey(s), rng)
				}
			}
			return nil
		})
		if err != nil {
			return nil, wrap("list events", err)
		}
		more = false
		for i, cmd := range cmds {
			if cmd == nil {
				continue
			}
			read := cmd.Val()
			kept := int64(0)
			for _, z := range read {
				id, ok := z.Member.(string)
				if !ok {
					return nil, fmt.Errorf("list events of %s: %w: index member %T", services[i], ErrCorrupt, z.Member)
				}
				c := candidate{service: services[i], id: id, ts: int64(z.Score)}
				if !q.Before.IsZero() && compareEventKeys(key(c), q.Before) <= 0 {
					continue
				}
				cands = append(cands, c)
				kept++
			}
			if int64(len(read)) < want[i] {
				want[i] = 0 // the range is exhausted
			} else {
				want[i] -= kept
			}
			offsets[i] += int64(len(read))
			more = more || want[i] > 0
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return compareEventKeys(key(a), key(b)) })
	cands = cands[:min(len(cands), q.Limit)]

	ids := make(map[string][]string)
	for _, c := range cands {
		ids[c.service] = append(ids[c.service], c.id)
	}
	data := make(map[string]*redis.SliceCmd, len(ids))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s, l := range ids {
			data[s] = p.HMGet(ctx, r.eventDataKey(s), l...)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("list events", err)
	}
	var lists [][]scaling.Event
	for s, cmd := range data {
		l, err := decodeEvents(s, ids[s], cmd.Val(), q)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return mergeEvents(lists, q.Limit), nil
}

// eventRange is q's time range as a sorted-set score range: it ends at the cursor's Timestamp
// when the cursor bounds it (eventCursorBounds); the entries at that Timestamp that come at or
// before the cursor are then dropped by the reader (matchEvent, compareEventKeys).
func eventRange(q EventQuery) *redis.ZRangeBy {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if q.Since != 0 {
		rng.Min = strconv.FormatInt(q.Since, 10)
	}
	if q.Until != 0 {
		rng.Max = strconv.FormatInt(q.Until, 10)
	}
	if eventCursorBounds(q) {
		rng.Max = strconv.FormatInt(q.Before.Timestamp, 10)
	}
	return rng
}

// decodeEvents decodes HMGET values of ids, skipping ids whose data is gone (dropped by
// retention between reading the index and the data) and events q does not select.
func decodeEvents(service string, ids []string, vals []any, q EventQuery) ([]scaling.Event, error) {
	var out []scaling.Event
	for i, v := range vals {
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("decode event %s of %s: %w: unexpected %T", ids[i], service, ErrCorrupt, v)
		}
		e, err := decode[scaling.Event]("event "+ids[i]+" of "+service, []byte(s))
		if err != nil {
			return nil, err
		}
		if matchEvent(q, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// serviceEvents reads one service's matching events, newest first, at most q.Limit. The time
// range is answered by the index; types and the cursor are filtered here, reading the index
// in pages.
func (r *Redis) serviceEvents(ctx context.Context, service string, q EventQuery) ([]scaling.Event, error) {
	rng := eventRange(q)
	page := int64(0) // 0: everything in one read
	if q.Limit > 0 {
		page = int64(q.Limit)
		if len(q.Types) > 0 {
			page = max(2*page, 256)
		}
	}
	var out []scaling.Event
	seen := make(map[string]bool)
	for offset := int64(0); ; offset += page {
		rng.Offset, rng.Count = offset, page
		if page == 0 {
			rng.Offset, rng.Count = 0, 0
		}
		ids, err := r.client.ZRevRangeByScore(ctx, r.eventTimesKey(service), rng).Result()
		if err != nil {
			return nil, wrap("list events of "+service, err)
		}
		if len(ids) == 0 {
			return out, nil
		}
		vals, err := r.client.HMGet(ctx, r.eventDataKey(service), ids...).Result()
		if err != nil {
			return nil, wrap("list events of "+service, err)
		}
		l, err := decodeEvents(service, ids, vals, q)
		if err != nil {
			return nil, err
		}
		for _, e := range l {
			// Pages shift when events are appended meanwhile: an event may come twice.
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			out = append(out, e)
			if q.Limit > 0 && len(out) == q.Limit {
				return out, nil
			}
		}
		if page == 0 || int64(len(ids)) < page {
			return out, nil
		}
	}
}

// The runs keys share a hash tag, so one script changes both in a Cluster.
func (r *Redis) runTimesKey() string { return r.prefix + "runs:{runs}:time" }
func (r *Redis) runDataKey() string  { return r.prefix + "runs:{runs}:data" }

// putRunScript stores run ARGV[1] (queued at ARGV[2], JSON ARGV[3]) in the time index KEYS[1]
// (ids by QueuedAt) and the data hash KEYS[2], replacing a run of that id, then drops runs
// queued before ARGV[4] and the oldest beyond ARGV[5]: one script, so retention never races
// another put and no reader sees an index entry whose write is half done.
var putRunScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local function drop(ids)
  for j = 1, #ids, 500 do
    local chunk = {unpack(ids, j, math.min(j + 499, #ids))}
    redis.call('ZREM', KEYS[1], unpack(chunk))
    redis.call('HDEL', KEYS[2], unpack(chunk))
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4]))
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if extra > 0 then
  drop(redis.call('ZRANGE', KEYS[1], 0, extra - 1))
end
return 1
`)

// PutRun stores run, replacing any run with its ID, and applies run retention.
func (r *Redis) PutRun(ctx context.Context, run scaling.ForecastRun) error {
	if run.ID == "" {
		return errors.New("put run: empty id")
	}
	data, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encode run %s: %w", run.ID, err)
	}
	cutoff := r.now().Add(-RunMaxAge).UnixMilli()
	err = r.runScript(ctx, putRunScript, []string{r.runTimesKey(), r.runDataKey()},
		run.ID, run.QueuedAt, data, cutoff, MaxRuns).Err()
	if err != nil {
		return wrap("put run "+run.ID, err)
	}
	return nil
}

// GetRun returns the run with id, or ErrNotFound.
func (r *Redis) GetRun(ctx context.Context, id string) (scaling.ForecastRun, error) {
	data, err := r.client.HGet(ctx, r.runDataKey(), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return scaling.ForecastRun{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return scaling.ForecastRun{}, wrap("get run "+id, err)
	}
	return decode[scaling.ForecastRun]("run "+id, data)
}

// ListRuns returns runs newest (QueuedAt, ties by ID descending) first, at most limit (<= 0: all kept).
func (r *Redis) ListRuns(ctx context.Context, limit int) ([]scaling.ForecastRun, error) {
	return r.PageRuns(ctx, RunKey{}, limit)
}

// PageRuns returns up to limit runs after before in the order of ListRuns. The index orders
// runs of one QueuedAt by ID, as listings do; after a cursor it is read from the cursor's
// QueuedAt down and the runs at or before the cursor are dropped here: retention keeps at most
// MaxRuns, so that read is small.
func (r *Redis) PageRuns(ctx context.Context, before RunKey, limit int) ([]scaling.ForecastRun, error) {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if before.IsZero() && limit > 0 {
		rng.Count = int64(limit)
	}
	if !before.IsZero() {
		rng.Max = strconv.FormatInt(before.QueuedAt, 10)
	}
	zs, err := r.client.ZRevRangeByScoreWithScores(ctx, r.runTimesKey(), rng).Result()
	if err != nil {
		return nil, wrap("list runs", err)
	}
	var ids []string
	for _, z := range zs {
		id, ok := z.Member.(string)
		if !ok {
			return nil, fmt.Errorf("list runs: %w: index member %T", ErrCorrupt, z.Member)
		}
		if !before.IsZero() && compareRunKeys(RunKey{QueuedAt: int64(z.Score), ID: id}, before) <= 0 {
			continue
		}
		if limit > 0 && len(ids) == limit {
			break
		}
		ids = append(ids, id)
	}
	out := []scaling.ForecastRun{}
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := r.client.HMGet(ctx, r.runDataKey(), ids...).Result()
	if err != nil {
		return nil, wrap("list runs", err)
	}
	for i, v := range vals {
		if v == nil {
			continue // dropped by retention between the two reads
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("decode run %s: %w: unexpected %T", ids[i], ErrCorrupt, v)
		}
		run, err := decode[scaling.ForecastRun]("run "+ids[i], []byte(s))
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

// readHash decodes every value of the hash at key; what prefixes each field in decoding errors.
func readHash[T any](ctx context.Context, c redis.Cmdable, key, what string) ([]T, error) {
	m, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(m))
	for field, data := range m {
		v, err := decode[T](what+field, []byte(data))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Prefix is the prefix of every key of the store.
func (r *Redis) Prefix() string { return r.prefix }
