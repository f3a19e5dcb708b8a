package notify_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/templates"
)

func loadTemplates(t testing.TB) *templates.Set {
	t.Helper()
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// fixedToken is what settings().Rand makes: 13 bytes 0x5a in base32.
const fixedToken = "ljnfuws2ljnfuws2ljnf"

func TestCompose(t *testing.T) {
	set := loadTemplates(t)
	data := several()
	before := several()
	l, err := notify.Compose(set, data, settings())
	if err != nil {
		t.Fatal(err)
	}
	got := *l
	got.Text, got.HTML = "", ""
	want := notify.Letter{
		Token:           fixedToken,
		EnvelopeFrom:    "lamers-bounces+" + fixedToken + "@resolver.example.net",
		From:            `"DNS health" <dns-health@resolver.example.net>`,
		ReplyTo:         `"Jane Operator" <jane@resolver.example.net>`,
		To:              "hostmaster@example.com",
		Subject:         "Lame delegations: 4 in 3 zones",
		MessageID:       "<lamers." + fixedToken + "@resolver.example.net>",
		Date:            at("2026-07-09T14:03:00Z"),
		ListUnsubscribe: "<mailto:lamers-bounces+" + fixedToken + "-unsubscribe@resolver.example.net>",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("letter (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, data); diff != "" {
		t.Errorf("Compose changed its data (-before +after):\n%s", diff)
	}
	for _, part := range []string{l.Text, l.HTML} {
		for _, s := range []string{"dig +norec @2001:db8::53 -p 5353 example.com. SOA", "NOTAUTH", "lamers-bounces+" + fixedToken + "-unsubscribe@resolver.example.net"} {
			// html/template writes "+" as "&#43;".
			if !strings.Contains(part, s) && !strings.Contains(part, strings.ReplaceAll(s, "+", "&#43;")) {
				t.Errorf("part lacks %q", s)
			}
		}
	}

	// Without reply_to: no Reply-To, and the body names no address for it.
	s := settings()
	s.ReplyTo = ""
	l, err = notify.Compose(set, several(), s)
	if err != nil {
		t.Fatal(err)
	}
	if l.ReplyTo != "" || strings.Contains(l.Text, "or write to") {
		t.Errorf("without reply_to: Reply-To %q, text %q", l.ReplyTo, l.Text)
	}
	// Tokens differ from message to message.
	s.Rand = nil
	a, errA := notify.Compose(set, several(), s)
	b, errB := notify.Compose(set, several(), s)
	if errA != nil || errB != nil || a.Token == b.Token {
		t.Errorf("two letters' tokens: %q, %q (%v, %v)", a.Token, b.Token, errA, errB)
	}
}

func TestComposeRandError(t *testing.T) {
	s := settings()
	s.Rand = strings.NewReader("short")
	_, err := notify.Compose(loadTemplates(t), several(), s)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing random source: %v", err)
	}
}

func TestSubject(t *testing.T) {
	set := loadTemplates(t)
	f := several().Findings
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example."
	unresponsive := f[3]
	tests := []struct {
		findings []notify.FindingData
		want     string
	}{
		{f[:1], "Lame delegation: example.com. on 192.0.2.1"},
		{f[1:2], "Lame delegation: example.com. on 2001:db8::53 port 5353"},
		{[]notify.FindingData{unresponsive}, "Unresponsive name server: -x.example.com. on 203.0.113.9"},
		{f[:2], "Lame delegations: example.com. on 2 servers"},
		{f, "Lame delegations: 4 in 3 zones"},
		// A name that escapes make long is left to the body.
		{[]notify.FindingData{{Zone: long, Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused",
			FirstSeen: f[0].FirstSeen, LastSeen: f[0].LastSeen, Count: 1, Days: 1}}, "Lame delegation of a zone on 192.0.2.1"},
	}
	for _, tt := range tests {
		data := several()
		data.Findings = tt.findings
		l, err := notify.Compose(set, data, settings())
		if err != nil {
			t.Fatal(err)
		}
		if l.Subject != tt.want {
			t.Errorf("Subject %q, want %q", l.Subject, tt.want)
		}
	}
}

// Compose refuses data that the contact chain and the store never make,
// above all DNS text that could reach a header: the error says what is
// wrong, and quotes the bad text.
func TestComposeRefuses(t *testing.T) {
	set := loadTemplates(t)
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		edit func(*notify.MessageData)
		want string
	}{
		{"CR LF in zone", func(d *notify.MessageData) { d.Findings[0].Zone = "example.com.\r\nBcc: victim@x." }, "not printable ASCII"},
		{"header injection as zone", func(d *notify.MessageData) { d.Findings[0].Zone = "\r\nBcc: victim@x" }, "not printable ASCII"},
		{"NUL in zone", func(d *notify.MessageData) { d.Findings[0].Zone = "exa\x00mple.com." }, "byte 0x00"},
		{"escaped LF in zone", func(d *notify.MessageData) { d.Findings[0].Zone = `example\010.com.` }, "control character"},
		{"8-bit UTF-8 zone", func(d *notify.MessageData) { d.Findings[0].Zone = "exämple.com." }, "byte 0xc3"},
		{"8-bit invalid UTF-8 zone", func(d *notify.MessageData) { d.Findings[0].Zone = "ex\xffmple.com." }, "byte 0xff"},
		{"1000-octet label", func(d *notify.MessageData) { d.Findings[0].Zone = long + ".example." }, "label longer than 63"},
		{"empty label", func(d *notify.MessageData) { d.Findings[0].Zone = "example..com." }, "empty label"},
		{"root zone", func(d *notify.MessageData) { d.Findings[0].Zone = "." }, "root name"},
		{"CR LF in NS name", func(d *notify.MessageData) { d.Findings[0].NSNames[1] = "ns1.example.net.\r\nBcc: victim@x" }, "NS name"},
		{"1000-octet NS name label", func(d *notify.MessageData) { d.Findings[0].NSNames[0] = long + ".example." }, "label longer than 63"},
		{"CR LF in recipient", func(d *notify.MessageData) { d.To = "hostmaster@example.com\r\nBcc: victim@x" }, "control character"},
		{"recipient with a name", func(d *notify.MessageData) { d.To = "Host Master <hostmaster@example.com>" }, "recipient"},
		{"8-bit recipient", func(d *notify.MessageData) { d.To = "jäger@example.com" }, "not ASCII"},
		{"not an address", func(d *notify.MessageData) { d.To = "hostmaster" }, "not an address"},
		{"server with CR LF", func(d *notify.MessageData) { d.Findings[0].Server = "192.0.2.1\r\n" }, "not an IP address"},
		{"server name", func(d *notify.MessageData) { d.Findings[0].Server = "ns1.example.net" }, "not an IP address"},
		{"server with an IPv6 zone", func(d *notify.MessageData) { d.Findings[0].Server = "fe80::1%eth0" }, "not an IP address"},
		{"port 0", func(d *notify.MessageData) { d.Findings[0].Port = 0 }, "port 0"},
		{"port 65536", func(d *notify.MessageData) { d.Findings[0].Port = 65536 }, "port 65536"},
		{"status ok", func(d *notify.MessageData) { d.Findings[0].Status = "ok" }, `status "ok"`},
		{"inconclusive reason", func(d *notify.MessageData) { d.Findings[0].Reason = "vantage_error" }, `reason "vantage_error" has no explanation`},
		{"hostile reason", func(d *notify.MessageData) { d.Findings[0].Reason = "x\r\nBcc: victim@x" }, `reason "x\r\nBcc: victim@x"`},
		{"never seen", func(d *notify.MessageData) { d.Findings[0].Count = 0 }, "seen 0 times"},
		{"negative days", func(d *notify.MessageData) { d.Findings[0].Days = -1 }, "on -1 days"},
		{"token", func(d *notify.MessageData) { d.Token = "NOT-A-TOKEN" }, `token "NOT-A-TOKEN"`},
		{"no first sighting", func(d *notify.MessageData) { d.Findings[0].FirstSeen = time.Time{} }, "no first or last"},
		{"seen backwards", func(d *notify.MessageData) { d.Findings[0].LastSeen = d.Findings[0].FirstSeen.Add(-time.Hour) }, "after last seen"},
		{"no findings", func(d *notify.MessageData) { d.Findings = nil }, "no findings"},
		{"unknown source", func(d *notify.MessageData) { d.ContactSource = "whois" }, `contact source "whois"`},
		{"no time", func(d *notify.MessageData) { d.Generated = time.Time{} }, "no generation time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := several()
			tt.edit(&data)
			l, err := notify.Compose(set, data, settings())
			if err == nil {
				t.Fatalf("composed: Subject %q", l.Subject)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Errorf("error %q holds a raw control character", err)
			}
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	ok := settings()
	tests := []struct {
		name string
		edit func(*notify.Settings)
		want string // "" for no error
	}{
		{"valid", func(*notify.Settings) {}, ""},
		{"bare from", func(s *notify.Settings) { s.From = "dns-health@resolver.example.net" }, ""},
		{"UTF-8 name", func(s *notify.Settings) { s.From = "DNS-Gesundheit Jäger <dns@resolver.example.net>" }, ""},
		{"no reply_to", func(s *notify.Settings) { s.ReplyTo = "" }, ""},
		{"upper-case bounce domain", func(s *notify.Settings) { s.BounceAddress = "Bounces@Resolver.EXAMPLE.net" }, ""},
		{"no from", func(s *notify.Settings) { s.From = "" }, "notify.from: not set"},
		{"from not an address", func(s *notify.Settings) { s.From = "DNS health" }, `notify.from "DNS health": mail: `},
		{"from with CR LF", func(s *notify.Settings) { s.From = "a@example.net\r\nBcc: victim@x" }, "notify.from"},
		{"from not ASCII", func(s *notify.Settings) { s.From = "jäger@example.net" }, "notify.from"},
		{"two froms", func(s *notify.Settings) { s.From = "a@example.net, b@example.net" }, "notify.from"},
		{"bad reply_to", func(s *notify.Settings) { s.ReplyTo = "jane" }, "notify.reply_to"},
		{"no bounce address", func(s *notify.Settings) { s.BounceAddress = "" }, "notify.bounce_address: not set"},
		{"two @", func(s *notify.Settings) { s.BounceAddress = "a@b@example.net" }, "exactly one @"},
		{"plus", func(s *notify.Settings) { s.BounceAddress = "lamers+x@example.net" }, `notify.bounce_address "lamers+x@example.net": local part has "+"`},
		{"empty local part", func(s *notify.Settings) { s.BounceAddress = "@example.net" }, "empty local part"},
		{"space", func(s *notify.Settings) { s.BounceAddress = "la mers@example.net" }, `local part has " "`},
		{"dot at start", func(s *notify.Settings) { s.BounceAddress = ".lamers@example.net" }, "starts or ends with a dot"},
		{"one label", func(s *notify.Settings) { s.BounceAddress = "lamers@localhost" }, "fewer than two labels"},
		{"trailing dot", func(s *notify.Settings) { s.BounceAddress = "lamers@example.net." }, "ends with a dot"},
		{"underscore", func(s *notify.Settings) { s.BounceAddress = "lamers@ex_ample.net" }, "IDNA"},
		{"name and brackets", func(s *notify.Settings) { s.BounceAddress = "B <lamers@example.net>" }, "notify.bounce_address"},
		{"CR LF", func(s *notify.Settings) { s.BounceAddress = "lamers@example.net\r\n" }, "control character"},
		{"too long with the token", func(s *notify.Settings) { s.BounceAddress = strings.Repeat("b", 32) + "@example.net" }, "local part too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
	// The longest local part that takes the token and the suffix.
	s := ok
	s.BounceAddress = strings.Repeat("b", 31) + "@example.net"
	if err := s.Validate(); err != nil {
		t.Errorf("a 31-octet local part: %v", err)
	}
}

func TestVERP(t *testing.T) {
	const bounceAddress = "lamers-bounces@Resolver.Example.NET"
	for _, tt := range []struct {
		f    func(string, string) (string, error)
		want string
	}{
		{notify.VERP, "lamers-bounces+" + fixedToken + "@resolver.example.net"},
		{notify.UnsubscribeAddress, "lamers-bounces+" + fixedToken + "-unsubscribe@resolver.example.net"},
		{notify.MessageID, "<lamers." + fixedToken + "@resolver.example.net>"},
	} {
		got, err := tt.f(bounceAddress, fixedToken)
		if err != nil || got != tt.want {
			t.Errorf("got %q, %v; want %q", got, err, tt.want)
		}
		for _, bad := range []string{"", "LJNFUWS2LJNFUWS2LJNF", fixedToken + "a", "ljnfuws2ljnfuws2ljn1"} {
			if got, err := tt.f(bounceAddress, bad); err == nil {
				t.Errorf("token %q: %q", bad, got)
			}
		}
		if got, err := tt.f("lamers+x@example.net", fixedToken); err == nil || !strings.Contains(err.Error(), "notify.bounce_address") {
			t.Errorf("a bad bounce address: %q, %v", got, err)
		}
	}
}

// CheckTemplates finds, at start, what only shows when a template runs.
func TestCheckTemplates(t *testing.T) {
	if err := notify.CheckTemplates(loadTemplates(t)); err != nil {
		t.Fatalf("the embedded templates: %v", err)
	}
	reasons, err := os.ReadFile(filepath.Join("..", "templates", templates.Reasons))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, content string
		want                []string
	}{
		{"unknown field", templates.NotifyText, "Hello,\n{{range .Findings}}\n{{.Zon}}\n{{end}}\n",
			[]string{"notify.txt.tmpl:3:", "Zon"}},
		{"wrong argument", templates.NotifyHTML, "<p>{{range .Findings}}{{plural .Zone \"x\" \"xs\"}}{{end}}</p>\n",
			[]string{"notify.html.tmpl:1:", "plural"}},
		{"unknown field in an explanation", templates.Reasons, strings.Replace(string(reasons),
			`{{define "reason_servfail" -}}`, `{{define "reason_servfail" -}}{{.Serial}}`, 1),
			[]string{"reasons.tmpl:", "Serial"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			set, err := templates.Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = notify.CheckTemplates(set)
			if err == nil {
				t.Fatal("CheckTemplates succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// The Notifier's Composer writes what Compose writes, with the planner's
// token.
func TestTemplateComposer(t *testing.T) {
	data := several()
	data.Token = "abcdefghijklmnopqrst"
	c := &notify.TemplateComposer{Templates: loadTemplates(t), Settings: settings()}
	got, err := c.Compose(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := notify.Compose(c.Templates, data, settings())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*want, got); diff != "" || got.Token != data.Token || !strings.Contains(got.EnvelopeFrom, "+"+data.Token+"@") {
		t.Errorf("letter %+v (-Compose +TemplateComposer):\n%s", got, diff)
	}
	data.Findings = nil
	if _, err := c.Compose(data); err == nil {
		t.Error("a message without findings composed")
	}
}
