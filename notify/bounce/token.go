package bounce

import (
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

// TokenLen is the length of a token: 20 characters of lowercase base32
// (RFC 4648 §6 alphabet, a–z and 2–7), 100 random bits. Lowercase because
// Postfix lowercases the address extension it hands to pipe(8).
const TokenLen = 20

// UnsubscribeSuffix ends the extension of the List-Unsubscribe address
// (RFC 2369): LOCAL+TOKEN-unsubscribe@DOMAIN.
const UnsubscribeSuffix = "-unsubscribe"

// MessageIDPrefix starts the left part of a notification's Message-ID:
// <lamers.TOKEN@DOMAIN>.
const MessageIDPrefix = "lamers."

// maxIDLen bounds the length of a notification Message-ID looked at in
// free text: the prefix, the token, "@" and a domain.
const maxIDLen = len(MessageIDPrefix) + TokenLen + 1 + 255

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken reads 13 bytes from rand (crypto/rand.Reader in production) and
// returns the first TokenLen characters of their base32 form.
func NewToken(rand io.Reader) (string, error) {
	var b [13]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("bounce: new token: %w", err)
	}
	return tokenEncoding.EncodeToString(b[:])[:TokenLen], nil
}

// ValidToken reports whether s is a token as NewToken makes them: exactly
// TokenLen characters of a–z and 2–7.
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// Token returns the token of a VERP address LOCAL+TOKEN@DOMAIN, and whether
// it is the unsubscribe address LOCAL+TOKEN-unsubscribe@DOMAIN. local is the
// local part of the bounce address (compared without regard to case); ""
// accepts any. addr may be bare, in angle brackets, a name-addr or a DSN
// address with its type ("rfc822; …"). The token is lowercased before it is
// checked; a malformed token is no token (ok false).
func Token(addr, local string) (token string, unsubscribe, ok bool) {
	return matcher{local: local}.address(addr)
}

// MessageIDToken returns the token of a notification's Message-ID,
// <lamers.TOKEN@DOMAIN> (the angle brackets may be left off).
func MessageIDToken(id string) (token string, ok bool) {
	return matcher{}.messageID(id)
}

// matcher finds tokens in addresses and Message-IDs, optionally only in one
// domain.
type matcher struct {
	local  string
	domain string // "" accepts any
}

func (m matcher) address(addr string) (token string, unsubscribe, ok bool) {
	addr = bareAddress(addr)
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !m.inDomain(addr[at+1:]) {
		return "", false, false
	}
	lp := addr[:at]
	plus := strings.IndexByte(lp, '+')
	if plus < 0 || (m.local != "" && !strings.EqualFold(lp[:plus], m.local)) {
		return "", false, false
	}
	ext := strings.ToLower(lp[plus+1:])
	if t, found := strings.CutSuffix(ext, UnsubscribeSuffix); found {
		ext, unsubscribe = t, true
	}
	if !ValidToken(ext) {
		return "", false, false
	}
	return ext, unsubscribe, true
}

func (m matcher) messageID(id string) (string, bool) {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if len(id) < len(MessageIDPrefix)+TokenLen+2 || !strings.EqualFold(id[:len(MessageIDPrefix)], MessageIDPrefix) {
		return "", false
	}
	rest := id[len(MessageIDPrefix):]
	token := strings.ToLower(rest[:TokenLen])
	if rest[TokenLen] != '@' || !ValidToken(token) || !m.inDomain(rest[TokenLen+1:]) {
		return "", false
	}
	return token, true
}

// messageIDs returns the token of the first notification Message-ID in a
// field holding a list of them (References, In-Reply-To).
func (m matcher) messageIDs(field string) (string, bool) {
	for {
		open := strings.IndexByte(field, '<')
		if open < 0 {
			return "", false
		}
		end := strings.IndexByte(field[open:], '>')
		if end < 0 {
			return "", false
		}
		if t, ok := m.messageID(field[open : open+end+1]); ok {
			return t, true
		}
		field = field[open+end+1:]
	}
}

// quoted returns the token of the first notification Message-ID quoted in
// free text.
func (m matcher) quoted(text string) (string, bool) {
	for i := 0; ; {
		j := indexFold(text[i:], MessageIDPrefix)
		if j < 0 {
			return "", false
		}
		at := i + j
		i = at + len(MessageIDPrefix)
		if at > 0 && isAlnum(text[at-1]) {
			continue
		}
		window := text[at:min(len(text), at+maxIDLen)]
		end := strings.IndexAny(window, "> \t\r\n\"'")
		if end < 0 {
			end = len(window)
		}
		if t, ok := m.messageID(window[:end]); ok {
			return t, true
		}
	}
}

func (m matcher) inDomain(d string) bool {
	return m.domain == "" || strings.EqualFold(strings.TrimSuffix(d, "."), m.domain)
}

// bareAddress strips a DSN address type, a display name, angle brackets and
// spaces from an address.
func bareAddress(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ';'); i >= 0 && !strings.ContainsAny(s[:i], "@<\"") {
		s = strings.TrimSpace(s[i+1:])
	}
	if open := strings.LastIndexByte(s, '<'); open >= 0 {
		if end := strings.IndexByte(s[open:], '>'); end > 0 {
			s = s[open+1 : open+end]
		}
	}
	return strings.TrimSpace(s)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// indexFold is strings.Index for an ASCII substr, without regard to case.
func indexFold(s, substr string) int {
	n := len(substr)
	if n == 0 {
		return 0
	}
	first := substr[0] | 0x20
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == first && strings.EqualFold(s[i:i+n], substr) {
			return i
		}
	}
	return -1
}
