// Package dashboards holds kai-scaler's Grafana dashboards as Go code (built with the Grafana
// foundation SDK), the JSON generated from them (json/, written by "kai-scaler dashboards"),
// the Prometheus alert rules (alerts.yaml, with promtool unit tests in alerts_test.yaml) and the
// catalog behind GET /api/dashboards.
//
// It does no I/O at run time apart from Write; it does not talk to Grafana or Prometheus. Tests
// check that every panel's PromQL parses with Prometheus' own parser, that the committed JSON is
// what the code generates, that the JSON round-trips through the SDK's types, and (with real
// servers) that every panel returns data from a Prometheus scraping the product's metrics.
package dashboards
