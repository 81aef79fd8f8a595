// Package kubetest gives integration tests a real Kubernetes API server: controller-runtime's
// envtest running the kube-apiserver and etcd built by hack/kubebins (KUBEBUILDER_ASSETS).
//
// One control plane is shared by all tests of a test binary: it starts lazily on the first
// Start and is stopped by Main, which each package using kubetest calls from its TestMain.
// Tests isolate themselves with a fresh namespace (Env.NewNamespace). No controller manager
// runs: Deployment and HPA status stay as the test writes them, and deleted namespaces stay
// Terminating.
//
// It is not a fake: RBAC is enforced for impersonated identities (ImpersonateServiceAccount),
// while Env.Config is system:masters.
package kubetest
