#!/usr/bin/env bash
# The forecasting speed table (issue 9): `kai-scaler forecast` on SERIES synthetic series of
# 8,064 points (4 weeks at 5 minutes), horizon 288, once with --model seasonal-naive (the
# read/parse/write floor: it fits and backtests nothing) and once with auto selection, in the
# same run on the same file, with wall time, CPU time and peak RSS of each, and auto / floor.
# The machine is shared: read the ratio, not the seconds.
#   hack/bench-forecast.sh [SERIES]     (default 10000; the file takes about 0.3 GB per 1,000)
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kai-scaler" ./cmd/kai-scaler
go build -o "$tmp/gensynth" ./forecast/internal/gensynth
echo "generating $series series x 8064 points ..." >&2
"$tmp/gensynth" -series "$series" -points 8064 -seed 1 > "$tmp/in.csv"
# The file is written back to disk and read once before the runs: otherwise the first run
# shares the machine with the kernel writing out gigabytes it has just been given.
sync "$tmp/in.csv"
cat "$tmp/in.csv" > /dev/null

run() { # run MODEL: prints "wall cpu rss_kb"
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
		"$tmp/kai-scaler" forecast --input "$tmp/in.csv" --horizon 288 --model "$1" --output "$tmp/out-$1.csv" 2>"$tmp/log-$1" >/dev/null ||
		{ cat "$tmp/log-$1" >&2; exit 1; }
	awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$tmp/time"
}
read -r fw fc fr < <(run seasonal-naive)
read -r aw ac ar < <(run auto)
printf '\n| %s series x 8064 points, horizon 288 | wall s | CPU s | peak RSS MB |\n|---|---|---|---|\n' "$series"
printf '| seasonal-naive (read/parse/write floor) | %s | %s | %d |\n' "$fw" "$fc" $((fr / 1024))
printf '| auto | %s | %s | %d |\n' "$aw" "$ac" $((ar / 1024))
awk -v a="$aw" -v f="$fw" 'BEGIN { printf "| auto / floor | %.2f | | |\n", a / f }'
