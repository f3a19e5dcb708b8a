package resolver

import "strings"

// Verdict is the outcome of one probe round for one (zone, server address).
type Verdict string

// The three verdicts of DESIGN §5 step 3.
const (
	VerdictAuthoritative Verdict = "authoritative"
	VerdictLame          Verdict = "lame"
	VerdictInconclusive  Verdict = "inconclusive"
)

// Verdict reasons (DESIGN §5 step 3; lame-verification.md §6). Rcodes without a
// reason of their own are reported as "rcode_" + the lowercase mnemonic, e.g.
// "rcode_notauth", or "rcode_" + the decimal value when it has no mnemonic.
const (
	ReasonAuthoritative = "authoritative"

	// Hard lame reasons: the server answered, and the answer shows that it
	// does not serve the zone.
	ReasonNotAuthoritative          = "not_authoritative"
	ReasonRecursiveNotAuthoritative = "recursive_not_authoritative"
	ReasonUpwardReferral            = "upward_referral"
	ReasonSelfReferral              = "self_referral"
	ReasonReferralOtherZone         = "referral_other_zone"
	ReasonWrongSOAOwner             = "wrong_soa_owner"
	ReasonNoSOA                     = "no_soa"
	ReasonCNAMEAtApex               = "cname_at_apex"
	ReasonEmptyNonAuthoritative     = "empty_non_authoritative"
	ReasonNXDomain                  = "nxdomain"
	ReasonRefused                   = "refused"
	ReasonServfail                  = "servfail"
	ReasonBrokenServer              = "broken_server"
	ReasonNSNameNXDomain            = "ns_name_nxdomain"

	// Soft reasons: no DNS answer at all. A single round is inconclusive;
	// Policy turns enough of them into the status "unresponsive".
	ReasonNoDNSService = "no_dns_service"
	ReasonUnresponsive = "unresponsive"

	// Inconclusive reasons that never count towards a confirmation.
	ReasonIntermittentServfail     = "intermittent_servfail"
	ReasonTCPFailedAfterTruncation = "tcp_failed_after_truncation"
	ReasonVantageError             = "vantage_error"
	ReasonMismatchedReply          = "mismatched_reply"
	ReasonNSLookupFailed           = "ns_lookup_failed"
	ReasonParentUnreachable        = "parent_unreachable"

	// rcodePrefix starts the reasons for rcodes without a reason of their own.
	rcodePrefix = "rcode_"
)

// Probe flags.
const (
	FlagOpenRecursor     = "open_recursor"
	FlagEDNSNoncompliant = "edns_noncompliant"
)

// RoundClass says how a probe round counts for the confirmation policy.
type RoundClass int

// Round classes (lame-verification.md §6 "Confirmation classes").
const (
	// NotCounted rounds (vantage errors, mismatched replies, intermittent
	// SERVFAIL, TCP failing after truncation, NS lookups failing, the parent
	// unreachable, BADCOOKIE) prove nothing either way.
	NotCounted RoundClass = iota
	// Authoritative: the server answered authoritatively for the zone.
	Authoritative
	// Hard: the server answered and the answer is lame.
	Hard
	// Soft: no answer at all (timeouts, ICMP port unreachable).
	Soft
)

// String returns the lowercase name of c.
func (c RoundClass) String() string {
	switch c {
	case Authoritative:
		return "authoritative"
	case Hard:
		return "hard"
	case Soft:
		return "soft"
	default:
		return "not_counted"
	}
}

var hardReasons = map[string]bool{
	ReasonNotAuthoritative: true, ReasonRecursiveNotAuthoritative: true,
	ReasonUpwardReferral: true, ReasonSelfReferral: true, ReasonReferralOtherZone: true,
	ReasonWrongSOAOwner: true, ReasonNoSOA: true, ReasonCNAMEAtApex: true,
	ReasonEmptyNonAuthoritative: true, ReasonNXDomain: true, ReasonRefused: true,
	ReasonServfail: true, ReasonBrokenServer: true, ReasonNSNameNXDomain: true,
}

var inconclusiveReasons = map[string]bool{
	ReasonIntermittentServfail: true, ReasonTCPFailedAfterTruncation: true,
	ReasonVantageError: true, ReasonMismatchedReply: true, ReasonNSLookupFailed: true,
	ReasonParentUnreachable: true,
}

// ClassOf returns the confirmation class of a verdict reason. Unknown reasons
// are NotCounted.
func ClassOf(reason string) RoundClass {
	switch {
	case reason == ReasonAuthoritative:
		return Authoritative
	case reason == ReasonUnresponsive, reason == ReasonNoDNSService:
		return Soft
	case hardReasons[reason]:
		return Hard
	case reason == rcodePrefix+"badcookie":
		// lame-verification.md §6 row 16: never lame by itself.
		return NotCounted
	case strings.HasPrefix(reason, rcodePrefix) && len(reason) > len(rcodePrefix):
		return Hard
	default:
		return NotCounted
	}
}

// VerdictOf returns the verdict a single round with this reason gets: soft
// reasons are inconclusive per round (lame-verification.md §6 rows 20-21).
func VerdictOf(reason string) Verdict {
	switch ClassOf(reason) {
	case Authoritative:
		return VerdictAuthoritative
	case Hard:
		return VerdictLame
	default:
		return VerdictInconclusive
	}
}

// KnownReason reports whether reason is one of the reasons this package produces.
func KnownReason(reason string) bool {
	if reason == ReasonAuthoritative || reason == ReasonUnresponsive || reason == ReasonNoDNSService ||
		hardReasons[reason] || inconclusiveReasons[reason] {
		return true
	}
	rest, ok := strings.CutPrefix(reason, rcodePrefix)
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
