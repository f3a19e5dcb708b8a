package parser

import (
	"fmt"
	"strings"
)

// Format selects the kind of input Parse expects.
type Format uint8

// Input formats. Auto recognises every format per line; the others accept
// only their own messages (in any of their envelopes) and treat the rest
// as unrelated lines.
const (
	// Auto detects the resolver and the envelope of each line.
	Auto Format = iota
	// BIND accepts BIND 9 (9.1 → 9.21), BIND 8 and BIND 4.9 messages.
	BIND
	// Unbound accepts Unbound log lines (logfile, log-time-ascii,
	// log-time-iso, syslog, journald).
	Unbound
	// UnboundInfra accepts the output of `unbound-control dump_infra`.
	UnboundInfra
)

var formatNames = [...]string{
	Auto:         "auto",
	BIND:         "bind",
	Unbound:      "unbound",
	UnboundInfra: "unbound-infra",
}

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseFormat returns the Format named s: "auto", "bind", "unbound" or
// "unbound-infra" (also "dump_infra"), in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		return Auto, nil
	case "bind":
		return BIND, nil
	case "unbound":
		return Unbound, nil
	case "unbound-infra", "dump_infra":
		return UnboundInfra, nil
	}
	return Auto, fmt.Errorf("parser: unknown log format %q (valid: %s)", s, strings.Join(formatNames[:], ", "))
}
