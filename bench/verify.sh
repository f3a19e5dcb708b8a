#!/bin/sh
# Benchmark of `lamers verify` against `dig +norec SOA` once per finding
# (figures in bench/README.md, "verify"). Every packet goes to 127.0.0.0/8.
# Usage: bench/verify.sh [verifybench flags]   (run from the repository root)
#   bench/verify.sh                  # 5,000 findings, dig on a sample of 500
#   bench/verify.sh -dig-sample 0    # dig for all 5,000 (about 9 minutes)
# Exits non-zero when a politeness limit was broken; a missed performance
# target is printed as MISSED.
set -eu
if ! command -v dig >/dev/null 2>&1; then
	echo "== installing bind9-dnsutils (dig)"
	apt-get install -y bind9-dnsutils >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y bind9-dnsutils >/dev/null; }
fi
bin=$(mktemp -d)/verifybench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/verifybench
"$bin" "$@"
