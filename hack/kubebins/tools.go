//go:build tools

// Package kubebins pins the kube-apiserver and etcd that the envtest-based tests run.
// It is a module of its own so the project's go.mod never sees k8s.io/kubernetes.
package kubebins

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
