# Shared by the whole-process benchmarks that time lamers on a database of
# generated findings (report.sh, digest.sh): source it from the repository
# root after setting OUT and BIN.

# build_lamers builds $BIN with the project's one set of build flags and
# installs GNU time (peak RSS) when it is missing.
build_lamers() {
	mkdir -p "$OUT" "$(dirname "$BIN")"
	echo "== build"
	go build -o "$BIN" ./cmd/lamers
	if [ ! -x /usr/bin/time ]; then
		echo "== installing GNU time"
		apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
	fi
}

# findings_db DB [GENFINDINGS FLAG…]: makes DB with bench/genfindings
# unless it exists (it is kept between runs), then reads it once into the
# page cache.
findings_db() {
	local db=$1
	shift
	if [ ! -s "$db" ]; then
		echo "== generating $db"
		rm -f "$db" "$db-wal" "$db-shm"
		/usr/bin/time -f "   %e s, %M KB" go run ./bench/genfindings -db "$db" "$@"
	fi
	cat "$db" >/dev/null
}

less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # decimal a < b
