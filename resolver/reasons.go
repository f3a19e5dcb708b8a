package resolver

import "strings"

// Verdict is the outcome of one probe round for one (zone, server address).
type Verdict string

// The three verdicts of a round (docs/verification.md, section 3).
const (
	VerdictAuthoritative Verdict = "authoritative"
	VerdictLame          Verdict = "lame"
	VerdictInconclusive  Verdict = "inconclusive"
)

// Verdict reasons (docs/verification.md, section 3). Rcodes without a
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

// Flags (docs/verification.md, section 3): what a round or a check found
// besides its verdict. They never change a verdict.
const (
	// FlagOpenRecursor: a reply had RA=1 (RFC 5358).
	FlagOpenRecursor = "open_recursor"
	// FlagEDNSNoncompliant: a reply to a query with EDNS had no OPT record,
	// another EDNS version, or the rcode FORMERR or NOTIMP; or the EDNS
	// check after a clean P1 went unanswered or lost the authoritative
	// answer (RFC 6891 §6.1.1 and §7, RFC 8906 §3.2).
	FlagEDNSNoncompliant = "edns_noncompliant"

	// The flags only Check sets.

	// FlagNSIsCNAME: the NS name is an alias (RFC 2181 §10.3).
	FlagNSIsCNAME = "ns_is_cname"
	// FlagNSNotInChild: the parent lists the NS name, the child's apex NS
	// set does not.
	FlagNSNotInChild = "ns_not_in_child"
	// FlagNSNotInParent: the child's apex NS set lists the NS name, the
	// parent does not.
	FlagNSNotInParent = "ns_not_in_parent"
	// FlagTCPFailed: the server answered over UDP but not over TCP, or
	// not authoritatively over TCP where it did over UDP (RFC 7766 §5).
	FlagTCPFailed = "tcp_failed"
	// FlagSOAMismatch: the server's SOA serial or RNAME is not the one the
	// zone's other servers give.
	FlagSOAMismatch = "soa_mismatch"
)

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

// VerdictOf returns the verdict a single round with this reason gets:
// authoritative; lame for the hard reasons and for rcodes without a reason
// of their own, except BADCOOKIE (RFC 7873: a client resends with the
// server's cookie; it is never lame by itself); inconclusive for silence,
// the inconclusive reasons and unknown reasons.
func VerdictOf(reason string) Verdict {
	switch {
	case reason == ReasonAuthoritative:
		return VerdictAuthoritative
	case hardReasons[reason]:
		return VerdictLame
	case reason == rcodePrefix+"badcookie":
		return VerdictInconclusive
	case strings.HasPrefix(reason, rcodePrefix) && len(reason) > len(rcodePrefix):
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
