package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Layout of patterns and dependencies (issue 11, item 13): one key per object plus index
// sorted sets, so a write touches its own keys only and no write watches the whole graph:
//
//	{obj}:pattern:<service>        the pattern's JSON
//	{obj}:patterns                 sorted set (score 0) of services: listing and paging by name
//	{obj}:dep:<source>/<target>    the dependency's JSON
//	{obj}:dependencies             sorted set (score 0) of "<source>\x00<target>": (source, target) order
//	{obj}:out:<source>             set of the source's targets: the cycle check's adjacency
//
// Every key carries the {obj} hash tag: one Cluster slot, so a script can change an object
// and its indexes together, as the single hashes of the old layout did.
func (r *Redis) objKey(kind, name string) string { return r.prefix + "{obj}:" + kind + ":" + name }
func (r *Redis) patternIndexKey() string         { return r.prefix + "{obj}:patterns" }
func (r *Redis) dependencyIndexKey() string      { return r.prefix + "{obj}:dependencies" }
func (r *Redis) patternKey(service string) string {
	return r.objKey("pattern", service)
}
func (r *Redis) dependencyKey(k scaling.DependencyKey) string {
	return r.objKey("dep", dependencyField(k))
}
func (r *Redis) outKey(source string) string { return r.objKey("out", source) }

// dependencyMember is a dependency's member in the index: bytewise order is (source, target)
// order, since service names never hold a NUL.
func dependencyMember(k scaling.DependencyKey) string { return k.Source + "\x00" + k.Target }

// limitLua refuses (KAILIMIT) a new member ARGV[1] of index KEYS[2] when ARGV[3] (> 0) are stored.
const limitLua = `
local max = tonumber(ARGV[3])
if max > 0 and redis.call('ZSCORE', KEYS[2], ARGV[1]) == false and redis.call('ZCARD', KEYS[2]) >= max then
  return redis.error_reply('KAILIMIT too many objects')
end
`

// putPatternScript: KEYS[1] pattern key, KEYS[2] index; ARGV[1] service, ARGV[2] JSON, ARGV[3] max.
var putPatternScript = redis.NewScript(limitLua + `
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`)

// putDerivedScript writes like putPatternScript unless the stored pattern is manual (its
// source is anything but "derived"), in one script.
var putDerivedScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if not ok or type(v) ~= 'table' then
    return redis.error_reply('KAICORRUPT stored pattern is not a JSON object')
  end
  if v['source'] ~= 'derived' then
    return 0
  end
end
` + limitLua + `
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`)

// deleteObjectScript: KEYS[1] object key, KEYS[2] index, KEYS[3] adjacency set (or the
// index again); ARGV[1] member, ARGV[2] target to drop from KEYS[3] ("" for none).
var deleteObjectScript = redis.NewScript(`
if redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('SREM', KEYS[3], ARGV[2])
end
return 1
`)

func limitErr(op, what string, max int, err error) error {
	if redis.HasErrorPrefix(err, "KAILIMIT") {
		return fmt.Errorf("%s: %w", op, limitError(what, max))
	}
	if redis.HasErrorPrefix(err, "KAICORRUPT") {
		return fmt.Errorf("%s: %w: %w", op, ErrCorrupt, err)
	}
	return wrap(op, err)
}

// ListPatterns returns every pattern, sorted by service.
func (r *Redis) ListPatterns(ctx context.Context) ([]scaling.Pattern, error) {
	names, err := r.client.ZRange(ctx, r.patternIndexKey(), 0, -1).Result()
	if err != nil {
		return nil, wrap("list patterns", err)
	}
	return readObjects[scaling.Pattern](ctx, r.client, names, r.patternKey, "pattern of ")
}

// PagePatterns returns up to limit patterns after service after, sorted by service: one index
// range and the page's own keys.
func (r *Redis) PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error) {
	names, err := r.client.ZRangeByLex(ctx, r.patternIndexKey(), &redis.ZRangeBy{
		Min: lexAfter(after), Max: "+", Count: int64(max(limit, 1)),
	}).Result()
	if err != nil {
		return nil, wrap("list patterns", err)
	}
	return readObjects[scaling.Pattern](ctx, r.client, names, r.patternKey, "pattern of ")
}

func lexAfter(after string) string {
	if after == "" {
		return "-"
	}
	return "(" + after
}

// readObjects reads the objects of names (index members) in chunks of MGET, in order; an object
// deleted between the index read and MGET is skipped.
func readObjects[T any](ctx context.Context, c redis.Cmdable, members []string, key func(string) string, what string) ([]T, error) {
	out := make([]T, 0, len(members))
	const chunk = 500
	for start := 0; start < len(members); start += chunk {
		part := members[start:min(start+chunk, len(members))]
		keys := make([]string, len(part))
		for i, m := range part {
			keys[i] = key(m)
		}
		vals, err := c.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, wrap("list "+strings.TrimSpace(what), err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			x, err := decode[T](what+strings.ReplaceAll(part[i], "\x00", "/"), []byte(s))
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// GetPattern returns service's pattern, or ErrNotFound.
func (r *Redis) GetPattern(ctx context.Context, service string) (scaling.Pattern, error) {
	data, err := r.client.Get(ctx, r.patternKey(service)).Bytes()
	if errors.Is(err, redis.Nil) {
		return scaling.Pattern{}, fmt.Errorf("pattern of %s: %w", service, ErrNotFound)
	}
	if err != nil {
		return scaling.Pattern{}, wrap("get pattern of "+service, err)
	}
	return decode[scaling.Pattern]("pattern of "+service, data)
}

// PutPattern stores p whole, replacing any pattern of its service.
func (r *Redis) PutPattern(ctx context.Context, p scaling.Pattern) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pattern of %s: %w", p.Service, err)
	}
	err = r.runScript(ctx, putPatternScript, []string{r.patternKey(p.Service), r.patternIndexKey()},
		p.Service, data, r.limits.MaxPatterns).Err()
	if err != nil {
		return limitErr("put pattern of "+p.Service, "patterns", r.limits.MaxPatterns, err)
	}
	return nil
}

// PutDerivedPattern stores p with Source derived unless a manual pattern is stored for its service.
func (r *Redis) PutDerivedPattern(ctx context.Context, p scaling.Pattern) (bool, error) {
	p.Source = scaling.SourceDerived
	data, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encode pattern of %s: %w", p.Service, err)
	}
	n, err := r.runScript(ctx, putDerivedScript, []string{r.patternKey(p.Service), r.patternIndexKey()},
		p.Service, data, r.limits.MaxPatterns).Int()
	if err != nil {
		return false, limitErr("put derived pattern of "+p.Service, "patterns", r.limits.MaxPatterns, err)
	}
	return n == 1, nil
}

// DeletePattern deletes service's pattern, or returns ErrNotFound.
func (r *Redis) DeletePattern(ctx context.Context, service string) error {
	n, err := r.runScript(ctx, deleteObjectScript, []string{r.patternKey(service), r.patternIndexKey(), r.patternIndexKey()},
		service, "").Int()
	if err != nil {
		return wrap("delete pattern of "+service, err)
	}
	if n == 0 {
		return fmt.Errorf("pattern of %s: %w", service, ErrNotFound)
	}
	return nil
}

// ListDependencies returns every dependency, sorted by source then target.
func (r *Redis) ListDependencies(ctx context.Context) ([]scaling.Dependency, error) {
	members, err := r.client.ZRange(ctx, r.dependencyIndexKey(), 0, -1).Result()
	if err != nil {
		return nil, wrap("list dependencies", err)
	}
	return readObjects[scaling.Dependency](ctx, r.client, members, r.memberKey, "dependency ")
}

func (r *Redis) memberKey(m string) string {
	src, dst, _ := strings.Cut(m, "\x00")
	return r.dependencyKey(scaling.DependencyKey{Source: src, Target: dst})
}

// PageDependencies returns up to limit dependencies after the key after, sorted by source then target.
func (r *Redis) PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error) {
	from := "-"
	if after != (scaling.DependencyKey{}) {
		from = "(" + dependencyMember(after)
	}
	members, err := r.client.ZRangeByLex(ctx, r.dependencyIndexKey(), &redis.ZRangeBy{Min: from, Max: "+", Count: int64(max(limit, 1))}).Result()
	if err != nil {
		return nil, wrap("list dependencies", err)
	}
	return readObjects[scaling.Dependency](ctx, r.client, members, r.memberKey, "dependency ")
}

// GetDependency returns the dependency of key, or ErrNotFound.
func (r *Redis) GetDependency(ctx context.Context, key scaling.DependencyKey) (scaling.Dependency, error) {
	field := dependencyField(key)
	data, err := r.client.Get(ctx, r.dependencyKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return scaling.Dependency{}, fmt.Errorf("dependency %s: %w", field, ErrNotFound)
	}
	if err != nil {
		return scaling.Dependency{}, wrap("get dependency "+field, err)
	}
	return decode[scaling.Dependency]("dependency "+field, data)
}

// putDependencyScript finds a path from the new edge's target back to its source by a
// breadth-first search over the adjacency sets (only what is reachable from the target is
// read), and writes the edge unless the mode forbids it:
//
//	KEYS[1] the dependency's key, KEYS[2] index, KEYS[3] the source's adjacency set
//	ARGV[1] member, ARGV[2] JSON, ARGV[3] max, ARGV[4] key prefix of the {obj} keys,
//	ARGV[5] source, ARGV[6] target, ARGV[7] mode: probe (never write), acyclic (write unless a
//	path exists), write (write regardless)
//
// It returns {'path', json...} (the stored dependencies along the path, target first), or
// {'none'} after a probe without path, or {'ok'} after a write.
var putDependencyScript = redis.NewScript(`
local mode = ARGV[7]
if mode ~= 'write' then
  local src, tgt, pre = ARGV[5], ARGV[6], ARGV[4]
  local prev = {[tgt] = false}
  local queue, head, found = {tgt}, 1, false
  while head <= #queue do
    local n = queue[head]
    head = head + 1
    if n == src then
      found = true
      break
    end
    for _, m in ipairs(redis.call('SMEMBERS', pre .. 'out:' .. n)) do
      if prev[m] == nil then
        prev[m] = n
        queue[#queue + 1] = m
      end
    end
  end
  if found then
    local out = {'path'}
    local nodes = {}
    local p = src
    while p do
      table.insert(nodes, 1, p)
      p = prev[p]
    end
    for i = 1, #nodes - 1 do
      out[#out + 1] = redis.call('GET', pre .. 'dep:' .. nodes[i] .. '/' .. nodes[i + 1]) or ''
    end
    return out
  end
  if mode == 'probe' then
    return {'none'}
  end
end
` + limitLua + `
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[6])
return {'ok'}
`)

// PutDependency writes d after check accepted the stored dependencies on a path from d's
// target back to its source (none when there is no such path): exactly what a cycle check
// needs. The search reads only what is reachable from d's target, in a script; the write is
// a second script that repeats the search and refuses (and the check runs again) when a path
// appeared meanwhile, so two writers can never close a cycle together.
func (r *Redis) PutDependency(ctx context.Context, d scaling.Dependency, check func(existing []scaling.Dependency) error) error {
	k := d.Key()
	field := dependencyField(k)
	op := "put dependency " + field
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dependency %s: %w", field, err)
	}
	keys := []string{r.dependencyKey(k), r.dependencyIndexKey(), r.outKey(k.Source)}
	run := func(mode string) ([]any, error) {
		res, err := r.runScript(ctx, putDependencyScript, keys, dependencyMember(k), data, r.limits.MaxDependencies,
			r.prefix+"{obj}:", k.Source, k.Target, mode).Slice()
		if err != nil {
			return nil, limitErr(op, "dependencies", r.limits.MaxDependencies, err)
		}
		return res, nil
	}
	if check == nil {
		_, err := run("write")
		return err
	}
	for attempt := range maxTxAttempts {
		res, err := run("probe")
		if err != nil {
			return err
		}
		path, err := decodePath(res, field)
		if err != nil {
			return err
		}
		if err := check(path); err != nil {
			return err
		}
		mode := "acyclic"
		if len(path) > 0 {
			mode = "write" // the check accepted the path
		}
		res, err = run(mode)
		if err != nil {
			return err
		}
		if s, _ := res[0].(string); s == "ok" {
			return nil
		}
		// A path appeared between the probe and the write: check it.
		if err := sleepJitter(ctx, attempt); err != nil {
			return wrap(op, err)
		}
	}
	return fmt.Errorf("%s: %w: gave up after %d attempts", op, ErrConflict, maxTxAttempts)
}

func decodePath(res []any, field string) ([]scaling.Dependency, error) {
	if len(res) == 0 {
		return nil, fmt.Errorf("put dependency %s: empty script reply", field)
	}
	if s, _ := res[0].(string); s != "path" {
		return []scaling.Dependency{}, nil
	}
	out := make([]scaling.Dependency, 0, len(res)-1)
	for _, v := range res[1:] {
		s, _ := v.(string)
		d, err := decode[scaling.Dependency]("dependency on the path of "+field, []byte(s))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// SetDependencyEnabled flips Enabled and sets LastUpdated to now, or returns ErrNotFound: an
// optimistic transaction on the dependency's own key only.
func (r *Redis) SetDependencyEnabled(ctx context.Context, key scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error) {
	field := dependencyField(key)
	op := "set dependency " + field + " enabled"
	k := r.dependencyKey(key)
	for attempt := range maxTxAttempts {
		var out scaling.Dependency
		var fnErr error
		err := r.client.Watch(ctx, func(tx *redis.Tx) error {
			data, err := tx.Get(ctx, k).Bytes()
			if errors.Is(err, redis.Nil) {
				fnErr = fmt.Errorf("dependency %s: %w", field, ErrNotFound)
				return fnErr
			}
			if err != nil {
				return err
			}
			if out, fnErr = decode[scaling.Dependency]("dependency "+field, data); fnErr != nil {
				return fnErr
			}
			out.Enabled, out.LastUpdated = enabled, now.UnixMilli()
			b, err := json.Marshal(out)
			if err != nil {
				fnErr = fmt.Errorf("encode dependency %s: %w", field, err)
				return fnErr
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, k, b, 0)
				return nil
			})
			if err != nil || r.waitReplicas <= 0 {
				return err
			}
			// The transaction ran on this connection, so WAIT counts the replicas that have it.
			acked, err := tx.Wait(ctx, r.waitReplicas, r.waitTimeout).Result()
			if err != nil {
				return err
			}
			return r.checkWait(acked)
		}, k)
		switch {
		case fnErr != nil:
			return scaling.Dependency{}, fnErr
		case errors.Is(err, redis.TxFailedErr):
			if err := sleepJitter(ctx, attempt); err != nil {
				return scaling.Dependency{}, wrap(op, err)
			}
			continue
		case err != nil:
			return scaling.Dependency{}, wrap(op, err)
		}
		return out, nil
	}
	return scaling.Dependency{}, fmt.Errorf("%s: %w: gave up after %d attempts", op, ErrConflict, maxTxAttempts)
}

// DeleteDependency deletes the dependency of key, or returns ErrNotFound.
func (r *Redis) DeleteDependency(ctx context.Context, key scaling.DependencyKey) error {
	field := dependencyField(key)
	n, err := r.runScript(ctx, deleteObjectScript, []string{r.dependencyKey(key), r.dependencyIndexKey(), r.outKey(key.Source)},
		dependencyMember(key), key.Target).Int()
	if err != nil {
		return wrap("delete dependency "+field, err)
	}
	if n == 0 {
		return fmt.Errorf("dependency %s: %w", field, ErrNotFound)
	}
	return nil
}

// MigrateLayout moves patterns and dependencies from the layout before issue 11, item 13 (one
// hash each) to one key per object with indexes, and deletes the old hashes. An object
// already in the new layout wins (it was written later). Safe to run more than once and on
// every start: without old hashes it is one EXISTS. It returns how many objects it moved.
func (r *Redis) MigrateLayout(ctx context.Context) (int, error) {
	moved := 0
	for _, kind := range []struct {
		old   string
		write func(p redis.Pipeliner, field, value string)
	}{
		{r.patternsKey(), func(p redis.Pipeliner, field, value string) {
			p.SetNX(ctx, r.patternKey(field), value, 0)
			p.ZAdd(ctx, r.patternIndexKey(), redis.Z{Member: field})
		}},
		{r.dependenciesKey(), func(p redis.Pipeliner, field, value string) {
			k, ok := parseDependencyField(field)
			if !ok {
				return
			}
			p.SetNX(ctx, r.dependencyKey(k), value, 0)
			p.ZAdd(ctx, r.dependencyIndexKey(), redis.Z{Member: dependencyMember(k)})
			p.SAdd(ctx, r.outKey(k.Source), k.Target)
		}},
	} {
		n, err := r.client.Exists(ctx, kind.old).Result()
		if err != nil {
			return moved, wrap("migrate layout", err)
		}
		if n == 0 {
			continue
		}
		var cursor uint64
		for {
			kv, next, err := r.client.HScan(ctx, kind.old, cursor, "*", 500).Result()
			if err != nil {
				return moved, wrap("migrate layout", err)
			}
			queue := func(p redis.Pipeliner) {
				for i := 0; i+1 < len(kv); i += 2 {
					kind.write(p, kv[i], kv[i+1])
				}
			}
			if r.waitReplicas > 0 {
				// The old hash is deleted below: what moved must be on a replica first. Every
				// new key carries {obj}, so one master takes the chunk.
				err = r.waited(ctx, r.patternIndexKey(), queue)
			} else {
				_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error { queue(p); return nil })
			}
			if err != nil {
				return moved, wrap("migrate layout", err)
			}
			moved += len(kv) / 2
			if cursor = next; cursor == 0 {
				break
			}
		}
		old := kind.old
		if err := r.write(ctx, old, func(c redis.Cmdable) error { return c.Del(ctx, old).Err() }); err != nil {
			return moved, wrap("migrate layout", err)
		}
	}
	return moved, nil
}
