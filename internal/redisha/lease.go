package redisha

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kai-platform/kai-scaler/store"
)

// Belief is a time during which Owner believed it held the lease: from the moment a
// TryLock reply said yes to the moment the lock's TTL, counted from when that request was
// sent, runs out. Redis starts the TTL no earlier than the request was sent, so a correct
// store never lets another owner's belief start before this one ends.
type Belief struct {
	Owner       string
	From, Until time.Time
}

// LeaseLog records the beliefs of every elector of a test. Safe for concurrent use.
type LeaseLog struct {
	mu      sync.Mutex
	beliefs []Belief
}

func (l *LeaseLog) add(b Belief) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.beliefs = append(l.beliefs, b)
}

// Beliefs returns a copy of everything recorded, ordered by From.
func (l *LeaseLog) Beliefs() []Belief {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.beliefs)
	slices.SortFunc(out, func(a, b Belief) int { return a.From.Compare(b.From) })
	return out
}

// HolderAt returns the owner that believes it holds the lease at t, or "".
func (l *LeaseLog) HolderAt(t time.Time) string {
	for _, b := range l.Beliefs() {
		if !t.Before(b.From) && t.Before(b.Until) {
			return b.Owner
		}
	}
	return ""
}

// Owners returns the distinct owners that ever held the lease, in the order they first did.
func (l *LeaseLog) Owners() []string {
	var out []string
	for _, b := range l.Beliefs() {
		if !slices.Contains(out, b.Owner) {
			out = append(out, b.Owner)
		}
	}
	return out
}

// Overlaps describes every pair of beliefs of different owners that overlap in time: two
// leaders at once. Empty means one leader at a time.
func Overlaps(beliefs []Belief) []string {
	var out []string
	for i, a := range beliefs {
		for _, b := range beliefs[i+1:] {
			if a.Owner != b.Owner && a.From.Before(b.Until) && b.From.Before(a.Until) {
				out = append(out, fmt.Sprintf("%s believed it led %s–%s and %s %s–%s (overlap %s)",
					a.Owner, a.From.Format("15:04:05.000"), a.Until.Format("15:04:05.000"),
					b.Owner, b.From.Format("15:04:05.000"), b.Until.Format("15:04:05.000"),
					overlap(a, b)))
			}
		}
	}
	return out
}

// Elect runs leader election for owner on the store's lease name until ctx ends: TryLock
// every renew (taking the lease when free, extending it when held), recording every yes in
// log. It never unlocks, as a crashed process would not: ending ctx is a kill.
func Elect(ctx context.Context, st store.LockStore, name, owner string, ttl, renew time.Duration, log *LeaseLog) {
	tick := time.NewTicker(renew)
	defer tick.Stop()
	for {
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, renew)
		ok, err := st.TryLock(cctx, name, owner, ttl)
		cancel()
		got := time.Now()
		if err == nil && ok && ctx.Err() == nil && got.Before(sent.Add(ttl)) {
			log.add(Belief{Owner: owner, From: got, Until: sent.Add(ttl)})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func overlap(a, b Belief) time.Duration {
	end, start := a.Until, a.From
	if b.Until.Before(end) {
		end = b.Until
	}
	if b.From.After(start) {
		start = b.From
	}
	return end.Sub(start)
}
