package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// lockRecord is a bolt lease: the owner holds it until ExpiresAt (Unix ms, of the store's clock).
type lockRecord struct {
	Owner     string `json:"owner"`
	ExpiresAt int64  `json:"expiresAt"`
}

// heldBy decodes the lock under name in bk and reports whether an owner other than owner
// holds it unexpired at nowMs; a corrupt record counts as free (it can hold nobody out forever).
func heldBy(bk *bolt.Bucket, name string, nowMs int64) (lockRecord, bool) {
	v := bk.Get([]byte(name))
	if v == nil {
		return lockRecord{}, false
	}
	var rec lockRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return lockRecord{}, false
	}
	return rec, rec.ExpiresAt > nowMs
}

func (b *Bolt) putLock(bk *bolt.Bucket, name, owner string, expires int64) error {
	data, err := json.Marshal(lockRecord{Owner: owner, ExpiresAt: expires})
	if err != nil {
		return fmt.Errorf("encode lock %s: %w", name, err)
	}
	return putKey(bk, []byte(name), data)
}

// TryLock takes lock name for owner for ttl when free, expired or already owner's, in one
// transaction. bbolt is one process's file, so this excludes goroutines (and Forecasters)
// sharing it; expiry follows the store's clock like the Redis lease.
func (b *Bolt) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ms, err := lockArgs("take lock", name, owner, ttl)
	if err != nil {
		return false, err
	}
	var ok bool
	err = b.update("take lock "+name, func(tx *bolt.Tx) error {
		ok = false // update may run this more than once, in another order among other writers
		bk := tx.Bucket(bucketLocks)
		now := b.now().UnixMilli()
		if rec, held := heldBy(bk, name, now); held && rec.Owner != owner {
			return nil
		}
		ok = true
		return b.putLock(bk, name, owner, now+ms)
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// RenewLock resets the lock's TTL while owner holds it (unexpired).
func (b *Bolt) RenewLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ms, err := lockArgs("renew lock", name, owner, ttl)
	if err != nil {
		return false, err
	}
	var ok bool
	err = b.update("renew lock "+name, func(tx *bolt.Tx) error {
		ok = false // update may run this more than once, in another order among other writers
		bk := tx.Bucket(bucketLocks)
		now := b.now().UnixMilli()
		if rec, held := heldBy(bk, name, now); !held || rec.Owner != owner {
			return nil
		}
		ok = true
		return b.putLock(bk, name, owner, now+ms)
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}

// Unlock releases the lock while owner holds it (unexpired); ErrLockNotHeld otherwise.
func (b *Bolt) Unlock(ctx context.Context, name, owner string) error {
	if _, err := lockArgs("release lock", name, owner, time.Millisecond); err != nil {
		return err
	}
	return b.update("release lock "+name, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketLocks)
		if rec, held := heldBy(bk, name, b.now().UnixMilli()); !held || rec.Owner != owner {
			return fmt.Errorf("release lock %s: %w", name, ErrLockNotHeld)
		}
		if err := bk.Delete([]byte(name)); err != nil {
			return fmt.Errorf("release lock %s: %w", name, err)
		}
		return nil
	})
}
