package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

func (r *Redis) lockKey(name string) string { return r.prefix + "lock:{" + name + "}" }

// tryLockScript takes KEYS[1] for owner ARGV[1] for ARGV[2] ms when it is absent (Redis expires
// it by itself) or already ARGV[1]'s: one script, so the check and the set are atomic.
var tryLockScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// renewLockScript resets KEYS[1]'s expiry to ARGV[2] ms only while owner ARGV[1] holds it.
var renewLockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// unlockScript deletes KEYS[1] only while owner ARGV[1] holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

func lockArgs(op, name, owner string, ttl time.Duration) (int64, error) {
	if name == "" || owner == "" {
		return 0, fmt.Errorf("%s %q: empty lock name or owner", op, name)
	}
	ms := ttl.Milliseconds()
	if ms <= 0 {
		return 0, fmt.Errorf("%s %q: ttl %s is under a millisecond", op, name, ttl)
	}
	return ms, nil
}

// TryLock takes lock name for owner for ttl when free, expired or already owner's. Expiry is
// Redis' own (PX), measured on the Redis server's clock.
func (r *Redis) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ms, err := lockArgs("take lock", name, owner, ttl)
	if err != nil {
		return false, err
	}
	n, err := r.runScript(ctx, tryLockScript, []string{r.lockKey(name)}, owner, ms).Int()
	if err != nil {
		return false, wrap("take lock "+name, err)
	}
	return n == 1, nil
}

// RenewLock resets the lock's TTL while owner holds it.
func (r *Redis) RenewLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ms, err := lockArgs("renew lock", name, owner, ttl)
	if err != nil {
		return false, err
	}
	n, err := r.runScript(ctx, renewLockScript, []string{r.lockKey(name)}, owner, ms).Int()
	if err != nil {
		return false, wrap("renew lock "+name, err)
	}
	return n == 1, nil
}

// Unlock releases the lock while owner holds it; ErrLockNotHeld otherwise.
func (r *Redis) Unlock(ctx context.Context, name, owner string) error {
	if _, err := lockArgs("release lock", name, owner, time.Millisecond); err != nil {
		return err
	}
	n, err := r.runScript(ctx, unlockScript, []string{r.lockKey(name)}, owner).Int()
	if err != nil {
		return wrap("release lock "+name, err)
	}
	if n == 0 {
		return fmt.Errorf("release lock %s: %w", name, ErrLockNotHeld)
	}
	return nil
}
