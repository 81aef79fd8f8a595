// Package readmecheck holds tests that keep the repository's README.md true to the code: its
// metrics table against the metrics the code registers, its status-code table against
// api/openapi.json, and what it says hack/reverse-trace.sh does; and that no test reads a file
// only one machine has. It has no code of its own.
package readmecheck
