#!/usr/bin/env bash
# Whole-process report benchmark (issue 15 item 4): wall time and peak RSS
# of `lamers report --format json|csv|table` on a database of FINDINGS
# findings made by bench/genfindings. See bench/README.md. Exits non-zero
# only when a correctness check fails; missed targets print MISSED.
#
#   bench/report.sh                      # FINDINGS=1000000, RUNS=3 (best of)
#   FINDINGS=20000 RUNS=1 OUT=/tmp/r bench/report.sh   # smoke test
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
FINDINGS=${FINDINGS:-1000000}
BIN=bin/lamers
MAX_SECONDS=5      # json and csv
MAX_RSS_KB=102400  # 100 MB, every format

. bench/lib.sh
build_lamers
DB=$OUT/report-$FINDINGS.db
findings_db "$DB" -n "$FINDINGS"

status=0
for format in json csv table; do
	best= rss=0
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -o "$OUT/report.time" -f "%e %M" "$BIN" --db "$DB" report --format "$format" >"$OUT/report.$format"
		read -r wall kb <"$OUT/report.time"
		if [ -z "$best" ] || less "$wall" "$best"; then best=$wall; fi
		if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
	done
	case $format in
	json) rows=$(grep -c '^    "zone": ' "$OUT/report.json") ;;
	csv) rows=$(($(wc -l <"$OUT/report.csv") - 1)) ;;
	table) rows=$(($(wc -l <"$OUT/report.table") - 1)) ;;
	esac
	verdict=""
	if [ "$rows" != "$FINDINGS" ]; then
		echo "FAIL: report --format $format printed $rows findings, want $FINDINGS"
		status=1
	fi
	if [ "$rss" -gt "$MAX_RSS_KB" ]; then verdict="$verdict MISSED(rss)"; fi
	if [ "$format" != table ] && less "$MAX_SECONDS" "$best"; then verdict="$verdict MISSED(time)"; fi
	printf '%-6s %8s s  %7d KB  %d findings%s\n' "$format" "$best" "$rss" "$rows" "$verdict"
done
exit $status
