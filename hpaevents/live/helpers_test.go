package live

import (
	"time"

	"github.com/kai-platform/kai-scaler/internal/eventtest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// ev is an event without the fields a test does not state (as hpaevents' derive tests).
type ev = eventtest.Event

func summarize(events []scaling.Event) []ev { return summarizeFrom(t0, events) }

func summarizeFrom(base time.Time, events []scaling.Event) []ev {
	return eventtest.Summarize(base, events)
}

func at(d time.Duration) time.Time { return t0.Add(d) }
