package bounce

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// dsn builds a small RFC 3464 report (the shape Postfix sends) around a
// delivery-status body and a returned header.
func dsn(status, returned string) string {
	return "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n" +
		"To: lamers-bounces+cejbgfavcylrqgi2dmob@example.net\n" +
		"Subject: Undelivered Mail Returned to Sender\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n" +
		"\n" +
		"--B\nContent-Type: text/plain\n\nThe mail system\n\n" +
		"--B\nContent-Type: message/delivery-status\n\n" + status + "\n" +
		"--B\nContent-Type: text/rfc822-headers\n\n" + returned + "\n" +
		"--B--\n"
}

const (
	perMessage = "Reporting-MTA: dns; mx.example.net\n\n"
	oneFailed  = perMessage + "Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: User unknown\n"
)

func mustParse(t testing.TB, msg string, opts Options) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(msg), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// TestBadInput: whatever the bytes, a Message comes back, with Problem
// saying what was wrong, and never an error.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		class   Class
		problem string
		rcpts   int
	}{
		{"empty", "", Unknown, "empty message", 0},
		{"garbage", "\x00\xff\xfe\x01 random bytes\n\n\x7f", Unknown, "not a bounce (no header)", 0},
		{"only blank lines", "\n\n\n", Unknown, "not a bounce", 0},
		{"binary", strings.Repeat("\x00\x01\x02\xfe", 5000), Unknown, "not a bounce", 0},
		{"NUL in a report", strings.Replace(dsn(oneFailed, ""), "The mail system", "The mail\x00 system", 1),
			Hard, "NUL byte in the message", 1},
		{"1 MB header line", "Subject: " + strings.Repeat("a", 1<<20) + "\n\nhello\n", Unknown,
			"not a bounce (header longer than 128 KiB, cut)", 0},
		{"1 MB body line", "Subject: x\n\n" + strings.Repeat("b", 1<<20), Unknown, "not a bounce", 0},
		{"invalid UTF-8", "Subject: \xff\xfe bounce\nFrom: MAILER-DAEMON@x.example\n\n<gone@example.org>: 550 user unknown \xc3\x28\n",
			Hard, "", 1},
		// Cut in the middle of the delivery-status part.
		{"truncated MIME", dsn(oneFailed, "")[:strings.Index(dsn(oneFailed, ""), "Diagnostic-Code")], Hard,
			"multipart not closed", 1},
		{"report without recipients", dsn(perMessage, ""), Unknown, "delivery report without recipients", 0},
		{"multipart without boundary", "Content-Type: multipart/report\n\n--x\n\nhi\n", Unknown,
			"not a bounce (multipart without a boundary)", 0},
		{"header without colon", "From: MAILER-DAEMON@x.example\nthis is not a field\n\n", Unknown,
			"bounce text without a recipient address", 0},
		{"part cut by the outer boundary", strings.Replace(dsn(oneFailed, ""),
			"--B\nContent-Type: text/plain\n\nThe mail system\n",
			"--B\nContent-Type: multipart/alternative; boundary=\"C\"\n\n--C\n\nThe mail system\n", 1),
			Hard, "multipart cut short by an outer boundary", 1},
		{"deep nesting", nested(40), Unknown, "too many or too deeply nested MIME parts", 0},
		{"many parts", manyParts(500), Unknown, "too many or too deeply nested MIME parts", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.msg, Options{})
			if m.Class != tt.class || len(m.Recipients) != tt.rcpts || !strings.Contains(m.Problem, tt.problem) ||
				(tt.problem == "") != (m.Problem == "") {
				t.Errorf("class %s, %d recipients, problem %q; want %s, %d, %q",
					m.Class, len(m.Recipients), m.Problem, tt.class, tt.rcpts, tt.problem)
			}
			checkStrings(t, m)
			if m.Size != int64(len(tt.msg)) || !bytes.Equal(m.Raw, []byte(tt.msg)[:min(len(tt.msg), MaxRaw)]) {
				t.Errorf("Size %d, Raw %d bytes; want %d and the message's prefix", m.Size, len(m.Raw), len(tt.msg))
			}
		})
	}
}

// nested builds a message of n multiparts, one inside the other.
func nested(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\n\n")
	for i := range n {
		fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
	}
	for i := n; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return b.String()
}

// manyParts builds a multipart of n empty text parts.
func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\n\n")
	for range n {
		b.WriteString("--b\n\nx\n")
	}
	b.WriteString("--b--\n")
	return b.String()
}

// checkStrings checks the promise of Message: every string is valid UTF-8
// without control characters.
func checkStrings(t testing.TB, m *Message) {
	t.Helper()
	strs := []string{m.Token, m.From, m.Subject, m.MessageID, m.ReturnedMessageID, m.ReportingMTA, m.Text, m.Problem}
	for _, r := range m.Recipients {
		strs = append(strs, r.Address, r.Original, r.Action, r.Status, r.DiagnosticType, r.Diagnostic, r.RemoteMTA)
	}
	if f := m.Feedback; f != nil {
		strs = append(strs, f.Type, f.UserAgent, f.OriginalMailFrom, f.SourceIP, f.ReportedDomain, f.ArrivalDate)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			t.Errorf("%q is not valid UTF-8", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 {
				t.Errorf("%q has control character %U", s, r)
				break
			}
		}
	}
	if m.Token != "" && !ValidToken(m.Token) {
		t.Errorf("token %q is not valid", m.Token)
	}
}

func TestReports(t *testing.T) {
	const tok = "cejbgfavcylrqgi2dmob"
	b64 := base64.StdEncoding.EncodeToString([]byte("Message-ID: <lamers." + tok + "@example.net>\nSubject: lame\n\nbody\n"))
	tests := []struct {
		name          string
		msg           string
		opts          Options
		token         string
		source        Source
		unsubscribe   bool
		format        Format
		class         Class
		addr, orig    string
		status, diag  string
		problemSubstr string
	}{
		{
			// RFC 3464 §2.3: Original-Recipient before Final-Recipient, and
			// all recipients run into the per-message block (seen from
			// some MTAs).
			name: "one block",
			msg: dsn("Reporting-MTA: dns; mx.example.net\nOriginal-Recipient: rfc822;a@example.org\n"+
				"Final-Recipient: rfc822;a@example.org\nAction: failed\nStatus: 5.2.2\n"+
				"Original-Recipient: rfc822;b@example.org\nFinal-Recipient: rfc822;b@example.org\nAction: failed\nStatus: 5.1.1\n", ""),
			token: tok, source: SourceTo, format: FormatDSN, class: Hard,
			addr: "a@example.org", orig: "a@example.org", status: "5.2.2",
		},
		{
			// RFC 6533 §3: utf-8 address type with unitext, and xtext (RFC
			// 3461 §4) in an rfc822 Original-Recipient.
			name: "global dsn",
			msg: strings.Replace(dsn(perMessage+"Original-Recipient: rfc822;j+2Bx+3Dy@Example.ORG\n"+
				"Final-Recipient: utf-8; j\\x{00F6}rg@b\\x{00FC}cher.example\nAction: failed\nStatus: 5.1.1\n", ""),
				"message/delivery-status", "message/global-delivery-status", 1),
			token: tok, source: SourceTo, format: FormatGlobalDSN, class: Hard,
			addr: "jörg@bücher.example", orig: "j+x=y@example.org", status: "5.1.1",
		},
		{
			// A message/rfc822 part in base64 (RFC 2046 §5.2.1 forbids it;
			// it is sent all the same).
			name: "base64 returned message",
			msg: strings.Replace(dsn(oneFailed, ""), "Content-Type: text/rfc822-headers\n\n",
				"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"+b64, 1),
			opts:  Options{Local: "other"},
			token: tok, source: SourceReturnedMessageID, format: FormatDSN, class: Hard,
			addr: "gone@example.org", status: "5.1.1", diag: "550 5.1.1 <gone@example.org>: User unknown",
		},
		{
			// A reply to a notification that bounced: the token is in the
			// returned message's In-Reply-To.
			name:  "returned in-reply-to",
			msg:   dsn(oneFailed, "Message-ID: <reply@example.org>\nIn-Reply-To: <lamers."+tok+"@example.net>\n"),
			opts:  Options{Local: "other"},
			token: tok, source: SourceInReplyTo, format: FormatDSN, class: Hard,
			addr: "gone@example.org", status: "5.1.1",
		},
		{
			// Options.Domain rules out a token in another domain.
			name:  "other domain",
			msg:   dsn(oneFailed, "Message-ID: <lamers."+tok+"@evil.example>\n"),
			opts:  Options{Domain: "example.net"},
			token: tok, source: SourceTo, format: FormatDSN, class: Hard,
			addr: "gone@example.org", status: "5.1.1",
		},
		{
			name:   "other domain only",
			msg:    dsn(oneFailed, "Message-ID: <lamers."+tok+"@evil.example>\n"),
			opts:   Options{Domain: "example.com"},
			format: FormatDSN, class: Hard, addr: "gone@example.org", status: "5.1.1",
		},
		{
			// A person answers the List-Unsubscribe mailto: (RFC 2369 §3.2);
			// Postfix passes the recipient to the pipe.
			name: "unsubscribe",
			msg: "From: Jane <jane@example.org>\nTo: lamers-bounces+" + tok + "-unsubscribe@example.net\n" +
				"Subject: unsubscribe\n\nPlease stop.\n",
			opts:  Options{Local: "lamers-bounces", OriginalRecipient: "lamers-bounces+" + tok + "-unsubscribe@example.net"},
			token: tok, source: SourceOriginalRecipient, unsubscribe: true, format: FormatUnknown, class: Unsubscribe,
		},
		{
			// Vacation programs' markers (RFC 3834 §5 and common fields).
			name: "x-autoreply",
			msg: "From: jane@example.org\nTo: lamers-bounces+" + tok + "@example.net\nX-Autoreply: yes\n" +
				"Subject: Re: Lame delegation\nIn-Reply-To: <lamers." + tok + "@example.net>\n\nI am away.\n",
			opts:  Options{Local: "someone-else"},
			token: tok, source: SourceInReplyTo, format: FormatAutoReply, class: AutoReply,
		},
		{
			name:   "precedence auto_reply",
			msg:    "From: jane@example.org\nPrecedence: auto_reply\nSubject: Re: x\n\nAway.\n",
			format: FormatAutoReply, class: AutoReply,
		},
		{
			// Auto-Submitted: no is a person's mail.
			name:   "auto-submitted no",
			msg:    "From: jane@example.org\nAuto-Submitted: no\nSubject: Re: x\n\nThanks.\n",
			format: FormatUnknown, class: Unknown,
			problemSubstr: "not a bounce",
		},
		{
			// An ARF report without a Feedback-Type is still a complaint.
			name: "arf",
			msg: "From: fbl@isp.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=F\n\n" +
				"--F\nContent-Type: message/feedback-report\n\nUser-Agent: x\nOriginal-Rcpt-To: <Jane@Example.ORG>\n" +
				"--F\nContent-Type: message/rfc822\n\nMessage-ID: <lamers." + tok + "@example.net>\n\nbody\n--F--\n",
			token: tok, source: SourceReturnedMessageID, format: FormatARF, class: Complaint, addr: "Jane@example.org",
		},
		{
			// A Message-ID quoted beyond what is kept of a text part is
			// still found by the scan of the rest.
			name: "quoted far away",
			msg: "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n<gone@example.org>:\n550 user unknown\n\n" +
				strings.Repeat("filler line\n", 10000) + "Message-ID: <lamers." + tok + "@example.net>\n",
			token: tok, source: SourceQuoted, format: FormatText, class: Hard, addr: "gone@example.org",
			diag: "550 user unknown",
		},
		{
			// CRLF line ends read as LF ones.
			name:  "crlf",
			msg:   strings.ReplaceAll(dsn(oneFailed, ""), "\n", "\r\n"),
			token: tok, source: SourceTo, format: FormatDSN, class: Hard, addr: "gone@example.org", status: "5.1.1",
			diag: "550 5.1.1 <gone@example.org>: User unknown",
		},
		{
			// A Content-Type mime.ParseMediaType refuses (a duplicate
			// parameter) is split by hand.
			name:  "bad content-type",
			msg:   strings.Replace(dsn(oneFailed, ""), "boundary=\"B\"", "boundary=\"B\"; boundary=\"B\"", 1),
			token: tok, source: SourceTo, format: FormatDSN, class: Hard, addr: "gone@example.org", status: "5.1.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.msg, tt.opts)
			if m.Token != tt.token || m.TokenSource != tt.source || m.Unsubscribe != tt.unsubscribe {
				t.Errorf("token %q from %s (unsubscribe %v), want %q from %s (%v)",
					m.Token, m.TokenSource, m.Unsubscribe, tt.token, tt.source, tt.unsubscribe)
			}
			if m.Format != tt.format || m.Class != tt.class {
				t.Errorf("format %s class %s, want %s %s", m.Format, m.Class, tt.format, tt.class)
			}
			if tt.addr != "" {
				if len(m.Recipients) == 0 {
					t.Fatalf("no recipients, want %s", tt.addr)
				}
				r := m.Recipients[0]
				if r.Address != tt.addr || r.Original != tt.orig || r.Status != tt.status ||
					(tt.diag != "" && r.Diagnostic != tt.diag) {
					t.Errorf("recipient %+v, want %s (%s) %s %q", r, tt.addr, tt.orig, tt.status, tt.diag)
				}
			}
			if !strings.Contains(m.Problem, tt.problemSubstr) || (tt.problemSubstr == "") != (m.Problem == "") {
				t.Errorf("problem %q, want %q", m.Problem, tt.problemSubstr)
			}
			checkStrings(t, m)
		})
	}
}

// TestReaderError: only an error of the reader is an error, wrapped.
func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(dsn(oneFailed, "")[:200]), iotest.ErrReader(boom))
	m, err := Parse(r, Options{})
	if m != nil || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "bounce: read message: ") {
		t.Errorf("Parse on a failing reader = %v, %v", m, err)
	}
	// A reader that returns data with io.EOF is fine.
	m, err = Parse(iotest.DataErrReader(strings.NewReader(dsn(oneFailed, ""))), Options{})
	if err != nil || m.Class != Hard {
		t.Errorf("Parse(DataErrReader) = %v, %v", m, err)
	}
	// One byte at a time.
	m, err = Parse(iotest.OneByteReader(strings.NewReader(dsn(oneFailed, ""))), Options{})
	if err != nil || m.Class != Hard || len(m.Recipients) != 1 {
		t.Errorf("Parse(OneByteReader) = %+v, %v", m, err)
	}
}

// TestRaw: Raw is the first MaxRaw bytes, Size the whole length.
func TestRaw(t *testing.T) {
	msg := dsn(oneFailed, "") + strings.Repeat("epilogue line\n", 40000)
	m := mustParse(t, msg, Options{})
	if !m.Truncated || len(m.Raw) != MaxRaw || m.Size != int64(len(msg)) || !bytes.Equal(m.Raw, []byte(msg[:MaxRaw])) {
		t.Errorf("Truncated %v, Raw %d bytes, Size %d; want true, %d, %d", m.Truncated, len(m.Raw), m.Size, MaxRaw, len(msg))
	}
	if m.Class != Hard {
		t.Errorf("class %s, want hard", m.Class)
	}
	m = mustParse(t, dsn(oneFailed, ""), Options{})
	if m.Truncated || int(m.Size) != len(m.Raw) {
		t.Errorf("small message: Truncated %v, Size %d, Raw %d", m.Truncated, m.Size, len(m.Raw))
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ in, cte, charset, want string }{
		{"caf=E9 =\n=3D ok", "quoted-printable", "iso-8859-1", "café = ok"},
		{"wasn=92t", "Quoted-Printable", "windows-1252", "wasn’t"},
		{"bad =ZZ and =\r\nsoft", "quoted-printable", "", "bad =ZZ and soft"},
		{"YXVmZ2Vm/GhydA0K", "base64", "iso-8859-1", "aufgeführt\r\n"},
		{"YXVm\nZ2Vm\n!!/GhydA==trailing", "base64", "latin1", "aufgeführt"},
		{"\x1b$B$3$s$K$A$O\x1b(B", "7bit", "iso-2022-jp", "こんにちは"},
		{"\xcf\xf0\xe8\xe2\xe5\xf2", "8bit", "windows-1251", "Привет"},
		{"bad \xff utf-8", "", "utf-8", "bad \uFFFD utf-8"},
		{"unknown \xe9", "", "x-no-such-charset", "unknown \uFFFD"},
	}
	for _, tt := range tests {
		if got := toUTF8(decodeTransfer([]byte(tt.in), tt.cte), tt.charset); got != tt.want {
			t.Errorf("decode(%q, %s, %s) = %q, want %q", tt.in, tt.cte, tt.charset, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"=?iso-8859-1?Q?Non_remis_:_deuxi=E8me?=": "Non remis : deuxième",
		"=?utf-8?B?44Gr44KD44KT44GT?=":            "にゃんこ",
		"=?x-unknown?Q?abc?=":                     "abc",
		// Bad base64 padding (Office 365), then words with white space
		// between them, a Q word, and a word cut short.
		"=?ISO-2022-JP?B?VW5kZWxpdmVyYWJsZTogGyRCJEskYyE8JHMbKEI==?=": "Undeliverable: にゃーん",
		"=?utf-8?B?44Gr44KD?= \t =?utf-8?Q?=E3=82=93_x?= =?bad":       "にゃん x =?bad",
		"a =?iso-8859-1?X?abc?= b =?utf-8?B?4oCZ?=!":                  "a =?iso-8859-1?X?abc?= b ’!",
		"plain": "plain",
	} {
		if got := decodeHeader(in); got != want {
			t.Errorf("decodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
	if got := htmlText("<p>a&amp;b</p><script>x</script><style>y</style>c<br>d"); got != "\na&b\nc\nd" {
		t.Errorf("htmlText = %q", got)
	}
	if got := clean("a\r\nb\t\x00c\u200bd  \u00a0e", 100); got != "a b c d e" {
		t.Errorf("clean = %q", got)
	}
	if got := clean(strings.Repeat("é", 10), 5); got != "éé…" {
		t.Errorf("clean cut = %q", got)
	}
}
