package live

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// ev is an event without the fields a test does not state (as hpaevents' derive tests).
type ev struct {
	Type             scaling.EventType
	Current, Desired int32
	Trigger          string
	Value, Threshold float64
	Reason           string
	At               time.Duration
}

func summarize(events []scaling.Event) []ev { return summarizeFrom(t0, events) }

func summarizeFrom(base time.Time, events []scaling.Event) []ev {
	out := make([]ev, 0, len(events))
	for _, e := range events {
		out = append(out, ev{
			Type: e.EventType, Current: e.CurrentReplicas, Desired: e.DesiredReplicas,
			Trigger: e.TriggerMetric, Value: e.TriggerValue, Threshold: e.TriggerThreshold,
			Reason: e.Reason, At: time.UnixMilli(e.Timestamp).Sub(base),
		})
	}
	return out
}

func at(d time.Duration) time.Time { return t0.Add(d) }
