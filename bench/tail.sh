#!/bin/sh
# Whole-process benchmark of `lamers tail` (figures in bench/README.md, "tail").
# Usage: bench/tail.sh [duration]   (run from the repository root)
set -eu
d=${1:-10s}
bin=$(mktemp -d)/lamers
go build -o "$bin" ./cmd/lamers
go run ./bench/tailbench -lamers "$bin" -mode rate -duration "$d"
go run ./bench/tailbench -lamers "$bin" -mode latency -duration "$d"
go run ./bench/tailbench -lamers "$bin" -mode idle -duration 30s
rm -rf "$(dirname "$bin")"
