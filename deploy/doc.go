// Package deploy holds kai-scaler's Kubernetes manifests (kustomize: base/ and overlays/redis)
// and no Go code apart from tests: they render the manifests with kustomize's own library
// (krusty) and apply the result with server-side dry-run to a real kube-apiserver that has the
// prometheus-operator CRDs installed.
package deploy
