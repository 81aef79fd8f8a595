package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Buckets of overrides (service/id -> JSON), floor decisions (one nested bucket per service:
// orderedInt64(Timestamp) -> JSON) and shadow days (one nested bucket per service: day -> JSON).
var (
	bucketOverrides = []byte("overrides")
	bucketDecisions = []byte("decisions")
	bucketShadow    = []byte("shadow")
)

// PutOverride stores o, replacing any override of its service with its ID. A new override is
// refused (ErrLimit) when its service has Limits.MaxOverridesPerService overrides that have not
// ended, counted in the write's transaction.
func (b *Bolt) PutOverride(ctx context.Context, o scaling.Override) error {
	if err := checkOverride(o); err != nil {
		return fmt.Errorf("put override: %w", err)
	}
	data, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode override %s: %w", o.ID, err)
	}
	field := overrideField(o.Service, o.ID)
	limit, now := b.limits.MaxOverridesPerService, b.now()
	return b.update("put override "+field, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketOverrides)
		if limit > 0 && bk.Get([]byte(field)) == nil {
			stored, err := readOverrides(bk, o.Service)
			if err != nil {
				return err
			}
			if liveOverrides(stored, o.ID, now) >= limit {
				return fmt.Errorf("put override %s: %w", field, limitError(overridesPerService, limit))
			}
		}
		return putKey(bk, []byte(field), data)
	})
}

// readOverrides decodes the overrides of service (all when "") in bk, in key order.
func readOverrides(bk *bolt.Bucket, service string) ([]scaling.Override, error) {
	out := []scaling.Override{}
	c := bk.Cursor()
	prefix := []byte(nil)
	if service != "" {
		prefix = []byte(service + "/")
	}
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		o, err := decode[scaling.Override]("override "+string(k), v)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// ListOverrides returns the overrides of service (all when ""), sorted by service, Start and ID.
func (b *Bolt) ListOverrides(ctx context.Context, service string) ([]scaling.Override, error) {
	var out []scaling.Override
	err := b.view("list overrides", func(tx *bolt.Tx) error {
		var err error
		out, err = readOverrides(tx.Bucket(bucketOverrides), service)
		return err
	})
	if err != nil {
		return nil, err
	}
	sortOverrides(out)
	return out, nil
}

// PageOverrides returns one page of ListOverrides(q.Service), read in one transaction.
func (b *Bolt) PageOverrides(ctx context.Context, q OverrideQuery) ([]scaling.Override, error) {
	all, err := b.ListOverrides(ctx, q.Service)
	if err != nil {
		return nil, err
	}
	return pageOverrides(all, q), nil
}

// DeleteOverride deletes service's override id, or returns ErrNotFound.
func (b *Bolt) DeleteOverride(ctx context.Context, service, id string) error {
	field := overrideField(service, id)
	return b.update("delete override "+field, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketOverrides)
		if bk.Get([]byte(field)) == nil {
			return fmt.Errorf("override %s: %w", field, ErrNotFound)
		}
		return bk.Delete([]byte(field))
	})
}

// PruneOverrides deletes the overrides that ended at or before now, in one transaction.
func (b *Bolt) PruneOverrides(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := b.update("prune overrides", func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketOverrides)
		var drop [][]byte
		err := bk.ForEach(func(k, v []byte) error {
			o, err := decode[scaling.Override]("override "+string(k), v)
			if err != nil {
				return err
			}
			if !o.End.After(now) {
				drop = append(drop, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := bk.Delete(k); err != nil {
				return fmt.Errorf("prune override %s: %w", k, err)
			}
		}
		n = len(drop)
		return nil
	})
	return n, err
}

// AddDecision stores d and applies retention to its service, in one transaction.
func (b *Bolt) AddDecision(ctx context.Context, d scaling.FloorDecision) error {
	if d.Service == "" {
		return fmt.Errorf("add decision: no service")
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decision of %s: %w", d.Service, err)
	}
	cutoff, byAge := ageCutoff(b.retention, b.now())
	return b.update("add decision of "+d.Service, func(tx *bolt.Tx) error {
		bk, err := tx.Bucket(bucketDecisions).CreateBucketIfNotExists([]byte(d.Service))
		if err != nil {
			return fmt.Errorf("create decisions bucket of %s: %w", d.Service, err)
		}
		if err := putKey(bk, orderedInt64(d.Timestamp), data); err != nil {
			return err
		}
		// Retention: the newest MaxPerService within MaxAge. Keys are collected first
		// (deleting under a moving cursor can skip keys in bbolt).
		var drop [][]byte
		kept := 0
		c := bk.Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			tooOld := byAge && fromOrderedInt64(k) < cutoff
			tooMany := b.retention.MaxPerService > 0 && kept >= b.retention.MaxPerService
			if tooOld || tooMany {
				drop = append(drop, bytes.Clone(k))
				continue
			}
			kept++
		}
		for _, k := range drop {
			if err := bk.Delete(k); err != nil {
				return fmt.Errorf("trim decisions of %s: %w", d.Service, err)
			}
		}
		return nil
	})
}

// ListDecisions returns q.Service's decisions newest first, older than q.Before when set.
func (b *Bolt) ListDecisions(ctx context.Context, q DecisionQuery) ([]scaling.FloorDecision, error) {
	out := []scaling.FloorDecision{}
	err := b.view("list decisions of "+q.Service, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDecisions).Bucket([]byte(q.Service))
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		k, v := c.Last()
		if q.Before != nil {
			k, v = lastBefore(c, orderedInt64(*q.Before), false)
		}
		for ; k != nil && (q.Limit <= 0 || len(out) < q.Limit); k, v = c.Prev() {
			ts := fromOrderedInt64(k)
			if q.Since != 0 && ts < q.Since {
				break
			}
			d, err := decode[scaling.FloorDecision](fmt.Sprintf("decision of %s at %d", q.Service, ts), v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutShadowDay stores d, replacing the record of its service and day, and drops the oldest
// days beyond ShadowMaxDays.
func (b *Bolt) PutShadowDay(ctx context.Context, d scaling.ShadowDay) error {
	if err := checkShadowDay(d); err != nil {
		return fmt.Errorf("put shadow day: %w", err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode shadow day %s of %s: %w", d.Day, d.Service, err)
	}
	return b.update("put shadow day "+d.Day+" of "+d.Service, func(tx *bolt.Tx) error {
		bk, err := tx.Bucket(bucketShadow).CreateBucketIfNotExists([]byte(d.Service))
		if err != nil {
			return fmt.Errorf("create shadow bucket of %s: %w", d.Service, err)
		}
		if err := putKey(bk, []byte(d.Day), data); err != nil {
			return err
		}
		// Days are YYYY-MM-DD: key order is time order, and there are few of them.
		var keys [][]byte
		c := bk.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys[:max(0, len(keys)-ShadowMaxDays)] {
			if err := bk.Delete(k); err != nil {
				return fmt.Errorf("trim shadow days of %s: %w", d.Service, err)
			}
		}
		return nil
	})
}

// ListShadowDays returns service's days newest first, at most limit (<= 0: all kept).
func (b *Bolt) ListShadowDays(ctx context.Context, service string, limit int) ([]scaling.ShadowDay, error) {
	out := []scaling.ShadowDay{}
	err := b.view("list shadow days of "+service, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketShadow).Bucket([]byte(service))
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			d, err := decode[scaling.ShadowDay]("shadow day "+string(k)+" of "+service, v)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
