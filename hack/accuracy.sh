#!/usr/bin/env bash
# Reproduces the forecast accuracy tables (issue protocol): every trace of the traces folder at
# its own step, the last 28 days of history, 7 daily rolling origins, a 24 h horizon, auto
# selection against daily and weekly seasonal naive (the textbook ones: the raw observations a
# day or a week back), with sMAPE, MASE, coverage and pinball loss of the 0.9 bound, per trace
# and as the median; the same with each trace also ending 1, 2 and 3 weeks earlier (four
# windows of each, at 1 h too); then the same traces summed to 1 h, and at 1 h with 40 days
# of history and a 48 h horizon, as the hourly benchmark of issue 9 scores; then the generated
# failure modes (gensynth -set failure-modes: normal, dip, drift, plateau, rise, earlypeak,
# lowcount, spike, step, sparse, moved, jobs; forecast/internal/gensynth/modes.go says what each carries),
# each family against the best single model on it, on seed 42 and as the mean and worst over
# seeds 1–8. Last, what the floors read: 24 h forecasts refitted every hour, as the service
# refits them, scored over their first 4 h, on the traces over their last 7 days and on the
# failure modes over their last 2 (the anomaly's day and the next), against the same slot a
# week before and the last value seen.
#   hack/accuracy.sh [traces-dir]     (default ../shared/data/traces, beside the checkout)
#   REVERSED=1 also scores every trace reversed in time (hack/reverse-trace.sh) over its four
#   windows: shapes no setting was tuned on, as a check that a change generalizes.
# The profile model's durations and the cleaning rule were tuned on the six traces named in
# TUNE and confirmed on the other six: the script prints both groups' medians.
set -euo pipefail
cd "$(dirname "$0")/.."
traces=${1:-../shared/data/traces}
TUNE=${TUNE:-nyc_taxi,AAPL,AMZN,CRM,CVS,FB}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/accuracy" ./forecast/internal/accuracy
go build -o "$tmp/gensynth" ./forecast/internal/gensynth

echo "## traces at their own step, 28 days, 24 h horizon, 7 daily origins"
"$tmp/accuracy" -tune "$TUNE" "$traces"/*.csv
echo
echo "## the same, with each trace also ending 1, 2 and 3 weeks earlier (NAME@-7d …; ELB is too short)"
"$tmp/accuracy" -weeks-back 3 -tune "$TUNE" "$traces"/*.csv
echo
echo "## the same traces summed to 1 h"
"$tmp/accuracy" -step 1h -tune "$TUNE" "$traces"/*.csv
echo
echo "## the same at 1 h with 40 days of history and a 48 h horizon (the hourly benchmark's protocol)"
"$tmp/accuracy" -step 1h -days 40 -horizon 48h -tune "$TUNE" "$traces"/*.csv
echo
echo "## both 1 h protocols over the four windows of each trace (medians and the worst only)"
"$tmp/accuracy" -step 1h -weeks-back 3 -v=false -tune "$TUNE" "$traces"/*.csv
"$tmp/accuracy" -step 1h -days 40 -horizon 48h -weeks-back 3 -v=false -tune "$TUNE" "$traces"/*.csv
echo
"$tmp/gensynth" -set failure-modes -per-mode 30 -seed 42 > "$tmp/modes.csv"
echo "## generated failure modes, 4 weeks at 5 min, 24 h horizon, 7 daily origins"
"$tmp/accuracy" "$tmp/modes.csv"
echo
# One seed hides how near a family sits to issue 9's 1.10: drift scores 1.057 on seed 42 and
# 1.101 on seed 10.
echo "## generated failure modes over seeds 1-8: auto / best single model, mean and worst per family"
for seed in 1 2 3 4 5 6 7 8; do
	"$tmp/gensynth" -set failure-modes -per-mode 30 -seed "$seed" > "$tmp/seed.csv"
	"$tmp/accuracy" -v=false "$tmp/seed.csv" | awk '$NF ~ /^[0-9.]+$/ {print $1, $NF}'
done | awk '{s[$1] += $2; n[$1]++; if (!($1 in w) || $2 > w[$1]) w[$1] = $2}
	END {for (f in s) printf "%10s  mean %.3f  worst %.3f\n", f, s[f] / n[f], w[f]}' | sort -b
echo
echo "## the first 4 h of forecasts refitted every hour: traces, the last 7 days"
"$tmp/accuracy" -near 4h -tune "$TUNE" "$traces"/*.csv
echo
echo "## the first 4 h of forecasts refitted every hour: failure modes, the last 2 days"
"$tmp/accuracy" -near 4h -origins 2 "$tmp/modes.csv"
if [ -n "${REVERSED:-}" ]; then
	mkdir "$tmp/reversed"
	for f in "$traces"/*.csv; do
		hack/reverse-trace.sh "$f" > "$tmp/reversed/$(basename "$f" .csv)_rev.csv"
	done
	echo
	echo "## every trace reversed in time (hack/reverse-trace.sh), at its own step over its four windows"
	"$tmp/accuracy" -weeks-back 3 "$tmp/reversed"/*.csv
fi
