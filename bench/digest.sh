#!/usr/bin/env bash
# Whole-process digest benchmark (issue 14): wall time and peak RSS of
# `lamers digest --format json` (and text, html) on a database of FINDINGS
# findings with verdicts, contacts, messages and bounces, made by
# `bench/genfindings -verdicts`. See bench/README.md. Exits non-zero only
# when a correctness check fails; a missed target prints MISSED.
#
#   bench/digest.sh                      # FINDINGS=1000000, RUNS=3 (best of)
#   FINDINGS=20000 RUNS=1 OUT=/tmp/d bench/digest.sh   # smoke test
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
FINDINGS=${FINDINGS:-1000000}
BIN=bin/lamers
MAX_SECONDS=2 # json, the target of issue 14
# The generated findings span 2026-10-25 to 2026-11-22; a period from
# 2026-11-08 to now holds the last two weeks of them.
SINCE=2026-11-08

. bench/lib.sh
build_lamers
DB=$OUT/digest-$FINDINGS.db
findings_db "$DB" -n "$FINDINGS" -verdicts

status=0
for format in json text html; do
	best= rss=0
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -o "$OUT/digest.time" -f "%e %M" "$BIN" --db "$DB" digest --format "$format" --since "$SINCE" >"$OUT/digest.$format"
		read -r wall kb <"$OUT/digest.time"
		if [ -z "$best" ] || less "$wall" "$best"; then best=$wall; fi
		if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
	done
	verdict=""
	if [ "$format" = json ]; then
		# One finding in 200 names one of ten decommissioned servers:
		# each is lame for FINDINGS/2000 zones, and they come first.
		want_zones=$((FINDINGS / 2000))
		findings=$(grep -m1 '"findings": ' "$OUT/digest.json" | tr -dc 0-9)
		server=$(grep -m1 '"server": ' "$OUT/digest.json" | cut -d'"' -f4)
		zones=$(grep -m1 '"zones": ' "$OUT/digest.json" | tr -dc 0-9)
		if [ "$findings" != "$FINDINGS" ] || [ "${server%.*}" != 192.0.2 ] || [ "$zones" != "$want_zones" ]; then
			echo "FAIL: totals.findings $findings (want $FINDINGS), worst server $server with $zones zones (want 192.0.2.x with $want_zones)"
			status=1
		fi
		if less "$MAX_SECONDS" "$best"; then verdict=" MISSED(time)"; fi
	fi
	printf '%-5s %6s s  %7d KB  %8d bytes%s\n' "$format" "$best" "$rss" "$(wc -c <"$OUT/digest.$format")" "$verdict"
done
exit $status
