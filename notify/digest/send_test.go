package digest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/smtptest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

const operator = "noc@resolver.example.net"

// testMailer mails through the SMTP transport to srv (STARTTLS with the
// relay's own CA) and records in db.
func testMailer(t *testing.T, db *store.DB, host string, port int, tlsCfg smtptest.TLSMode, srv *smtptest.Server) *Mailer {
	t.Helper()
	set := loadTemplates(t)
	w, err := notify.NewLetterWriter(set, notify.Settings{From: "DNS health <dns-health@resolver.example.net>",
		BounceAddress: "lamers-bounces@resolver.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := notify.SMTPConfig{Host: host, Port: port, TLS: notify.TLSNone, HELO: "lamers.test",
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}
	if tlsCfg == smtptest.StartTLS {
		cfg.TLS, cfg.TLSConfig = notify.TLSMandatory, srv.ClientTLS()
	}
	tr, err := notify.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Mailer{Store: db, Templates: set, Composer: w, Transport: tr, TransportName: "smtp",
		Clock: func() time.Time { return testUntil }}
}

// A digest mailed through a relay: multipart/alternative with the text
// and the HTML of the digest, the headers of a report, the VERP envelope
// sender; recorded sent, it is the last digest, where the next one starts.
func TestSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.StartTLS})
	db := storetest.Open(t)
	r := build(t, fullStore())
	s, err := testMailer(t, db, srv.Host, srv.Port, smtptest.StartTLS, srv).Send(context.Background(), r, operator)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != store.OutboxSent || s.To != operator || s.Delivery.Code != 250 {
		t.Errorf("sent %+v", s)
	}
	txs := srv.Accepted()
	if len(txs) != 1 || len(txs[0].Rcpt) != 1 || txs[0].Rcpt[0] != operator || txs[0].From != "lamers-bounces+"+s.Token+"@resolver.example.net" || !txs[0].TLS {
		t.Fatalf("transactions %+v", txs)
	}
	m, err := mail.ReadMessage(bytes.NewReader(txs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"Subject": s.Subject, "Auto-Submitted": "auto-generated", "List-Unsubscribe": "",
		"Message-Id": "<lamers." + s.Token + "@resolver.example.net>"} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	parts := mimeParts(t, m)
	if !strings.Contains(parts["text/plain"], "192.0.2.1: 412 zones") || !strings.Contains(parts["text/html"], "<strong>412 zones</strong>") {
		t.Errorf("the parts do not list the worst server:\n%s", parts)
	}
	last, ok, err := db.LastDigest(context.Background())
	if err != nil || !ok || last.Token != s.Token || !last.Since.Equal(testSince) || !last.Until.Equal(testUntil) ||
		last.Recipient != operator || last.State != store.OutboxSent {
		t.Errorf("LastDigest %+v, %v, %v", last, ok, err)
	}
}

// mimeParts returns the decoded parts of a multipart/alternative message
// by content type.
func mimeParts(t *testing.T, m *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, %v", m.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
}

// A relay that refuses the operator's address: recorded rejected, an
// error that matches ErrNotSent, and the last digest sent is still none.
func TestSendRejected(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Reply(smtptest.StepRcpt, operator, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "<noc@resolver.example.net>: Recipient address rejected: User unknown in local recipient table"})
	db := storetest.Open(t)
	s, err := testMailer(t, db, srv.Host, srv.Port, smtptest.NoTLS, srv).Send(context.Background(), build(t, emptyStore()), operator)
	if !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), "rejected to noc@resolver.example.net: 550 5.1.1") {
		t.Errorf("Send: %v", err)
	}
	ds, _ := db.Digests(context.Background())
	if s.State != store.OutboxRejected || len(ds) != 1 || ds[0].State != store.OutboxRejected || ds[0].Code != 550 {
		t.Errorf("sent %+v, recorded %+v", s, ds)
	}
	if _, ok, _ := db.LastDigest(context.Background()); ok {
		t.Error("a rejected digest is the last one sent")
	}
}

// A relay that cannot be reached: an error, and nothing recorded, since
// nothing was handed over.
func TestSendRelayDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close() // nothing listens there now
	db := storetest.Open(t)
	_, err = testMailer(t, db, "127.0.0.1", addr.Port, smtptest.NoTLS, nil).Send(context.Background(), build(t, emptyStore()), operator)
	if err == nil || errors.Is(err, ErrNotSent) || !strings.HasPrefix(err.Error(), "digest: relay: ") {
		t.Errorf("Send: %v", err)
	}
	if ds, _ := db.Digests(context.Background()); len(ds) != 0 {
		t.Errorf("recorded %+v", ds)
	}
}
