// Package promquery reads load history from Prometheus (or any PromQL-compatible backend:
// Thanos Query, Mimir, VictoriaMetrics) through client_golang's api/prometheus/v1.
//
// It turns a range that is too long for one request (Prometheus refuses more than 11,000
// points per series) into several requests and joins them without duplicates at the seams,
// keeps gaps as gaps (a missing point is absent, and NaN once put on a regular grid), bounds
// each request with a timeout and retries server errors, timeouts and connection errors with
// backoff. A bad query (400 bad_data) is reported at once, never retried.
//
// It does not pick queries, fit or decide anything: callers turn a Series into a
// forecast.Series with Series.Grid and hand it to the forecast package.
package promquery
