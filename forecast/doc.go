// Package forecast fits daily and weekly seasonal models to one load series, selects by a
// rolling-origin backtest on the series' own history (the median of the best three models,
// pooled with up to two more that score within 30 % of the third when a week of origins and an
// ordinary last day allow, unless one model wins clearly and consistently and did not fail on
// the latest day, or has followed a lasting change the combination missed on the latest two
// days), and returns a mean forecast with an upper bound from the conformal quantile
// of level-scaled backtest errors (pooled over neighbouring horizons, two hours of them at
// least), widened by adaptive conformal inference after misses and never below the median of
// the same slot over the last weeks (a collapsed day does not drag the bound down before the
// rebound). Where most of the look-back's actuals in a slot were 0 (sparse counts), the mean is
// 0 there, the median the absolute error rewards, once that lowered the error of the decisions
// before (zeroed). Every origin of the backtest selects and calibrates as the final forecast
// does, from earlier origins only, so Evaluate measures Forecast's procedure.
//
// Cleaning is causal too: every origin's models fit a history cleaned with data before that
// origin only, exactly as the final forecast's history is cleaned with data up to the
// series' end (causal.go). The history before the earliest possible origin is cleaned in one
// batch (robust decomposition, outliers beyond 3 IQR, gaps filled, a level shift removed);
// after it, day by day on the origins' grid, each new day is compared with the median of the
// same slot over the last weeks of the cleaned history, at the day's own median offset, and
// its spikes (see below) and its gaps are replaced. Each
// origin (and the final forecast) looks for a level shift in the daily levels before it only
// and brings the history before the shift to the new level for its own models, scaled by as
// much as the days' swing changed with it (between a constant added and the whole load
// scaled: shiftBetween); the models fold that into their shared pass (the harmonic design's
// X'y and column sum, a snapshot of the Holt-Winters state), so the whole backtest costs one
// cleaning and one pass per model. Only the MASE
// scale (the in-sample weekly naive error over the whole series) uses every point: it is the
// yardstick of the scores, not an input of any decision. It also turns a forecast into
// replica counts (the API's pattern record is derived from a forecast by forecaster: this
// package imports no record type).
//
// The models: seasonal naive (the day or the week before, on the raw observations), the
// median of the same slot over the last weeks, robust double seasonal Holt-Winters, harmonic
// regression, and the profile model (profile.go: medians of the same slot over the last week
// in square roots, a weekday departure shrunk by its noise, and a local level taken as a
// ratio that decays towards the level of the last days, over the first three hours as fast
// as the series' own offsets have faded). The daily models need two days to fit and a day to
// be scored on; the day before repeated needs one, so with two to three days of history it
// and naive (a day's shape against a flat line) are scored on the last day, and their median
// is forecast: one origin cannot tell them apart. The weekly models need two weeks, one to fit and
// one to backtest; the profile's weekday departure runs from the first week (read from the
// first seven days, so the last days' level is measured against the week before), and until
// the second it is the only model that tells a Saturday from a Friday: auto then takes it
// alone rather than in a median the daily models outvote, unless one of them beats it clearly
// and consistently. Series finer than 15 minutes are
// fitted on a 15-minute grid of block medians (fitFactor), less noise and a third of the
// work, their forecasts spread back linearly; every error, bound and score is still of the
// series' own points. Not where a pattern within the blocks repeats from day to day (a job at
// :00 each hour, a nightly one of 20 minutes, the edges of steps between whole-number levels),
// which the medians cut away: where each slot's median departure from the spread-back blocks,
// learned on alternate days, takes a tenth of the other days' departures out
// (finePatternRatio, on the history before the earliest decision), the series is fitted at its
// own step. A series at a day's step or coarser has no day's shape to fit: naive
// and, where a week is a whole number of its steps, the weekly models run (runsAt). An
// asked-for seasonal naive fits and backtests nothing
// (forecastRepeat): it is the floor of what a forecast costs.
//
// Cleaning replaces spikes far outside the seasonal band (more than twice the highest
// expectation within three hours, and beyond 3 IQR): a drifting peak, a plateau's edge or a
// quiet hour reach the models as observed. A whole day far below its usual load (against the
// recent days' load over their usual, by a quarter and by five of their standard deviations; a
// holiday, an outage) is replaced by the usual day but for its last three hours, the level the
// origin at its end sees (lowDays). A level shift counts once it has held three days: the third
// low day in a row is kept, and the shift moves the two before with the history; before that, a
// run of spikes that reaches the origin and has lasted three hours is a new level, not a spike:
// it is kept, and the history before it is scaled to it for that origin and the next days'
// while it holds.
//
// A day whose shape moved by whole hours (a series in UTC at a change of daylight saving time,
// users who moved, a job rescheduled) is followed from its third day (phase.go): where two days
// in a row each matched the same weekday a week before clearly better shifted by the same hours
// than not, and about as well as the days before matched unshifted (only part of the day
// moved, a nightly job, matches worse), the decisions from then on read the history before the
// move shifted by those hours, so the models fitted on weeks and the bound's floor forecast the
// new hours, and the reason says so. Decisions that know the same moves share one realigned
// history and one pass of the models; the repeating yardsticks are not realigned. A run of
// shifted days that outlasts a week or moves on is a drifting peak, not a move, and is left to
// the models as it is.
//
// It is pure: no I/O, no clocks, no logging. Series come in as plain values (promquery or a CSV
// reader builds them) and results go out as plain values (the forecaster stores them).
package forecast
