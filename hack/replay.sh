#!/usr/bin/env bash
# The floors' replay table (issue 10's protocol): `kai-scaler simulate --max 50` with its
# defaults (capacity derived from each trace, floor settings calibrated at every refit within
# the 10 % budget) on every CSV of a folder, against the reactive HPA on the same trace; then a
# row per trace (shortfall removed, of it within max replicas, replica-hours added, scale
# events and pods started against the reactive HPA's, the settings chosen most often), the
# medians over all and over the tweet traces, and any trace over the budget. Run it on your own traces (one
# timestamp,value CSV each, or any form simulate reads) before switching floors on.
#   hack/replay.sh [traces-dir] [more simulate flags, as --flag=value]   (default ../shared/data/traces)
#   STANDINS=1 also replays simulate's generated traces (ramps and the stand-ins).
#   REVERSED=1 also replays every trace reversed in time (hack/reverse-trace.sh), as NAME_rev
#   (its report in OUT/reversed/):
#   shapes no setting was tuned on, as a check that a change generalizes.
#   JOBS=N replays N traces at once (default: the CPUs); OUT=DIR keeps the JSON reports.
#   BIN=FILE replays with that kai-scaler binary instead of building this checkout: two builds'
#   tables side by side, before and after a change, from one copy of the script.
# The twelve shared traces took 11 minutes with JOBS=1 on a shared two-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
traces=${1:-../shared/data/traces}
shift || true
jobs=${JOBS:-$(nproc)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${OUT:-$tmp/reports}
mkdir -p "$out"
if [ -n "${BIN:-}" ]; then
	cp "$BIN" "$tmp/kai-scaler"
else
	go build -o "$tmp/kai-scaler" ./cmd/kai-scaler
fi
go build -o "$tmp/replaytable" ./hack/replaytable

shopt -s nullglob
{
	for f in "$traces"/*.csv; do
		printf 'input\t%s\t%s\n' "$f" "$(basename "$f" .csv)"
	done
	if [ -n "${REVERSED:-}" ]; then
		mkdir "$tmp/reversed"
		mkdir -p "$out/reversed" # apart, so a trace of yours named *_rev is not taken for one
		for f in "$traces"/*.csv; do
			r="$tmp/reversed/$(basename "$f" .csv)_rev.csv"
			hack/reverse-trace.sh "$f" > "$r"
			printf 'input\t%s\t%s\n' "$r" "reversed/$(basename "$r" .csv)"
		done
	fi
	if [ -n "${STANDINS:-}" ]; then
		for g in ramps smooth noisy weekly hourly growth shift events batch bursts weblog outages heavytail localtime weeklypeak jobs sparse; do
			printf 'generate\t%s\t%s\n' "$g" "generated-$g"
		done
	fi
} > "$tmp/jobs"
[ -s "$tmp/jobs" ] || { echo "no CSV in $traces" >&2; exit 1; }

export KAI="$tmp/kai-scaler" OUTDIR="$out" EXTRA="$*"
# Each job: simulate into OUTDIR/NAME.json, its log beside it; a failure is reported and the
# others go on. EXTRA is the further simulate flags, split on spaces (give them as --flag=value).
replay() {
	# shellcheck disable=SC2086
	if ! "$KAI" simulate "--$1" "$2" --max 50 $EXTRA > "$OUTDIR/$3.json" 2> "$OUTDIR/$3.log"; then
		echo "$3: simulate failed: $(tail -n 1 "$OUTDIR/$3.log")" >&2
		rm -f "$OUTDIR/$3.json"
	fi
}
export -f replay
echo "replaying $(wc -l < "$tmp/jobs") traces, $jobs at once ..." >&2
tr '\t' '\n' < "$tmp/jobs" | xargs -d '\n' -n 3 -P "$jobs" bash -c 'replay "$@"' _ || true
reports=("$out"/*.json) reversed=("$out"/reversed/*.json)
[ ${#reports[@]} -gt 0 ] || { echo "no trace replayed" >&2; exit 1; }
"$tmp/replaytable" -group twitter "${reports[@]}"
if [ ${#reversed[@]} -gt 0 ]; then # their own medians: a reversed trace is not another service
	printf '\n## the traces reversed in time (hack/reverse-trace.sh)\n\n'
	"$tmp/replaytable" -group twitter "${reversed[@]}"
fi
