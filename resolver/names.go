package resolver

import (
	"errors"
	"fmt"
)

// Names in presentation form. One name has many spellings: `big\032shop.`,
// `big\ shop.` and `BIG\ SHOP` are the same octets on the wire (RFC 1035
// §5.1 escapes, RFC 4343 case). miekg/dns writes a name it unpacks in its
// own style (`\ ` for a space, `$` bare), BIND in another (`\032`, `\$`),
// and lamers stores and prints BIND's: every name this package returns,
// and every name it compares (reply questions, owner names, delegation
// matching, cache keys), is in the canonical form of CanonicalName, the
// form lamers' log parser gives the names it reads (resolver/verify tests
// that the two agree).

// Limits of RFC 1035 §2.3.4, in wire octets.
const (
	maxLabelOctets = 63
	maxNameOctets  = 255
)

var (
	errEmptyName  = errors.New("empty name")
	errEmptyLabel = errors.New("empty label")
	errLongLabel  = errors.New("label longer than 63 octets")
	errLongName   = errors.New("name longer than 255 octets")
	errDangling   = errors.New("dangling backslash")
	errBadDecimal = errors.New(`bad \DDD escape`)
)

// CanonicalName returns name in lamers' canonical presentation form: an
// absolute name (the root is "."), ASCII letters in lower case, the escapes
// of the input (`\DDD`, `\X`) decoded to octets, and then the octets
// `"().;\@$` written as `\X`, octets below 0x21 or above 0x7e as `\DDD` and
// every other octet as itself — BIND 9's dns_name_totext style. So
// `Big\ Shop.example`, `big\032shop.example.` and `BIG\032SHOP.EXAMPLE`
// all give `big\032shop.example.`.
//
// It fails on an empty name, an empty label other than the root, a label
// longer than 63 octets, a name longer than 255 octets, a dangling
// backslash and a `\DDD` escape that is not three digits or exceeds 255.
// It is idempotent.
func CanonicalName(name string) (string, error) {
	s, err := parseName(name)
	if err != nil {
		return "", fmt.Errorf("resolver: canonical name %q: %w", shorten(name), err)
	}
	return s, nil
}

// parseName is CanonicalName with errors that do not name the call.
func parseName(name string) (string, error) {
	if s, ok := plainCanonical(name); ok {
		return s, nil
	}
	b, err := appendCanonical(make([]byte, 0, len(name)+1), name, true)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

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

// plainCanonical returns name when it is canonical already and made only of
// lowercase letters, digits, '-', '_' and dots: the common case, checked
// without allocating.
func plainCanonical(name string) (string, bool) {
	if name == "." {
		return name, true
	}
	if len(name) < 2 || name[len(name)-1] != '.' || len(name) > maxNameOctets-1 {
		return "", false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = 0
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
			if label > maxLabelOctets {
				return "", false
			}
		default:
			return "", false
		}
	}
	return name, true
}

// appendCanonical appends the canonical form of raw to dst; with fold
// false, ASCII letters keep their case.
func appendCanonical(dst []byte, raw string, fold bool) ([]byte, error) {
	if raw == "" {
		return dst, errEmptyName
	}
	if raw == "." {
		return append(dst, '.'), nil
	}
	wire := 1 // the root label
	labelLen := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		i++
		if c == '.' {
			if labelLen == 0 {
				return dst, errEmptyLabel
			}
			wire += labelLen + 1
			labelLen = 0
			dst = append(dst, '.')
			continue
		}
		if c == '\\' {
			if i >= len(raw) {
				return dst, errDangling
			}
			c = raw[i]
			i++
			if isDigit(c) {
				if i+1 >= len(raw) || !isDigit(raw[i]) || !isDigit(raw[i+1]) {
					return dst, errBadDecimal
				}
				n := int(c-'0')*100 + int(raw[i]-'0')*10 + int(raw[i+1]-'0')
				if n > 255 {
					return dst, errBadDecimal
				}
				c = byte(n)
				i += 2
			}
		}
		labelLen++
		if labelLen > maxLabelOctets {
			return dst, errLongLabel
		}
		if wire+labelLen+1 > maxNameOctets {
			return dst, errLongName
		}
		if !fold && 'A' <= c && c <= 'Z' {
			dst = append(dst, c)
			continue
		}
		dst = appendOctet(dst, c)
	}
	if labelLen > 0 {
		dst = append(dst, '.')
	}
	return dst, nil
}

// appendOctet appends one label octet in canonical form.
func appendOctet(dst []byte, c byte) []byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return append(dst, c+'a'-'A')
	case c == '"' || c == '(' || c == ')' || c == '.' || c == ';' || c == '\\' || c == '@' || c == '$':
		return append(dst, '\\', c)
	case c < 0x21 || c > 0x7e:
		return append(dst, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
	}
	return append(dst, c)
}

// canonicalKeepCase is canonical without the case folding: for an SOA's
// RNAME, whose first label is a mailbox's local part (RFC 1035 §8), which
// RFC 5321 §2.4 lets a mail server treat case-sensitively.
func canonicalKeepCase(name string) string {
	b, err := appendCanonical(make([]byte, 0, len(name)+1), name, false)
	if err != nil {
		return name
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

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
