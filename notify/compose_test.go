package notify

import (
	"bytes"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/internal/golden"
	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/templates"
)

// composeTime is the fixed clock of the composition tests.
var composeTime = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// testSettings is a complete [notify] mail configuration.
var testSettings = Settings{
	From:          "DNS health <dns-health@resolver.example.net>",
	ReplyTo:       "Jane Operator <jane@resolver.example.net>",
	BounceAddress: "lamers-bounces@resolver.example.net",
}

// newTestWriter is a LetterWriter on the templates of dir ("" embedded)
// with testSettings and the fixed clock.
func newTestWriter(t testing.TB, dir string, s Settings) *LetterWriter {
	t.Helper()
	set, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewLetterWriter(set, s)
	if err != nil {
		t.Fatal(err)
	}
	w.Clock = func() time.Time { return composeTime }
	return w
}

// histDay is a day of the golden message's history.
func histDay(d, h int) time.Time { return time.Date(2026, 10, d, h, 15, 0, 0, time.UTC) }

// goldenMessage has several findings, zones and reasons: a refused and
// an upward referral on one zone, an rcode on another port, and an
// unresponsive server on a zone whose name holds an escaped dot and HTML
// (legal in a label, written so by miekg/dns).
func goldenMessage() MessageData {
	return MessageData{Token: testToken, To: "hostmaster@example.com", Source: "hostmaster", Findings: []FindingData{
		{Zone: "example.com.", Server: "192.0.2.53", Port: 53, ServerNames: []string{"ns2.example.net."},
			Status: "lame", Reason: "refused", Count: 1234, FirstSeen: histDay(1, 8), LastSeen: histDay(22, 17), ConfirmedAt: histDay(2, 9)},
		{Zone: "example.com.", Server: "2001:db8::53", Port: 53, ServerNames: []string{"ns3.example.org.", "ns4.example.org."},
			Status: "lame", Reason: "upward_referral", Count: 1, FirstSeen: histDay(20, 3), LastSeen: histDay(20, 3), ConfirmedAt: histDay(21, 4)},
		{Zone: "sub.example.com.", Server: "198.51.100.7", Port: 5353, ServerNames: []string{"ns.hoster.example."},
			Status: "lame", Reason: "rcode_notauth", Count: 42, FirstSeen: histDay(5, 0), LastSeen: histDay(6, 23), ConfirmedAt: histDay(7, 1)},
		{Zone: `we\.ird<b>.example.com.`, Server: "203.0.113.9", Port: 53,
			Status: "unresponsive", Reason: "unresponsive", Count: 7, FirstSeen: histDay(10, 10), LastSeen: histDay(19, 10)},
	}}
}

// TestComposeGolden: the rendered parts of a fixed message.
func TestComposeGolden(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	l, err := w.Compose(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "testdata", "golden", "notify")
	golden.Check(t, filepath.Join(dir, "letter.txt"), []byte(l.Text))
	golden.Check(t, filepath.Join(dir, "letter.html"), []byte(l.HTML))
	golden.Orphans(t, dir, []string{"letter.txt", "letter.html"})
	for i, line := range strings.Split(l.Text, "\n") {
		if len(line) > templates.Width && !strings.Contains(line, "dig ") {
			t.Errorf("text line %d is %d columns: %q", i+1, len(line), line)
		}
	}
}

// TestComposeHeaders: the header values of docs/notify.md, section 4.
func TestComposeHeaders(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	l, err := w.Compose(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	want := Letter{
		Token:           testToken,
		EnvelopeFrom:    "lamers-bounces+" + testToken + "@resolver.example.net",
		From:            `"DNS health" <dns-health@resolver.example.net>`,
		ReplyTo:         `"Jane Operator" <jane@resolver.example.net>`,
		To:              "hostmaster@example.com",
		Subject:         "4 lame delegations in 3 zones",
		MessageID:       "<lamers." + testToken + "@resolver.example.net>",
		Date:            composeTime,
		ListUnsubscribe: "<mailto:lamers-bounces+" + testToken + "-unsubscribe@resolver.example.net>",
	}
	l.Text, l.HTML = "", ""
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("letter (-want +got):\n%s", diff)
	}
	if err := l.check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

// TestComposeToken: without a token Compose draws one, and every header
// that carries it carries the same.
func TestComposeToken(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	d := goldenMessage()
	d.Token = ""
	l, err := w.Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bounce.ValidToken(l.Token) || !strings.Contains(l.EnvelopeFrom, "+"+l.Token+"@") ||
		!strings.Contains(l.MessageID, "."+l.Token+"@") || !strings.Contains(l.ListUnsubscribe, "+"+l.Token+"-unsubscribe@") ||
		!strings.Contains(l.Text, "+"+l.Token+"-unsubscribe@") {
		t.Errorf("token %q not carried throughout: %+v", l.Token, l)
	}
}

// TestSubject: one finding names its zone and server; several on one
// zone name the zone and count the servers; otherwise the counts.
func TestSubject(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	all := goldenMessage().Findings
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".example."
	for _, c := range []struct {
		name     string
		findings []FindingData
		want     string
	}{
		{"one lame", all[:1], "Lame delegation: example.com. on 192.0.2.53"},
		{"one unresponsive", all[3:], `Name server not answering: we\.ird<b>.example.com. on 203.0.113.9`},
		{"one zone", all[:2], "Lame delegation: example.com. on 2 servers"},
		{"several zones", all[1:3], "2 lame delegations in 2 zones"},
		{"long zone", []FindingData{{Zone: long, Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused"}},
			"Lame delegation: " + strings.Repeat("a", 61) + "... on 192.0.2.1"},
		// A name that looks like an RFC 2047 encoded word is written so
		// that no reader decodes it.
		{"encoded word", []FindingData{{Zone: "=?utf-8?q?Your_bank?=.example.", Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused"}},
			`Lame delegation: \061?utf-8?q?Your_bank?=.example. on 192.0.2.1`},
	} {
		d := goldenMessage()
		d.Findings = c.findings
		l, err := w.Compose(d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if l.Subject != c.want {
			t.Errorf("%s: subject %q, want %q", c.name, l.Subject, c.want)
		}
	}
}

// TestComposeRefusesHostile: DNS-derived text that is not a clean
// presentation-form name, or a recipient that is not a plain address,
// never reaches a letter. The contact chain refuses such names first;
// this is the second line.
func TestComposeRefusesHostile(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	for _, c := range []struct {
		name   string
		mutate func(d *MessageData)
		want   string
	}{
		{"zone CR LF", func(d *MessageData) { d.Findings[0].Zone = "example.com.\r\nBcc: victim@example.org" }, "zone"},
		{"zone LF", func(d *MessageData) { d.Findings[0].Zone = "a\nb.example." }, "zone"},
		{"zone NUL", func(d *MessageData) { d.Findings[0].Zone = "a\x00b.example." }, "zone"},
		{"zone escaped CR", func(d *MessageData) { d.Findings[0].Zone = "a\\\rb.example." }, "zone"},
		{"zone 8-bit", func(d *MessageData) { d.Findings[0].Zone = "b\xfccher.example." }, "zone"},
		{"zone UTF-8", func(d *MessageData) { d.Findings[0].Zone = "bücher.example." }, "zone"},
		{"zone space", func(d *MessageData) { d.Findings[0].Zone = "a b.example." }, "zone"},
		{"zone 1000-char label", func(d *MessageData) { d.Findings[0].Zone = strings.Repeat("a", 1000) + ".example." }, "zone"},
		{"zone 64-octet label", func(d *MessageData) { d.Findings[0].Zone = strings.Repeat("a", 64) + ".example." }, "63 octets"},
		{"zone 256 octets", func(d *MessageData) { d.Findings[0].Zone = strings.Repeat(strings.Repeat("a", 63)+".", 4) }, "more than 255"},
		{"zone escape above 255", func(d *MessageData) { d.Findings[0].Zone = `a\256.example.` }, "above 255"},
		{"zone short escape", func(d *MessageData) { d.Findings[0].Zone = `a\12.example.` }, "three digits"},
		{"zone relative", func(d *MessageData) { d.Findings[0].Zone = "example.com" }, "absolute"},
		{"zone empty label", func(d *MessageData) { d.Findings[0].Zone = "a..example." }, "empty label"},
		{"zone empty", func(d *MessageData) { d.Findings[0].Zone = "" }, "zone"},
		{"NS name CR LF", func(d *MessageData) { d.Findings[1].ServerNames[1] = "ns.example.org.\r\nX: y" }, "NS name"},
		{"server", func(d *MessageData) { d.Findings[0].Server = "192.0.2.1\r\nBcc: victim@example.org" }, "server"},
		{"server name", func(d *MessageData) { d.Findings[0].Server = "ns1.example.net" }, "server"},
		{"server scope", func(d *MessageData) { d.Findings[0].Server = "fe80::1%eth0;reboot" }, "server"},
		{"server long scope", func(d *MessageData) { d.Findings[0].Server = "fe80::1%abcdefghijklmnop" }, "server"},
		{"status", func(d *MessageData) { d.Findings[0].Status = "ok" }, "status"},
		{"reason", func(d *MessageData) { d.Findings[0].Reason = "refused\r\nX" }, "reason"},
		{"to CR LF", func(d *MessageData) { d.To = "hostmaster@example.com\r\nBcc: victim@example.org" }, "recipient"},
		{"to display name", func(d *MessageData) { d.To = "Host <hostmaster@example.com>" }, "recipient"},
		{"to 8-bit", func(d *MessageData) { d.To = "hostmäster@example.com" }, "recipient"},
		{"source", func(d *MessageData) { d.Source = "whois" }, "contact source"},
		{"token", func(d *MessageData) { d.Token = "x\r\nBcc: v@example.org" }, "token"},
		{"no findings", func(d *MessageData) { d.Findings = nil }, "no findings"},
	} {
		d := goldenMessage()
		c.mutate(&d)
		_, err := w.Compose(d)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "notify: compose the message to ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
		if strings.ContainsAny(err.Error(), "\r\n\x00") || len(err.Error()) > 400 {
			t.Errorf("%s: the error is not one short line: %q", c.name, err)
		}
	}
}

// A link-local server keeps the scope the resolver logged (BIND 9's
// "fe80::1%2#53"): the letter names it and its dig command uses it.
func TestComposeScopedServer(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	d := goldenMessage()
	d.Findings[1].Server = "fe80::1%2"
	l, err := w.Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	// html/template writes '+' as &#43;.
	const dig, digHTML = "dig +norec @fe80::1%2 example.com. SOA", "dig &#43;norec @fe80::1%2 example.com. SOA"
	if !strings.Contains(l.Text, dig) || !strings.Contains(l.HTML, digHTML) {
		t.Errorf("the letter lacks %q:\n%s\n%s", dig, l.Text, l.HTML)
	}
}

// TestEscapedHostileNames: the same hostile bytes written as escapes
// are a legal name; they reach the Subject and the body only as escapes,
// and the message's header block holds no header but lamers' own.
func TestEscapedHostileNames(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	d := goldenMessage()
	zone := `x\013\010Bcc:\032victim@example.org\013\010.example.`
	d.Findings = []FindingData{{Zone: zone, Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused",
		ServerNames: []string{`ns\010X-Evil:\0321.example.net.`}}}
	l, err := w.Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Lame delegation: " + zone + " on 192.0.2.1"; l.Subject != want {
		t.Errorf("subject %q, want %q", l.Subject, want)
	}
	raw, err := l.bytes()
	if err != nil {
		t.Fatal(err)
	}
	m := readMessage(t, raw)
	checkHeaderNames(t, m.Header)
	if got := decodeHeader(t, m.Header.Get("Subject")); got != l.Subject {
		t.Errorf("Subject header decodes to %q, want %q", got, l.Subject)
	}
}

// lamersHeaders are the header fields of a message lamers sends: those of
// docs/notify.md, section 4, the MIME ones and go-mail's
// X-Auto-Response-Suppress (set with Precedence: bulk).
var lamersHeaders = map[string]bool{
	"Date": true, "From": true, "Reply-To": true, "To": true, "Subject": true, "Message-Id": true,
	"Auto-Submitted": true, "Precedence": true, "X-Auto-Response-Suppress": true, "List-Unsubscribe": true,
	"X-Lamers-Token": true, "Mime-Version": true, "Content-Type": true,
}

// checkHeaderNames fails on a header field lamers does not write.
func checkHeaderNames(t *testing.T, h mail.Header) {
	t.Helper()
	for k := range h {
		if !lamersHeaders[k] {
			t.Errorf("unexpected header field %q: %q", k, h[k])
		}
	}
}

// readMessage parses a whole message.
func readMessage(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%v in:\n%s", err, raw)
	}
	return m
}

// decodeHeader decodes RFC 2047 encoded words.
func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

// TestNonASCIISubject: a template may write the Subject in any language;
// the writer encodes it (RFC 2047) and nothing else changes it.
func TestNonASCIISubject(t *testing.T) {
	dir := t.TempDir()
	body := `{{define "notify subject"}}Délégation boiteuse : {{(index .Findings 0).Zone}}{{end}}Bonjour.`
	if err := os.WriteFile(filepath.Join(dir, templates.NotifyText), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, dir, testSettings)
	l, err := w.Compose(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := l.bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Subject: =\?UTF-8\?q\?D=C3=A9l=C3=A9gation`).Match(raw) {
		t.Errorf("Subject not encoded:\n%s", raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
	}
	m := readMessage(t, raw)
	if got := decodeHeader(t, m.Header.Get("Subject")); got != "Délégation boiteuse : example.com." {
		t.Errorf("Subject decodes to %q", got)
	}
}

// TestHTMLSelfContained: the HTML part loads nothing (no images,
// scripts, style sheets or web links; inline styles only), links only to
// mailto, and escapes the DNS data.
func TestHTMLSelfContained(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	l, err := w.Compose(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(l.HTML)
	for _, bad := range []string{"<img", "<script", "<link", "<style", "<iframe", "<object", "src=", "url(", "@import", "http:", "https:", "<b>"} {
		if strings.Contains(lower, bad) {
			t.Errorf("the HTML part holds %q", bad)
		}
	}
	hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(l.HTML, -1)
	if len(hrefs) == 0 {
		t.Error("no mailto link")
	}
	for _, h := range hrefs {
		if !strings.HasPrefix(h[1], "mailto:") {
			t.Errorf("link %q is not mailto", h[1])
		}
	}
	unsub := `href="mailto:lamers-bounces&#43;` + testToken + `-unsubscribe@resolver.example.net"`
	if !strings.Contains(l.HTML, unsub) && !strings.Contains(l.HTML, strings.ReplaceAll(unsub, "&#43;", "+")) {
		t.Errorf("no unsubscribe link %s", unsub)
	}
	if !strings.Contains(l.HTML, `we\.ird&lt;b&gt;.example.com.`) {
		t.Error("the zone with HTML in its name is not escaped")
	}
}

// TestNewLetterWriterErrors: a bad setting is refused at start with its
// key named; so is a template that fails on data, with its file and line.
func TestNewLetterWriterErrors(t *testing.T) {
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{From: "not an address"}, "notify: from "},
		{Settings{From: "dns@résolveur.example"}, "notify: from "},
		{Settings{ReplyTo: "jane@x\r\nBcc: victim@example.org"}, "notify: reply_to "},
		{Settings{BounceAddress: "bounces+x@resolver.example.net"}, "notify: bounce_address "},
	} {
		if _, err := NewLetterWriter(set, c.s); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, templates.NotifyHTML)
	if err := os.WriteFile(path, []byte("<p>\n{{range .Findings}}{{.Zonee}}{{end}}</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewLetterWriter(bad, testSettings)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("a template failing on data: %v, want its path and line 2", err)
	}
}

// TestDryRunLetters: without from and bounce_address letters are
// composed for a dry run, and no transport takes them.
func TestDryRunLetters(t *testing.T) {
	w := newTestWriter(t, "", Settings{})
	l, err := w.Compose(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	if l.Subject != "4 lame delegations in 3 zones" || l.EnvelopeFrom != "" || l.From != "" || l.MessageID != "" {
		t.Errorf("dry-run letter %+v", l)
	}
	if !strings.Contains(l.Text, "(notify.from is not set)") {
		t.Error("the text does not say that notify.from is not set")
	}
	if err := l.check(); err == nil {
		t.Error("a dry-run letter passes the transports' check")
	}
}

// TestFindingMethods: Rcode, Days, Zones.
func TestFindingMethods(t *testing.T) {
	f := FindingData{Reason: "rcode_notauth", FirstSeen: time.Date(2026, 1, 1, 23, 59, 0, 0, time.UTC),
		LastSeen: time.Date(2026, 1, 3, 0, 1, 0, 0, time.UTC)}
	if f.Rcode() != "NOTAUTH" || f.Days() != 3 {
		t.Errorf("Rcode %q, Days %d", f.Rcode(), f.Days())
	}
	f.Reason, f.LastSeen = "refused", f.FirstSeen
	if f.Rcode() != "" || f.Days() != 1 {
		t.Errorf("Rcode %q, Days %d", f.Rcode(), f.Days())
	}
	if z := goldenMessage().Zones(); !cmp.Equal(z, []string{"example.com.", "sub.example.com.", `we\.ird<b>.example.com.`}) {
		t.Errorf("Zones = %q", z)
	}
}
