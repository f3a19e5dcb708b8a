package main

// Keys of the attributes lamers logs (log/slog): snake_case, and the same
// key for the same thing in every message and package (parser/ingest and
// resolver use the same spellings).
const (
	logKeyComponent     = "component" // the package a logger is handed to
	logKeyErr           = "err"
	logKeySources       = "sources" // number of followed files
	logKeyFromStart     = "from_start"
	logKeyPoll          = "poll"
	logKeyLines         = "lines"
	logKeyRecognised    = "recognised"
	logKeyUnrecognised  = "unrecognised"
	logKeyNewFindings   = "new_findings"
	logKeyRows          = "rows"
	logKeyRetentionDays = "retention_days"
)
