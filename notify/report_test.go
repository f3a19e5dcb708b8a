package notify

import (
	"bytes"
	"errors"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// A report (the digest) is a letter like the others — From, Reply-To,
// VERP envelope sender, Message-ID, Date, Auto-Submitted, Precedence,
// multipart/alternative — but without List-Unsubscribe: its reader stops
// it in the configuration, and an unsubscription would suppress the
// operator's own address for notify.
func TestComposeReport(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	l, err := w.ComposeReport("noc@resolver.example.net", "Lame delegations 2026-11-08\n  to 2026-11-22", "text part\n", "<p>html part</p>")
	if err != nil {
		t.Fatal(err)
	}
	if !bounce.ValidToken(l.Token) || l.EnvelopeFrom != "lamers-bounces+"+l.Token+"@resolver.example.net" ||
		l.MessageID != "<lamers."+l.Token+"@resolver.example.net>" || !l.Date.Equal(composeTime) || !l.Report ||
		l.ListUnsubscribe != "" || l.Subject != "Lame delegations 2026-11-08 to 2026-11-22" {
		t.Errorf("letter %+v", l)
	}
	raw, err := l.bytes()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		"From": `"DNS health" <dns-health@resolver.example.net>`, "Reply-To": `"Jane Operator" <jane@resolver.example.net>`,
		"To": "<noc@resolver.example.net>", "Auto-Submitted": "auto-generated", "Precedence": "bulk",
		"List-Unsubscribe": "", "X-Lamers-Token": l.Token, "Subject": "Lame delegations 2026-11-08 to 2026-11-22",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		types = append(types, strings.Split(p.Header.Get("Content-Type"), ";")[0])
	}
	if strings.Join(types, " ") != "text/plain text/html" {
		t.Errorf("parts %v, want text/plain then text/html", types)
	}
	// A report letter with a List-Unsubscribe is not sendable.
	l.ListUnsubscribe = "<mailto:x@resolver.example.net>"
	if err := l.check(); !errors.Is(err, errLetter) {
		t.Errorf("a report with List-Unsubscribe: check = %v", err)
	}
}

// What ComposeReport refuses: a recipient that is not a plain address, a
// subject with a control character, an empty part, and sending without
// from or bounce_address.
func TestComposeReportRefuses(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	for name, c := range map[string]struct{ to, subject, text, html string }{
		"recipient CRLF":  {"noc@resolver.example.net\r\nBcc: victim@example.org", "s", "t", "h"},
		"display name":    {"NOC <noc@resolver.example.net>", "s", "t", "h"},
		"subject control": {"noc@resolver.example.net", "s\x00t", "t", "h"},
		"subject 8-bit":   {"noc@resolver.example.net", "s\xff", "t", "h"},
		"empty subject":   {"noc@resolver.example.net", " \n", "t", "h"},
		"no HTML":         {"noc@resolver.example.net", "s", "t", ""},
	} {
		if _, err := w.ComposeReport(c.to, c.subject, c.text, c.html); err == nil || !strings.HasPrefix(err.Error(), "notify: compose the report to ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	dry := newTestWriter(t, "", Settings{})
	if _, err := dry.ComposeReport("noc@resolver.example.net", "s", "t", "h"); err == nil || !strings.Contains(err.Error(), "notify.from and notify.bounce_address") {
		t.Errorf("without from: %v", err)
	}
}
