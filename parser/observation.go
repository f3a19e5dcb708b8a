package parser

import (
	"net/netip"
	"time"
)

// Source is the resolver software that wrote a log line.
type Source string

// The resolver families lamers reads.
const (
	SourceBIND    Source = "bind"
	SourceUnbound Source = "unbound"
)

// Evidence is the kind of lameness a log line reports (docs/log-formats.md,
// "Evidence kinds"). The set is closed: the kinds below, and for unexpected response codes without a
// kind of their own "rcode_" and the registry's lower-case mnemonic
// ("rcode_notimp") or, for an unassigned code, its number ("rcode_12"),
// for codes 0–4095 only (rcode.go).
type Evidence string

// Evidence kinds, in the vocabulary of the report's "observed" field.
const (
	LameReferral         Evidence = "lame_referral"
	RecLame              Evidence = "rec_lame"
	DNSSECLame           Evidence = "dnssec_lame"
	Refused              Evidence = "refused"
	ServFail             Evidence = "servfail"
	FormErr              Evidence = "formerr"
	ConnectionRefused    Evidence = "connection_refused"
	Timeout              Evidence = "timeout"
	Unreachable          Evidence = "unreachable"
	Throwaway            Evidence = "throwaway"
	DNSSECFailure        Evidence = "dnssec_failure"
	NonImprovingReferral Evidence = "non_improving_referral"
	CNAMENS              Evidence = "cname_ns"
)

// Observation is one piece of evidence taken from one log line (or, for
// Unbound, from the group of lines that ends with that line).
//
// Names are canonical (see CanonicalName): absolute with a trailing dot,
// ASCII letters folded to lower case, escapes in BIND's presentation style.
type Observation struct {
	// Time is when the resolver logged the event, from the line's prefix;
	// for lines that carry no time, or one outside the window around
	// Options.Reference (Parser.SetReference), it is Options.Reference.
	Time     time.Time
	Source   Source
	Evidence Evidence
	// Zone is the delegation the resolver was following, "" when the line
	// does not name one (BIND's reason lines).
	Zone string
	// QName and QType describe the query being resolved, "" when the line
	// does not say.
	QName string
	QType string
	// Server and Port identify the server that gave the lame answer. A line
	// without a server address produces no observation.
	Server netip.Addr
	Port   uint16
	// Repeat marks the second line of an event a resolver logs in two
	// (BIND's FORMERR line after its "DNS format error" notice, Unbound's
	// log-servfail line after the verdict of the same reply, see pair.go):
	// its evidence kind belongs to the finding, its event was counted by
	// the first line's observation.
	Repeat bool
}

// Result tells what Parse made of a line.
type Result uint8

// Parse results.
const (
	// Ignored: the line is not about lame servers (most of a log).
	Ignored Result = iota
	// Recognised: the line was understood as lame-server evidence or as part
	// of a multi-line group that carries it (it may produce no observation by
	// itself, e.g. Unbound's "reply from" line).
	Recognised
	// Unrecognised: the line looks lame-related but was not understood; it
	// is counted and sampled, never fatal.
	Unrecognised
)
