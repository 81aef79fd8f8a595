#!/usr/bin/env bash
# Reproduces the forecast accuracy tables: `kai-scaler backtest` (rolling daily origins, 24 h
# horizon) on the three NAB traces aggregated to 1 h and 30 min, and on synthetic series with
# a known daily+weekly shape, noise, outliers, gaps and a holiday, and on the generated
# failure-mode families of issue 9.
#   hack/accuracy.sh [traces-dir]     (default ../shared/data/traces, beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
traces=${1:-../shared/data/traces}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kai-scaler" ./cmd/kai-scaler
go build -o "$tmp/gensynth" ./forecast/internal/gensynth

# aggregate FILE SECONDS: sum the values of each SECONDS-long bucket (load per bucket).
aggregate() {
	awk -F, -v s="$2" 'NR==1 {print "timestamp,value"; next}
	{
		gsub(/[-:]/, " ", $1); t = mktime($1, 1); b = t - t % s
		if (!(b in sum)) order[n++] = b
		sum[b] += $2
	}
	END { for (i = 0; i < n; i++) print strftime("%Y-%m-%dT%H:%M:%SZ", order[i], 1) "," sum[order[i]] }' "$1"
}

for f in "$traces"/*.csv; do
	base=$(basename "$f" .csv)
	for agg in 3600:1h 1800:30min; do
		secs=${agg%%:*} name=${agg##*:}
		aggregate "$f" "$secs" > "$tmp/$base-$name.csv"
		echo "## $base, $name aggregate, 24 h horizon, 7 daily origins"
		"$tmp/kai-scaler" backtest --input "$tmp/$base-$name.csv" --origins 7
		echo
	done
done

"$tmp/gensynth" -series 50 -points 8064 -seed 42 > "$tmp/synth.csv"
echo "## synthetic: 50 series, 4 weeks at 5 min, 24 h horizon, 7 daily origins"
"$tmp/kai-scaler" backtest --input "$tmp/synth.csv" --origins 7

# Issue 9's failure modes, one table per family (gensynth's modes.go says what each carries):
# four weeks of history plus the horizon's day of actuals, so the last origin is the end of the
# history. Exit status 3 (some series could not be forecast) names them and goes on.
"$tmp/gensynth" -set failure-modes -per-mode 30 -seed 42 > "$tmp/modes.csv"
for fam in normal dip drift plateau rise earlypeak lowcount spike; do
	{ head -1 "$tmp/modes.csv"; grep "^$fam-" "$tmp/modes.csv"; } > "$tmp/mode-$fam.csv"
	echo
	echo "## failure mode $fam: 30 series, 4 weeks at 5 min + the horizon, 24 h horizon, 7 daily origins"
	"$tmp/kai-scaler" backtest --input "$tmp/mode-$fam.csv" --origins 7 || [ $? -eq 3 ]
done
