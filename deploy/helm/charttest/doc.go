// Package charttest tests the Helm chart in ../kai-scaler with Helm's Go SDK: it renders the
// chart for the main combinations of values, lints it, and applies the rendered objects with
// server-side dry-run to a real kube-apiserver (envtest, like deploy/apply_integration_test.go).
//
// It is its own Go module so Helm's large dependency tree stays out of kai-scaler's go.mod;
// hack/run-tests.sh runs it after the main module.
package charttest
