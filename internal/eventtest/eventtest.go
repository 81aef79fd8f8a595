// Package eventtest holds what the HPA event tests of several packages (hpaevents and its live
// and history sources) compare events by.
package eventtest

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Event is the part of a scaling.Event a table states: its ID and timestamp are checked
// separately, its time as At, the offset from a test's start.
type Event struct {
	Type             scaling.EventType
	Current, Desired int32
	Trigger          string
	Value, Threshold float64
	Reason           string
	At               time.Duration
}

// Summarize is events as Events, their times measured from base.
func Summarize(base time.Time, events []scaling.Event) []Event {
	out := make([]Event, 0, len(events))
	for _, e := range events {
		out = append(out, Event{
			Type: e.EventType, Current: e.CurrentReplicas, Desired: e.DesiredReplicas,
			Trigger: e.TriggerMetric, Value: e.TriggerValue, Threshold: e.TriggerThreshold,
			Reason: e.Reason, At: time.UnixMilli(e.Timestamp).Sub(base),
		})
	}
	return out
}
