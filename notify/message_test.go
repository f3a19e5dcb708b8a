package notify_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/notify"
)

// checkMessage parses a message as lamers writes it (raw, CRLF line ends)
// and checks every header field and the multipart/alternative structure
// against the letter it was written from.
func checkMessage(t testing.TB, raw []byte, l *notify.Letter) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a line ends in a bare LF")
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long (RFC 5322 §2.1.1: at most 998)", i+1, len(line))
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	dec := new(mime.WordDecoder)
	header := func(name string) string {
		t.Helper()
		v, err := dec.DecodeHeader(m.Header.Get(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		return v
	}
	want := map[string]string{
		"To":                       "<" + l.To + ">",
		"Subject":                  l.Subject,
		"Message-Id":               l.MessageID,
		"Auto-Submitted":           "auto-generated",
		"Precedence":               "bulk",
		"X-Auto-Response-Suppress": "All",
		"List-Unsubscribe":         l.ListUnsubscribe,
		"X-Lamers-Token":           l.Token,
		"Mime-Version":             "1.0",
	}
	for name, v := range want {
		if got := header(name); got != v {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
	for name, v := range map[string]string{"From": l.From, "Reply-To": l.ReplyTo} {
		if v == "" {
			if _, ok := m.Header[name]; ok {
				t.Errorf("%s present: %q", name, m.Header.Get(name))
			}
			continue
		}
		got, err1 := mail.ParseAddress(m.Header.Get(name))
		w, err2 := mail.ParseAddress(v)
		if err1 != nil || err2 != nil || *got != *w {
			t.Errorf("%s: %q (%v), want %q (%v)", name, m.Header.Get(name), err1, v, err2)
		}
	}
	if date, err := m.Header.Date(); err != nil || !date.Equal(l.Date) {
		t.Errorf("Date: %q (%v), want %v", m.Header.Get("Date"), err, l.Date)
	}
	// Only the fields above, and none that leaks the envelope or the
	// software.
	allowed := map[string]bool{"From": true, "Reply-To": true, "Date": true, "Content-Type": true}
	for name := range want {
		allowed[name] = true
	}
	for name := range m.Header {
		if !allowed[name] {
			t.Errorf("unexpected header field %s: %q", name, m.Header.Get(name))
		}
	}

	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for i, w := range []struct{ typ, body string }{{"text/plain", l.Text}, {"text/html", l.HTML}} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		pt, pp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || pt != w.typ || !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %d: Content-Type %q (%v), want %s; charset=UTF-8", i+1, p.Header.Get("Content-Type"), err, w.typ)
		}
		// multipart.Reader decodes quoted-printable and drops the header.
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != w.body {
			t.Errorf("part %d (%s) differs from the letter's:\n%s", i+1, w.typ, got)
		}
	}
	if p, err := mr.NextPart(); err != io.EOF {
		t.Errorf("a third part (%v): %v", p, err)
	}
}

func TestWriteTo(t *testing.T) {
	l, err := notify.Compose(loadTemplates(t), several(), settings())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := l.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, raw, l)

	// Non-ASCII text is RFC 2047-encoded, and comes back decoded.
	l.Subject = "Lame delegation: bücher.example. on 192.0.2.1"
	l.From = "DNS-Gesundheit Jäger <dns@resolver.example.net>"
	l.ReplyTo = ""
	raw, err = l.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("ü")) || bytes.Contains(raw, []byte("ä")) {
		t.Error("8-bit text in the message")
	}
	checkMessage(t, raw, l)
}

// A letter made by hand with hostile header text is refused as a whole:
// nothing is written.
func TestWriteToRefuses(t *testing.T) {
	good, err := notify.Compose(loadTemplates(t), several(), settings())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*notify.Letter)
		want string
	}{
		{"CR LF in Subject", func(l *notify.Letter) { l.Subject = "Lame\r\nBcc: victim@x" }, "Subject"},
		{"LF in Subject", func(l *notify.Letter) { l.Subject = "Lame\nBcc: victim@x" }, "control character"},
		{"NUL in Subject", func(l *notify.Letter) { l.Subject = "Lame\x00" }, "control character"},
		{"C1 control in Subject", func(l *notify.Letter) { l.Subject = "Lame\u0085x" }, "control character"},
		{"invalid UTF-8 Subject", func(l *notify.Letter) { l.Subject = "Lame \xff" }, "not UTF-8"},
		{"CR LF in To", func(l *notify.Letter) { l.To = "a@example.com\r\nBcc: victim@x" }, "To"},
		{"two recipients", func(l *notify.Letter) { l.To = "a@example.com, victim@x" }, "To"},
		{"CR LF in envelope sender", func(l *notify.Letter) { l.EnvelopeFrom = "b@example.net\r\nRCPT TO:<victim@x>" }, "envelope sender"},
		{"CR LF in From", func(l *notify.Letter) { l.From = "a@example.net\r\nBcc: victim@x" }, "From"},
		{"bad Message-ID", func(l *notify.Letter) { l.MessageID = "<x>\r\nBcc: victim@x" }, "Message-ID"},
		{"Message-ID without brackets", func(l *notify.Letter) { l.MessageID = "lamers.x@example.net" }, "not <left@right>"},
		{"bad List-Unsubscribe", func(l *notify.Letter) { l.ListUnsubscribe = "<https://x/>" }, "List-Unsubscribe"},
		{"bad token", func(l *notify.Letter) { l.Token = "x\r\nBcc: victim@x" }, "X-Lamers-Token"},
		{"no Subject", func(l *notify.Letter) { l.Subject = "" }, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := *good
			tt.edit(&l)
			var b bytes.Buffer
			_, err := l.WriteTo(&b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written", b.Len())
			}
		})
	}
}
