// Package forecast fits daily and weekly seasonal models to one load series, picks the most
// accurate one by a rolling-origin backtest on the series' own history, and returns a mean
// forecast with an honest upper quantile bound. It also turns a forecast into replica counts
// and into a derived load pattern.
//
// It is pure: no I/O, no clocks, no logging. Series come in as plain values (promquery or a CSV
// reader builds them) and results go out as plain values (the forecaster stores them).
package forecast
