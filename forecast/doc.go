// Package forecast fits daily and weekly seasonal models to one load series, selects by a
// rolling-origin backtest on the series' own history (the median of the best few models unless
// one wins clearly and consistently), and returns a mean forecast with an upper bound from the
// conformal quantile of level-scaled backtest errors, widened by adaptive conformal inference
// after misses and never below the median of the same slot over the last weeks (a collapsed
// day does not drag the bound down before the rebound). Every origin of the backtest selects
// and calibrates as the final forecast does, from earlier origins only, so Evaluate measures
// Forecast's procedure. (Cleaning, outliers and level shifts, runs once on the whole history:
// the backtest's models fit a history cleaned with hindsight.) It also turns a forecast into
// replica counts and into a derived load pattern.
//
// It is pure: no I/O, no clocks, no logging. Series come in as plain values (promquery or a CSV
// reader builds them) and results go out as plain values (the forecaster stores them).
package forecast
