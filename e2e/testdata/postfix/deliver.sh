#!/bin/sh
# The command of the alias "lamers-bounces" of the e2e suite's Postfix
# (e2e/postfix_test.go copies it into the work directory). local(8) runs it
# with the message on standard input, after a "From SENDER DATE" line, and
# ORIGINAL_RECIPIENT, RECIPIENT, EXTENSION, SENDER and more in the
# environment, as the owner of the alias database, or as default_privs
# (nobody) when that owner is root, as here.
#
# Each delivery is recorded in recorded/NANOSECONDS.XXXXXX/: env (the
# environment, NUL-separated) and message (standard input). If an executable
# "command" stands next to this script (a stage writes it), it runs with the
# recorded message on standard input and the same environment, its output
# going to output. status, written last, holds the exit code (0 without a
# command) and marks the recording complete. The exit code is the command's:
# 75 (EX_TEMPFAIL) makes Postfix keep the message and try again.
here=$(dirname "$0")
rec=$(mktemp -d "$here/recorded/$(date +%s%N).XXXXXX") || exit 75
env -0 >"$rec/env" || exit 75
cat >"$rec/message" || exit 75
code=0
if [ -x "$here/command" ]; then
	"$here/command" <"$rec/message" >"$rec/output" 2>&1
	code=$?
fi
echo "$code" >"$rec/status.tmp" && mv "$rec/status.tmp" "$rec/status" || exit 75
exit "$code"
