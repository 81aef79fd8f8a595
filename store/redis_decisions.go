package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kai-platform/kai-scaler/scaling"
)

func (r *Redis) overridesKey() string { return r.prefix + "overrides" }

// The braces are a Cluster hash tag, as for predictions and events.
func (r *Redis) decisionsKey(service string) string {
	return r.prefix + "decisions:{" + service + "}"
}
func (r *Redis) shadowKey(service string) string { return r.prefix + "shadow:{" + service + "}" }

// PutOverride stores o, replacing any override of its service with its ID.
func (r *Redis) PutOverride(ctx context.Context, o scaling.Override) error {
	if err := checkOverride(o); err != nil {
		return fmt.Errorf("put override: %w", err)
	}
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode override %s: %w", o.ID, err)
	}
	field := overrideField(o.Service, o.ID)
	key := r.overridesKey()
	if err := r.write(ctx, key, func(c redis.Cmdable) error { return c.HSet(ctx, key, field, data).Err() }); err != nil {
		return wrap("put override "+field, err)
	}
	return nil
}

// ListOverrides returns the overrides of service (all when ""), sorted by service, Start and ID.
// Overrides are few (one-off events), so every listing reads the one hash.
func (r *Redis) ListOverrides(ctx context.Context, service string) ([]scaling.Override, error) {
	all, err := readHash[scaling.Override](ctx, r.client, r.overridesKey(), "override ")
	if err != nil {
		return nil, wrap("list overrides", err)
	}
	out := make([]scaling.Override, 0, len(all))
	for _, o := range all {
		if service == "" || o.Service == service {
			out = append(out, o)
		}
	}
	sortOverrides(out)
	return out, nil
}

// DeleteOverride deletes service's override id, or returns ErrNotFound.
func (r *Redis) DeleteOverride(ctx context.Context, service, id string) error {
	field := overrideField(service, id)
	var del *redis.IntCmd
	key := r.overridesKey()
	err := r.write(ctx, key, func(c redis.Cmdable) error { del = c.HDel(ctx, key, field); return del.Err() })
	if err != nil {
		return wrap("delete override "+field, err)
	}
	if del.Val() == 0 {
		return fmt.Errorf("override %s: %w", field, ErrNotFound)
	}
	return nil
}

// PruneOverrides deletes the overrides that ended at or before now.
func (r *Redis) PruneOverrides(ctx context.Context, now time.Time) (int, error) {
	all, err := r.ListOverrides(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("prune overrides: %w", err)
	}
	var ended []string
	for _, o := range all {
		if !o.End.After(now) {
			ended = append(ended, overrideField(o.Service, o.ID))
		}
	}
	if len(ended) == 0 {
		return 0, nil
	}
	// An ended override never becomes active again, and IDs are never reused: deleting the
	// fields read above cannot lose a write made meanwhile.
	var del *redis.IntCmd
	key := r.overridesKey()
	err = r.write(ctx, key, func(c redis.Cmdable) error { del = c.HDel(ctx, key, ended...); return del.Err() })
	if err != nil {
		return 0, wrap("prune overrides", err)
	}
	return int(del.Val()), nil
}

// addDecisionScript replaces the decision at ARGV[1] (score) with ARGV[2], drops decisions
// older than ARGV[3] (when not "") and the oldest beyond ARGV[4] (when > 0): one script, so
// retention never races another append.
var addDecisionScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
end
local max = tonumber(ARGV[4])
if max > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(max + 1))
end
return 1
`)

// AddDecision stores d and applies retention to its service.
func (r *Redis) AddDecision(ctx context.Context, d scaling.FloorDecision) error {
	if d.Service == "" {
		return fmt.Errorf("add decision: no service")
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decision of %s: %w", d.Service, err)
	}
	cutoff := ""
	if c, ok := ageCutoff(r.retention, r.now()); ok {
		cutoff = strconv.FormatInt(c, 10)
	}
	err = r.runScript(ctx, addDecisionScript, []string{r.decisionsKey(d.Service)},
		d.Timestamp, data, cutoff, r.retention.MaxPerService).Err()
	if err != nil {
		return wrap("add decision of "+d.Service, err)
	}
	return nil
}

// ListDecisions returns q.Service's decisions newest first.
func (r *Redis) ListDecisions(ctx context.Context, q DecisionQuery) ([]scaling.FloorDecision, error) {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if q.Since != 0 {
		rng.Min = strconv.FormatInt(q.Since, 10)
	}
	if q.Limit > 0 {
		rng.Count = int64(q.Limit)
	}
	raw, err := r.client.ZRevRangeByScore(ctx, r.decisionsKey(q.Service), rng).Result()
	if err != nil {
		return nil, wrap("list decisions of "+q.Service, err)
	}
	out := make([]scaling.FloorDecision, 0, len(raw))
	for _, data := range raw {
		d, err := decode[scaling.FloorDecision]("decision of "+q.Service, []byte(data))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// putShadowDayScript writes day ARGV[1] (JSON ARGV[2]) and drops the oldest days beyond ARGV[3].
// Days are YYYY-MM-DD, so their string order is their time order.
var putShadowDayScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local days = redis.call('HKEYS', KEYS[1])
local extra = #days - tonumber(ARGV[3])
if extra > 0 then
  table.sort(days)
  for i = 1, extra do
    redis.call('HDEL', KEYS[1], days[i])
  end
end
return 1
`)

// PutShadowDay stores d, replacing the record of its service and day.
func (r *Redis) PutShadowDay(ctx context.Context, d scaling.ShadowDay) error {
	if err := checkShadowDay(d); err != nil {
		return fmt.Errorf("put shadow day: %w", err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode shadow day %s of %s: %w", d.Day, d.Service, err)
	}
	err = r.runScript(ctx, putShadowDayScript, []string{r.shadowKey(d.Service)}, d.Day, data, ShadowMaxDays).Err()
	if err != nil {
		return wrap("put shadow day "+d.Day+" of "+d.Service, err)
	}
	return nil
}

// ListShadowDays returns service's days newest first, at most limit (<= 0: all kept).
func (r *Redis) ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error) {
	out, err := readHash[scaling.ShadowDay](ctx, r.client, r.shadowKey(service), "shadow day of "+service+" ")
	if err != nil {
		return nil, wrap("list shadow days of "+service, err)
	}
	slices.SortFunc(out, func(a, b scaling.ShadowDay) int { return cmp.Compare(b.Day, a.Day) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
