#!/usr/bin/env bash
# Runs go test -race -json on the given packages and, when they are the whole tree (./...),
# the nested modules' tests too (the Helm chart's, in their own module to keep Helm out of
# go.mod). hack/testreport prints a line per package as it finishes (its counts and the
# running totals), the packages still running after a quiet minute, and a closing summary;
# it keeps the verbose log in .cache/test.log, from which this script then prints every
# failure, every skipped test with its reason, the integration tests against real servers,
# and a closing "N passed, N failed, N skipped" line (tests and subtests).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
log=.cache/test.log
timeout=${TEST_TIMEOUT:-40m}

# Built first (standard library only, seconds), so its compile does not delay the first line.
go build -o .cache/testreport ./hack/testreport || exit 1

# Modules below the root with their own go.mod: "./..." does not reach into them.
modules=(deploy/helm/charttest)

# -pgo=off: with cmd/kai-scaler's default.pgo its test would compile the whole dependency tree
# a second time, profile-optimised; the profile changes how code is optimised, not what it does.
run_all() {
  local rc=0
  go test -json -race -pgo=off -count=1 -p 2 -timeout "$timeout" "$@" || rc=1
  if [ "$*" = "./..." ]; then
    for m in "${modules[@]}"; do
      (cd "$m" && go test -json -race -pgo=off -count=1 -p 2 -timeout "$timeout" ./...) || rc=1
    done
  fi
  return $rc
}

echo "== go test $* (a line per package as it finishes; full log: $log)"
run_all "$@" 2>&1 | .cache/testreport -log "$log"
rc=$?

if [ $rc -ne 0 ]; then
  echo
  echo "== failures (full log: $log)"
  # Everything but the run/pass bookkeeping of passing tests, last part only.
  grep -vE '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' "$log" | tail -n 400
fi
echo
echo "== integration tests against real servers (Redis, Prometheus, kube-apiserver, Chromium)"
# Top-level tests only: go test -json reports subtests' results unindented too.
grep -E '^--- (PASS|FAIL|SKIP): Test[A-Za-z0-9_]*(Redis|Integration|Prometheus|Envtest|Cluster|Live|History|E2E|Apply|Applies|Upgrade|Restart|Rules|Restore|RBAC|Leader|Browser)[A-Za-z0-9_]* ' "$log" | sort | uniq -c | awk '{$1=""; print substr($0,2)}'
# The admin page's measured first load and time to interactive (web browser test).
grep -E '^admin page: ' "$log" || true
skips=$(grep -cE '^\s*--- SKIP' "$log")
if [ "$skips" -gt 0 ]; then
  echo
  echo "== skipped"
  grep -E -B1 '^\s*--- SKIP' "$log" | grep -v '^--$' | head -n 60
fi
pass=$(grep -cE '^\s*--- PASS' "$log")
fail=$(grep -cE '^\s*--- FAIL' "$log")
echo
echo "$pass passed, $fail failed, $skips skipped"
exit $rc
