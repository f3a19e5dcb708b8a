package parser

import (
	"fmt"
	"unsafe"

	"github.com/lamers-dev/lamers/internal/dnsname"
)

// CanonicalName returns s in the form every Observation uses, the
// canonical form of internal/dnsname, which the resolver shares: an absolute
// name with a trailing dot (the root is "."), ASCII letters folded to lower
// case, and escapes in BIND's presentation style (dns_name_format): the
// input's `\DDD` and `\X` escapes are decoded to label octets, then octets
// in `"().;\@$` are written as `\X`, octets below 0x21 or above 0x7e as
// `\DDD` and all others literally. So `we\.ird.lab`, `WE\.IRD.lab.` and
// `we\046ird.lab` all give `we\.ird.lab.`.
//
// Both BIND's names (no trailing dot) and Unbound's (trailing dot) are
// accepted. Unbound's lossy replacement characters ('?', and '#' or '&' for
// over-long labels) are ordinary octets and stay as they are.
//
// CanonicalName fails on an empty name, an empty label other than the root,
// a label longer than 63 octets, a name longer than 255 octets, a dangling
// backslash and a `\DDD` escape that is not three digits or exceeds 255.
// It is idempotent: CanonicalName(CanonicalName(s)) == CanonicalName(s).
func CanonicalName(s string) (string, error) {
	b, err := dnsname.Append(make([]byte, 0, len(s)+1), s, true)
	if err != nil {
		return "", fmt.Errorf("canonical name %q: %w", truncate(s), err)
	}
	return string(b), nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// qname is name for a query name: with Options.TransientQName the
// canonical form is written to p.qbuf, not cached, and the string shares
// its memory. Growing qbuf moves it, which leaves earlier strings of this
// call pointing into the old array, untouched: they stay valid.
func (p *Parser) qname(raw []byte) (string, bool) {
	if !p.transient {
		return p.name(raw)
	}
	if len(raw) == 0 {
		return "", false // dnsname.ErrEmptyName
	}
	n := len(p.qbuf)
	b, err := dnsname.Append(p.qbuf, raw, true)
	if err != nil || len(b) == n {
		p.qbuf = b[:n]
		return "", false
	}
	p.qbuf = b
	return unsafe.String(&b[n], len(b)-n), true
}

// name returns the canonical form of raw, interned in the Parser's bounded
// cache so that repeated names neither allocate nor re-encode.
func (p *Parser) name(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false // dnsname.ErrEmptyName
	}
	if len(raw) > maxCachedKey {
		b, err := dnsname.Append(p.scratch[:0], raw, true)
		p.scratch = b[:0]
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	s, h, ok := p.names.get(raw)
	if ok {
		return s, s != ""
	}
	b, err := dnsname.Append(p.scratch[:0], raw, true)
	p.scratch = b[:0]
	s = p.names.put(raw, b, h, err == nil) // "" remembers a bad name
	return s, err == nil
}
