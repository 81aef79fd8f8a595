package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/kai-platform/kai-scaler/scaling"
)

// BoltOptions configures OpenBolt.
type BoltOptions struct {
	// Retention bounds each service's event log and floor decision record; zero means DefaultEventRetention.
	Retention EventRetention
	// PredictionsPerService is how many predictions each service keeps; default 48.
	PredictionsPerService int
	// LockTimeout is how long OpenBolt waits for another process to release the file; default 2s.
	LockTimeout time.Duration
	// Now is the clock event retention by age is measured against; default time.Now.
	Now func() time.Time
	// Limits cap the stored patterns and dependencies.
	Limits Limits
}

// Bolt is a Store in one bbolt file: the embedded default of a single replica. Every write is
// one bbolt read-write transaction, fsync'd before it returns, so an acknowledged write survives
// a crash; bbolt runs one writer at a time, which makes each write atomic against the others.
// Safe for concurrent use.
type Bolt struct {
	db        *bolt.DB
	commits   *groupCommit
	retention EventRetention
	keep      int
	now       func() time.Time
	limits    Limits
}

var _ Store = (*Bolt)(nil)

// Top-level buckets. predictions and events hold one nested bucket per service; an event
// bucket holds a time index (timeKey -> event JSON) and an id index (ID -> timeKey).
var (
	bucketPatterns     = []byte("patterns")
	bucketDependencies = []byte("dependencies")
	bucketPredictions  = []byte("predictions")
	bucketEvents       = []byte("events")
	// bucketRuns holds forecast runs under two key spaces: runTimePrefix+timeKey(QueuedAt, ID)
	// -> run JSON, in QueuedAt order, and runIDPrefix+ID -> that timeKey.
	bucketRuns = []byte("runs")
	// bucketLocks holds LockStore leases: name -> lockRecord JSON.
	bucketLocks      = []byte("locks")
	runTimePrefix    = []byte("t/")
	runIDPrefix      = []byte("i/")
	bucketEventTimes = []byte("time")
	bucketEventIDs   = []byte("id")
	// keyEventCount holds a service's number of events, kept so retention by count does not
	// walk the whole log on every append.
	keyEventCount = []byte("count")
)

// OpenBolt opens (creating if needed) the bbolt file at path. When another process holds the
// file it gives up after opts.LockTimeout with an error saying so, instead of hanging.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: file is locked by another process (waited %s): %w", path, timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketPatterns, bucketDependencies, bucketPredictions, bucketEvents, bucketRuns, bucketLocks, bucketOverrides, bucketDecisions, bucketShadow} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		// The counted buckets' sequence is their number of keys (putCounted): set once here,
		// for files written before it was kept.
		for _, name := range [][]byte{bucketPatterns, bucketDependencies} {
			bk := tx.Bucket(name)
			if n := uint64(bk.Stats().KeyN); bk.Sequence() != n {
				if err := bk.SetSequence(n); err != nil {
					return fmt.Errorf("count bucket %s: %w", name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b := &Bolt{
		db:        db,
		commits:   &groupCommit{db: db},
		retention: retention(opts.Retention),
		keep:      predictionsPerService(opts.PredictionsPerService),
		now:       opts.Now,
		limits:    opts.Limits.withDefaults(),
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// update runs fn in a read-write transaction shared with concurrent writers' (one commit,
// one fsync for all: groupCommit, which may run fn more than once, so every fn computes its
// writes from the transaction alone). With 32 concurrent writers each fsync'd alone, a write
// queued behind the others' fsyncs (p99 34× a Redis GET in BenchmarkScale). Errors of fn
// come back unchanged (they say what went wrong already; a failing fn is retried alone, so
// it never fails the others); failures of bbolt itself (closed database, a failed commit or
// fsync) are wrapped in ErrUnavailable.
func (b *Bolt) update(op string, fn func(tx *bolt.Tx) error) error {
	var fnErr error
	err := b.commits.update(func(tx *bolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return err
}

// view is update for read-only transactions.
func (b *Bolt) view(op string, fn func(tx *bolt.Tx) error) error {
	var fnErr error
	err := b.db.View(func(tx *bolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return err
}

// Ping reports whether the database is open.
func (b *Bolt) Ping(ctx context.Context) error {
	return b.view("ping bolt", func(*bolt.Tx) error { return nil })
}

// Close closes the database; later calls fail with ErrUnavailable.
func (b *Bolt) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", b.db.Path(), err)
	}
	return nil
}

// ListPatterns returns every pattern, sorted by service.
func (b *Bolt) ListPatterns(ctx context.Context) ([]scaling.Pattern, error) {
	out := []scaling.Pattern{}
	err := b.view("list patterns", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPatterns).ForEach(func(k, v []byte) error {
			p, err := decodePattern("pattern of "+string(k), v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sortPatterns(out)
	return out, nil
}

// GetPattern returns service's pattern, or ErrNotFound.
func (b *Bolt) GetPattern(ctx context.Context, service string) (scaling.Pattern, error) {
	var p scaling.Pattern
	err := b.view("get pattern of "+service, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPatterns).Get([]byte(service))
		if v == nil {
			return fmt.Errorf("pattern of %s: %w", service, ErrNotFound)
		}
		var err error
		p, err = decodePattern("pattern of "+service, v)
		return err
	})
	return p, err
}

// PutPattern stores p whole, replacing any pattern of its service.
func (b *Bolt) PutPattern(ctx context.Context, p scaling.Pattern) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pattern of %s: %w", p.Service, err)
	}
	return b.update("put pattern of "+p.Service, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketPatterns)
		if err := checkLimit(bk, []byte(p.Service), b.limits.MaxPatterns, "patterns"); err != nil {
			return fmt.Errorf("put pattern of %s: %w", p.Service, err)
		}
		return putCounted(bk, []byte(p.Service), data)
	})
}

// checkLimit refuses a new key k in bk, a counted bucket (putCounted), when max (> 0) keys
// are stored. The count is the bucket's sequence: Stats walks every page, which made each
// write slower as the store grew.
func checkLimit(bk *bolt.Bucket, k []byte, max int, what string) error {
	if max <= 0 || bk.Get(k) != nil {
		return nil
	}
	if bk.Sequence() >= uint64(max) {
		return limitError(what, max)
	}
	return nil
}

// putCounted is putKey in a counted bucket (patterns, dependencies), whose sequence is its
// number of keys.
func putCounted(bk *bolt.Bucket, k, v []byte) error {
	if bk.Get(k) == nil {
		if err := bk.SetSequence(bk.Sequence() + 1); err != nil {
			return fmt.Errorf("count %q: %w", k, err)
		}
	}
	return putKey(bk, k, v)
}

// deleteCounted deletes the stored key k of a counted bucket.
func deleteCounted(bk *bolt.Bucket, k []byte) error {
	if bk.Get(k) != nil && bk.Sequence() > 0 {
		if err := bk.SetSequence(bk.Sequence() - 1); err != nil {
			return fmt.Errorf("count %q: %w", k, err)
		}
	}
	if err := bk.Delete(k); err != nil {
		return fmt.Errorf("delete %q: %w", k, err)
	}
	return nil
}

// PagePatterns returns up to limit patterns after service after, sorted by service.
func (b *Bolt) PagePatterns(ctx context.Context, after string, limit int) ([]scaling.Pattern, error) {
	out := []scaling.Pattern{}
	err := b.view("list patterns", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPatterns).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < max(limit, 1); k, v = c.Next() {
			p, err := decodePattern("pattern of "+string(k), v)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func putKey(bk *bolt.Bucket, k, v []byte) error {
	if err := bk.Put(k, v); err != nil {
		return fmt.Errorf("put %q: %w", k, err)
	}
	return nil
}

// PutDerivedPattern stores p with Source derived unless a manual pattern is stored for its service.
func (b *Bolt) PutDerivedPattern(ctx context.Context, p scaling.Pattern) (bool, error) {
	p.Source = scaling.SourceDerived
	data, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encode pattern of %s: %w", p.Service, err)
	}
	written := false
	err = b.update("put derived pattern of "+p.Service, func(tx *bolt.Tx) error {
		written = false // update may run this more than once
		bk := tx.Bucket(bucketPatterns)
		if cur := bk.Get([]byte(p.Service)); cur != nil {
			stored, err := decodePattern("pattern of "+p.Service, cur)
			if err != nil {
				return err
			}
			if isManual(stored) {
				return nil
			}
		}
		if err := checkLimit(bk, []byte(p.Service), b.limits.MaxPatterns, "patterns"); err != nil {
			return fmt.Errorf("put derived pattern of %s: %w", p.Service, err)
		}
		written = true
		return putCounted(bk, []byte(p.Service), data)
	})
	if err != nil {
		return false, err
	}
	return written, nil
}

// DeletePattern deletes service's pattern, or returns ErrNotFound.
func (b *Bolt) DeletePattern(ctx context.Context, service string) error {
	return b.update("delete pattern of "+service, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketPatterns)
		if bk.Get([]byte(service)) == nil {
			return fmt.Errorf("pattern of %s: %w", service, ErrNotFound)
		}
		return deleteCounted(bk, []byte(service))
	})
}

// orderedInt64 encodes v so that bytewise order is numeric order, negatives included.
func orderedInt64(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v)^(1<<63))
}

func fromOrderedInt64(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// AddPrediction stores p; a prediction of the same service and FittedAt is replaced. Only the
// newest PredictionsPerService of each service are kept.
func (b *Bolt) AddPrediction(ctx context.Context, p scaling.Prediction) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode prediction of %s: %w", p.Service, err)
	}
	return b.update("add prediction of "+p.Service, func(tx *bolt.Tx) error {
		bk, err := tx.Bucket(bucketPredictions).CreateBucketIfNotExists([]byte(p.Service))
		if err != nil {
			return fmt.Errorf("create predictions bucket of %s: %w", p.Service, err)
		}
		if err := putKey(bk, orderedInt64(p.FittedAt), data); err != nil {
			return err
		}
		// Few keys per service (PredictionsPerService + 1): counting them is cheap.
		var keys [][]byte
		c := bk.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys[:max(0, len(keys)-b.keep)] {
			if err := bk.Delete(k); err != nil {
				return fmt.Errorf("trim predictions of %s: %w", p.Service, err)
			}
		}
		return nil
	})
}

// ListPredictions returns predictions newest first, of service or of all when service is "".
func (b *Bolt) ListPredictions(ctx context.Context, service string, limit int) ([]scaling.Prediction, error) {
	return b.PagePredictions(ctx, PredictionQuery{Service: service, Limit: limit})
}

// PagePredictions returns one page of ListPredictions(q.Service), reading at most q.Limit
// predictions of each service, from its cursor's place on.
func (b *Bolt) PagePredictions(ctx context.Context, q PredictionQuery) ([]scaling.Prediction, error) {
	var lists [][]scaling.Prediction
	err := b.view("list predictions", func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketPredictions)
		read := func(name []byte, bk *bolt.Bucket) error {
			var l []scaling.Prediction
			c := bk.Cursor()
			k, v := c.Last()
			if !q.Before.IsZero() {
				// A service has one prediction per FittedAt: the one at the cursor's time
				// comes after the cursor when its service sorts after the cursor's.
				k, v = lastBefore(c, orderedInt64(q.Before.FittedAt), string(name) > q.Before.Service)
			}
			for ; k != nil && (q.Limit <= 0 || len(l) < q.Limit); k, v = c.Prev() {
				p, err := decode[scaling.Prediction](fmt.Sprintf("prediction of %s fitted at %d", name, fromOrderedInt64(k)), v)
				if err != nil {
					return err
				}
				l = append(l, p)
			}
			lists = append(lists, l)
			return nil
		}
		if q.Service != "" {
			if bk := top.Bucket([]byte(q.Service)); bk != nil {
				return read([]byte(q.Service), bk)
			}
			return nil
		}
		return top.ForEachBucket(func(name []byte) error { return read(name, top.Bucket(name)) })
	})
	if err != nil {
		return nil, err
	}
	return mergePredictions(lists, q.Limit), nil
}

// lastBefore moves c to its last key below bound, or at or below it when inclusive, and
// returns that entry; a nil key when there is none.
func lastBefore(c *bolt.Cursor, bound []byte, inclusive bool) (k, v []byte) {
	k, v = c.Seek(bound)
	switch {
	case k == nil:
		// Every key is below bound (bbolt cannot step back from past the end).
		return c.Last()
	case inclusive && bytes.Equal(k, bound):
		return k, v
	}
	return c.Prev()
}

func readDependencies(tx *bolt.Tx) ([]scaling.Dependency, error) {
	out := []scaling.Dependency{}
	err := tx.Bucket(bucketDependencies).ForEach(func(k, v []byte) error {
		d, err := decode[scaling.Dependency]("dependency "+string(k), v)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortDependencies(out)
	return out, nil
}

// ListDependencies returns every dependency, sorted by source then target.
func (b *Bolt) ListDependencies(ctx context.Context) ([]scaling.Dependency, error) {
	var out []scaling.Dependency
	err := b.view("list dependencies", func(tx *bolt.Tx) error {
		var err error
		out, err = readDependencies(tx)
		return err
	})
	return out, err
}

// GetDependency returns the dependency of key, or ErrNotFound.
func (b *Bolt) GetDependency(ctx context.Context, key scaling.DependencyKey) (scaling.Dependency, error) {
	field := dependencyField(key)
	var d scaling.Dependency
	err := b.view("get dependency "+field, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDependencies).Get([]byte(field))
		if v == nil {
			return fmt.Errorf("dependency %s: %w", field, ErrNotFound)
		}
		var err error
		d, err = decode[scaling.Dependency]("dependency "+field, v)
		return err
	})
	return d, err
}

// PutDependency writes d after check accepted every stored dependency, in one transaction.
func (b *Bolt) PutDependency(ctx context.Context, d scaling.Dependency, check func(existing []scaling.Dependency) error) error {
	field := dependencyField(d.Key())
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dependency %s: %w", field, err)
	}
	return b.update("put dependency "+field, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDependencies)
		if check != nil {
			existing, err := reachableDependencies(bk, d.TargetService)
			if err != nil {
				return err
			}
			if err := check(existing); err != nil {
				return err
			}
		}
		if err := checkLimit(bk, []byte(field), b.limits.MaxDependencies, "dependencies"); err != nil {
			return fmt.Errorf("put dependency %s: %w", field, err)
		}
		return putCounted(bk, []byte(field), data)
	})
}

// reachableDependencies returns the dependencies reachable from service: a breadth-first
// search whose every step is one prefix scan of the source's keys ("source/..."), so a write
// reads what a cycle through it could use, never the whole graph (issue 11, item 13).
func reachableDependencies(bk *bolt.Bucket, service string) ([]scaling.Dependency, error) {
	out := []scaling.Dependency{}
	seen := map[string]bool{service: true}
	queue := []string{service}
	c := bk.Cursor()
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		prefix := []byte(n + "/")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d, err := decode[scaling.Dependency]("dependency "+string(k), v)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
			if !seen[d.TargetService] {
				seen[d.TargetService] = true
				queue = append(queue, d.TargetService)
			}
		}
	}
	sortDependencies(out)
	return out, nil
}

// PageDependencies returns up to limit dependencies after the key after, sorted by source
// then target: the keys are read, then only the page's dependencies decoded.
func (b *Bolt) PageDependencies(ctx context.Context, after scaling.DependencyKey, limit int) ([]scaling.Dependency, error) {
	out := []scaling.Dependency{}
	err := b.view("list dependencies", func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDependencies)
		var fields []string
		if err := bk.ForEach(func(k, _ []byte) error {
			fields = append(fields, string(k))
			return nil
		}); err != nil {
			return err
		}
		for _, f := range pageDependencyFields(fields, after, max(limit, 1)) {
			d, err := decode[scaling.Dependency]("dependency "+f, bk.Get([]byte(f)))
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

// SetDependencyEnabled flips Enabled and sets LastUpdated to now, or returns ErrNotFound.
func (b *Bolt) SetDependencyEnabled(ctx context.Context, key scaling.DependencyKey, enabled bool, now time.Time) (scaling.Dependency, error) {
	field := dependencyField(key)
	var d scaling.Dependency
	err := b.update("set dependency "+field+" enabled", func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDependencies)
		v := bk.Get([]byte(field))
		if v == nil {
			return fmt.Errorf("dependency %s: %w", field, ErrNotFound)
		}
		var err error
		if d, err = decode[scaling.Dependency]("dependency "+field, v); err != nil {
			return err
		}
		d.Enabled = enabled
		d.LastUpdated = now.UnixMilli()
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode dependency %s: %w", field, err)
		}
		return putKey(bk, []byte(field), data)
	})
	if err != nil {
		return scaling.Dependency{}, err
	}
	return d, nil
}

// DeleteDependency deletes the dependency of key, or returns ErrNotFound.
func (b *Bolt) DeleteDependency(ctx context.Context, key scaling.DependencyKey) error {
	field := dependencyField(key)
	return b.update("delete dependency "+field, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketDependencies)
		if bk.Get([]byte(field)) == nil {
			return fmt.Errorf("dependency %s: %w", field, ErrNotFound)
		}
		return deleteCounted(bk, []byte(field))
	})
}

// timeKey indexes an event by (Timestamp, ID), so bytewise order is that order.
func timeKey(ts int64, id string) []byte {
	return append(orderedInt64(ts), id...)
}

// AppendEvents stores events idempotently by ID and applies retention to each service touched,
// all in one transaction.
func (b *Bolt) AppendEvents(ctx context.Context, events ...scaling.Event) error {
	for _, e := range events {
		if err := checkEvent(e); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
	}
	services, by := groupEvents(events)
	if len(services) == 0 {
		return nil
	}
	encoded := make(map[string][]byte, len(events))
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		encoded[e.Service+"/"+e.ID] = data
	}
	cutoff, byAge := ageCutoff(b.retention, b.now())
	return b.update("append events", func(tx *bolt.Tx) error {
		for _, s := range services {
			if err := b.appendService(tx, s, by[s], encoded, cutoff, byAge); err != nil {
				return fmt.Errorf("append events of %s: %w", s, err)
			}
		}
		return nil
	})
}

func (b *Bolt) appendService(tx *bolt.Tx, service string, events []scaling.Event, encoded map[string][]byte, cutoff int64, byAge bool) error {
	sb, err := tx.Bucket(bucketEvents).CreateBucketIfNotExists([]byte(service))
	if err != nil {
		return err
	}
	times, err := sb.CreateBucketIfNotExists(bucketEventTimes)
	if err != nil {
		return err
	}
	ids, err := sb.CreateBucketIfNotExists(bucketEventIDs)
	if err != nil {
		return err
	}
	var count int64
	if v := sb.Get(keyEventCount); v != nil {
		count = int64(binary.BigEndian.Uint64(v))
	}
	for _, e := range events {
		tk := timeKey(e.Timestamp, e.ID)
		if old := ids.Get([]byte(e.ID)); old != nil {
			if err := times.Delete(bytes.Clone(old)); err != nil {
				return err
			}
		} else {
			count++
		}
		if err := times.Put(tk, encoded[e.Service+"/"+e.ID]); err != nil {
			return err
		}
		if err := ids.Put([]byte(e.ID), tk); err != nil {
			return err
		}
	}
	// Retention: collect the oldest keys first, then delete (deleting under a moving cursor
	// can skip keys in bbolt).
	var drop [][]byte
	c := times.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		tooOld := byAge && fromOrderedInt64(k[:8]) < cutoff
		tooMany := b.retention.MaxPerService > 0 && count-int64(len(drop)) > int64(b.retention.MaxPerService)
		if !tooOld && !tooMany {
			break
		}
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := times.Delete(k); err != nil {
			return err
		}
		if err := ids.Delete(k[8:]); err != nil {
			return err
		}
	}
	count -= int64(len(drop))
	return sb.Put(keyEventCount, binary.BigEndian.AppendUint64(nil, uint64(count)))
}

// ListEvents returns matching events newest first (ties by ID, then service, descending),
// merged across services.
//
// Each service's time index is walked newest first with its own cursor, and the cursors are
// merged by key: keys order as (Timestamp, ID), so only the events returned (and, with a type
// filter, the ones looked at) are decoded.
func (b *Bolt) ListEvents(ctx context.Context, q EventQuery) ([]scaling.Event, error) {
	out := []scaling.Event{}
	err := b.view("list events", func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketEvents)
		var cursors []*eventCursor
		open := func(name []byte) error {
			if c := newEventCursor(top, name, q); c != nil {
				cursors = append(cursors, c)
			}
			return nil
		}
		if q.Service != "" {
			_ = open([]byte(q.Service))
		} else if err := top.ForEachBucket(open); err != nil {
			return err
		}
		for q.Limit <= 0 || len(out) < q.Limit {
			// Few services: a linear scan for the newest head beats a heap's bookkeeping. The
			// cursors are in service order, so on equal keys (two services' events sharing a
			// Timestamp and an ID) ">=" takes the later service first, as listings order them.
			var next *eventCursor
			for _, c := range cursors {
				if c.k != nil && (next == nil || bytes.Compare(c.k, next.k) >= 0) {
					next = c
				}
			}
			if next == nil {
				return nil
			}
			e, err := decode[scaling.Event](fmt.Sprintf("event %s of %s", next.k[8:], next.service), next.v)
			if err != nil {
				return err
			}
			if matchEvent(q, e) {
				out = append(out, e)
			}
			next.step(q)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eventCursor walks one service's time index from newest to oldest within q's time range.
type eventCursor struct {
	service []byte
	c       *bolt.Cursor
	k, v    []byte // current entry; k is nil when done
}

func newEventCursor(top *bolt.Bucket, service []byte, q EventQuery) *eventCursor {
	sb := top.Bucket(service)
	if sb == nil {
		return nil
	}
	times := sb.Bucket(bucketEventTimes)
	if times == nil {
		return nil
	}
	ec := &eventCursor{service: service, c: times.Cursor()}
	if eventCursorBounds(q) {
		// Keys order as (Timestamp, ID): start below the cursor's, or at it for a service that
		// sorts before the cursor's, whose event of that key comes after the cursor's (ties by
		// service descending).
		b := q.Before
		ec.k, ec.v = lastBefore(ec.c, timeKey(b.Timestamp, b.ID), string(service) < b.Service)
	} else if q.Until != 0 {
		// The first key past Until, then one step back.
		if k, _ := ec.c.Seek(orderedInt64(q.Until + 1)); k == nil {
			ec.k, ec.v = ec.c.Last()
		} else {
			ec.k, ec.v = ec.c.Prev()
		}
	} else {
		ec.k, ec.v = ec.c.Last()
	}
	ec.clip(q)
	return ec
}

func (ec *eventCursor) step(q EventQuery) {
	ec.k, ec.v = ec.c.Prev()
	ec.clip(q)
}

// clip ends the walk at the first event older than q.Since.
func (ec *eventCursor) clip(q EventQuery) {
	if ec.k != nil && q.Since != 0 && fromOrderedInt64(ec.k[:8]) < q.Since {
		ec.k, ec.v = nil, nil
	}
}

func runIDKey(id string) []byte { return append(bytes.Clone(runIDPrefix), id...) }

// PutRun stores run, replacing any run with its ID, and applies run retention, in one
// transaction.
func (b *Bolt) PutRun(ctx context.Context, run scaling.ForecastRun) error {
	if run.ID == "" {
		return errors.New("put run: empty id")
	}
	data, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encode run %s: %w", run.ID, err)
	}
	cutoff := b.now().Add(-RunMaxAge).UnixMilli()
	return b.update("put run "+run.ID, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketRuns)
		idKey := runIDKey(run.ID)
		if old := bk.Get(idKey); old != nil {
			if err := bk.Delete(append(bytes.Clone(runTimePrefix), old...)); err != nil {
				return fmt.Errorf("replace run %s: %w", run.ID, err)
			}
		}
		tk := timeKey(run.QueuedAt, run.ID)
		if err := putKey(bk, append(bytes.Clone(runTimePrefix), tk...), data); err != nil {
			return err
		}
		if err := putKey(bk, idKey, tk); err != nil {
			return err
		}
		// Retention: count the time keys, then drop the oldest (collected first: deleting
		// under a moving cursor can skip keys in bbolt).
		var keys [][]byte
		c := bk.Cursor()
		for k, _ := c.Seek(runTimePrefix); k != nil && bytes.HasPrefix(k, runTimePrefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k[len(runTimePrefix):]))
		}
		var drop [][]byte
		for i, k := range keys {
			if fromOrderedInt64(k[:8]) >= cutoff && len(keys)-i <= MaxRuns {
				break
			}
			drop = append(drop, k)
		}
		for _, k := range drop {
			if err := bk.Delete(append(bytes.Clone(runTimePrefix), k...)); err != nil {
				return fmt.Errorf("trim runs: %w", err)
			}
			if err := bk.Delete(runIDKey(string(k[8:]))); err != nil {
				return fmt.Errorf("trim runs: %w", err)
			}
		}
		return nil
	})
}

// GetRun returns the run with id, or ErrNotFound.
func (b *Bolt) GetRun(ctx context.Context, id string) (scaling.ForecastRun, error) {
	var run scaling.ForecastRun
	err := b.view("get run "+id, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketRuns)
		tk := bk.Get(runIDKey(id))
		if tk == nil {
			return fmt.Errorf("run %s: %w", id, ErrNotFound)
		}
		v := bk.Get(append(bytes.Clone(runTimePrefix), tk...))
		if v == nil {
			return fmt.Errorf("run %s: %w: id index names a missing record", id, ErrCorrupt)
		}
		var err error
		run, err = decode[scaling.ForecastRun]("run "+id, v)
		return err
	})
	return run, err
}

// ListRuns returns runs newest (QueuedAt, ties by ID descending) first, at most limit
// (<= 0: all kept).
func (b *Bolt) ListRuns(ctx context.Context, limit int) ([]scaling.ForecastRun, error) {
	return b.PageRuns(ctx, RunKey{}, limit)
}

// PageRuns returns up to limit runs after before in the order of ListRuns: the time keys order
// as (QueuedAt, ID), so the walk back starts below the cursor's key.
func (b *Bolt) PageRuns(ctx context.Context, before RunKey, limit int) ([]scaling.ForecastRun, error) {
	out := []scaling.ForecastRun{}
	err := b.view("list runs", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRuns).Cursor()
		// The time keys end where the id keys begin ("i/" < "t/"): walk back from the last key.
		k, v := c.Last()
		if !before.IsZero() {
			k, v = lastBefore(c, append(bytes.Clone(runTimePrefix), timeKey(before.QueuedAt, before.ID)...), false)
		}
		for ; k != nil && bytes.HasPrefix(k, runTimePrefix) && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			run, err := decode[scaling.ForecastRun]("run "+string(k[len(runTimePrefix)+8:]), v)
			if err != nil {
				return err
			}
			out = append(out, run)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
