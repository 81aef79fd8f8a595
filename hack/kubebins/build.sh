#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the envtest-based tests from the Go module proxy,
# into $1 (default: .cache/kubebin at the repository root). A binary already there is kept:
# the cold build takes about 8 minutes on 2 cores, a warm one seconds. Static and trimmed as
# the Makefile's STATIC builds, so the packages compiled alike for both (the standard library,
# and dependencies at the same versions as ours with theirs) are compiled once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../.cache/kubebin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
k8s_version=v1.37.2
if [ ! -x "$out/etcd" ]; then
  echo "building etcd into $out" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$out/etcd.tmp" "$out/etcd"
fi
if [ ! -x "$out/kube-apiserver" ]; then
  echo "building kube-apiserver $k8s_version into $out (cold: ~8 min)" >&2
  v=k8s.io/component-base/version
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $v.gitVersion=$k8s_version -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean" \
    -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
fi
echo "$out"
