package resolver

import (
	"github.com/lamers-dev/lamers/internal/dnsname"
)

// Names in presentation form. One name has many spellings: `big\032shop.`,
// `big\ shop.` and `BIG\ SHOP` are the same octets on the wire (RFC 1035
// §5.1 escapes, RFC 4343 case). miekg/dns writes a name it unpacks in its
// own style (`\ ` for a space, `$` bare), BIND in another (`\032`, `\$`),
// and lamers stores and prints BIND's: every name this package returns,
// and every name it compares (reply questions, owner names, delegation
// matching, cache keys), is in the canonical form of parseName, the form
// lamers' log parser gives the names it reads: both are internal/dnsname.

// Limits of RFC 1035 §2.3.4, in wire octets.
const (
	maxLabelOctets = dnsname.MaxLabel
	maxNameOctets  = dnsname.MaxName
)

// parseName returns name in the canonical form of internal/dnsname, which
// the log parser shares: an absolute name (the root is "."), ASCII letters
// in lower case, the escapes of the input (`\DDD`, `\X`) decoded to octets,
// and then the octets `"().;\@$` written as `\X`, octets below 0x21 or
// above 0x7e as `\DDD` and every other octet as itself — BIND 9's
// dns_name_totext style. So `Big\ Shop.example`, `big\032shop.example.` and
// `BIG\032SHOP.EXAMPLE` all give `big\032shop.example.`. It fails on a name
// that has no wire form (dnsname.Canonical says which way).
func parseName(name string) (string, error) { return dnsname.Canonical(name) }

// canonical returns name in canonical form. Names that come off the wire
// always have one; a name that has none (text from a caller) is returned
// lowercase and absolute, and then matches nothing the resolver compares it
// with.
func canonical(name string) string {
	s, err := parseName(name)
	if err != nil {
		return lowerASCII(name)
	}
	return s
}

// canonicalKeepCase is canonical without the case folding: for an SOA's
// RNAME, whose first label is a mailbox's local part (RFC 1035 §8), which
// RFC 5321 §2.4 lets a mail server treat case-sensitively.
func canonicalKeepCase(name string) string {
	b, err := dnsname.Append(make([]byte, 0, len(name)+1), name, false)
	if err != nil {
		return name
	}
	return string(b)
}

// lowerASCII folds ASCII letters and makes name absolute.
func lowerASCII(name string) string {
	b := []byte(name)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	if len(b) == 0 || b[len(b)-1] != '.' {
		b = append(b, '.')
	}
	return string(b)
}

// shorten cuts a name for an error message.
func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
