package notify

import (
	"context"
	"fmt"
	"testing"

	"github.com/lamers-dev/lamers/notify/smtptest"
)

// BenchmarkSMTPThousand hands 1,000 composed letters to the in-process
// relay on loopback over one connection (Open, 1,000 × Send, Close) per
// iteration, in clear text and with STARTTLS, and reports messages per
// second. The target is 200.
func BenchmarkSMTPThousand(b *testing.B) {
	b.Run("clear", func(b *testing.B) { benchThousand(b, smtptest.NoTLS, TLSOpportunistic) })
	b.Run("starttls", func(b *testing.B) { benchThousand(b, smtptest.StartTLS, TLSMandatory) })
}

func benchThousand(b *testing.B, relay smtptest.TLSMode, policy TLSPolicy) {
	const n = 1000
	srv := smtptest.Start(b, smtptest.Options{TLS: relay, DiscardData: true})
	w := newTestWriter(b, "", testSettings)
	letters := make([]*Letter, n)
	for i := range letters {
		letters[i] = letterTo(b, w, fmt.Sprintf("hostmaster@z%d.example", i))
	}
	cfg := relayConfig(srv, policy)
	b.ResetTimer()
	for range b.N {
		tr, err := NewSMTP(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		for _, l := range letters {
			if d := tr.Send(context.Background(), l); d.Result != ResultSent {
				b.Fatalf("%+v", d)
			}
		}
		if err := tr.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	if conns, _, mails := srv.Counts(); conns != b.N || mails != n*b.N {
		b.Fatalf("%d connections, %d MAIL; want %d, %d", conns, mails, b.N, n*b.N)
	}
}

// BenchmarkCompose composes the golden message (four findings, three
// zones) through the embedded templates.
func BenchmarkCompose(b *testing.B) {
	w := newTestWriter(b, "", testSettings)
	d := goldenMessage()
	for range b.N {
		if _, err := w.Compose(d); err != nil {
			b.Fatal(err)
		}
	}
}
