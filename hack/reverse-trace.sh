#!/usr/bin/env bash
# Writes a timestamp,value trace (a header line, then one point a line) with its values in
# reverse order and its timestamps as they were: the same noise, bursts and level as the trace,
# its days and weeks run backwards (a morning ramp becomes an evening fall, a burst rises slowly
# and ends at once, a holiday falls elsewhere in the week). No setting was tuned on such shapes,
# so the reversed traces confirm what tuning on the traces themselves found
# (REVERSED=1 hack/accuracy.sh, REVERSED=1 hack/replay.sh).
#   hack/reverse-trace.sh TRACE.csv > TRACE_rev.csv
set -euo pipefail
awk -F, 'NR == 1 {print; next}
	{at[NR] = $1; v[NR] = $2}
	END {for (i = 2; i <= NR; i++) print at[i] "," v[NR + 2 - i]}' "$1"
