package main

// Keys of the log attributes of the commands: snake_case names, the same
// as package resolver and parser/ingest use for the same things.
const (
	logKeyErr           = "err"            // the error
	logKeyComponent     = "component"      // the package whose logger it is
	logKeySources       = "sources"        // number of followed files
	logKeyFromStart     = "from_start"     // tail --from-start
	logKeyPoll          = "poll"           // tail --poll
	logKeyLines         = "lines"          // lines read
	logKeyRecognised    = "recognised"     // lines recognised
	logKeyUnrecognised  = "unrecognised"   // lame-looking lines not understood
	logKeyNewFindings   = "new_findings"   // findings created
	logKeyRows          = "rows"           // database rows
	logKeyRetentionDays = "retention_days" // the configured retention
)
