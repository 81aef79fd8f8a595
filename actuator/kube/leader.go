package kube

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderOptions configure leader election on a coordination.k8s.io Lease.
type LeaderOptions struct {
	// Client reaches the kube-apiserver. Required.
	Client kubernetes.Interface
	// Namespace and Name of the Lease (kai-scaler's own namespace; RBAC allows leases only there).
	Namespace, Name string
	// Identity of this replica (pod name); must differ between replicas. Required.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod: zero means 15s, 10s and 2s. A follower
	// takes over at most LeaseDuration + RetryPeriod after the leader died, and at once when
	// the leader stops cleanly (it releases the Lease).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer receives kai_actuator_leader (1 while this replica leads); nil registers nothing.
	Registerer prometheus.Registerer
}

// RunWithLeaderElection runs lead while this replica holds the Lease, cancelling its context
// when leadership is lost, and stands for election again until ctx ends. Only one replica runs
// lead at a time. The Lease is released when ctx ends, so a follower takes over at once.
func RunWithLeaderElection(ctx context.Context, opts LeaderOptions, lead func(ctx context.Context) error) error {
	if opts.Client == nil || opts.Identity == "" || opts.Namespace == "" || opts.Name == "" {
		return errors.New("leader election: Client, Namespace, Name and Identity are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("lease", opts.Namespace+"/"+opts.Name, "identity", opts.Identity)
	leader := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kai_actuator_leader",
		Help: "1 while this replica holds the actuator's leader Lease (runs the actuator), else 0.",
	})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(leader); err != nil {
			return err
		}
		defer opts.Registerer.Unregister(leader)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.Namespace, Name: opts.Name},
		Client:     opts.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.Identity},
	}
	// running is held while lead runs: leaderelection starts lead in a goroutine it does not
	// wait for, so a later round (or our return) must wait here for lead to have ended.
	running := make(chan struct{}, 1)
	cfg := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   orDefault(opts.LeaseDuration, 15*time.Second),
		RenewDeadline:   orDefault(opts.RenewDeadline, 10*time.Second),
		RetryPeriod:     orDefault(opts.RetryPeriod, 2*time.Second),
		ReleaseOnCancel: true,
		Name:            opts.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				running <- struct{}{}
				defer func() { <-running }()
				if ctx.Err() != nil {
					return // lost already, before we got to run
				}
				leader.Set(1)
				log.Info("started leading")
				if err := lead(ctx); err != nil && ctx.Err() == nil {
					log.Error("leader work ended with an error", "err", err)
				}
			},
			OnStoppedLeading: func() {
				leader.Set(0)
				log.Info("stopped leading")
			},
			OnNewLeader: func(id string) {
				if id != opts.Identity {
					log.Info("following", "leader", id)
				}
			},
		},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(cfg)
		if err != nil {
			return err
		}
		le.Run(ctx)           // returns when leadership is lost or ctx ends; lead's ctx is then cancelled
		running <- struct{}{} // wait for lead to end
		<-running
		if ctx.Err() == nil {
			log.Warn("lost leadership; standing for election again")
		}
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
