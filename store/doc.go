// Package store keeps the scaler's records: load patterns, predictions, scaling dependencies,
// HPA events, forecast runs, scheduled overrides, floor decisions and dry-run shadow days, and
// named leases (LockStore) that let replicas exclude each
// other, such as the forecast run lock.
//
// store.go declares one interface per record kind; callers test errors with errors.Is against
// ErrNotFound, ErrUnavailable (answer 503), ErrCorrupt (a stored record no longer decodes) and
// ErrConflict (an optimistic write kept losing to concurrent writers). Two backends implement
// Store with the same semantics and pass the same contract suite (store/storetest):
//
//   - Redis (NewRedis): production, shared by every replica; REDIS_URL may be one redis:// or
//     rediss:// URL, or several comma-separated addresses for Sentinel or Cluster through
//     go-redis' UniversalClient. Every key sits under a prefix ("kai:" by default); keys that
//     must change together share a hash tag so scripts and transactions work on Cluster.
//     Patterns and dependencies are one key per object plus index sorted sets (listing and
//     paging by name) and per-source adjacency sets: a write touches its own keys, and a
//     dependency's cycle check reads only what is reachable from its target, in a script
//     (redis_objects.go). Open migrates the single hashes of the earlier layout (MigrateLayout).
//     On Cluster every multi-key script and transaction stays in one slot: a service's keys
//     share the {service} tag, runs {runs}, leases {name}, and all patterns and dependencies
//     {obj} (so they live on one shard; the cycle check's script reads adjacency sets it finds
//     on the way, which only one slot makes legal). Listings pipeline across slots.
//     Redis replicates asynchronously: a write acknowledged just before its master dies can be
//     missing on the replica that takes over, and so can a lease, letting two replicas hold
//     it. With WaitReplicas (REDIS_URL's wait_replicas) every write is followed, on the same
//     connection of the master serving its keys, by WAIT; a write too few replicas confirm
//     within WaitTimeout fails with ErrUnavailable although the master may have applied it
//     (redis_wait.go). The Cluster and Sentinel tests (internal/redisha) kill the leader and a
//     master mid-run and check that no acknowledged write is lost.
//   - Bolt (OpenBolt): embedded, one bbolt file in DATA_DIR, the default when REDIS_URL is
//     unset. Each write is one fsync'd bbolt transaction.
//
// Open picks one from the configuration.
//
// Listings are ordered: patterns by service, dependencies by (source, target), predictions
// newest FittedAt first, events and forecast runs newest Timestamp (QueuedAt) first with ties
// by ID descending, overrides by (service, start, ID), floor decisions newest first, shadow days
// newest day first. A prediction is identified by (service, FittedAt), an event and a run by
// its ID, so writing any of them again replaces it. The package holds no decision logic beyond
// what a store must guarantee (atomic writes, idempotent event appends, retention); cycle
// rules, for example, arrive as the check function of PutDependency.
package store
