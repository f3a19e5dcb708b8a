package notify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// postfixDSN wraps a returned message the way Postfix 3.7's bounce(8)
// does (testdata/bounces/postfix37-classic.eml, a DSN the lab's Postfix
// sent): multipart/report with the explanation, message/delivery-status
// and the returned message's header as text/rfc822-headers. deliveredTo
// is the envelope recipient local(8) writes into Delivered-To and
// X-Original-To (the VERP address); "" leaves both out, as when the report
// was forwarded to a mailbox.
func postfixDSN(deliveredTo, rcpt string, returned []byte) []byte {
	header, _, _ := bytes.Cut(returned, []byte("\r\n\r\n"))
	var b strings.Builder
	b.WriteString("Return-Path: <>\r\n")
	if deliveredTo != "" {
		fmt.Fprintf(&b, "X-Original-To: %s\r\nDelivered-To: %[1]s\r\n", deliveredTo)
	}
	to := deliveredTo
	if to == "" {
		to = "dns-team@resolver.example.net"
	}
	fmt.Fprintf(&b, `Received: by mx.example.com (Postfix)
	id 1CB1DC6140; Mon, 23 Nov 2026 09:30:02 +0000 (UTC)
Date: Mon, 23 Nov 2026 09:30:02 +0000 (UTC)
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
Subject: Undelivered Mail Returned to Sender
To: %s
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="1A3B0C604F.1795312252/mx.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20261123093002.1CB1DC6140@mx.example.com>

This is a MIME-encapsulated message.

--1A3B0C604F.1795312252/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<%s>: user unknown. Command output: mailbox disabled

--1A3B0C604F.1795312252/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 1A3B0C604F
Arrival-Date: Mon, 23 Nov 2026 09:30:01 +0000 (UTC)

Final-Recipient: rfc822; %[2]s
Original-Recipient: rfc822;%[2]s
Action: failed
Status: 5.1.1
Diagnostic-Code: x-unix; mailbox disabled

--1A3B0C604F.1795312252/mx.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

`, to, rcpt)
	out := strings.ReplaceAll(b.String(), "\n", "\r\n")
	out = strings.ReplaceAll(out, "\r\r\n", "\r\n")
	return append(append([]byte(out), header...), "\r\n\r\n--1A3B0C604F.1795312252/mx.example.com--\r\n"...)
}

// TestBounceRoundTrip: what notify/bounce reads from the mail that comes
// back to a composed letter leads to that letter: the token of the VERP
// envelope sender (a DSN delivered through the pipe), of the Message-ID
// (the same DSN forwarded, without the envelope recipient) and of the
// List-Unsubscribe address (a request to stop).
func TestBounceRoundTrip(t *testing.T) {
	l := tokenlessLetter(t)
	raw, err := l.bytes()
	if err != nil {
		t.Fatal(err)
	}
	unsubscribe := strings.TrimSuffix(strings.TrimPrefix(l.ListUnsubscribe, "<mailto:"), ">")
	opts := bounce.Options{Local: "lamers-bounces", Domain: "resolver.example.net"}
	for _, c := range []struct {
		name        string
		msg         []byte
		opts        bounce.Options
		source      bounce.Source
		class       bounce.Class
		unsubscribe bool
	}{
		{"dsn to the VERP address", postfixDSN(l.EnvelopeFrom, l.To, raw), opts, bounce.SourceDeliveredTo, bounce.Hard, false},
		{"dsn through the pipe", postfixDSN(l.EnvelopeFrom, l.To, raw),
			bounce.Options{Local: opts.Local, Domain: opts.Domain, OriginalRecipient: l.EnvelopeFrom, Recipient: l.EnvelopeFrom},
			bounce.SourceOriginalRecipient, bounce.Hard, false},
		{"forwarded dsn", postfixDSN("", l.To, raw), opts, bounce.SourceReturnedMessageID, bounce.Hard, false},
		// A mail client's answer to List-Unsubscribe (RFC 2369 §3.2).
		{"unsubscribe", []byte("Delivered-To: " + unsubscribe + "\r\nFrom: <" + l.To + ">\r\nTo: <" + unsubscribe +
			">\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n"), opts, bounce.SourceDeliveredTo, bounce.Unsubscribe, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := bounce.Parse(bytes.NewReader(c.msg), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Token != l.Token || m.TokenSource != c.source || m.Class != c.class || m.Unsubscribe != c.unsubscribe {
				t.Errorf("token %q from %v, class %v, unsubscribe %v; want %q from %v, %v, %v (problem %q)",
					m.Token, m.TokenSource, m.Class, m.Unsubscribe, l.Token, c.source, c.class, c.unsubscribe, m.Problem)
			}
			if c.class == bounce.Hard && (len(m.Recipients) != 1 || m.Recipients[0].Address != l.To) {
				t.Errorf("recipients %+v, want %s", m.Recipients, l.To)
			}
			if id := strings.Trim(l.MessageID, "<>"); c.class == bounce.Hard && m.ReturnedMessageID != id {
				t.Errorf("returned Message-ID %q, want %q", m.ReturnedMessageID, id)
			}
		})
	}
}
