#!/usr/bin/env bash
# Runs "$@" with the real servers the integration tests need, installing and starting them
# on a fresh machine: Redis (Debian's redis-server, on 127.0.0.1:6379 when one answers there,
# else started here on a free loopback port), Prometheus and promtool (Debian's prometheus),
# kube-apiserver + etcd for envtest, built from the Go module proxy (hack/kubebins), and
# Debian's chromium for the admin page's browser test, and redis-sentinel for the tests that
# start their own Redis Cluster and Sentinel groups on loopback (internal/redisha).
# It exports REDIS_ADDR, KAI_TEST_REDIS_HA=1, PROMETHEUS_BIN, PROMTOOL_BIN, KUBEBUILDER_ASSETS, CHROMIUM_BIN and
# KAI_REQUIRE_INTEGRATION=1, so integration tests fail instead of skipping when a server is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v redis-sentinel >/dev/null || need_apt+=(redis-sentinel)
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "with-test-env: installing ${need_apt[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT

if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  export REDIS_ADDR=127.0.0.1:6379
else
  port=$((20000 + RANDOM % 10000))
  dir=$(mktemp -d)
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
    --daemonize no --logfile "$dir/redis.log" &
  pid=$!
  cleanup+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf $dir")
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  export REDIS_ADDR=127.0.0.1:$port
  echo "with-test-env: started redis-server on $REDIS_ADDR" >&2
fi

# Redis Cluster and Sentinel failover tests (internal/redisha, store): they start their own
# redis-server and redis-sentinel processes on free loopback ports.
export KAI_TEST_REDIS_HA=1

export PROMETHEUS_BIN=$(command -v prometheus)
export PROMTOOL_BIN=$(command -v promtool)
export CHROMIUM_BIN=$(command -v chromium)
# Outside the checkout, so a fresh clone on the same machine (CI) reuses the built binaries.
kubebin=${KAI_KUBEBIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kai-scaler/kubebin-v1.37.2}
KUBEBUILDER_ASSETS=$("$root/hack/kubebins/build.sh" "$kubebin")
export KUBEBUILDER_ASSETS
export KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=${KUBEBUILDER_CONTROLPLANE_START_TIMEOUT:-90s}
export KAI_REQUIRE_INTEGRATION=1

"$@"
