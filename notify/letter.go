package notify

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// ContactSource says why an address is a contact of a zone (docs/notify.md
// §2).
type ContactSource string

// The sources of the contact chain, in its order.
const (
	SourceRNAME      ContactSource = "rname"      // the zone's SOA RNAME
	SourceHostmaster ContactSource = "hostmaster" // hostmaster@ the zone
	SourcePostmaster ContactSource = "postmaster" // postmaster@ the NS name's registered domain
	SourceOverride   ContactSource = "override"   // [[notify.override]]
)

// The statuses of a finding that is mailed (docs/verification.md §4).
const (
	StatusLame         = "lame"
	StatusUnresponsive = "unresponsive"
)

// MessageData is what the notify templates see (templates.NotifyText and
// templates.NotifyHTML). The caller fills Token, To, ContactSource,
// Generated and the findings; Compose fills Operator, ReplyTo and
// Unsubscribe from its Settings and the token, and Dig and Rcode of every
// finding.
type MessageData struct {
	// Token is the message's token (bounce.NewToken); "" makes Compose
	// draw one from Settings.Rand.
	Token         string
	To            string        // the recipient's address
	ContactSource ContactSource // why the recipient gets the message
	Operator      string        // who runs lamers: notify.from, as "Name <address>"
	ReplyTo       string        // notify.reply_to's address, "" if not set
	Unsubscribe   string        // the List-Unsubscribe address, LOCAL+TOKEN-unsubscribe@DOMAIN
	Generated     time.Time     // when the message was written; its Date
	Findings      []FindingData
}

// FindingData is one finding of a message.
type FindingData struct {
	// Zone is the zone in presentation form, escapes kept
	// ("ex\.ample.com."). It must be a valid DNS name in printable ASCII
	// with no escaped control character.
	Zone string
	// Server is the server's address as text ("192.0.2.1", "2001:db8::53"),
	// Port its port.
	Server string
	Port   int
	// NSNames are the NS names pointing at Server, in presentation form.
	NSNames []string
	// Status is StatusLame or StatusUnresponsive; Reason the verdict
	// reason (docs/verification.md §3) and Rcode, for a reason
	// "rcode_NAME", the rcode's mnemonic in upper case ("NOTAUTH") or its
	// number ("12"), "" for the other reasons.
	Status string
	Reason string
	Rcode  string
	// FirstSeen and LastSeen bound the events of the finding in the logs;
	// Count is the number of events, Days the number of days with events
	// (0 when not known). ConfirmedAt is when verification last found the
	// finding lame or unresponsive (zero when not known).
	FirstSeen   time.Time
	LastSeen    time.Time
	Count       int64
	Days        int
	ConfirmedAt time.Time
	// Dig is the command that shows the server's reply:
	// dig +norec @ADDR [-p PORT] ZONE SOA (see DigCommand).
	Dig string
}

// Letter is one composed message, ready for a Transport: plain data, with
// the header fields as they are written (before RFC 2047 encoding).
type Letter struct {
	// Token identifies the message in the outbox and in what comes back
	// (docs/notify.md §4).
	Token string
	// EnvelopeFrom is the SMTP envelope sender, LOCAL+TOKEN@DOMAIN.
	EnvelopeFrom string
	// From and ReplyTo are the header fields as configured ("Name
	// <address>"); ReplyTo may be "".
	From    string
	ReplyTo string
	// To is the recipient's bare address; it is also the envelope
	// recipient.
	To      string
	Subject string
	// MessageID is "<lamers.TOKEN@DOMAIN>"; ListUnsubscribe is
	// "<mailto:LOCAL+TOKEN-unsubscribe@DOMAIN>".
	MessageID       string
	Date            time.Time
	ListUnsubscribe string
	// Text and HTML are the two parts of the multipart/alternative body.
	Text string
	HTML string
}

// Configuration keys named by errors.
const (
	keyFrom          = "notify.from"
	keyReplyTo       = "notify.reply_to"
	keyBounceAddress = "notify.bounce_address"
)

// maxLocal is the longest local part of an address (RFC 5321 §4.5.3.1.1).
const maxLocal = 64

// VERP returns the envelope sender of the message with token:
// LOCAL+TOKEN@DOMAIN from bounceAddress LOCAL@DOMAIN.
func VERP(bounceAddress, token string) (string, error) {
	local, domain, err := tokenAddress(bounceAddress, token)
	if err != nil {
		return "", err
	}
	return local + "+" + token + "@" + domain, nil
}

// UnsubscribeAddress returns the List-Unsubscribe address of the message
// with token (RFC 2369): LOCAL+TOKEN-unsubscribe@DOMAIN.
func UnsubscribeAddress(bounceAddress, token string) (string, error) {
	local, domain, err := tokenAddress(bounceAddress, token)
	if err != nil {
		return "", err
	}
	return local + "+" + token + bounce.UnsubscribeSuffix + "@" + domain, nil
}

// MessageID returns the Message-ID of the message with token:
// <lamers.TOKEN@DOMAIN>, DOMAIN that of bounceAddress.
func MessageID(bounceAddress, token string) (string, error) {
	_, domain, err := tokenAddress(bounceAddress, token)
	if err != nil {
		return "", err
	}
	return "<" + bounce.MessageIDPrefix + token + "@" + domain + ">", nil
}

// tokenAddress checks a bounce address and a token and returns the
// address's local part and domain (lowercased, in ASCII).
func tokenAddress(bounceAddress, token string) (local, domain string, err error) {
	if !bounce.ValidToken(token) {
		return "", "", fmt.Errorf("notify: token %s: not %d characters of a-z and 2-7", quoteName(token), bounce.TokenLen)
	}
	return ParseBounceAddress(bounceAddress)
}

// ParseBounceAddress checks notify.bounce_address and returns its local
// part and its domain (lowercased, in ASCII). The address must have one
// "@"; its local part must be an RFC 5322 dot-atom of ASCII characters
// without "+" (the token is added after a "+") and short enough to take
// the token and the unsubscribe suffix within 64 octets (RFC 5321
// §4.5.3.1.1); its domain must have at least two labels and pass the rules
// of Hostmaster.
func ParseBounceAddress(addr string) (local, domain string, err error) {
	fail := func(reason string, cause error) (string, string, error) {
		if cause != nil {
			return "", "", fmt.Errorf("notify: %s %s: %s: %w", keyBounceAddress, quoteName(addr), reason, cause)
		}
		return "", "", fmt.Errorf("notify: %s %s: %s", keyBounceAddress, quoteName(addr), reason)
	}
	if addr == "" {
		return "", "", fmt.Errorf("notify: %s: not set", keyBounceAddress)
	}
	if strings.Count(addr, "@") != 1 {
		return fail("needs exactly one @", nil)
	}
	local, domain, _ = strings.Cut(addr, "@")
	if local == "" {
		return fail("empty local part", nil)
	}
	if reason := checkLocal(local); reason != "" {
		return fail(reason, nil)
	}
	if strings.IndexByte(local, '+') >= 0 {
		return fail(`local part has "+": the token is added after a "+"`, nil)
	}
	if n := len(local) + 1 + bounce.TokenLen + len(bounce.UnsubscribeSuffix); n > maxLocal {
		return fail(fmt.Sprintf("local part too long: with the token and %q it has %d octets, more than %d", bounce.UnsubscribeSuffix, n, maxLocal), nil)
	}
	if domain == "" || strings.HasSuffix(domain, ".") {
		return fail("domain is empty or ends with a dot", nil)
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; c <= ' ' || c == 0x7f {
			return fail("control character or space in domain", nil)
		}
	}
	ascii, reason, cause := checkDomain(strings.Split(domain, "."))
	if reason != "" {
		return fail(reason, cause)
	}
	return local, ascii, nil
}

// sender is the parsed From and Reply-To of the configuration.
type sender struct {
	from, replyTo *mail.Address // replyTo nil when not set
	local, domain string        // of the bounce address
}

// parseSender checks the addresses of the Settings.
func parseSender(s Settings) (sender, error) {
	var out sender
	var err error
	if s.From == "" {
		return sender{}, fmt.Errorf("notify: %s: not set", keyFrom)
	}
	if out.from, err = parseHeaderAddress(keyFrom, s.From); err != nil {
		return sender{}, err
	}
	if s.ReplyTo != "" {
		if out.replyTo, err = parseHeaderAddress(keyReplyTo, s.ReplyTo); err != nil {
			return sender{}, err
		}
	}
	if out.local, out.domain, err = ParseBounceAddress(s.BounceAddress); err != nil {
		return sender{}, err
	}
	return out, nil
}

// parseHeaderAddress parses a configured address ("Name <addr>" or
// "addr", RFC 5322 §3.4) with net/mail. The address itself must be ASCII:
// lamers does not use SMTPUTF8 (RFC 6531); the display name may be any
// UTF-8 text without control characters, and is RFC 2047-encoded when
// written.
func parseHeaderAddress(key, s string) (*mail.Address, error) {
	if reason := headerTextProblem(s); reason != "" {
		return nil, fmt.Errorf("notify: %s %s: %s", key, quoteName(s), reason)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("notify: %s %s: %w", key, quoteName(s), err)
	}
	if reason := bareAddressProblem(a.Address); reason != "" {
		return nil, fmt.Errorf("notify: %s %s: %s", key, quoteName(s), reason)
	}
	return a, nil
}

// bareAddressProblem says why addr is not a bare ASCII address
// local@domain that can go into an SMTP command and a header, or "".
func bareAddressProblem(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "not an address local@domain"
	}
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case c >= 0x80:
			return "address is not ASCII (would need SMTPUTF8)"
		case c <= ' ' || c == 0x7f:
			return "control character or space in address"
		case c == '<' || c == '>':
			return "angle bracket in address"
		}
	}
	if at > maxLocal {
		return fmt.Sprintf("local part longer than %d octets", maxLocal)
	}
	if len(addr) > maxAddress {
		return fmt.Sprintf("address longer than %d octets", maxAddress)
	}
	return ""
}

// headerTextProblem says why s cannot be the text of a header field:
// invalid UTF-8 or a control character (CR and LF among them), or "".
func headerTextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "control character"
		}
	}
	return ""
}
