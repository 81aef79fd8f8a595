package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kai-platform/kai-scaler/scaling"
	"github.com/kai-platform/kai-scaler/store"
)

// benchStores opens each backend the benchmark can reach, with the default retention.
func benchStores(b *testing.B) map[string]func(b *testing.B) store.Store {
	return map[string]func(b *testing.B) store.Store{
		"bolt": func(b *testing.B) store.Store {
			s, err := store.OpenBolt(b.TempDir()+"/bench.db", store.BoltOptions{})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		},
		"redis": func(b *testing.B) store.Store { return openRedisTB(b, store.DefaultEventRetention) },
	}
}

func benchEvent(i int, service string, base int64) scaling.Event {
	return scaling.Event{
		ID: fmt.Sprintf("%s-%08d", service, i), Service: service, Namespace: "prod",
		EventType: scaling.EventTypes[i%len(scaling.EventTypes)], CurrentReplicas: 3, DesiredReplicas: 4,
		TriggerMetric: "resource:cpu", TriggerValue: 0.9, TriggerThreshold: 0.7, Timestamp: base + int64(i),
	}
}

// BenchmarkAppendEvent is one HPA event appended to a log that is already at its retention
// limit, so each append also trims: the steady state of a busy service.
func BenchmarkAppendEvent(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			base := time.Now().Add(-time.Hour).UnixMilli()
			fill := make([]scaling.Event, store.DefaultEventRetention.MaxPerService)
			for i := range fill {
				fill[i] = benchEvent(i, "api", base)
			}
			require.NoError(b, s.AppendEvents(ctx, fill...))
			b.ReportAllocs()
			i := len(fill)
			for b.Loop() {
				require.NoError(b, s.AppendEvents(ctx, benchEvent(i, "api", base)))
				i++
			}
		})
	}
}

// BenchmarkListEvents is the API's GET /api/hpa-events: 100 newest events of any type across
// 10 services holding 2,000 events each, and the same with a type filter.
func BenchmarkListEvents(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			base := time.Now().Add(-time.Hour).UnixMilli()
			for svc := range 10 {
				batch := make([]scaling.Event, 2000)
				for i := range batch {
					batch[i] = benchEvent(i, fmt.Sprintf("svc-%d", svc), base)
				}
				require.NoError(b, s.AppendEvents(ctx, batch...))
			}
			for _, q := range []struct {
				name string
				q    store.EventQuery
			}{
				{"newest-100", store.EventQuery{Limit: 100}},
				{"limited-scale-100", store.EventQuery{Limit: 100, Types: []scaling.EventType{scaling.EventLimitedScale}}},
			} {
				b.Run(q.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						got, err := s.ListEvents(ctx, q.q)
						require.NoError(b, err)
						require.Len(b, got, 100)
					}
				})
			}
		})
	}
}
