// Package storetest is the contract suite every store.Store implementation passes: the same
// tests, run against Redis and against bbolt, so the two backends cannot drift apart.
//
// It is imported only by tests. It checks behaviour through the store.Store interface alone,
// including under concurrency (atomic writes, the dependency check-and-write, idempotent event
// appends), and never looks at a backend's keys or files.
package storetest
