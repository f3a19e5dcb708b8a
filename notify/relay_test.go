package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/templates"
)

// A sending run with the real pieces: the embedded templates, the
// TemplateComposer and the SMTP transport, against an in-process relay
// that refuses one recipient. The outbox, the envelopes and the messages
// agree on every token.
func TestRunThroughRelay(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true, DSN: true})
	srv.Fail(smtptest.Rcpt, "hostmaster@b.example", 550, [3]int{5, 1, 1}, "<hostmaster@b.example>: User unknown")
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewSMTP(SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: TLSMandatory, HELO: "lamers.test",
		CommandTimeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: srv.CertPool}})
	if err != nil {
		t.Fatal(err)
	}
	tn := newTestNotifier(t, nil)
	tn.Composer = &TemplateComposer{Templates: set, Settings: Settings{
		From: "DNS health <dns-health@resolver.example.net>", BounceAddress: "lamers-bounces@resolver.example.net"}}
	tn.Transport = tr
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
	delivered := srv.Delivered()
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
	if tx.From != "lamers-bounces+"+token+"@resolver.example.net" || m.Header.Get("X-Lamers-Token") != token ||
		m.Header.Get("Message-Id") != sent.MessageID || m.Header.Get("Subject") != sent.Subject ||
		sent.Subject != "Lame delegation: a.example. on 192.0.2.1" || m.Header.Get("Date") != t0.Format(time.RFC1123Z) {
		t.Errorf("envelope %s, header %v; outbox %+v", tx.From, m.Header, sent)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections", n)
	}
	if !bytes.Contains(tx.Data, []byte("dig +norec @192.0.2.1 a.example. SOA")) {
		t.Error("the message lacks the dig command")
	}
}
