package notify

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// returned builds the DSN Postfix 3.7 sends when it cannot deliver l: the
// real bounce testdata/bounces/postfix37-classic.eml with its VERP
// address, its final recipient and its returned header block replaced by
// l's. envelope is the address the DSN is delivered to (the bounce address
// itself when the token is to be found in the returned message only), and
// full returns the whole message (RET=FULL, message/rfc822) rather than its
// header block (text/rfc822-headers).
func returned(t *testing.T, l *Letter, envelope string, full bool) []byte {
	t.Helper()
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "bounces", "postfix37-classic.eml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(sample)
	start := strings.Index(s, "Return-Path: <bounces+")
	end := strings.Index(s, "\n--1A3B0C604F.1795312252/mx.lamers.test--")
	if start < 0 || end < start {
		t.Fatal("the sample's returned header block is not where it was")
	}
	raw, err := l.bytes()
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.ReplaceAll(string(raw), "\r\n", "\n")
	if !full {
		msg, _, _ = strings.Cut(msg, "\n\n")
		msg += "\n"
	} else {
		s = strings.Replace(s, "Content-Type: text/rfc822-headers", "Content-Type: message/rfc822", 1)
	}
	s = s[:start] + "Return-Path: <" + l.EnvelopeFrom + ">\n" + msg + s[end:]
	s = strings.ReplaceAll(s, "X-Postfix-Sender: rfc822; bounces+cejbgfavcylrqgi2dmob@lamers.test", "X-Postfix-Sender: rfc822; "+l.EnvelopeFrom)
	s = strings.ReplaceAll(s, "bounces+cejbgfavcylrqgi2dmob@lamers.test", envelope)
	s = strings.ReplaceAll(s, "gone@lamers.test", l.To)
	return []byte(s)
}

// A composed letter that comes back is recognised: by its VERP address,
// and, when the MTA does not give the envelope, by the Message-ID of the
// returned message, whether it returns the header block or all of it.
func TestBounceFindsToken(t *testing.T) {
	data := goldenMessage()
	data.To, data.Token = "gone@example.com", ""
	l, err := newTestWriter(t, "", testSettings).Compose(data)
	if err != nil {
		t.Fatal(err)
	}
	opts := bounce.Options{Local: "lamers-bounces", Domain: "resolver.example.net"}
	tests := []struct {
		name      string
		envelope  string
		full      bool
		recipient string
		source    bounce.Source
	}{
		{"pipe recipient", l.EnvelopeFrom, false, l.EnvelopeFrom, bounce.SourceRecipient},
		{"delivered-to", l.EnvelopeFrom, false, "", bounce.SourceDeliveredTo},
		{"returned headers", "lamers-bounces@resolver.example.net", false, "", bounce.SourceReturnedMessageID},
		{"returned message", "lamers-bounces@resolver.example.net", true, "", bounce.SourceReturnedMessageID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			o.Recipient = tt.recipient
			m, err := bounce.Parse(bytes.NewReader(returned(t, &l, tt.envelope, tt.full)), o)
			if err != nil {
				t.Fatal(err)
			}
			if m.Token != l.Token || m.TokenSource != tt.source || m.Unsubscribe {
				t.Errorf("token %q from %v (unsubscribe %v), want %q from %v", m.Token, m.TokenSource, m.Unsubscribe, l.Token, tt.source)
			}
			if m.Class != bounce.Hard || len(m.Recipients) != 1 || m.Recipients[0].Address != l.To {
				t.Errorf("class %v, recipients %+v", m.Class, m.Recipients)
			}
		})
	}

	// A message to the List-Unsubscribe address, as Postfix's pipe gives it.
	unsubscribe := strings.TrimSuffix(strings.TrimPrefix(l.ListUnsubscribe, "<mailto:"), ">")
	msg := "From: gone@example.com\nTo: " + unsubscribe + "\nSubject: unsubscribe\n\nplease stop\n"
	o := opts
	o.Recipient = unsubscribe
	m, err := bounce.Parse(strings.NewReader(msg), o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Token != l.Token || !m.Unsubscribe || m.Class != bounce.Unsubscribe {
		t.Errorf("unsubscribe: token %q, unsubscribe %v, class %v", m.Token, m.Unsubscribe, m.Class)
	}
}
