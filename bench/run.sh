#!/usr/bin/env bash
# Whole-process scan benchmark: lamers scan against grep -c and an
# awk | sort | uniq -c pipeline on two generated BIND 9.18 logs.
# See bench/README.md. Exits non-zero only when a correctness check fails;
# missed performance targets are printed as MISSED.
#
#   bench/run.sh            # RUNS=3 (best of), files in bench/out/
#   RUNS=5 bench/run.sh
#   OUT=/tmp/small LAME_LINES=20000 MIXED_LINES=100000 PAIRS=2000 RUNS=1 bench/run.sh  # smoke test
#
# A third, hostile log (FORGED_LINES lines, 20,000: about 1 MB) forges a
# different rcode on every line about one finding; lamers is held to the
# RSS target there too.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
LAME_LINES=${LAME_LINES:-2000000}
MIXED_LINES=${MIXED_LINES:-5000000}
PAIRS=${PAIRS:-50000}
FORGED_LINES=${FORGED_LINES:-20000}
BIN=bin/lamers
export LC_ALL=C # the same locale for grep, awk and sort (and the fastest)

# Targets.
MIN_LPS=1000000   # lines/s, end to end (the lame log)
MAX_VS_GREP=3     # lamers wall <= 3 x grep wall (the mixed log)
MAX_RSS_KB=153600 # 150 MB

mkdir -p "$OUT" bin
echo "== build"
go build -o "$BIN" ./cmd/lamers
if [ ! -x /usr/bin/time ]; then
	echo "== installing GNU time"
	apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

gen() { # file kind lines pairs seed
	if [ ! -s "$1" ] || [ ! -s "$1.meta" ]; then
		echo "== generating $1"
		go run ./bench/genlog -kind "$2" -lines "$3" -pairs "$4" -seed "$5" -o "$1"
	fi
}
short() { # 2000000 -> 2m
	if [ $(($1 % 1000000)) = 0 ]; then echo "$(($1 / 1000000))m"; else echo "$1"; fi
}
LAME_FILE=$OUT/lame-$(short "$LAME_LINES").log
MIXED_FILE=$OUT/mixed-$(short "$MIXED_LINES").log
gen "$LAME_FILE" lame "$LAME_LINES" "$PAIRS" 1
gen "$MIXED_FILE" mixed "$MIXED_LINES" "$PAIRS" 2
FORGED_FILE=$OUT/forged-$FORGED_LINES.log
gen "$FORGED_FILE" forged "$FORGED_LINES" 1 0

# The 1992 way: (zone, server) of the "lame server resolving" (B1) lines.
AWK_PROG='/ lame server resolving / {
	z = ""
	for (i = 1; i < NF; i++) if ($i == "(in") { z = $(i + 1); break }
	sub(/^'\''/, "", z); sub(/'\''\?\):$/, "", z)
	print z, $NF
}'

TMP=$(mktemp -d "$OUT/run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
printf '%s\n' "$AWK_PROG" >"$TMP/zs.awk"

# timeit NAME CMD... : runs CMD RUNS times; sets BEST (s) and PEAK (KB,
# highest of the runs). Wall time is taken with date (ns), peak RSS with
# GNU time. The command's stdout goes to $TMP/NAME.out (last run).
timeit() {
	local name=$1
	shift
	BEST="" PEAK=0
	for _ in $(seq "$RUNS"); do
		if [ "$name" = lamers ]; then rm -f "$TMP"/db*; fi
		local t0 t1 wall rss
		t0=$(date +%s%N)
		/usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >"$TMP/$name.out"
		t1=$(date +%s%N)
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
		rss=$(awk '{ print $2 }' "$TMP/time")
		if [ -z "$BEST" ] || awk -v a="$wall" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then BEST=$wall; fi
		if [ "$rss" -gt "$PEAK" ]; then PEAK=$rss; fi
	done
}

fail=0
missed=0
check() { # description ok(0|1) [correctness]
	if [ "$2" = 1 ]; then
		printf '  %-58s ok\n' "$1"
	elif [ "${3:-}" = correctness ]; then
		printf '  %-58s FAILED\n' "$1"
		fail=1
	else
		printf '  %-58s MISSED\n' "$1"
		missed=1
	fi
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo 1 || echo 0; }

printf '\n%-14s %-8s %10s %10s %9s %12s\n' file tool wall_s rss_MB lines/s "ratio"
summary=()
for f in "$LAME_FILE" "$MIXED_FILE"; do
	# shellcheck disable=SC1090
	eval "$(tr ' ' '\n' <"$f.meta" | grep -E '^(lines|lame|b1|b2|pairs)=')"
	cat "$f" >/dev/null # warm the page cache for every tool alike
	name=$(basename "$f" .log)

	timeit lamers "$BIN" --db "$TMP/db" scan --no-progress "$f"
	l_wall=$BEST l_rss=$PEAK
	timeit grep grep -c lame "$f"
	g_wall=$BEST g_rss=$PEAK
	grep_count=$(cat "$TMP/grep.out")
	timeit awk sh -c 'awk -f "$1" "$2" | sort | uniq -c' sh "$TMP/zs.awk" "$f"
	a_wall=$BEST a_rss=$PEAK
	awk_sum=$(awk '{ s += $1 } END { print s + 0 }' "$TMP/awk.out")
	awk_pairs=$(wc -l <"$TMP/awk.out")

	report_sum=$("$BIN" --db "$TMP/db" report --format json | awk '/^    "count": / { gsub(/,/, "", $2); s += $2 } END { print s + 0 }')
	findings=$("$BIN" --db "$TMP/db" report --format json | grep -c '^    "zone": ' || true)
	lps=$(awk -v n="$lines" -v t="$l_wall" 'BEGIN { printf "%.0f", n / t }')
	vs_grep=$(awk -v a="$l_wall" -v b="$g_wall" 'BEGIN { printf "%.2f", a / b }')
	vs_awk=$(awk -v a="$l_wall" -v b="$a_wall" 'BEGIN { printf "%.2f", a / b }')
	mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
	rate() { awk -v n="$lines" -v t="$1" 'BEGIN { printf "%.0f", n / t }'; }
	printf '%-14s %-8s %10s %10s %9s %12s\n' "$name" lamers "$l_wall" "$(mb "$l_rss")" "$lps" ""
	printf '%-14s %-8s %10s %10s %9s %12s\n' "" grep "$g_wall" "$(mb "$g_rss")" "$(rate "$g_wall")" "lamers/grep $vs_grep"
	printf '%-14s %-8s %10s %10s %9s %12s\n' "" awk "$a_wall" "$(mb "$a_rss")" "$(rate "$a_wall")" "lamers/awk $vs_awk"
	summary+=("$name $lines $lame $l_wall $l_rss $lps $g_wall $a_wall $vs_grep $vs_awk $findings")

	echo "  lamers scan summary (last run):"
	sed 's/^/    /' "$TMP/lamers.out"
	check "correct: sum of report counts $report_sum = lame lines $lame" "$([ "$report_sum" = "$lame" ] && echo 1 || echo 0)" correctness
	check "correct: grep -c lame $grep_count = lame lines $lame" "$([ "$grep_count" = "$lame" ] && echo 1 || echo 0)" correctness
	check "correct: awk pipeline counts $awk_sum = B1 lines $b1 ($awk_pairs pairs)" "$([ "$awk_sum" = "$b1" ] && echo 1 || echo 0)" correctness
	check "correct: lines read = $lines" "$(grep -qx "lines read: $lines" "$TMP/lamers.out" && echo 1 || echo 0)" correctness
	# The lame log is held to the line rate, the mixed one (mostly lines
	# that grep skips too) to grep's time; both to awk's and to the RSS.
	if [ "$f" = "$LAME_FILE" ]; then
		check "target: >= $MIN_LPS lines/s ($lps)" "$(le "$MIN_LPS" "$lps")"
	else
		check "target: <= ${MAX_VS_GREP}x grep wall ($vs_grep x)" "$(le "$vs_grep" "$MAX_VS_GREP")"
	fi
	check "target: faster than the awk pipeline ($vs_awk x)" "$(awk -v r="$vs_awk" 'BEGIN { print (r < 1) ? 1 : 0 }')"
	check "target: peak RSS <= 150 MB ($(mb "$l_rss") MB)" "$(le "$l_rss" "$MAX_RSS_KB")"
done

# The forged log: every rcode number 0-4095 (valid, all on one finding),
# then forged words. Held to the RSS target; its kinds to the cap of 16.
# shellcheck disable=SC1090
eval "$(tr ' ' '\n' <"$FORGED_FILE.meta" | grep -E '^(lines|valid|forged)=')"
name=$(basename "$FORGED_FILE" .log)
timeit lamers "$BIN" --db "$TMP/db" scan --no-progress "$FORGED_FILE"
f_wall=$BEST f_rss=$PEAK
printf '%-14s %-8s %10s %10s %9s\n' "$name" lamers "$f_wall" "$(awk -v k="$f_rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
	"$(awk -v n="$lines" -v t="$f_wall" 'BEGIN { printf "%.0f", n / t }')"
echo "  lamers scan summary (last run):"
sed 's/^/    /' "$TMP/lamers.out"
"$BIN" --db "$TMP/db" report --format json >"$TMP/forged.json"
f_count=$(awk '/^    "count": / { gsub(/,/, "", $2); s += $2 } END { print s + 0 }' "$TMP/forged.json")
f_kinds=$(awk '/^    "observed": \[/ { on = 1; next } on && /^    \]/ { on = 0 } on { n++ } END { print n + 0 }' "$TMP/forged.json")
f_extra=$(sed -n 's/^events of evidence kinds past 16 per finding, not stored: //p' "$TMP/lamers.out")
check "correct: lines read = $lines" "$(grep -qx "lines read: $lines" "$TMP/lamers.out" && echo 1 || echo 0)" correctness
check "correct: forged words not understood = $forged" "$(grep -qx "lame-looking lines not understood: $forged" "$TMP/lamers.out" && echo 1 || echo 0)" correctness
check "correct: $f_kinds evidence kinds stored = 16" "$([ "$f_kinds" = 16 ] && echo 1 || echo 0)" correctness
check "correct: events stored $f_count + not stored ${f_extra:-0} = $valid" "$([ $((f_count + ${f_extra:-0})) = "$valid" ] && echo 1 || echo 0)" correctness
check "target: peak RSS <= 150 MB ($(awk -v k="$f_rss" 'BEGIN { printf "%.1f", k / 1024 }') MB)" "$(le "$f_rss" "$MAX_RSS_KB")"
summary+=("$name $lines $valid $f_wall $f_rss - - - - - 1")

echo
echo "summary: file lines lame lamers_s lamers_rss_kb lines/s grep_s awk_s x_grep x_awk findings"
printf '  %s\n' "${summary[@]}"
if [ "$fail" = 1 ]; then
	echo "CORRECTNESS FAILED"
	exit 1
fi
if [ "$missed" = 1 ]; then
	echo "some performance targets MISSED (see above)"
else
	echo "all targets met"
fi
