package hpaevents

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Effectiveness scores one service's scaling events whose Timestamp lies in (now-window, now]:
// the share of those with a known outcome that were effective. No-scale events are not
// scaling decisions and do not count. With no decided event the figure is nil, not 1.
func Effectiveness(service string, events []scaling.Event, now time.Time, window time.Duration) scaling.EffectivenessReport {
	since := now.Add(-window)
	r := scaling.EffectivenessReport{
		Service:       service,
		Window:        window.String(),
		WindowSeconds: int64(window / time.Second),
		Since:         since.UnixMilli(),
		Until:         now.UnixMilli(),
	}
	for _, e := range events {
		if e.Service != service || e.Timestamp <= r.Since || e.Timestamp > r.Until || e.EventType == scaling.EventNoScale {
			continue
		}
		r.ScalingEvents++
		switch e.Outcome {
		case scaling.OutcomeEffective:
			r.Effective++
		case scaling.OutcomeIneffective:
			r.Ineffective++
		default:
			r.Pending++
		}
	}
	if decided := r.Effective + r.Ineffective; decided > 0 {
		f := float64(r.Effective) / float64(decided)
		r.Effectiveness = &f
	}
	return r
}
