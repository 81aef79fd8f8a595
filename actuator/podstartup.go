package actuator

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// PodTimes is what one pod of a workload says of its start-up.
type PodTimes struct {
	Created time.Time
	// Ready is when the pod's Ready condition last became true; zero while it is not ready.
	Ready time.Time
	// Restarts is its containers' restarts: a restarted pod's Ready time is its restart's.
	Restarts int32
}

// PodStartup is a workload's measured pod start-up: the median time from a pod's creation to
// its readiness over the newest ready pods.
type PodStartup struct {
	Startup time.Duration
	// Pods is how many pods it was measured on.
	Pods int
}

// ErrTooFewPods is MeasurePodStartup's error where too few pods can be measured: a workload
// this small, or this new, is no fault.
var ErrTooFewPods = errors.New("too few pods")

const (
	// MinPodStartupPods is the fewest pods a start-up is measured on: one or two pods may
	// have waited for a node, an image pull or a rollout's pause, which scale-ups mostly do not.
	MinPodStartupPods = 3
	// podStartupPods is how many of the newest pods are measured: they started as the
	// workload's pods start now (the image and probes in force), and a long-lived pod's Ready
	// time may be a later readiness flap's rather than its start-up's.
	podStartupPods = 20
	// maxPodStartup is the longest gap from creation to ready taken for a start-up; a longer
	// one is a pod whose readiness flapped long after it started.
	maxPodStartup = time.Hour
)

// MeasurePodStartup measures a workload's pod start-up from its pods: the median time from
// creation to ready (rounded up to whole seconds) over its newest podStartupPods pods that are
// ready, never restarted, and became ready within maxPodStartup of their creation. With fewer
// than MinPodStartupPods such pods it measures nothing and says why (ErrTooFewPods).
func MeasurePodStartup(pods []PodTimes) (PodStartup, error) {
	var gaps []PodTimes
	for _, p := range pods {
		gap := p.Ready.Sub(p.Created)
		if p.Ready.IsZero() || p.Created.IsZero() || p.Restarts > 0 || gap < 0 || gap > maxPodStartup {
			continue
		}
		gaps = append(gaps, p)
	}
	if len(gaps) < MinPodStartupPods {
		return PodStartup{}, fmt.Errorf("%w: %d of %d pods ready since their start, need %d", ErrTooFewPods, len(gaps), len(pods), MinPodStartupPods)
	}
	// Newest first; equal creation times in Ready order, so the choice does not depend on
	// the order the API server listed them in.
	slices.SortFunc(gaps, func(a, b PodTimes) int {
		return cmp.Or(b.Created.Compare(a.Created), a.Ready.Compare(b.Ready))
	})
	gaps = gaps[:min(len(gaps), podStartupPods)]
	d := make([]time.Duration, len(gaps))
	for i, p := range gaps {
		d[i] = p.Ready.Sub(p.Created)
	}
	slices.Sort(d)
	median := d[len(d)/2]
	if len(d)%2 == 0 {
		median = (d[len(d)/2-1] + median) / 2
	}
	return PodStartup{Startup: max(time.Second, ceilSecond(median)), Pods: len(d)}, nil
}

func ceilSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}
