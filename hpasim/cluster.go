package hpasim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
)

// Service is one workload of the simulated cluster: with an HPA (HPA non-nil) or a bare scale
// target whose replicas the actuator sets directly.
type Service struct {
	Name, Namespace string
	HPA             *Config
	// Replicas and MaxReplicas are the bare target's replicas and cap (0 = none); ignored with an HPA.
	Replicas, MaxReplicas int32
}

type simService struct {
	spec Service
	hpa  *HPA
	// replicas of a bare target.
	replicas int32
	// base and floorChangedAt are the annotations kai-scaler keeps on the object.
	base           *int32
	floorChangedAt time.Time
}

// Cluster is an in-memory cluster for the simulator and the demo: it implements
// actuator.Cluster with the base-floor annotation semantics of the real adapter, and runs
// each HPA's controller when Advance is called. Safe for concurrent use.
type Cluster struct {
	mu       sync.Mutex
	now      func() time.Time
	services map[string]*simService
	onRecord func(Record)
}

var _ actuator.Cluster = (*Cluster)(nil)

// NewCluster returns an empty cluster reading time from now. onRecord, if not nil, receives
// every HPA sync record (called with the cluster's lock held: it must not call back into the
// cluster).
func NewCluster(now func() time.Time, onRecord func(Record)) *Cluster {
	return &Cluster{now: now, services: make(map[string]*simService), onRecord: onRecord}
}

// Add puts a service in the cluster; its pods are ready at once.
func (c *Cluster) Add(s Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ss := &simService{spec: s, replicas: s.Replicas}
	if s.HPA != nil {
		cfg := *s.HPA
		if cfg.Name == "" {
			cfg.Name = s.Name
		}
		ss.hpa = NewHPA(cfg, c.now())
	}
	c.services[key(s.Namespace, s.Name)] = ss
}

// HPA returns a service's simulated HPA, or nil.
func (c *Cluster) HPA(namespace, name string) *HPA {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.services[key(namespace, name)]; ok {
		return s.hpa
	}
	return nil
}

// Replicas returns a service's replicas (all pods) and ready replicas at the cluster's now.
func (c *Cluster) Replicas(namespace, name string) (total, ready int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[key(namespace, name)]
	switch {
	case !ok:
		return 0, 0
	case s.hpa == nil:
		return s.replicas, s.replicas
	}
	return s.hpa.Replicas(), s.hpa.ReadyReplicas(c.now())
}

// Advance runs every HPA whose sync is due at the cluster's now, with the load of its
// service (services absent from load see zero), in name order.
func (c *Cluster) Advance(load map[string]float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	keys := make([]string, 0, len(c.services))
	for k := range c.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := c.services[k]
		if s.hpa == nil || !s.hpa.Due(now) {
			continue
		}
		r := s.hpa.Sync(now, load[s.spec.Name])
		if c.onRecord != nil {
			c.onRecord(r)
		}
	}
}

// Workloads implements actuator.Cluster.
func (c *Cluster) Workloads(_ context.Context, refs []actuator.ServiceRef) ([]actuator.Workload, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var out []actuator.Workload
	for _, ref := range refs {
		s, ok := c.services[key(ref.Namespace, ref.Service)]
		if !ok {
			continue
		}
		w := actuator.Workload{Service: s.spec.Name, Namespace: s.spec.Namespace, ObservedAt: now, FloorChangedAt: s.floorChangedAt}
		if s.hpa != nil {
			w.HPAName = s.hpa.cfg.Name
			w.MinReplicas, w.MaxReplicas = s.hpa.MinReplicas(), s.hpa.cfg.MaxReplicas
			w.Behavior = s.hpa.cfg.Behavior
			w.CurrentReplicas = s.hpa.Replicas()
			w.DesiredReplicas = w.CurrentReplicas
			w.ReadyReplicas = s.hpa.ReadyReplicas(now)
			w.NeededReplicas, w.NeedKnown = s.hpa.NeededReplicas(), s.hpa.NeedKnown()
		} else {
			w.MinReplicas, w.MaxReplicas = s.replicas, s.spec.MaxReplicas
			w.CurrentReplicas, w.DesiredReplicas = s.replicas, s.replicas
		}
		w.BaseMinReplicas = w.MinReplicas
		if s.base != nil {
			w.BaseMinReplicas, w.Touched = *s.base, true
		}
		out = append(out, w)
	}
	return out, nil
}

// SetFloor implements actuator.Cluster: the base is recorded before the first change.
func (c *Cluster) SetFloor(_ context.Context, change actuator.FloorChange) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[key(change.Workload.Namespace, change.Workload.Service)]
	if !ok {
		return fmt.Errorf("set floor of %s/%s: no such workload", change.Workload.Namespace, change.Workload.Service)
	}
	if change.Floor == s.floor() {
		return nil
	}
	if s.base == nil {
		b := s.floor()
		s.base = &b
	}
	s.setFloor(change.Floor)
	s.floorChangedAt = c.now()
	return nil
}

// Restore implements actuator.Cluster: the base goes back and the annotation is removed.
func (c *Cluster) Restore(_ context.Context, w actuator.Workload) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.services[key(w.Namespace, w.Service)]
	if !ok {
		return fmt.Errorf("restore %s/%s: no such workload", w.Namespace, w.Service)
	}
	if s.base == nil {
		return nil
	}
	if s.floor() != *s.base {
		s.setFloor(*s.base)
		s.floorChangedAt = c.now()
	}
	s.base = nil
	return nil
}

func (s *simService) floor() int32 {
	if s.hpa != nil {
		return s.hpa.MinReplicas()
	}
	return s.replicas
}

func (s *simService) setFloor(n int32) {
	if s.hpa != nil {
		s.hpa.SetMinReplicas(n)
		return
	}
	if s.spec.MaxReplicas > 0 {
		n = min(n, s.spec.MaxReplicas)
	}
	s.replicas = max(n, 0)
}

func key(namespace, name string) string { return namespace + "/" + name }
