package main

import (
	"io"
	"log/slog"
)

// Attribute keys of the log records written by cmd/lamers: snake_case, the
// same key for the same thing in every record.
const (
	logKeyErr           = "err"
	logKeySubsystem     = "subsystem"
	logKeySources       = "sources"
	logKeyFromStart     = "from_start"
	logKeyPoll          = "poll"
	logKeyLines         = "lines"
	logKeyRecognised    = "recognised"
	logKeyUnrecognised  = "unrecognised"
	logKeyNewFindings   = "new_findings"
	logKeyRows          = "rows"
	logKeyRetentionDays = "retention_days"
)

// newLogger returns the text logger on w at level, a level the
// configuration has validated (parseLogLevel).
func newLogger(w io.Writer, level string) *slog.Logger {
	lvl, _ := parseLogLevel(level)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}
