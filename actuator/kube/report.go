package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kai-platform/kai-scaler/actuator"
)

// Values of kai_actuator_patches_total's result label.
const (
	resultSuccess  = actuator.PatchSuccess
	resultConflict = actuator.PatchConflict
	resultError    = actuator.PatchError
	resultDryRun   = actuator.PatchDryRun
)

// ReportingController names kai-scaler in the Events it records.
const ReportingController = "kai-scaler.io/actuator"

// objectRef is the object an Event is about.
type objectRef struct{ kind, apiVersion, name string }

// report counts, logs and records (Event) the outcome of one write attempt. done is the write
// made (nil: nothing needed writing).
func (c *Cluster) report(ctx context.Context, log *slog.Logger, w actuator.Workload, reason string, done *write, err error, ref objectRef) error {
	if err != nil {
		c.metrics.Patches.WithLabelValues(resultError).Inc()
		return err
	}
	if done == nil {
		log.Debug("floor already in force; nothing to write", "floor", w.MinReplicas)
		return nil
	}
	gaugeReason := reason
	if done.clamped != "" {
		gaugeReason = done.clamped
	}
	if done.reason == ReasonRestored {
		gaugeReason = actuator.SourceBase
	}
	c.metrics.SetFloor(w.Service, gaugeReason, done.floor)
	attrs := []any{"event", done.reason, "from", done.from, "to", done.floor}
	if done.clamped != "" {
		attrs = append(attrs, "clamped_to", done.clamped)
	}
	if done.adopted {
		attrs = append(attrs, "adopted_base", true)
	}
	// The actuator logs each floor change once at info, with its reasons (the decision
	// record); the write itself is detail, except adopting someone else's floor as the base.
	if c.dryRun {
		c.metrics.Patches.WithLabelValues(resultDryRun).Inc()
		log.Debug("dry run: would change floor", attrs...)
		return nil
	}
	c.metrics.Patches.WithLabelValues(resultSuccess).Inc()
	msg := map[string]string{
		ReasonRaised:   "raised floor",
		ReasonLowered:  "lowered floor",
		ReasonRestored: "restored base floor",
		ReasonAdopted:  "adopted floor set by someone else as base",
	}[done.reason]
	level := slog.LevelDebug
	if done.reason == ReasonAdopted {
		level = slog.LevelInfo
	}
	log.Log(ctx, level, msg, attrs...)
	c.recordEvent(ctx, log, w.Namespace, ref, done, reason)
	return nil
}

// recordEvent creates an events.k8s.io/v1 Event about ref. A failure is logged, not returned:
// the floor is already written.
func (c *Cluster) recordEvent(ctx context.Context, log *slog.Logger, ns string, ref objectRef, done *write, reason string) {
	now := c.now()
	note := fmt.Sprintf("kai-scaler changed the replica floor from %d to %d (%s)", done.from, done.floor, reason)
	switch {
	case done.reason == ReasonRestored:
		note = fmt.Sprintf("kai-scaler restored the base replica floor %d (was %d)", done.floor, done.from)
	case done.reason == ReasonAdopted:
		note = fmt.Sprintf("the replica floor %d was set by someone else; kai-scaler keeps it as the base", done.floor)
	case done.clamped != "":
		note += fmt.Sprintf("; clamped to %s", done.clamped)
	}
	action := "SetFloor"
	if done.reason == ReasonRestored {
		action = "RestoreFloor"
	}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.name, now.UnixNano()), Namespace: ns},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: ReportingController,
		ReportingInstance:   c.instance,
		Action:              action,
		Reason:              done.reason,
		Regarding:           corev1.ObjectReference{Kind: ref.kind, APIVersion: ref.apiVersion, Name: ref.name, Namespace: ns},
		Note:                note,
		Type:                corev1.EventTypeNormal,
	}
	if _, err := c.client.EventsV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		log.Warn("cannot record kubernetes event; the floor change stands", "err", err)
	}
}

// health tracks whether one informer's cache is in sync with the API server.
type health struct {
	now      func() time.Time
	informer interface{ LastSyncResourceVersion() string }

	mu sync.Mutex
	// failedAt is when a list or watch first failed since the cache was last known in sync;
	// zero while healthy.
	failedAt    time.Time
	rvAtFailure string
}

func (h *health) watchError(ctx context.Context, r *cache.Reflector, err error) {
	// A watch that closes or expires is routine: the reflector resumes at once and the cache
	// never stopped being current. Anything else (API server unreachable, forbidden) is not.
	routine := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
	if !routine {
		h.mu.Lock()
		if h.failedAt.IsZero() {
			h.failedAt, h.rvAtFailure = h.now(), h.informer.LastSyncResourceVersion()
		}
		h.mu.Unlock()
	}
	if r != nil {
		cache.DefaultWatchErrorHandler(ctx, r, err)
	}
}

func (h *health) ok() {
	h.mu.Lock()
	h.failedAt = time.Time{}
	h.mu.Unlock()
}

func (h *health) synced(time.Time) { h.ok() }

func (h *health) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { h.ok() },
		UpdateFunc: func(any, any) { h.ok() },
		DeleteFunc: func(any) { h.ok() },
	}
}

// freshAt is the last moment the cache is known to match the API server: now while healthy,
// else when it started failing. A new resourceVersion after a failure means a relist or a
// watch event got through, so the cache is current again.
func (h *health) freshAt(now time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failedAt.IsZero() {
		return now
	}
	if rv := h.informer.LastSyncResourceVersion(); rv != "" && rv != h.rvAtFailure {
		h.failedAt = time.Time{}
		return now
	}
	return h.failedAt
}
