package notify

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"unicode"
)

// FuzzCompose: whatever zone, NS name and recipient Compose accepts
// makes a letter the transports take, whose message parses with lamers'
// header fields only, one recipient, and a Subject without control
// characters that decodes to the letter's. The seeds are in
// testdata/fuzz/FuzzCompose.
func FuzzCompose(f *testing.F) {
	w := newTestWriter(f, "", testSettings)
	f.Fuzz(func(t *testing.T, zone, ns, to string) {
		d := MessageData{Token: testToken, To: to, Source: "rname", Findings: []FindingData{{
			Zone: zone, Server: "192.0.2.1", Port: 53, ServerNames: []string{ns}, Status: "lame", Reason: "refused", Count: 1}}}
		l, err := w.Compose(d)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Fatalf("error with a control character: %q", err)
			}
			return
		}
		if err := l.check(); err != nil {
			t.Fatalf("Compose made a letter the transports refuse: %v", err)
		}
		if strings.IndexFunc(l.Subject, unicode.IsControl) >= 0 {
			t.Fatalf("subject %q", l.Subject)
		}
		raw, err := l.bytes()
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%v:\n%s", err, raw)
		}
		for k := range m.Header {
			if !lamersHeaders[k] {
				t.Fatalf("header field %q in:\n%s", k, raw)
			}
		}
		if got, err := m.Header.AddressList("To"); err != nil || len(got) != 1 || got[0].Address != to {
			t.Fatalf("To %v, %v; want %q", got, err, to)
		}
		if got := decodeHeader(t, m.Header.Get("Subject")); got != l.Subject {
			t.Fatalf("Subject decodes to %q, want %q", got, l.Subject)
		}
	})
}
