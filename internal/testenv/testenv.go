// Package testenv tells integration tests where the real servers are (see hack/with-test-env.sh).
//
// A plain "go test ./..." without the servers skips integration tests with a message saying
// how to run them; under "make test" (KAI_REQUIRE_INTEGRATION=1) a missing server fails instead.
package testenv

import (
	"os"
	"testing"
)

const howTo = "run \"make test\" (hack/with-test-env.sh starts or builds it)"

// Require returns the value of the environment variable name, skipping the test when it is
// unset, or failing it when integration tests are required.
func Require(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("KAI_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("%s is not set but KAI_REQUIRE_INTEGRATION is: %s", name, howTo)
	}
	t.Skipf("%s is not set; %s", name, howTo)
	return ""
}

// RedisAddr is the address of a Redis server tests may use (with their own DB or key prefix).
func RedisAddr(t testing.TB) string { return Require(t, "REDIS_ADDR") }

// PrometheusBin is the path of a Prometheus server binary (Debian's prometheus package).
func PrometheusBin(t testing.TB) string { return Require(t, "PROMETHEUS_BIN") }

// PromtoolBin is the path of promtool.
func PromtoolBin(t testing.TB) string { return Require(t, "PROMTOOL_BIN") }

// KubebuilderAssets is the folder holding kube-apiserver and etcd for envtest.
func KubebuilderAssets(t testing.TB) string { return Require(t, "KUBEBUILDER_ASSETS") }

// ChromiumBin is the path of a Chromium browser (Debian's chromium) for the browser tests.
func ChromiumBin(t testing.TB) string { return Require(t, "CHROMIUM_BIN") }
