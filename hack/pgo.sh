#!/usr/bin/env bash
# Regenerates cmd/kai-scaler/default.pgo, the CPU profile `go build` uses for profile-guided
# optimisation of the kai-scaler binary (Go's -pgo=auto picks it up from the main package's
# directory): `kai-scaler forecast --model auto` on SERIES synthetic series of 8,064 points
# (4 weeks at 5 minutes), horizon 288, the batch job of hack/bench-forecast.sh and the same
# forecast code serve runs each hour. The profile is taken from a build without PGO.
# Rerun it when the forecasting or CSV code changes much; an old profile only costs speed.
#   hack/pgo.sh [SERIES]     (default 2000; the file takes about 0.3 GB per 1,000)
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-2000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -pgo=off -o "$tmp/kai-scaler" ./cmd/kai-scaler
go build -o "$tmp/gensynth" ./forecast/internal/gensynth
"$tmp/gensynth" -series "$series" -points 8064 -seed 7 > "$tmp/in.csv"
"$tmp/kai-scaler" forecast --input "$tmp/in.csv" --horizon 288 --model auto \
	--output "$tmp/out.csv" --cpuprofile "$tmp/cpu.pprof" 2>/dev/null
cp "$tmp/cpu.pprof" cmd/kai-scaler/default.pgo
echo "wrote cmd/kai-scaler/default.pgo ($(wc -c < cmd/kai-scaler/default.pgo) bytes)" >&2
