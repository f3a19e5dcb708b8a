package store

import "fmt"

// The enums stored as text. Each one has a single table from value to name;
// its Parse function reads names through the reverse table built from it,
// the way miekg/dns derives StringToRcode from RcodeToString. The names are
// what the database holds and what the command line shows. The zero value
// of each type is not a valid value, so a field left unset is refused, not
// stored.

// Status is a finding's status (docs/verification.md, "Confirmation").
type Status uint8

// The finding statuses.
const (
	StatusNew          Status = iota + 1 // never probed
	StatusSuspect                        // lame in the rounds so far, not confirmed yet
	StatusLame                           // confirmed lame
	StatusUnresponsive                   // confirmed silent
	StatusOK                             // the latest round was authoritative
	StatusFixed                          // authoritative after having been confirmed
	StatusStale                          // the delegation no longer lists the address
	StatusInconclusive                   // the rounds do not agree
)

var statusNames = [...]string{
	StatusNew:          "new",
	StatusSuspect:      "suspect",
	StatusLame:         "lame",
	StatusUnresponsive: "unresponsive",
	StatusOK:           "ok",
	StatusFixed:        "fixed",
	StatusStale:        "stale",
	StatusInconclusive: "inconclusive",
}

var statusByName = reverse[Status](statusNames[:])

// String returns the name of s ("lame").
func (s Status) String() string { return name("Status", statusNames[:], s) }

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) { return parse("status", statusByName, s) }

// Statuses returns every status, in the order of the table above.
func Statuses() []Status { return values[Status](statusNames[:]) }

// Verdict is the outcome of one probe round.
type Verdict uint8

// The verdicts of a round.
const (
	VerdictAuthoritative Verdict = iota + 1
	VerdictLame
	VerdictInconclusive
)

var verdictNames = [...]string{
	VerdictAuthoritative: "authoritative",
	VerdictLame:          "lame",
	VerdictInconclusive:  "inconclusive",
}

var verdictByName = reverse[Verdict](verdictNames[:])

// String returns the name of v ("lame").
func (v Verdict) String() string { return name("Verdict", verdictNames[:], v) }

// ParseVerdict returns the verdict named s.
func ParseVerdict(s string) (Verdict, error) { return parse("verdict", verdictByName, s) }

// RoundClass is how a probe round counts for the confirmation policy.
type RoundClass uint8

// The round classes.
const (
	ClassAuthoritative RoundClass = iota + 1 // the server answered authoritatively
	ClassHard                                // the server answered, and the answer is lame
	ClassSoft                                // no answer at all: silence, ICMP port unreachable
	ClassNone                                // proves nothing either way
)

var classNames = [...]string{
	ClassAuthoritative: "authoritative",
	ClassHard:          "hard",
	ClassSoft:          "soft",
	ClassNone:          "none",
}

var classByName = reverse[RoundClass](classNames[:])

// String returns the name of c ("hard").
func (c RoundClass) String() string { return name("RoundClass", classNames[:], c) }

// ParseRoundClass returns the round class named s.
func ParseRoundClass(s string) (RoundClass, error) { return parse("round class", classByName, s) }

// enum is the shape of the types above.
type enum interface{ ~uint8 }

// reverse builds the name-to-value table of names, a table indexed by value.
func reverse[T enum](names []string) map[string]T {
	m := make(map[string]T, len(names))
	for v, n := range names {
		if n != "" {
			m[n] = T(v)
		}
	}
	return m
}

// name returns names[v], or type(v) for a value without a name.
func name[T enum](typ string, names []string, v T) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(v))
}

// valid reports whether v has a name in names.
func valid[T enum](names []string, v T) bool {
	return int(v) < len(names) && names[v] != ""
}

// parse looks s up in byName.
func parse[T enum](what string, byName map[string]T, s string) (T, error) {
	if v, ok := byName[s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("store: unknown %s %q", what, s)
}

// values lists the values that have a name in names, in value order.
func values[T enum](names []string) []T {
	var out []T
	for v, n := range names {
		if n != "" {
			out = append(out, T(v))
		}
	}
	return out
}
