package resolver

import (
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// classification is the verdict on one reply to "SOA <zone> IN, RD=0".
type classification struct {
	reason string
	flags  []string
	soa    *dns.SOA // the zone's SOA when authoritative
}

// classify applies the table of docs/verification.md, section 3, to one
// reply that already passed the transport's ID, question and source checks.
// zone is canonical (lowercase, absolute). What takes more than one packet —
// REFUSED and SERVFAIL confirmed by P2 and TCP, intermittent SERVFAIL, TCP
// after truncation, the EDNS check, silence and mismatched replies — is the
// probe round's business, not this function's.
func classify(zone string, m *dns.Msg) classification {
	var c classification
	if m.RecursionAvailable {
		c.flags = append(c.flags, FlagOpenRecursor)
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		c.reason = ReasonNXDomain
		return c
	case dns.RcodeRefused:
		c.reason = ReasonRefused
		return c
	case dns.RcodeServerFailure:
		c.reason = ReasonServfail
		return c
	case dns.RcodeFormatError, dns.RcodeNotImplemented:
		c.reason = ReasonBrokenServer
		return c
	default:
		c.reason = rcodeReason(m.Rcode)
		return c
	}

	var soas []*dns.SOA
	var otherOwnerSOA bool
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		owner := canonical(h.Name)
		switch rr := rr.(type) {
		case *dns.CNAME:
			if owner == zone {
				c.reason = ReasonCNAMEAtApex
				return c
			}
		case *dns.SOA:
			if owner == zone {
				soas = append(soas, rr)
			} else {
				otherOwnerSOA = true
			}
		}
	}

	if !m.Authoritative {
		switch {
		case m.RecursionAvailable:
			// Unbound's rec_lame: a resolver answering from its cache or
			// referring to what it has cached.
			if len(m.Answer) == 0 && len(m.Ns) == 0 && len(extraWithoutOPT(m)) == 0 {
				c.reason = ReasonEmptyNonAuthoritative
			} else {
				c.reason = ReasonRecursiveNotAuthoritative
			}
		case len(m.Answer) > 0:
			c.reason = ReasonNotAuthoritative
		default:
			c.reason = referralReason(zone, m)
		}
		return c
	}

	switch {
	case len(soas) == 1:
		c.reason = ReasonAuthoritative
		c.soa = soas[0]
	case len(soas) > 1:
		// "exactly one SOA" (RIPE): several SOA records at the apex are
		// bizarre contents (RFC 1034 §5.3.3).
		c.reason = ReasonBrokenServer
	case otherOwnerSOA:
		c.reason = ReasonWrongSOAOwner
	default:
		c.reason = ReasonNoSOA
	}
	return c
}

// referralReason tells the kinds of non-authoritative replies without an
// answer apart: upward, self and other referrals, empty replies, negative
// answers without AA.
func referralReason(zone string, m *dns.Msg) string {
	var owner string
	for _, rr := range m.Ns {
		if ns, ok := rr.(*dns.NS); ok && ns.Hdr.Class == dns.ClassINET {
			owner = canonical(ns.Hdr.Name)
			break
		}
	}
	switch {
	case owner == "" && len(m.Ns) == 0 && len(extraWithoutOPT(m)) == 0:
		return ReasonEmptyNonAuthoritative
	case owner == "":
		// A non-authoritative negative answer (SOA in authority, AA=0).
		return ReasonNotAuthoritative
	case owner == zone:
		return ReasonSelfReferral
	case dns.IsSubDomain(owner, zone):
		return ReasonUpwardReferral
	default:
		return ReasonReferralOtherZone
	}
}

func extraWithoutOPT(m *dns.Msg) []dns.RR {
	var out []dns.RR
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// rcodeReason names rcodes without a reason of their own: "rcode_notauth".
func rcodeReason(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return rcodePrefix + strings.ToLower(s)
	}
	return rcodePrefix + strconv.Itoa(rcode)
}

// rcodeName is the mnemonic of rcode for Probe.Rcode.
func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rcode)
}
