#!/usr/bin/env bash
# Runs go test -race -v on the given packages, keeps the verbose log in .cache/test.log, and
# prints what a reader needs: each package's result, every failure, every skipped test with
# its reason, the integration tests against real servers, and a closing
# "N passed, N failed, N skipped" line (tests and subtests).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
log=.cache/test.log
go test -race -count=1 -p 2 -timeout "${TEST_TIMEOUT:-40m}" -v "$@" >"$log" 2>&1
rc=$?

grep -E '^(ok|FAIL|\?) ' "$log"
if [ $rc -ne 0 ]; then
  echo
  echo "== failures (full log: $log)"
  # Everything but the run/pass bookkeeping of passing tests, last part only.
  grep -vE '^\s*(=== (RUN|PAUSE|CONT|NAME)|--- PASS)' "$log" | tail -n 400
fi
echo
echo "== integration tests against real servers (Redis, Prometheus, kube-apiserver, Chromium)"
grep -E '^--- (PASS|FAIL|SKIP): Test[A-Za-z0-9_]*(Redis|Integration|Prometheus|Envtest|Cluster|Live|History|E2E|Apply|Restart|Rules|Restore|RBAC|Leader|Browser)' "$log" | sort | uniq -c | awk '{$1=""; print substr($0,2)}'
# The admin page's measured first load and time to interactive (web browser test).
grep -E '^admin page: ' "$log" || true
skips=$(grep -cE '^\s*--- SKIP' "$log")
if [ "$skips" -gt 0 ]; then
  echo
  echo "== skipped"
  grep -E -A1 '^\s*--- SKIP' "$log" | grep -v '^--$' | head -n 60
fi
pass=$(grep -cE '^\s*--- PASS' "$log")
fail=$(grep -cE '^\s*--- FAIL' "$log")
echo
echo "$pass passed, $fail failed, $skips skipped"
exit $rc
