#!/bin/sh
# Whole-process benchmark of `lamers run` (figures in bench/README.md, "run"):
# the idle daemon following 4 files, at 25 and at 100 lines/s per file
# (targets: CPU <= 2 % of one core, RSS <= 60 MB; MISSED is printed
# otherwise), and GET /metrics on a database of 1,000,000 findings.
# Usage: bench/daemon.sh [duration]   (run from the repository root)
set -eu
d=${1:-30s}
bin=$(mktemp -d)/lamers
go build -o "$bin" ./cmd/lamers
for rate in 25 100; do
	go run ./bench/tailbench -lamers "$bin" -mode idle -command run -files 4 -rate "$rate" -duration "$d" \
		-target-cpu 2 -target-rss 60
done
go test -run '^$' -bench Metrics1M -benchtime 20x ./internal/monitor/
rm -rf "$(dirname "$bin")"
