package notify

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// mustToken draws a token as the planner does.
func mustToken(t testing.TB) string {
	t.Helper()
	tok, err := bounce.NewToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const testToken = "k7qz3mxa2bw4ncd5efgh"

// TestVERP: the envelope sender, the unsubscribe address and the
// Message-ID made from bounce_address, and the bounce addresses refused
// with the key named.
func TestVERP(t *testing.T) {
	got, err := VERP("lamers-bounces@resolver.example.net", testToken)
	if err != nil || got != "lamers-bounces+"+testToken+"@resolver.example.net" {
		t.Fatalf("VERP = %q, %v", got, err)
	}
	b, _ := parseBounceAddress("Lamers.Bounces@Resolver.Example.NET.")
	if u := b.unsubscribe(testToken); u != "Lamers.Bounces+"+testToken+"-unsubscribe@resolver.example.net" {
		t.Errorf("unsubscribe = %q", u)
	}
	if id := b.messageID(testToken); id != "<lamers."+testToken+"@resolver.example.net>" {
		t.Errorf("messageID = %q", id)
	}
	if _, err := VERP("lamers-bounces@resolver.example.net", "Short"); err == nil {
		t.Error("a bad token: no error")
	}
	for _, c := range []struct{ in, why string }{
		{"", "empty"},
		{"lamers-bounces", "'@'"},
		{"a@b@resolver.example.net", "'@'"},
		{"lamers+x@resolver.example.net", "'+'"},
		{"lamers@localhost", "two labels"},
		{"lamers@resolver..example.net", "empty"},
		{".lamers@resolver.example.net", "dot"},
		{"la..mers@resolver.example.net", "two dots"},
		{"la mers@resolver.example.net", "not allowed"},
		{"lamers\r\nBcc: victim@example.org@resolver.example.net", "'@'"},
		{"lamers\r\n@resolver.example.net", "not allowed"},
		{"lamers@resolver_1.example.net", "letters, digits"},
		{"lamers@-resolver.example.net", "starts or ends"},
		{"lämers@resolver.example.net", "not allowed"},
		{strings.Repeat("a", 65) + "@resolver.example.net", "64 octets"},
		{"lamers@" + strings.Repeat(strings.Repeat("a", 60)+".", 4) + "example", "too long"},
	} {
		_, err := VERP(c.in, testToken)
		if err == nil || !strings.HasPrefix(err.Error(), "notify: bounce_address ") || !strings.Contains(err.Error(), c.why) {
			t.Errorf("VERP(%q): %v, want an error about bounce_address with %q", c.in, err, c.why)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("VERP(%q): the error holds a line break: %q", c.in, err)
		}
	}
}

// TestParseMailbox: from and reply_to as RFC 5322 mailboxes; the key is
// named in the error.
func TestParseMailbox(t *testing.T) {
	a, err := parseMailbox("from", `DNS health <dns-health@resolver.example.net>`)
	if err != nil || a.Name != "DNS health" || a.Address != "dns-health@resolver.example.net" {
		t.Fatalf("parseMailbox = %+v, %v", a, err)
	}
	if a, err := parseMailbox("from", `=?utf-8?q?DNS_S=C3=BCd?= <dns@resolver.example.net>`); err != nil || a.Name != "DNS Süd" {
		t.Errorf("an encoded display name: %+v, %v", a, err)
	}
	for _, c := range []struct{ key, in string }{
		{"from", "DNS health"},
		{"from", "dns-health@resolver.example.net, other@resolver.example.net"},
		{"reply_to", "jane@résolveur.example"},
		{"reply_to", "Jane <jane@resolver.example.net>\r\nBcc: victim@example.org"},
		{"from", "=?utf-8?q?a=0Db?= <dns@resolver.example.net>"},
	} {
		_, err := parseMailbox(c.key, c.in)
		if err == nil || !strings.HasPrefix(err.Error(), "notify: "+c.key+" ") {
			t.Errorf("parseMailbox(%s, %q): %v", c.key, c.in, err)
		}
	}
}

// TestLetterCheck: the transports refuse a letter built by hand with a
// header value that would break the header block.
func TestLetterCheck(t *testing.T) {
	good := Letter{Token: testToken, EnvelopeFrom: "b+" + testToken + "@resolver.example.net",
		From: "DNS health <dns@resolver.example.net>", To: "hostmaster@example.com", Subject: "Lame delegation",
		MessageID: "<lamers." + testToken + "@resolver.example.net>", Date: time.Unix(0, 0),
		ListUnsubscribe: "<mailto:b+" + testToken + "-unsubscribe@resolver.example.net>"}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(l *Letter){
		"subject CRLF":  func(l *Letter) { l.Subject = "x\r\nBcc: victim@example.org" },
		"subject NUL":   func(l *Letter) { l.Subject = "x\x00y" },
		"subject 8-bit": func(l *Letter) { l.Subject = "x\xffy" },
		"to CRLF":       func(l *Letter) { l.To = "a@example.com\r\nBcc: victim@example.org" },
		"to space":      func(l *Letter) { l.To = "a b@example.com" },
		"from LF":       func(l *Letter) { l.From = "x <a@example.com>\nBcc: v@example.org" },
		"no from":       func(l *Letter) { l.From = "" },
		"no envelope":   func(l *Letter) { l.EnvelopeFrom = "" },
		"token":         func(l *Letter) { l.Token = "x\r\n" },
		"no date":       func(l *Letter) { l.Date = time.Time{} },
	} {
		l := good
		mutate(&l)
		if err := l.check(); !errors.Is(err, errLetter) {
			t.Errorf("%s: check = %v", name, err)
		}
		if _, err := l.bytes(); err == nil {
			t.Errorf("%s: bytes: no error", name)
		}
	}
}
