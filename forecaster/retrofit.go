package forecaster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kai-platform/kai-scaler/actuator"
	"github.com/kai-platform/kai-scaler/forecast"
	"github.com/kai-platform/kai-scaler/hpasim"
	"github.com/kai-platform/kai-scaler/scaling"
)

// DefaultRetroFits is how many forecasts one calibration fits afterwards at most (Options.RetroFits):
// two days of them at the default hourly schedule, the least history calibration replays
// (hpasim.DefaultMinCalibrationWindow), so a new service calibrates on its first run and the
// rest of the window fills over the next three. They share one harmonic design, so 48 take
// about 30 ms a service: a first run costs twice a steady one (BenchmarkRunEightServices).
const DefaultRetroFits = 48

// minRetroHistory is the least history (from its first sample) a forecast fitted afterwards
// sees, as hpasim's replay asks of the forecasts it fits for calibration.
const minRetroHistory = 2 * 24 * time.Hour

// retroSpacing is the least time between two forecasts fitted afterwards: on a schedule faster
// than hourly, an hour's forecasts stand for the runs between them (each valid for two
// spacings, so none expires before the next), and a week of them is 168 fits, not 2,016.
const retroSpacing = time.Hour

// retroFits are the forecasts svc would have had over the calibration window before the first
// one in known (oldest first; all of the window when there is none), fitted now at the
// schedule's interval (retroSpacing at least), newest first and at most f.opts.RetroFits of
// them. Each is fitted with the live fit's options on the samples of series up to its fit
// time only, as the forecast fitted then would have been, though on a week and a spacing fewer
// of them (series is the history just read: the oldest fit has no more), and is kept as far as
// the planner reads it at lead time lead. With them a service calibrates from its first run
// instead of two days of uncalibrated defaults, and after a restart, where the store keeps
// fewer than a week's predictions, on a full window again. They end where the history leaves less than minRetroHistory before a fit,
// where a fit fails, or when ctx is done; none is stored.
func (f *Forecaster) retroFits(ctx context.Context, svc scaling.ManagedService, series forecast.Series, known []scaling.Prediction, now time.Time, lead time.Duration) []scaling.Prediction {
	if f.opts.RetroFits < 0 || series.Step <= 0 {
		return nil
	}
	spacing := max(f.opts.Validity/2, retroSpacing)
	validity := max(f.opts.Validity, 2*spacing)
	oldest := now
	if len(known) > 0 {
		oldest = time.UnixMilli(known[0].FittedAt)
	}
	windowStart := now.Add(-hpasim.DefaultCalibrationWindow)
	first := slices.IndexFunc(series.Values, finite)
	if first < 0 {
		return nil
	}
	opts := f.predictionOptions(svc)
	// Every fit reads the same span, as long as the oldest can have, so the harmonic model's
	// design, which depends on the span's length only, is worked out once for all of them
	// (forecast's design cache): worked out afresh for each length, it was 80 % of a fit's
	// cost, 7 ms of 9. A span shorter than two days is no span: each fit reads all it has.
	span := len(series.Values)
	if w := f.opts.HistoryWindow - hpasim.DefaultCalibrationWindow - spacing; w >= minRetroHistory {
		span = int(w / series.Step)
	}
	var out []scaling.Prediction
	// A fit at t is needed while the one after it (the oldest known, first) is in force only
	// after the window's start: the last is in force at the start.
	for t := oldest.Add(-spacing); len(out) < f.opts.RetroFits && t.Add(spacing).After(windowStart); t = t.Add(-spacing) {
		if ctx.Err() != nil {
			break
		}
		// The samples up to t: a live fit at t reads up to t truncated to the step.
		upTo := int(t.Truncate(series.Step).Sub(series.Start)/series.Step) + 1
		if upTo > len(series.Values) || time.Duration(upTo-first)*series.Step < minRetroHistory {
			break
		}
		from := max(0, upTo-span)
		hist := forecast.Series{Start: series.Start.Add(time.Duration(from) * series.Step), Step: series.Step, Values: series.Values[from:upTo]}
		r, err := forecast.Forecast(hist, opts)
		if err != nil {
			f.log.Debug("forecast fitted afterwards for calibration failed; the window is replayed from the fits after it",
				"service", svc.Name, "at", t, "err", err)
			break
		}
		p, err := BuildPrediction(svc, r, opts.Quantile, t, validity)
		if err != nil {
			f.log.Debug("forecast fitted afterwards for calibration refused", "service", svc.Name, "at", t, "err", err)
			break
		}
		out = append(out, actuator.PlanningView(p, lead))
	}
	slices.Reverse(out)
	return out
}

// addRetroFits merges a service's forecasts fitted afterwards into the ones kept for
// calibration and notes them as such, returning all of them oldest first.
func (f *Forecaster) addRetroFits(service string, retro []scaling.Prediction) []scaling.Prediction {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.retro[service] == nil {
		f.retro[service] = map[int64]bool{}
	}
	for _, p := range retro {
		f.retro[service][p.FittedAt] = true
	}
	all := slices.Concat(f.recent[service], retro)
	slices.SortFunc(all, func(a, b scaling.Prediction) int { return cmp.Compare(a.FittedAt, b.FittedAt) })
	f.recent[service] = all
	return slices.Clone(all)
}

// retroNote says how many of the predictions a calibration replayed were fitted afterwards
// (retroFits), "" when none was; it forgets the ones no longer replayed.
func (f *Forecaster) retroNote(service string, replayed []scaling.Prediction) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := map[int64]bool{}
	for _, p := range replayed {
		if f.retro[service][p.FittedAt] {
			kept[p.FittedAt] = true
		}
	}
	f.retro[service] = kept
	if len(kept) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d of the %d forecasts replayed were fitted afterwards, each on the history up to its fit time, as none was stored then", len(kept), len(replayed))
}
