#!/bin/sh
# Whole-process benchmark of `lamers bounce` (figures in bench/README.md,
# "bounce"): 10,000 generated delivery reports through --maildir, then one
# of 50 MB in a Maildir and on standard input; messages per second and peak
# RSS (the child's ru_maxrss). Exits non-zero when a message was not stored
# or moved; a missed performance target is printed as MISSED.
# Usage: bench/bounce.sh [bouncebench flags]   (run from the repository root)
set -eu
bin=$(mktemp -d)/lamers
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/lamers
go run ./bench/bouncebench -lamers "$bin" "$@"
