// Package forecaster runs the forecast package over every managed service: on a cron
// schedule (FORECAST_SCHEDULE) or on demand through the API, it reads each service's history
// (from Prometheus through promquery, or any HistorySource), fits a one-day prediction and a
// one-week pattern forecast, stores the prediction and a derived load pattern (never over a
// manual one), and keeps the kai_forecast_* metrics: the value forecast for now, the actual
// load, their error, and how runs go.
//
// It owns no decision: fitting is forecast's pure functions and pattern derivation this
// package's pure DerivePattern (it builds the scaling record forecast does not import), floor
// planning is the actuator's. It never lets one service block the others (per-service
// timeouts, parallel fits, panics contained), never runs two runs at once, and never leaves
// an out-of-date prediction on the predicted-load gauge.
//
// "Never two runs at once" holds across replicas: every run, scheduled or manual, first takes
// the store's lease RunLockName (renewed every LockTTL/3 while it lasts); held elsewhere, a
// manual run is ErrBusy (409) and a scheduled one is skipped; a store that cannot answer
// refuses the run, since another replica may be running.
package forecaster
