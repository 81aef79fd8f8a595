package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// putOverrideScript writes an override unless it is new and its service holds the cap of
// overrides that have not ended, in one script, so concurrent writers never exceed the cap:
//
//	KEYS[1] the overrides hash
//	ARGV[1] field, ARGV[2] JSON, ARGV[3] max (<= 0: no cap), ARGV[4] HSCAN pattern of the
//	service's fields, ARGV[5...] fields of the service that had ended when the caller read them
//
// Lua cannot compare the stored RFC 3339 times, so the caller names the ended fields: an ended
// override never becomes active again (End is fixed and IDs are never reused), and one added
// since the caller's read is new and counted, so the count is never short.
var putOverrideScript = redis.NewScript(`
local max = tonumber(ARGV[3])
if max > 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local skip = {}
  for i = 5, #ARGV do
    skip[ARGV[i]] = true
  end
  local n, cursor = 0, '0'
  repeat
    local res = redis.call('HSCAN', KEYS[1], cursor, 'MATCH', ARGV[4], 'COUNT', 1000)
    cursor = res[1]
    for i = 1, #res[2], 2 do
      local f = res[2][i]
      if not skip[f] then
        skip[f] = true
        n = n + 1
      end
    end
  until cursor == '0'
  if n >= max then
    return redis.error_reply('KAILIMIT too many objects')
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// PutOverride stores o, replacing any override of its service with its ID. A new override is
// refused (ErrLimit) when its service has Limits.MaxOverridesPerService overrides that have not
// ended: the service's ended overrides are read first, then one script counts and writes.
func (r *Redis) PutOverride(ctx context.Context, o scaling.Override) error {
	if err := checkOverride(o); err != nil {
		return fmt.Errorf("put override: %w", err)
	}
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode override %s: %w", o.ID, err)
	}
	field := overrideField(o.Service, o.ID)
	op := "put override " + field
	key := r.overridesKey()
	limit := r.limits.MaxOverridesPerService
	match := globEscape(o.Service) + "/*"
	args := []any{field, data, limit, match}
	if limit > 0 {
		now := r.now()
		iter := r.client.HScan(ctx, key, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			f := iter.Val()
			if !iter.Next(ctx) {
				break
			}
			stored, err := decode[scaling.Override]("override "+f, []byte(iter.Val()))
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if !stored.End.After(now) {
				args = append(args, f)
			}
		}
		if err := iter.Err(); err != nil {
			return wrap(op, err)
		}
	}
	if err := r.runScript(ctx, putOverrideScript, []string{key}, args...).Err(); err != nil {
		return limitErr(op, overridesPerService, limit, err)
	}
	return nil
}

// globEscape escapes the glob metacharacters of s for a MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\*?[]^`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
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

// PageOverrides returns one page of ListOverrides(q.Service), which reads the one hash.
func (r *Redis) PageOverrides(ctx context.Context, q OverrideQuery) ([]scaling.Override, error) {
	all, err := r.ListOverrides(ctx, q.Service)
	if err != nil {
		return nil, err
	}
	return pageOverrides(all, q), nil
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

// ListDecisions returns q.Service's decisions newest first, older than q.Before when set.
func (r *Redis) ListDecisions(ctx context.Context, q DecisionQuery) ([]scaling.FloorDecision, error) {
	rng := &redis.ZRangeBy{Min: "-inf", Max: "+inf"}
	if q.Since != 0 {
		rng.Min = strconv.FormatInt(q.Since, 10)
	}
	if q.Before != nil {
		// Scores are Timestamps, one decision each: strictly older than the cursor's.
		rng.Max = "(" + strconv.FormatInt(*q.Before, 10)
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
