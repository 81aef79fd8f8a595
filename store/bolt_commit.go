package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit runs concurrent writes in shared read-write transactions, one commit (and so
// one pair of fsyncs) for all the writes that queued while the previous commit ran: group
// commit. It replaces bbolt's Batch, whose batches are cut by a timer (MaxBatchDelay) whether
// or not the writer is free: with commits slower than the delay, every delay's worth of
// writes became its own transaction queued behind the others, the batches only ever split
// (the writes a commit releases come back at slightly different times and fall into
// different windows) and never merge again, so writes per commit fell and each write paid
// more fsyncs as a run went on; BenchmarkScale/bolt lost throughput as the graph grew (issue
// 11). Here a write never waits for a timer: when the writer is idle it commits at once,
// and when it is busy the next commit takes everything queued meanwhile, so the batch grows
// with the commit time instead of the queue.
//
// As with Batch, fn may run more than once (each run in a fresh transaction, so every fn
// computes its writes from the transaction alone), and a fn that fails or panics in a
// shared transaction is run again alone, so it never fails the others.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*commitCall
	running bool // a goroutine is committing the queue
}

type commitCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// maxGroup bounds the writes of one transaction (as Batch's MaxBatchSize does), so a burst
// does not build one huge transaction in memory.
const maxGroup = 1000

// errRunAlone tells a caller that its fn failed in a shared transaction and must run alone.
var errRunAlone = errors.New("run alone")

// update runs fn in a committed read-write transaction, shared with concurrent callers.
func (g *groupCommit) update(fn func(*bolt.Tx) error) error {
	c := &commitCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		// The goroutine lives while writes keep coming, so no goroutine outlives the store
		// when it is idle, and Close needs no part in it: after Close, Update fails and the
		// error reaches the callers.
		go g.run()
	}
	if err := <-c.done; !errors.Is(err, errRunAlone) {
		return err
	}
	return g.db.Update(fn)
}

// run commits the queue until it is empty.
func (g *groupCommit) run() {
	for {
		g.mu.Lock()
		calls := g.queue[:min(len(g.queue), maxGroup)]
		g.queue = g.queue[len(calls):]
		if len(calls) == 0 {
			g.queue = nil
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(calls)
	}
}

// commit runs calls in one transaction; a call whose fn fails is taken out and told to run
// alone, and the rest are run again without it.
func (g *groupCommit) commit(calls []*commitCall) {
	calls = slices.Clone(calls) // commit removes failed calls; the queue's array is shared
	for len(calls) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := callSafely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errRunAlone
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		// Success, or a failure of bbolt itself (commit, fsync, closed database): the same
		// for every call.
		for _, c := range calls {
			c.done <- err
		}
		return
	}
}

// callSafely turns a panic of fn into an error, so the panicking fn is run again alone, in
// its caller's goroutine, where the panic belongs.
func callSafely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked in a shared transaction: %v", p)
		}
	}()
	return fn(tx)
}
