package notify

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/templates"
)

// Settings are the configured parts of every message.
type Settings struct {
	From          string    // notify.from, "Name <address>" or "address"
	ReplyTo       string    // notify.reply_to, optional
	BounceAddress string    // notify.bounce_address, LOCAL@DOMAIN
	Rand          io.Reader // the tokens' randomness; nil is crypto/rand.Reader
}

// Validate checks the settings as Compose does; its errors name the
// configuration key (notify.from, notify.reply_to, notify.bounce_address).
func (s Settings) Validate() error {
	_, err := parseSender(s)
	return err
}

// maxSubjectName is the longest zone name (in presentation form) that the
// Subject names; a longer one, which only escapes make so long, is named in
// the body only.
const maxSubjectName = 100

// Compose writes the message of data with the templates of set: its token
// (data.Token, or a new one), the envelope sender and the header fields of docs/notify.md §4,
// the plain-text and the HTML part. data is not changed.
//
// Compose refuses data that is not what the contact chain and the store
// produce: a recipient that is not a bare ASCII address, a zone or NS name
// that is not a valid name in presentation form (raw bytes outside
// printable ASCII, CR, LF, NUL, a control character even escaped, a label
// longer than 63 octets), a server that is not an IP address, an unknown
// status, a reason set has no explanation for. So no DNS text with a
// control character reaches a header or a body.
func Compose(set *templates.Set, data MessageData, s Settings) (*Letter, error) {
	snd, err := parseSender(s)
	if err != nil {
		return nil, err
	}
	addrs, err := checkData(set, &data)
	if err != nil {
		return nil, err
	}
	token := data.Token
	if token == "" {
		r := s.Rand
		if r == nil {
			r = rand.Reader
		}
		if token, err = bounce.NewToken(r); err != nil {
			return nil, fmt.Errorf("notify: compose for %s: %w", data.To, err)
		}
	} else if !bounce.ValidToken(token) {
		return nil, fmt.Errorf("notify: compose for %s: token %s: not %d characters of a-z and 2-7", data.To, quoteName(token), bounce.TokenLen)
	}
	data.Token = token
	verp := snd.local + "+" + token + "@" + snd.domain
	unsubscribe := snd.local + "+" + token + bounce.UnsubscribeSuffix + "@" + snd.domain

	data.Operator = operator(snd.from)
	data.ReplyTo = ""
	if snd.replyTo != nil {
		data.ReplyTo = snd.replyTo.Address
	}
	data.Unsubscribe = unsubscribe
	data.Findings = append([]FindingData(nil), data.Findings...)
	for i := range data.Findings {
		f := &data.Findings[i]
		f.NSNames = append([]string(nil), f.NSNames...)
		f.Server = addrs[i].String()
		f.Rcode = rcodeName(f.Reason)
		f.Dig = DigCommand(addrs[i], f.Port, f.Zone)
	}

	var text, html bytes.Buffer
	if err := set.Execute(&text, templates.NotifyText, data); err != nil {
		return nil, fmt.Errorf("notify: compose for %s: %w", data.To, err)
	}
	if err := set.Execute(&html, templates.NotifyHTML, data); err != nil {
		return nil, fmt.Errorf("notify: compose for %s: %w", data.To, err)
	}
	l := &Letter{
		Token:           token,
		EnvelopeFrom:    verp,
		From:            snd.from.String(),
		To:              data.To,
		Subject:         subject(data.Findings),
		MessageID:       "<" + bounce.MessageIDPrefix + token + "@" + snd.domain + ">",
		Date:            data.Generated,
		ListUnsubscribe: "<mailto:" + unsubscribe + ">",
		Text:            text.String(),
		HTML:            html.String(),
	}
	if snd.replyTo != nil {
		l.ReplyTo = snd.replyTo.String()
	}
	return l, nil
}

// TemplateComposer is the Notifier's Composer: Compose with its templates
// and settings.
type TemplateComposer struct {
	Templates *templates.Set
	Settings  Settings
}

var _ Composer = (*TemplateComposer)(nil)

// Compose writes the letter of data, as the function Compose does.
func (c *TemplateComposer) Compose(data MessageData) (Letter, error) {
	l, err := Compose(c.Templates, data, c.Settings)
	if err != nil {
		return Letter{}, err
	}
	return *l, nil
}

// CheckTemplates renders a sample message with every reason set explains,
// for every contact source, in both parts: an error that only shows when a
// template runs (a field MessageData does not have, a function given the
// wrong type) then stops a command at start rather than at its first
// message. The error names the template file and line.
func CheckTemplates(set *templates.Set) error {
	day := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var findings []FindingData
	for i, r := range append(set.Reasons(), "rcode_notauth") {
		f := FindingData{
			Zone: "example.com.", Server: "192.0.2.1", Port: 53, NSNames: []string{"ns1.example.net."},
			Status: StatusLame, Reason: r, FirstSeen: day, LastSeen: day.AddDate(0, 0, i), Count: int64(i + 1), Days: i + 1,
		}
		if r == "unresponsive" || r == "no_dns_service" {
			f.Status = StatusUnresponsive
		}
		if i%2 == 1 {
			f.Server, f.Port, f.NSNames = "2001:db8::53", 5353, nil
		}
		findings = append(findings, f)
	}
	s := Settings{
		From: "Sample <sample@example.net>", ReplyTo: "reply@example.net",
		BounceAddress: "bounces@example.net", Rand: bytes.NewReader(make([]byte, 13)),
	}
	for _, src := range []ContactSource{SourceRNAME, SourceHostmaster, SourcePostmaster, SourceOverride} {
		for _, n := range []int{1, len(findings)} {
			s.Rand = bytes.NewReader(make([]byte, 13))
			data := MessageData{To: "hostmaster@example.com", ContactSource: src, Generated: day, Findings: findings[:n]}
			if _, err := Compose(set, data, s); err != nil {
				return fmt.Errorf("notify: check templates: %w", err)
			}
		}
	}
	return nil
}

// operator writes the From address for the body: "Name <address>", or the
// address alone, the name not encoded.
func operator(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// checkData reports the first problem of data, as an error naming the
// recipient and the finding, or returns the findings' server addresses.
func checkData(set *templates.Set, data *MessageData) ([]netip.Addr, error) {
	if reason := bareAddressProblem(data.To); reason != "" {
		return nil, fmt.Errorf("notify: compose for %s: recipient: %s", quoteName(data.To), reason)
	}
	fail := func(format string, args ...any) ([]netip.Addr, error) {
		return nil, fmt.Errorf("notify: compose for %s: %s", data.To, fmt.Sprintf(format, args...))
	}
	switch data.ContactSource {
	case SourceRNAME, SourceHostmaster, SourcePostmaster, SourceOverride:
	default:
		return fail("unknown contact source %s", quoteName(string(data.ContactSource)))
	}
	if data.Generated.IsZero() {
		return fail("no generation time")
	}
	if len(data.Findings) == 0 {
		return fail("no findings")
	}
	addrs := make([]netip.Addr, len(data.Findings))
	for i, f := range data.Findings {
		n := i + 1
		if reason := presentationProblem(f.Zone); reason != "" {
			return fail("finding %d: zone %s: %s", n, quoteName(f.Zone), reason)
		}
		addr, err := netip.ParseAddr(f.Server)
		if err != nil || addr.Zone() != "" {
			return fail("finding %d (%s): server %s: not an IP address", n, f.Zone, quoteName(f.Server))
		}
		addrs[i] = addr
		if f.Port < 1 || f.Port > 65535 {
			return fail("finding %d (%s): port %d out of range", n, f.Zone, f.Port)
		}
		for _, ns := range f.NSNames {
			if reason := presentationProblem(ns); reason != "" {
				return fail("finding %d (%s): NS name %s: %s", n, f.Zone, quoteName(ns), reason)
			}
		}
		if f.Status != StatusLame && f.Status != StatusUnresponsive {
			return fail("finding %d (%s): status %s is neither %s nor %s", n, f.Zone, quoteName(f.Status), StatusLame, StatusUnresponsive)
		}
		if !set.Explains(f.Reason) {
			return fail("finding %d (%s): reason %s has no explanation in the templates", n, f.Zone, quoteName(f.Reason))
		}
		if f.Count < 1 || f.Days < 0 {
			return fail("finding %d (%s): seen %d times on %d days", n, f.Zone, f.Count, f.Days)
		}
		if f.FirstSeen.IsZero() || f.LastSeen.IsZero() {
			return fail("finding %d (%s): no first or last sighting", n, f.Zone)
		}
		if f.LastSeen.Before(f.FirstSeen) {
			return fail("finding %d (%s): first seen %v after last seen %v", n, f.Zone, f.FirstSeen, f.LastSeen)
		}
	}
	return addrs, nil
}

// presentationProblem says why name is not a DNS name in presentation form
// that may be shown in a header or a body, or "": every byte printable
// ASCII (RFC 1035 §5.1 escapes the others as \DDD), and the name valid by
// parseName's rules (no escaped control character either).
func presentationProblem(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c >= 0x7f {
			return fmt.Sprintf("byte %#02x is not printable ASCII (presentation form escapes it)", c)
		}
	}
	_, reason := parseName(name)
	return reason
}

// rcodeName returns the rcode of a reason "rcode_NAME": the mnemonic in
// upper case, or the number; "" for other reasons.
func rcodeName(reason string) string {
	name, ok := strings.CutPrefix(reason, "rcode_")
	if !ok {
		return ""
	}
	return strings.ToUpper(name)
}

// subject writes the Subject in plain words: the zone and the server for
// one finding, the zone and the number of servers for one zone, the
// numbers otherwise.
func subject(findings []FindingData) string {
	if len(findings) == 1 {
		f := findings[0]
		what := "Lame delegation"
		if f.Status == StatusUnresponsive {
			what = "Unresponsive name server"
		}
		server := f.Server
		if f.Port != 53 {
			server += fmt.Sprintf(" port %d", f.Port)
		}
		if len(f.Zone) > maxSubjectName {
			return fmt.Sprintf("%s of a zone on %s", what, server)
		}
		return fmt.Sprintf("%s: %s on %s", what, f.Zone, server)
	}
	zones := make(map[string]bool)
	for _, f := range findings {
		zones[strings.ToLower(f.Zone)] = true
	}
	if len(zones) == 1 && len(findings[0].Zone) <= maxSubjectName {
		return fmt.Sprintf("Lame delegations: %s on %d servers", findings[0].Zone, len(findings))
	}
	return fmt.Sprintf("Lame delegations: %d in %d zones", len(findings), len(zones))
}
