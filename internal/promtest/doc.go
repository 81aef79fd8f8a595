// Package promtest starts a real Prometheus server for tests, backfilled with OpenMetrics
// history through promtool, and writes that history.
//
// It is test support only: it needs Debian's prometheus and promtool binaries (found through
// internal/testenv, so tests skip with a message when they are absent) and stops every server
// it starts when the test ends. It is not a mock: queries run against the real PromQL engine.
package promtest
