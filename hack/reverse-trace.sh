#!/usr/bin/env bash
# Writes a trace of one series (a header line, then one point a line, the value last:
# timestamp,value or series,timestamp,value) with its values in reverse order and the rest of
# each line as it was: the same noise, bursts and level as the trace, its days and weeks run
# backwards (a morning ramp becomes an evening fall, a burst rises slowly and ends at once, a
# holiday falls elsewhere in the week). No setting was tuned on such shapes, so the reversed
# traces confirm what tuning on the traces themselves found (REVERSED=1 hack/accuracy.sh,
# REVERSED=1 hack/replay.sh).
#   hack/reverse-trace.sh TRACE.csv > TRACE_rev.csv
set -euo pipefail
awk 'NR == 1 {print; next}
	{cut = match($0, /,[^,]*$/); head[NR] = substr($0, 1, cut - 1); v[NR] = substr($0, cut + 1)}
	END {for (i = 2; i <= NR; i++) print head[i] "," v[NR + 2 - i]}' "$1"
