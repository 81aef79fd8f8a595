package hpaevents

import (
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// Effectiveness scores one service's HPA scaling decisions whose Timestamp lies in
// (now-window, now]: the share of those with a known outcome that were effective. No-scale
// events are not scaling decisions and do not count, nor are the floor's own raises
// (ReasonFloorRaised: kai-scaler's action, scored by FloorRaiseEffectiveness). With no
// decided event the figure is nil, not 1.
func Effectiveness(service string, events []scaling.Event, now time.Time, window time.Duration) scaling.EffectivenessReport {
	return score(service, events, now, window, func(e scaling.Event) bool { return !IsFloorRaise(e) })
}

// FloorRaiseEffectiveness scores the floor's own raises (ReasonFloorRaised) the same way:
// the share after which the trigger metric was within its threshold.
func FloorRaiseEffectiveness(service string, events []scaling.Event, now time.Time, window time.Duration) scaling.EffectivenessReport {
	return score(service, events, now, window, IsFloorRaise)
}

// IsFloorRaise reports whether e is the HPA following a raised floor, not its own decision.
func IsFloorRaise(e scaling.Event) bool {
	return e.EventType == scaling.EventLimitedScale && e.Reason == ReasonFloorRaised
}

func score(service string, events []scaling.Event, now time.Time, window time.Duration, counts func(scaling.Event) bool) scaling.EffectivenessReport {
	since := now.Add(-window)
	r := scaling.EffectivenessReport{
		Service:       service,
		Window:        window.String(),
		WindowSeconds: int64(window / time.Second),
		Since:         since.UnixMilli(),
		Until:         now.UnixMilli(),
	}
	for _, e := range events {
		if e.Service != service || e.Timestamp <= r.Since || e.Timestamp > r.Until || e.EventType == scaling.EventNoScale || !counts(e) {
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
