package notify

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
)

// A sending run with the real pieces: the embedded templates, the
// LetterWriter and the SMTP transport, against an in-process relay
// that refuses one recipient. The outbox, the envelopes and the messages
// agree on every token.
func TestRunThroughRelay(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS, DSN: true})
	srv.Reply(smtptest.StepRcpt, "hostmaster@b.example", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "<hostmaster@b.example>: User unknown"})
	tr, err := NewSMTP(relayConfig(srv, TLSMandatory))
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, "", Settings{From: "DNS health <dns-health@resolver.example.net>", BounceAddress: "lamers-bounces@resolver.example.net"})
	w.Clock = func() time.Time { return t0 }
	tn := newTestNotifier(t, nil)
	tn.Composer, tn.Transport = w, tr
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1", names: []string{"ns1.a.example."}},
		spec{zone: "b.example.", server: "192.0.2.2"})
	rep := tn.run(t, Options{Send: true})

	want := []string{"hostmaster@a.example (hostmaster) [a.example.] sent", "hostmaster@b.example (hostmaster) [b.example.] rejected"}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	entries, err := tn.db.Outbox(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.State == store.OutboxRejected && (e.Code != 550 || e.Enhanced != "5.1.1" || !strings.Contains(e.Detail, "User unknown")) {
			t.Errorf("rejected entry %+v", e)
		}
	}
	delivered := srv.Accepted()
	if len(delivered) != 1 || len(entries) != 2 {
		t.Fatalf("%d delivered, %d outbox entries", len(delivered), len(entries))
	}
	tx := delivered[0]
	m, err := mail.ReadMessage(bytes.NewReader(tx.Data))
	if err != nil {
		t.Fatal(err)
	}
	var sent store.OutboxEntry
	for _, e := range entries {
		if e.State == store.OutboxSent {
			sent = e
		}
	}
	token := sent.Token
	if len(tx.Rcpt) != 1 || tx.Rcpt[0] != "hostmaster@a.example" || tx.From != "lamers-bounces+"+token+"@resolver.example.net" || m.Header.Get("X-Lamers-Token") != token ||
		m.Header.Get("Message-Id") != sent.MessageID || m.Header.Get("Subject") != sent.Subject ||
		sent.Subject != "Lame delegation: a.example. on 192.0.2.1" || m.Header.Get("Date") != t0.Format(time.RFC1123Z) {
		t.Errorf("envelope %s, header %v; outbox %+v", tx.From, m.Header, sent)
	}
	if conns, _, mails := srv.Counts(); conns != 1 || mails != 2 {
		t.Errorf("%d connections, %d transactions; want 1 and 2", conns, mails)
	}
	if !bytes.Contains(tx.Data, []byte("dig +norec @192.0.2.1 a.example. SOA")) {
		t.Error("the message lacks the dig command")
	}
}
