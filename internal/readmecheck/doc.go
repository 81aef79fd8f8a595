// Package readmecheck holds tests that keep the repository's README.md true to the code: its
// metrics table against the metrics the code registers, and its status-code table against
// api/openapi.json. It has no code of its own.
package readmecheck
