// This file turns DNS names into the addresses of the contact chain: the SOA
// RNAME (RFC 1035 §3.3.13), hostmaster@ the zone (RFC 2142 §4) and
// postmaster@ the registered domain of a lame server's NS host name
// (RFC 2142 §2, RFC 5321 §4.5.1).
//
// Names come in presentation form as miekg/dns writes them (RFC 1035 §5.1:
// `\.` and `\DDD` escapes, absolute with a final dot; the final dot may be
// left off). They are decoded to wire labels and never "fixed up": a name
// that does not make a valid address is rejected with an error that names
// the rule it breaks. The local part is the first label, kept as it is (case
// too), and must be an RFC 5322 §3.4.1 dot-atom of ASCII characters: this
// tool does not send SMTPUTF8 (RFC 6531), so a non-ASCII local part is
// rejected. The domain is every other label; it must have at least two
// labels, pass IDNA2008 in the lookup profile of golang.org/x/net/idna
// (UTS #46 with STD3 rules: letters, digits and hyphens only, so
// "ex_ample" is rejected) and is returned lowercased in its ASCII (A-label)
// form. Departures from RFC 1035: a top-level label of digits only is
// rejected (RFC 3696 §2: it would be an address, not a domain), and so is a
// domain label holding an escaped dot, which no address could carry.

package notify

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/lamers-dev/lamers/internal/dnsname"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ErrInvalidRNAME is matched (errors.Is) by every error of RNAMEAddress: the
// SOA RNAME does not make a valid mail address.
var ErrInvalidRNAME = errors.New("notify: invalid rname")

// ErrInvalidName is matched (errors.Is) by every error of Hostmaster and
// Postmaster: the zone or NS host name does not make a valid mail address.
var ErrInvalidName = errors.New("notify: invalid name")

// Limits of RFC 1035 §2.3.4 and RFC 5321 §4.5.3.1.
const (
	maxLabel = dnsname.MaxLabel // octets in a label
	maxWire  = dnsname.MaxName  // octets in a name on the wire, root label included
	maxLocal = 64               // octets in a local part (§4.5.3.1.1)
	maxPath  = 254              // octets in an address: a 256-octet path less "<" and ">" (§4.5.3.1.3)
)

// nameError is the error of the functions in this file: which kind of name,
// the name as given (quoted, so control characters are escaped), the rule it
// breaks and, for IDNA, the cause.
type nameError struct {
	kind   string // "rname", "zone", "ns name"
	name   string
	reason string
	cause  error
}

func (e *nameError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("notify: %s %s: %s: %v", e.kind, quoteText(e.name), e.reason, e.cause)
	}
	return fmt.Sprintf("notify: %s %s: %s", e.kind, quoteText(e.name), e.reason)
}

func (e *nameError) Unwrap() error { return e.cause }

func (e *nameError) Is(target error) bool {
	if e.kind == "rname" {
		return target == ErrInvalidRNAME
	}
	return target == ErrInvalidName
}

// quoteText quotes s for an error message: Go syntax, so control
// characters are escaped, and cut after 64 bytes, so that a hostile
// megabyte-long name does not become a megabyte-long error.
func quoteText(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// RNAMEAddress converts an SOA RNAME in presentation form to the mail
// address it names: `j\.doe.example.com.` → "j.doe@example.com". The first
// label is the local part (escapes decoded, case kept); the other labels are
// the domain (lowercased, A-labels). The error matches ErrInvalidRNAME and
// names the broken rule.
func RNAMEAddress(rname string) (string, error) {
	fail := func(reason string, cause error) (string, error) {
		return "", &nameError{kind: "rname", name: rname, reason: reason, cause: cause}
	}
	labels, reason := parseName(rname)
	if reason != "" {
		return fail(reason, nil)
	}
	if reason := checkLocal(labels[0]); reason != "" {
		return fail(reason, nil)
	}
	domain, reason, cause := checkDomain(labels[1:])
	if reason != "" {
		return fail(reason, cause)
	}
	addr := labels[0] + "@" + domain
	if len(addr) > maxPath {
		return fail(fmt.Sprintf("address too long: more than %d octets", maxPath), nil)
	}
	return addr, nil
}

// Hostmaster returns hostmaster@ the zone (RFC 2142 §4): "example.com." →
// "hostmaster@example.com". The zone is in presentation form and follows
// the domain rules of RNAMEAddress; the error matches ErrInvalidName.
func Hostmaster(zone string) (string, error) {
	labels, reason := parseName(zone)
	var cause error
	if reason == "" {
		var domain string
		domain, reason, cause = checkDomain(labels)
		if reason == "" {
			return "hostmaster@" + domain, nil
		}
	}
	return "", &nameError{kind: "zone", name: zone, reason: reason, cause: cause}
}

// Postmaster returns postmaster@ the registered domain (public suffix plus
// one label, golang.org/x/net/publicsuffix) of an NS host name:
// "ns1.dns.example.co.uk." → "postmaster@example.co.uk". An IP address, a
// name that is itself a public suffix, or one that breaks the domain rules
// of RNAMEAddress is rejected with an error matching ErrInvalidName.
func Postmaster(nsName string) (string, error) {
	fail := func(reason string, cause error) (string, error) {
		return "", &nameError{kind: "ns name", name: nsName, reason: reason, cause: cause}
	}
	literal := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(nsName, "["), "."), "]")
	if _, err := netip.ParseAddr(literal); err == nil {
		return fail("is an IP address, not a host name", nil)
	}
	labels, reason := parseName(nsName)
	if reason != "" {
		return fail(reason, nil)
	}
	domain, reason, cause := checkDomain(labels)
	if reason != "" {
		return fail(reason, cause)
	}
	registered, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return fail("is a public suffix, no registered domain", nil)
	}
	return "postmaster@" + registered, nil
}

// parseName decodes a name in presentation form (RFC 1035 §5.1) to the
// labels of an address (splitName), absolute or not. It returns a reason
// when the name is not a name, is the root, or holds a control character,
// raw or escaped.
func parseName(s string) (labels []string, reason string) {
	if s == "." {
		return nil, "root name"
	}
	labels, _, reason = splitName(s)
	if reason != "" {
		return nil, reason
	}
	for _, l := range labels {
		if strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return nil, "control character in name"
		}
	}
	return labels, ""
}

// splitName decodes a name in presentation form (RFC 1035 §5.1: \X and
// \DDD escapes; internal/dnsname, the parser's and the resolver's decoder
// too) to its wire labels, the root label left out, and reports
// whether it ends in a final dot. It returns a reason when the name is
// empty, has an empty label, a bad escape, a label longer than 63 octets
// or more than 255 octets on the wire. Any byte is taken as it is: the
// callers say which they allow.
func splitName(s string) (labels []string, absolute bool, reason string) {
	labels, absolute, err := dnsname.Split(s)
	if err != nil {
		return nil, false, err.Error()
	}
	return labels, absolute, ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkLocal reports why a local part is not an ASCII dot-atom (RFC 5322
// §3.4.1, §3.2.3) of at most 64 octets (RFC 5321 §4.5.3.1.1), or "".
func checkLocal(local string) string {
	switch {
	case local == "":
		return "local part is empty"
	case local[0] == '.' || local[len(local)-1] == '.':
		return "local part starts or ends with a dot"
	case strings.Contains(local, ".."):
		return "local part has two dots in a row"
	case len(local) > maxLocal:
		return fmt.Sprintf("local part longer than %d octets (RFC 5321 §4.5.3.1.1)", maxLocal)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= 0x80:
			return "local part is not ASCII (would need SMTPUTF8), not allowed"
		case c != '.' && !isAtext(c):
			return fmt.Sprintf("local part has %q, not allowed in a dot-atom", string(c))
		}
	}
	return ""
}

// isAtext reports whether c is an RFC 5322 §3.2.3 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain joins domain labels to a lowercased ASCII domain, or reports
// why they do not make a mail domain (and the IDNA error, if that was it).
func checkDomain(labels []string) (domain, reason string, cause error) {
	if len(labels) < 2 {
		return "", "domain has fewer than two labels", nil
	}
	for _, l := range labels {
		if strings.IndexByte(l, '.') >= 0 {
			return "", "domain label holds an escaped dot", nil
		}
	}
	for _, l := range labels {
		if reason := checkLDH(l); reason != "" {
			return "", reason, nil
		}
	}
	joined := strings.Join(labels, ".")
	if !utf8.ValidString(joined) {
		return "", "domain is not UTF-8", nil
	}
	ascii, err := idna.Lookup.ToASCII(joined)
	if err != nil {
		return "", "domain is not a valid IDNA name", err
	}
	ascii = strings.ToLower(ascii)
	parts := strings.Split(ascii, ".")
	if len(parts) != len(labels) {
		return "", "domain labels change under IDNA mapping", nil
	}
	wire := 1
	for _, p := range parts {
		if p == "" {
			return "", "empty label", nil
		}
		if len(p) > maxLabel {
			return "", fmt.Sprintf("label longer than %d octets in ASCII form", maxLabel), nil
		}
		wire += 1 + len(p)
	}
	if wire > maxWire {
		return "", fmt.Sprintf("domain longer than %d octets in ASCII form", maxWire), nil
	}
	if strings.Trim(parts[len(parts)-1], "0123456789") == "" {
		return "", "top-level label is all digits", nil
	}
	return ascii, "", nil
}

// checkLDH says why an ASCII label is not a host name label (RFC 1123
// §2.1: letters, digits and '-', not first or last), or "": the cases
// IDNA refuses in an ASCII label, named plainly. Other labels are left to
// IDNA.
func checkLDH(l string) string {
	for i := 0; i < len(l); i++ {
		if l[i] >= 0x80 {
			return ""
		}
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isDigit(c) && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && c != '-' {
			return fmt.Sprintf("label %s is not a valid IDNA name: only letters, digits and '-'", quoteText(l))
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Sprintf("label %s is not a valid IDNA name: it starts or ends with '-'", quoteText(l))
	}
	return ""
}
