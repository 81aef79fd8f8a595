package history

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/hpaevents"
	"github.com/kai-platform/kai-scaler/store"

	"github.com/kai-platform/kai-scaler/internal/eventtest"
	"github.com/kai-platform/kai-scaler/scaling"
)

// ev is an event without the fields a test does not state (as hpaevents' derive tests).
type ev = eventtest.Event

func summarizeFrom(base time.Time, events []scaling.Event) []ev {
	return eventtest.Summarize(base, events)
}

func at(d time.Duration) time.Time { return t0.Add(d) }

func listAll(t *testing.T, s hpaevents.EventStore) []scaling.Event {
	t.Helper()
	events, err := s.ListEvents(t.Context(), store.EventQuery{})
	require.NoError(t, err)
	return events
}
