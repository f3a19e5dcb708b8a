#!/bin/sh
# Benchmark of `lamers check ZONE` against `dig +norec @SERVER ZONE SOA`,
# one zone per kind of server: healthy, lame, closed, silent, healthy plus
# silent (figures in bench/README.md, "check"). The zones are served in
# process (resolver/resolvertest) on port 53 of 127.N.x.y addresses inside
# a network namespace of the benchmark's own: no packet leaves it.
# Usage: bench/check.sh [checkbench flags]   (run from the repository root)
#   bench/check.sh                                  # 3 runs per command and zone
#   bench/check.sh -baseline /tmp/lamers-main       # also time another build
#   bench/check.sh -runs 1 -only silent
# Needs root, or unprivileged user namespaces (unshare -rn). Exits non-zero
# when check gives a zone a wrong verdict.
set -eu
if ! command -v dig >/dev/null 2>&1; then
	echo "== installing bind9-dnsutils (dig)"
	apt-get install -y bind9-dnsutils >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y bind9-dnsutils >/dev/null; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lamers" ./cmd/lamers
go build -o "$tmp/checkbench" ./bench/checkbench
ns="unshare --net"
[ "$(id -u)" = 0 ] || ns="unshare --net --map-root-user"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
$ns sh -c 'ip link set lo up && exec "$0" "$@"' "$tmp/checkbench" -lamers "$tmp/lamers" "$@"
