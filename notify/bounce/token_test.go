package bounce

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func TestToken(t *testing.T) {
	const tok = "cejbgfavcylrqgi2dmob"
	tests := []struct {
		addr, local string
		token       string
		unsubscribe bool
	}{
		// The envelope sender of a notification (VERP) as Postfix passes it.
		{"lamers-bounces+" + tok + "@resolver.example.net", "lamers-bounces", tok, false},
		// The List-Unsubscribe address (RFC 2369).
		{"lamers-bounces+" + tok + "-unsubscribe@resolver.example.net", "lamers-bounces", tok, true},
		// Angle brackets, a display name, a DSN address type.
		{"<lamers-bounces+" + tok + "@resolver.example.net>", "lamers-bounces", tok, false},
		{`"DNS health" <lamers-bounces+` + tok + `@resolver.example.net>`, "lamers-bounces", tok, false},
		{"rfc822; lamers-bounces+" + tok + "@resolver.example.net", "lamers-bounces", tok, false},
		// Case is not meaningful in base32 or in the local part.
		{"Lamers-Bounces+CEJBGFAVCYLRQGI2DMOB-Unsubscribe@RESOLVER.example.net", "lamers-bounces", tok, true},
		// Any local part when none is configured.
		{"bounces+" + tok + "@lamers.test", "", tok, false},
		// Not a token: the wrong local part, no extension, a placeholder, the
		// wrong length, characters outside a–z 2–7, no domain.
		{"other+" + tok + "@resolver.example.net", "lamers-bounces", "", false},
		{"lamers-bounces@resolver.example.net", "lamers-bounces", "", false},
		{"bounces+tokC@lamers.test", "bounces", "", false},
		{"lamers-bounces+" + tok + "a@resolver.example.net", "lamers-bounces", "", false},
		{"lamers-bounces+" + tok[:19] + "@resolver.example.net", "lamers-bounces", "", false},
		{"lamers-bounces+cejbgfavcylrqgi2dmo1@resolver.example.net", "lamers-bounces", "", false},
		{"lamers-bounces+cejbgfavcylrqgi2dmo8@resolver.example.net", "lamers-bounces", "", false},
		{"lamers-bounces+" + tok, "lamers-bounces", "", false},
		{"lamers-bounces+" + tok + "-unsubscribe-unsubscribe@x.example", "lamers-bounces", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		token, unsub, ok := Token(tt.addr, tt.local)
		if token != tt.token || unsub != tt.unsubscribe || ok != (tt.token != "") {
			t.Errorf("Token(%q, %q) = %q, %v, %v; want %q, %v", tt.addr, tt.local, token, unsub, ok, tt.token, tt.unsubscribe)
		}
	}
}

func TestTokenDomain(t *testing.T) {
	m := matcher{local: "lamers-bounces", domain: "resolver.example.net"}
	if _, _, ok := m.address("lamers-bounces+cejbgfavcylrqgi2dmob@Resolver.Example.NET"); !ok {
		t.Error("token in the configured domain (other case) not accepted")
	}
	if _, _, ok := m.address("lamers-bounces+cejbgfavcylrqgi2dmob@evil.example"); ok {
		t.Error("token in another domain accepted")
	}
	if _, ok := m.messageID("<lamers.cejbgfavcylrqgi2dmob@evil.example>"); ok {
		t.Error("Message-ID in another domain accepted")
	}
}

func TestMessageIDToken(t *testing.T) {
	const tok = "eirsijjge4ucskrlfqws"
	tests := []struct{ id, token string }{
		{"<lamers." + tok + "@notifier.example>", tok},
		{"lamers." + tok + "@notifier.example", tok},
		{" <LAMERS." + tok + "@notifier.example> ", tok},
		// The older form in the lab DSNs, and near misses.
		{"<lamers.42.abc123@notifier.example>", ""},
		{"<lamers." + tok + ">", ""},
		{"<lamers." + tok + "x@notifier.example>", ""},
		{"<xlamers." + tok + "@notifier.example>", ""},
		{"<20261122015058.7F232C6143@mx.lamers.test>", ""},
		{"", ""},
	}
	for _, tt := range tests {
		token, ok := MessageIDToken(tt.id)
		if token != tt.token || ok != (tt.token != "") {
			t.Errorf("MessageIDToken(%q) = %q, %v; want %q", tt.id, token, ok, tt.token)
		}
	}
	// References: the first notification Message-ID of the list.
	refs := "<a@example.org>\r\n <lamers.bad@x.example> <lamers." + tok + "@notifier.example>"
	if got, ok := (matcher{}).messageIDs(refs); !ok || got != tok {
		t.Errorf("messageIDs(%q) = %q, %v", refs, got, ok)
	}
	// Quoted in text, after a word character it is not one.
	for _, text := range []string{
		"Message-ID: <lamers." + tok + "@notifier.example>\n",
		"id lamers." + tok + "@notifier.example, sent",
	} {
		if got, ok := (matcher{}).quoted(text); !ok || got != tok {
			t.Errorf("quoted(%q) = %q, %v", text, got, ok)
		}
	}
	if got, ok := (matcher{}).quoted("xlamers." + tok + "@notifier.example"); ok {
		t.Errorf("quoted found %q after a word character", got)
	}
}

func TestNewToken(t *testing.T) {
	tok, err := NewToken(bytes.NewReader(bytes.Repeat([]byte{0xff}, 13)))
	if err != nil || tok != "77777777777777777777" {
		t.Errorf("NewToken(0xff…) = %q, %v", tok, err)
	}
	for range 1000 {
		tok, err := NewToken(rand.Reader)
		if err != nil || !ValidToken(tok) {
			t.Fatalf("NewToken = %q, %v: not a valid token", tok, err)
		}
		if got, _, ok := Token("b+"+tok+"@example.net", "b"); !ok || got != tok {
			t.Fatalf("Token does not find NewToken's %q", tok)
		}
	}
	if _, err := NewToken(bytes.NewReader(make([]byte, 12))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("NewToken on 12 bytes: %v, want io.ErrUnexpectedEOF", err)
	}
}
