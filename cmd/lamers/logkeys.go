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

	// run
	logKeyListen        = "listen"
	logKeyVerifyEvery   = "verify_every"
	logKeyNotifyEvery   = "notify_every"
	logKeySend          = "send"
	logKeyFiles         = "files"
	logKeyAttributed    = "attributed"
	logKeyProbed        = "probed"
	logKeyStale         = "stale"
	logKeySkipped       = "skipped"
	logKeyResult        = "result"
	logKeyTo            = "to"
	logKeyContactSource = "contact_source"
	logKeySubject       = "subject"
	logKeyFindings      = "findings"
	logKeyMessages      = "messages"
	logKeyDryRun        = "dry_run" // messages by result (notify's results)
	logKeySent          = "sent"
	logKeyDeferred      = "deferred"
	logKeyRejected      = "rejected"
	logKeyUnknown       = "unknown"
	logKeyLater         = "later"
	logKeyResting       = "resting"
	logKeyNeedsHuman    = "needs_human"
	logKeyReprobed      = "reprobed"
	logKeyRestart       = "restart"

	// run's digest step
	logKeyDigestEvery  = "digest_every"
	logKeySince        = "since"
	logKeyUntil        = "until"
	logKeyLame         = "lame"
	logKeyUnresponsive = "unresponsive"
	logKeyConfirmed    = "confirmed"
	logKeyFixed        = "fixed"
	logKeyWorstServer  = "worst_server"
	logKeyWorstZones   = "worst_zones"
	logKeyRelay        = "relay"
)
