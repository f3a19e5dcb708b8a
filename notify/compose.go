package notify

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/templates"
)

// MessageData is what the templates see of one message. The caller sets
// Token, To, Source and Findings; Compose sets the rest from the
// configuration and the clock (values the caller put there are replaced).
type MessageData struct {
	// Token is the message's token; "" makes Compose draw one (bounce.NewToken).
	Token string
	// To is the recipient's address.
	To string
	// Source is how the contact was found: rname, hostmaster, postmaster,
	// override (docs/notify.md, section 2).
	Source string
	// Findings are the findings the message lists, at least one.
	Findings []FindingData

	// Operator is the From display name, or its address when it has none;
	// OperatorAddress the From address.
	Operator, OperatorAddress string
	// ReplyTo is the Reply-To address, "" when there is none.
	ReplyTo string
	// Unsubscribe is the address that stops the mail (List-Unsubscribe).
	Unsubscribe string
	// Generated is when the message was composed: its Date.
	Generated time.Time
}

// Zones lists the distinct zones of d's findings, in their order.
func (d MessageData) Zones() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range d.Findings {
		if !seen[f.Zone] {
			seen[f.Zone] = true
			out = append(out, f.Zone)
		}
	}
	return out
}

// FindingData is what the templates see of one finding.
type FindingData struct {
	// Zone is the zone's name in presentation form (RFC 1035 §5.1, with
	// \X and \DDD escapes), absolute.
	Zone string
	// Server is the server's address as text ("192.0.2.1", "2001:db8::53"),
	// Port its port.
	Server string
	Port   uint16
	// ServerNames are the NS names pointing at Server, in presentation
	// form.
	ServerNames []string
	// Status is lame or unresponsive; Reason the verdict reason
	// (docs/verification.md, section 3).
	Status string
	Reason string
	// Count is the number of events the resolvers logged.
	Count int64
	// FirstSeen and LastSeen bound the events; ConfirmedAt is when
	// verification confirmed the status (zero if unknown).
	FirstSeen, LastSeen, ConfirmedAt time.Time
}

// Rcode is the rcode of an rcode_<name> reason in upper case ("NOTAUTH",
// or the number, "12"); "" for other reasons.
func (f FindingData) Rcode() string {
	if rest, ok := strings.CutPrefix(f.Reason, "rcode_"); ok {
		return strings.ToUpper(rest)
	}
	return ""
}

// Days is the number of calendar days (UTC) from FirstSeen to LastSeen,
// both counted: 1 when both fall on the same day.
func (f FindingData) Days() int {
	first := f.FirstSeen.UTC().Truncate(24 * time.Hour)
	last := f.LastSeen.UTC().Truncate(24 * time.Hour)
	if last.Before(first) {
		return 1
	}
	return int(last.Sub(first)/(24*time.Hour)) + 1
}

// Dig is the command that shows the problem:
// "dig +norec @ADDR [-p PORT] ZONE SOA" (see digCommand).
func (f FindingData) Dig() string { return digCommand(f.Server, f.Port, f.Zone) }

// The contact sources (docs/notify.md, section 2).
var sources = map[string]bool{"rname": true, "hostmaster": true, "postmaster": true, "override": true}

// The statuses a message may report.
var mailedStatuses = map[string]bool{"lame": true, "unresponsive": true}

// Settings are the configuration a LetterWriter needs: notify.from,
// notify.reply_to and notify.bounce_address. From and BounceAddress are
// required to send; without them letters can be composed for a dry run,
// and transports refuse them.
type Settings struct {
	From          string
	ReplyTo       string
	BounceAddress string
}

// LetterWriter composes letters from MessageData with a set of templates.
// It satisfies the planner's Composer; it is safe for concurrent use once
// made, as long as Clock is.
type LetterWriter struct {
	set     *templates.Set
	from    string // formatted, "" when not configured
	replyTo string // formatted
	// the parsed addresses the templates see
	operator, operatorAddress, replyToAddress string
	bounce                                    *bounceAddress
	// Clock gives the Date of each letter; time.Now by default.
	Clock func() time.Time
}

// NewLetterWriter checks s and renders a sample message (every reason the
// templates explain) through set, so that a template that fails on data
// fails now, before anything is sent. Errors name the configuration key
// or the template file and line.
func NewLetterWriter(set *templates.Set, s Settings) (*LetterWriter, error) {
	w := &LetterWriter{set: set, Clock: time.Now}
	if s.From != "" {
		a, err := parseMailbox("from", s.From)
		if err != nil {
			return nil, err
		}
		w.from, w.operator, w.operatorAddress = a.String(), a.Name, a.Address
		if w.operator == "" {
			w.operator = a.Address
		}
	}
	if s.ReplyTo != "" {
		a, err := parseMailbox("reply_to", s.ReplyTo)
		if err != nil {
			return nil, err
		}
		w.replyTo, w.replyToAddress = a.String(), a.Address
	}
	if s.BounceAddress != "" {
		b, err := parseBounceAddress(s.BounceAddress)
		if err != nil {
			return nil, err
		}
		w.bounce = &b
	}
	sample := w.sample()
	if _, err := w.Compose(sample); err != nil {
		return nil, fmt.Errorf("notify: the templates fail on a sample message: %w", err)
	}
	return w, nil
}

// sample is a message with one finding per reason the templates explain,
// and one rcode reason and one reason without an explanation of its own.
func (w *LetterWriter) sample() MessageData {
	reasons := append(templates.ExplainedReasons(), "rcode_notauth", "vantage_error")
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := MessageData{Token: "aaaaaaaaaaaaaaaaaaaa", To: "hostmaster@example.com", Source: "hostmaster"}
	for i, r := range reasons {
		status := "lame"
		if r == "unresponsive" || r == "no_dns_service" {
			status = "unresponsive"
		}
		d.Findings = append(d.Findings, FindingData{Zone: "example.com.", Server: fmt.Sprintf("192.0.2.%d", i+1),
			Port: 53, ServerNames: []string{"ns1.example.net."}, Status: status, Reason: r, Count: 1,
			FirstSeen: t, LastSeen: t, ConfirmedAt: t})
	}
	return d
}

// Compose renders d into a Letter: the Subject, the text and the HTML
// part, and the headers of docs/notify.md, section 4. It fails, and
// nothing is sent, when any DNS-derived value is not clean (see
// checkFinding), when the recipient is not a plain address, or when a
// template fails.
func (w *LetterWriter) Compose(d MessageData) (Letter, error) {
	fail := func(err error) (Letter, error) {
		return Letter{}, &composeError{what: "message", to: d.To, err: err}
	}
	if reason := plainAddress(d.To); reason != "" {
		return fail(fmt.Errorf("recipient: %s", reason))
	}
	if !sources[d.Source] {
		return fail(fmt.Errorf("contact source %s is not rname, hostmaster, postmaster or override", quoteText(d.Source)))
	}
	if len(d.Findings) == 0 {
		return fail(fmt.Errorf("no findings"))
	}
	for i := range d.Findings {
		if err := checkFinding(&d.Findings[i]); err != nil {
			return fail(fmt.Errorf("finding %d: %w", i+1, err))
		}
	}
	if d.Token == "" {
		t, err := bounce.NewToken(rand.Reader)
		if err != nil {
			return fail(err)
		}
		d.Token = t
	} else if !bounce.ValidToken(d.Token) {
		return fail(fmt.Errorf("token %s: not %d characters of a-z and 2-7", quoteText(d.Token), bounce.TokenLen))
	}
	d.Generated = w.Clock().UTC().Truncate(time.Second)
	d.Operator, d.OperatorAddress, d.ReplyTo = w.operator, w.operatorAddress, w.replyToAddress
	l := Letter{Token: d.Token, From: w.from, ReplyTo: w.replyTo, To: d.To, Date: d.Generated}
	if w.operator == "" {
		d.Operator = "(notify.from is not set)"
	}
	d.Unsubscribe = "(notify.bounce_address is not set)"
	if w.bounce != nil {
		d.Unsubscribe = w.bounce.unsubscribe(d.Token)
		l.EnvelopeFrom, l.MessageID = w.bounce.verp(d.Token), w.bounce.messageID(d.Token)
		l.ListUnsubscribe = "<mailto:" + d.Unsubscribe + ">"
	}
	var b bytes.Buffer
	if err := w.set.Text(&b, templates.NotifySubject, d); err != nil {
		return fail(err)
	}
	subject, err := headerText(b.String())
	if err != nil {
		return fail(fmt.Errorf("subject: %w", err))
	}
	l.Subject = subject
	b.Reset()
	if err := w.set.Text(&b, templates.NotifyText, d); err != nil {
		return fail(err)
	}
	l.Text = b.String()
	b.Reset()
	if err := w.set.HTML(&b, templates.NotifyHTML, d); err != nil {
		return fail(err)
	}
	l.HTML = b.String()
	return l, nil
}

// composeError is the error of Compose and ComposeReport: it names the
// letter and its recipient.
type composeError struct {
	what, to string
	err      error
}

func (e *composeError) Error() string {
	return fmt.Sprintf("notify: compose the %s to %s: %v", e.what, quoteText(e.to), e.err)
}

func (e *composeError) Unwrap() error { return e.err }

// maxHeaderWord is the longest run of non-space characters a Subject may
// hold: the writer folds header lines at spaces only, and a line must not
// pass 998 octets (RFC 5322 §2.1.1).
const maxHeaderWord = 900

// headerText turns a rendered Subject into a header value: white space
// (a template's line breaks) collapsed to single spaces. Control
// characters, invalid UTF-8 and unfoldable words are refused.
func headerText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s is not valid UTF-8", quoteText(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", fmt.Errorf("%s has a control character", quoteText(s))
		}
	}
	words := strings.Fields(s)
	for _, wd := range words {
		if len(wd) > maxHeaderWord {
			return "", fmt.Errorf("a word of %d bytes cannot be folded", len(wd))
		}
	}
	if len(words) == 0 {
		return "", fmt.Errorf("empty")
	}
	return strings.Join(words, " "), nil
}

// checkFinding refuses a finding whose DNS-derived values are not clean:
// the zone and the NS names must be presentation-form names (checkName),
// the server an IP address (a link-local one with the scope the resolver
// logged, fe80::1%2), the status lame or unresponsive, the reason a
// reason name.
func checkFinding(f *FindingData) error {
	if err := checkName(f.Zone); err != nil {
		return fmt.Errorf("zone: %w", err)
	}
	for _, n := range f.ServerNames {
		if err := checkName(n); err != nil {
			return fmt.Errorf("NS name: %w", err)
		}
	}
	a, err := netip.ParseAddr(f.Server)
	if err != nil || !cleanScope(a.Zone()) || a.String() != f.Server {
		return fmt.Errorf("server %s is not an IP address in its usual form", quoteText(f.Server))
	}
	if f.Port == 0 {
		return fmt.Errorf("server %s: port 0", f.Server)
	}
	if !mailedStatuses[f.Status] {
		return fmt.Errorf("status %s is not lame or unresponsive", quoteText(f.Status))
	}
	if f.Reason == "" {
		return fmt.Errorf("no reason")
	}
	for i := 0; i < len(f.Reason); i++ {
		if c := f.Reason[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return fmt.Errorf("reason %s is not a reason name", quoteText(f.Reason))
		}
	}
	return nil
}

// cleanScope reports whether z, an IPv6 address's scope, is empty or an
// interface index or name as the log parser accepts one: up to 15
// letters, digits, '.', '_' or '-'.
func cleanScope(z string) bool {
	if len(z) > 15 {
		return false
	}
	for i := 0; i < len(z); i++ {
		if c := z[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkName refuses s unless it is an absolute DNS name in presentation
// form (RFC 1035 §5.1) as a DNS library writes it: printable ASCII only
// (a space only escaped, "\ "; control characters and 8-bit bytes only as
// \DDD), \X and \DDD escapes (DDD at most 255), labels of 1 to 63 octets,
// at most 255 octets on the wire (splitName), and a final dot.
func checkName(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			if d := s[i+1]; d < ' ' || d >= 0x7f { // "\ " is a space; a control byte is never text
				return fmt.Errorf("name %s: escaped byte %q: only printable ASCII", quoteText(s), d)
			}
			i++
			continue
		}
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("name %s: byte %q: only printable ASCII (escape others as \\DDD)", quoteText(s), c)
		}
	}
	_, absolute, reason := splitName(s)
	switch {
	case reason != "":
		return fmt.Errorf("name %s: %s", quoteText(s), reason)
	case !absolute:
		return fmt.Errorf("name %s: not absolute (no final dot)", quoteText(s))
	}
	return nil
}
