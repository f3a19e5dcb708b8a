// Package dnsname is the one spelling of a domain name lamers compares,
// stores and prints: the canonical presentation form. One name has many
// spellings — `big\032shop.`, `big\ shop.` and `BIG\ SHOP` are the same
// octets on the wire (RFC 1035 §5.1 escapes; RFC 4343: ASCII case does not
// matter) — and BIND, Unbound and miekg/dns each write their own. The log
// parser and the resolver both canonicalise through this package, so a
// name read from a log and the same name read off the wire agree.
//
// The canonical form is BIND 9's dns_name_totext style (lib/dns/name.c):
// an absolute name (the root is "."), ASCII letters in lower case, the
// octets `"().;\@$` written as `\X`, octets below 0x21 or above 0x7e as
// `\DDD`, every other octet as itself. Unbound's lossy replacement
// characters ('?' for an octet it does not print, '#' and '&' for labels and
// names too long to print) are ordinary octets and stay as they are.
//
// It imports nothing of lamers: the resolver, which may import no lamers
// package but this leaf, uses it too.
package dnsname

import (
	"errors"
	"fmt"
)

// Limits of RFC 1035 §2.3.4, in wire octets.
const (
	MaxLabel = 63
	MaxName  = 255
)

// The ways a presentation-form name is refused.
var (
	ErrEmptyName  = errors.New("empty name")
	ErrEmptyLabel = errors.New("empty label")
	ErrLongLabel  = errors.New("label longer than 63 octets")
	ErrLongName   = errors.New("name longer than 255 octets")
	ErrDangling   = errors.New("dangling backslash")
	ErrBadDecimal = errors.New(`bad \DDD escape`)

	errNotAbsolute = errors.New("not an absolute name")
)

// Canonical returns name in canonical form. Both BIND's names (no trailing
// dot) and absolute ones are accepted; the escapes of the input (`\DDD`,
// `\X`) are decoded to octets first. It fails, with one of the errors
// above, on an empty name, an empty label other than the root, a label
// longer than 63 octets, a name longer than 255 octets, a dangling
// backslash and a `\DDD` escape that is not three digits or exceeds 255.
// It is idempotent, and does not allocate for a name that is canonical
// already and made only of lowercase letters, digits, '-', '_' and dots.
func Canonical(name string) (string, error) {
	if plain(name) {
		return name, nil
	}
	b, err := Append(make([]byte, 0, len(name)+1), name, true)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// plain reports whether name is canonical already and made only of
// lowercase letters, digits, '-', '_' and dots: the common case.
func plain(name string) bool {
	if name == "." {
		return true
	}
	if len(name) < 2 || name[len(name)-1] != '.' || len(name) > MaxName-1 {
		return false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			label++
			if label > MaxLabel {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Append appends the canonical form of raw to dst (see Canonical); with
// fold false, ASCII letters keep their case (an SOA RNAME's first label is
// a mailbox's local part, which RFC 5321 §2.4 lets a mail server treat
// case-sensitively). On error dst's new content is meaningless. The log
// parser calls it on every name it reads, so runs of octets written as
// they are go in at once.
func Append[T string | []byte](dst []byte, raw T, fold bool) ([]byte, error) {
	if len(raw) == 0 {
		return dst, ErrEmptyName
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
				return dst, ErrEmptyLabel
			}
			wire += labelLen + 1
			if wire > MaxName {
				return dst, ErrLongName
			}
			labelLen = 0
			dst = append(dst, '.')
			i++
			continue
		}
		if literal[c] {
			// A run of octets that are written as they are, appended at
			// once unless it breaks a limit (then octet by octet below,
			// for the error of the first octet too many).
			j := i + 1
			for j < len(raw) && literal[raw[j]] {
				j++
			}
			if n := j - i; labelLen+n <= MaxLabel && wire+labelLen+n+1 <= MaxName {
				labelLen += n
				dst = append(dst, raw[i:j]...)
				i = j
				continue
			}
		}
		v, n, err := unescape(raw, i)
		if err != nil {
			return dst, err
		}
		i += n
		labelLen++
		if labelLen > MaxLabel {
			return dst, ErrLongLabel
		}
		if wire+labelLen+1 > MaxName {
			return dst, ErrLongName
		}
		if !fold && 'A' <= v && v <= 'Z' {
			dst = append(dst, v)
			continue
		}
		dst = AppendOctet(dst, v)
	}
	if labelLen > 0 {
		dst = append(dst, '.')
	}
	return dst, nil
}

// unescape returns the octet of raw at i — a `\DDD` or `\X` escape, or the
// octet itself — and how many input bytes it took.
func unescape[T string | []byte](raw T, i int) (byte, int, error) {
	c := raw[i]
	if c != '\\' {
		return c, 1, nil
	}
	if i+1 >= len(raw) {
		return 0, 0, ErrDangling
	}
	c = raw[i+1]
	if !isDigit(c) {
		return c, 2, nil
	}
	if i+3 >= len(raw) || !isDigit(raw[i+2]) || !isDigit(raw[i+3]) {
		return 0, 0, ErrBadDecimal
	}
	n := int(c-'0')*100 + int(raw[i+2]-'0')*10 + int(raw[i+3]-'0')
	if n > 255 {
		return 0, 0, ErrBadDecimal
	}
	return byte(n), 4, nil
}

// literal tells the octets AppendOctet writes as they are.
var literal = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = string(AppendOctet(nil, byte(c))) == string(rune(c))
	}
	return t
}()

// AppendOctet appends one label octet in canonical form.
func AppendOctet(dst []byte, v byte) []byte {
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

// Labels returns the labels of an absolute name in presentation form as
// their wire octets (RFC 1035 §5.1: `\DDD` is the octet DDD, `\X` is X),
// or an error for a name that is not absolute or that Split refuses. The
// root has no labels.
func Labels(name string) ([]string, error) {
	labels, absolute, err := Split(name)
	if err == nil && !absolute {
		err = errNotAbsolute
	}
	if err != nil {
		return nil, err
	}
	return labels, nil
}

// Split returns the labels of a name in presentation form as their wire
// octets, and whether the name is absolute (ends in an unescaped dot; the
// root is). Its errors wrap those of Canonical, with the detail a person
// needs to see what is wrong.
func Split(name string) (labels []string, absolute bool, err error) {
	switch {
	case name == "":
		return nil, false, ErrEmptyName
	case name == ".":
		return nil, true, nil
	case len(name) > 4*MaxName: // a wire octet takes at most four bytes (\DDD)
		return nil, false, ErrLongName
	}
	var label []byte
	wire := 1 // the root label
	for i := 0; i < len(name); {
		if name[i] == '.' {
			if len(label) == 0 {
				return nil, false, ErrEmptyLabel
			}
			labels, wire, label = append(labels, string(label)), wire+1+len(label), label[:0]
			i++
			continue
		}
		v, n, err := unescape(name, i)
		if err != nil {
			return nil, false, escapeError(name[i:], err)
		}
		if label, i = append(label, v), i+n; len(label) > MaxLabel {
			return nil, false, ErrLongLabel
		}
	}
	absolute = len(label) == 0
	if !absolute { // a relative name: the final dot was left off
		labels, wire = append(labels, string(label)), wire+1+len(label)
	}
	if wire > MaxName {
		return nil, false, fmt.Errorf("%w (%d on the wire, more than %d)", ErrLongName, wire, MaxName)
	}
	return labels, absolute, nil
}

// escapeError says what is wrong with the escape that rest starts with.
func escapeError(rest string, err error) error {
	switch {
	case errors.Is(err, ErrDangling):
		return fmt.Errorf("%w at the end of the name", err)
	case len(rest) >= 4 && isDigit(rest[1]) && isDigit(rest[2]) && isDigit(rest[3]):
		return fmt.Errorf(`%w: \%s is above 255`, err, rest[1:4])
	}
	return fmt.Errorf(`%w: \DDD needs three digits`, err)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
