package parser

import (
	"errors"
	"fmt"
	"unsafe"
)

// Limits of RFC 1035 §2.3.4, counted in wire octets.
const (
	maxLabelLen = 63
	maxNameLen  = 255
)

// CanonicalName returns s in the form every Observation uses: an absolute
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
	b, err := appendCanonical(make([]byte, 0, len(s)+1), s)
	if err != nil {
		return "", fmt.Errorf("canonical name %q: %w", truncate(s), err)
	}
	return string(b), nil
}

var (
	errEmptyName  = errors.New("empty name")
	errEmptyLabel = errors.New("empty label")
	errLongLabel  = errors.New("label longer than 63 octets")
	errLongName   = errors.New("name longer than 255 octets")
	errDangling   = errors.New("dangling backslash")
	errBadDecimal = errors.New(`bad \DDD escape`)
)

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// appendCanonical appends the canonical form of raw to dst (see
// CanonicalName). On error dst's new content is meaningless.
func appendCanonical[T string | []byte](dst []byte, raw T) ([]byte, error) {
	if len(raw) == 0 {
		return dst, errEmptyName
	}
	if len(raw) == 1 && raw[0] == '.' {
		return append(dst, '.'), nil
	}
	wire := 1 // the root label
	labelLen := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '.' {
			if labelLen == 0 {
				return dst, errEmptyLabel
			}
			wire += labelLen + 1
			if wire > maxNameLen {
				return dst, errLongName
			}
			labelLen = 0
			dst = append(dst, '.')
			i++
			continue
		}
		if literalOctet[c] {
			// A run of octets that are written as they are, appended at
			// once unless it breaks a limit (then octet by octet below,
			// for the error of the first octet too many).
			j := i + 1
			for j < len(raw) && literalOctet[raw[j]] {
				j++
			}
			if n := j - i; labelLen+n <= maxLabelLen && wire+labelLen+n+1 <= maxNameLen {
				labelLen += n
				dst = append(dst, raw[i:j]...)
				i = j
				continue
			}
		}
		v := c
		i++
		if c == '\\' {
			if i >= len(raw) {
				return dst, errDangling
			}
			c2 := raw[i]
			if isDigit(c2) {
				if i+2 >= len(raw) || !isDigit(raw[i+1]) || !isDigit(raw[i+2]) {
					return dst, errBadDecimal
				}
				n := int(c2-'0')*100 + int(raw[i+1]-'0')*10 + int(raw[i+2]-'0')
				if n > 255 {
					return dst, errBadDecimal
				}
				v = byte(n)
				i += 3
			} else {
				v = c2
				i++
			}
		}
		labelLen++
		if labelLen > maxLabelLen {
			return dst, errLongLabel
		}
		if wire+labelLen+1 > maxNameLen {
			return dst, errLongName
		}
		dst = appendOctet(dst, v)
	}
	if labelLen > 0 {
		dst = append(dst, '.')
	}
	return dst, nil
}

// literalOctet tells the octets appendOctet writes as they are.
var literalOctet = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = string(appendOctet(nil, byte(c))) == string(rune(c))
	}
	return t
}()

// appendOctet appends one label octet in canonical presentation form.
func appendOctet(dst []byte, v byte) []byte {
	switch {
	case v >= 'A' && v <= 'Z':
		return append(dst, v+('a'-'A'))
	case v == '"' || v == '(' || v == ')' || v == '.' || v == ';' || v == '\\' || v == '@' || v == '$':
		return append(dst, '\\', v)
	case v < 0x21 || v > 0x7e:
		return append(dst, '\\', '0'+v/100, '0'+v/10%10, '0'+v%10)
	}
	return append(dst, v)
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
		return "", false // errEmptyName
	}
	n := len(p.qbuf)
	b, err := appendCanonical(p.qbuf, raw)
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
		return "", false // errEmptyName
	}
	if len(raw) > maxCachedKey {
		b, err := appendCanonical(p.scratch[:0], raw)
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
	b, err := appendCanonical(p.scratch[:0], raw)
	p.scratch = b[:0]
	s = p.names.put(raw, b, h, err == nil) // "" remembers a bad name
	return s, err == nil
}
