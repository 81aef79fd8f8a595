package actuator

import (
	"fmt"
	"strings"
	"time"

	"github.com/kai-platform/kai-scaler/scaling"
)

// FloorRecord builds the decision record of one floor change (or, in dry-run, would-be change)
// from `from` to d.Floor: every contribution, the winning one in the summary, and the settings in
// force (lead time and capacity of cfg; quantile, model and calibration of pred, the prediction
// the planner saw, when there was one).
func FloorRecord(d Decision, cfg ServiceConfig, pred *scaling.Prediction, from int32, now time.Time, dryRun bool) scaling.FloorDecision {
	rec := scaling.FloorDecision{
		Service:   d.Service,
		Timestamp: now.UnixMilli(),
		From:      from,
		To:        d.Floor,
		Reason:    d.Reason,
		DryRun:    dryRun,
		Settings: scaling.DecisionSettings{
			LeadTimeSeconds:    int64(max(cfg.LeadTime, 0) / time.Second),
			CapacityPerReplica: cfg.CapacityPerReplica,
		},
	}
	for _, c := range d.Contributions {
		rec.Contributions = append(rec.Contributions, scaling.DecisionContribution{Source: c.Source, Floor: c.Floor, Detail: c.Detail})
	}
	if pred != nil {
		rec.Settings.Quantile = pred.Quantile
		rec.Settings.Model = pred.Model
		rec.Settings.ModelReason = pred.ModelReason
		rec.Settings.PredictionFittedAt = pred.FittedAt
		rec.Settings.BacktestCoverage = pred.BacktestCoverage
		rec.Settings.Calibration = pred.Calibration
	}
	rec.Summary = floorSummary(d, from, cfg.LeadTime, dryRun)
	return rec
}

// floorSummary is the decision in one line, e.g. "checkout floor 5→8: prediction q0.90 peak of
// fourier-daily model at 2026-11-27T09:00:00Z, lead 5m".
func floorSummary(d Decision, from int32, lead time.Duration, dryRun bool) string {
	var b strings.Builder
	if dryRun {
		b.WriteString("dry run: ")
	}
	fmt.Fprintf(&b, "%s floor %d→%d: %s", d.Service, from, d.Floor, d.Reason)
	if why := winningDetail(d); why != "" {
		b.WriteString(" " + why)
	}
	fmt.Fprintf(&b, ", lead %s", shortDuration(lead))
	return b.String()
}

// winningDetail says why the winning contribution asked for its floor. A floor cut to
// maxReplicas has no contribution of its own: the highest one it cut is named instead.
func winningDetail(d Decision) string {
	var win *Contribution
	for i := range d.Contributions {
		c := &d.Contributions[i]
		if d.Reason == SourceMax {
			if win == nil || c.Floor > win.Floor {
				win = c
			}
			continue
		}
		if c.Source == d.Reason {
			win = c // step-down is appended last: the last of a source is the one in force
		}
	}
	switch {
	case win == nil:
		return ""
	case d.Reason == SourceMax:
		return fmt.Sprintf("maxReplicas %d caps %s's %d (%s)", d.Floor, win.Source, win.Floor, win.Detail)
	}
	return win.Detail
}

// shortDuration prints 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
