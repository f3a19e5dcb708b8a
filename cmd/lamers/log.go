package main

import (
	"io"
	"log/slog"
)

// newLogger returns the text logger on w at level, a level the
// configuration has validated (parseLogLevel).
func newLogger(w io.Writer, level string) *slog.Logger {
	lvl, _ := parseLogLevel(level)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
}
