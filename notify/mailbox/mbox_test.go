package mailbox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every message of the mbox text.
func readAll(t testing.TB, r io.Reader) []string {
	t.Helper()
	mb := NewMbox(r)
	var msgs []string
	for {
		m, err := mb.Next()
		if errors.Is(err, io.EOF) {
			return msgs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		b, err := io.ReadAll(m)
		if err != nil {
			t.Fatalf("message %d: %v", len(msgs), err)
		}
		msgs = append(msgs, string(b))
	}
}

func TestMbox(t *testing.T) {
	tests := []struct {
		name, mbox string
		want       []string
	}{
		{"empty", "", nil},
		{"one From line only", "From MAILER-DAEMON Fri Dec  4 20:09:10 2026\n", nil},
		// As Postfix's local(8) appends to a mailbox file: a From line, the
		// message, an empty line.
		{"two messages", "From MAILER-DAEMON  Fri Dec  4 20:09:10 2026\nSubject: a\n\nbody a\n\n" +
			"From MAILER-DAEMON  Fri Dec  4 20:09:11 2026\nSubject: b\n\nbody b\n\n",
			[]string{"Subject: a\n\nbody a\n", "Subject: b\n\nbody b\n"}},
		// mboxrd: quoted From lines lose one '>'; a line with '>' but no
		// From keeps it.
		{"mboxrd quoting", "From x\nSubject: q\n\n>From the start\n>>From quoted\n> quoted\n\n",
			[]string{"Subject: q\n\nFrom the start\n>From quoted\n> quoted\n"}},
		// A From line that does not follow an empty line is part of the
		// message (a writer that did not quote it).
		{"unquoted From in a body", "From x\nSubject: u\n\nline\nFrom here on\n\nFrom y\nSubject: v\n\n",
			[]string{"Subject: u\n\nline\nFrom here on\n", "Subject: v\n"}},
		// Empty lines at the end of a message stay but the separator's.
		{"trailing empty lines", "From x\nSubject: e\n\nbody\n\n\n\nFrom y\nSubject: f\n\nlast\n\n\n",
			[]string{"Subject: e\n\nbody\n\n\n", "Subject: f\n\nlast\n\n"}},
		{"CRLF", "From x\r\nSubject: c\r\n\r\nbody\r\n\r\nFrom y\r\nSubject: d\r\n\r\n",
			[]string{"Subject: c\r\n\r\nbody\r\n", "Subject: d\r\n"}},
		// No From line at the start: the file starts with a message.
		{"no From line", "Subject: n\n\nbody\n", []string{"Subject: n\n\nbody\n"}},
		{"no final newline", "From x\nSubject: z\n\nbody", []string{"Subject: z\n\nbody"}},
		{"From line without a newline", "From x", nil},
		{"empty message between", "From x\n\nFrom y\nSubject: w\n", []string{"", "Subject: w\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, strings.NewReader(tt.mbox))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			// The same, one byte per read.
			got = readAll(t, iotest.OneByteReader(strings.NewReader(tt.mbox)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages read byte by byte (-want +got):\n%s", diff)
			}
		})
	}
}

// Next skips the rest of a message that was not read, lines longer than
// the buffer included.
func TestMboxSkipsUnread(t *testing.T) {
	long := strings.Repeat("x", 3*bufSize+17)
	mbox := "From a\nSubject: 1\n\n" + long + "\n\nFrom " + long + "\nSubject: 2\n\n" + long + "\n\nFrom c\nSubject: 3\n"
	mb := NewMbox(strings.NewReader(mbox))
	var subjects []string
	for {
		m, err := mb.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, len("Subject: 1"))
		if _, err := io.ReadFull(m, head); err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, string(head))
	}
	if want := []string{"Subject: 1", "Subject: 2", "Subject: 3"}; !cmp.Equal(subjects, want) {
		t.Errorf("subjects %q, want %q", subjects, want)
	}
	// and a long line is read whole
	msgs := readAll(t, strings.NewReader(mbox))
	if len(msgs) != 3 || msgs[0] != "Subject: 1\n\n"+long+"\n" {
		t.Errorf("%d messages, the first %d bytes", len(msgs), len(msgs[0]))
	}
}

// A read error ends the file with that error, not with io.EOF.
func TestMboxReadError(t *testing.T) {
	broken := errors.New("disk on fire")
	mb := NewMbox(io.MultiReader(strings.NewReader("From x\nSubject: 1\n\nbody\n"), iotest.ErrReader(broken)))
	m, err := mb.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(m); !errors.Is(err, broken) {
		t.Errorf("reading the message: %v, want %v", err, broken)
	}
	if _, err := mb.Next(); !errors.Is(err, broken) {
		t.Errorf("Next: %v, want %v", err, broken)
	}
}

// writeMbox writes messages as an mboxrd file: a From line, the message
// with its From lines quoted and a final newline, an empty line.
func writeMbox(msgs []string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString("From MAILER-DAEMON Fri Dec  4 20:09:10 2026\n")
		for line := range strings.Lines(m) {
			if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
				b.WriteByte('>')
			}
			b.WriteString(line)
		}
		if !strings.HasSuffix(m, "\n") {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// FuzzMbox checks Mbox on any bytes: no panic, no error from an in-memory
// file, no more bytes out than in; and the messages it reads, written
// again as mboxrd and read again, come back the same (those that ended in
// a newline; the writer adds one).
func FuzzMbox(f *testing.F) {
	for _, s := range []string{
		"From x\nSubject: a\n\n>From b\n\nFrom y\nSubject: c\n\n",
		"From x\r\nSubject: c\r\n\r\nbody\r\n\r\nFrom y\r\n",
		"Subject: n\n\n\n\nFrom z\n",
		"From x\n\n\n\n>>>From \n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs := readAll(t, bytes.NewReader(data))
		total := 0
		for _, m := range msgs {
			total += len(m)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of messages out of %d", total, len(data))
		}
		var kept []string
		for _, m := range msgs {
			if strings.HasSuffix(m, "\n") && !strings.Contains(m, "\r") {
				kept = append(kept, m)
			}
		}
		again := readAll(t, bytes.NewReader(writeMbox(kept)))
		if diff := cmp.Diff(kept, again); len(kept) > 0 && diff != "" {
			t.Fatalf("written and read again (-first +again):\n%s", diff)
		}
	})
}

func TestSkipFromLine(t *testing.T) {
	long := "From MAILER-DAEMON " + strings.Repeat("z", 2*bufSize) + "\n"
	for _, tt := range []struct{ in, want string }{
		// local(8)'s line before a piped message
		{"From MAILER-DAEMON  Fri Dec  4 20:09:10 2026\nReturn-Path: <>\n", "Return-Path: <>\n"},
		{long + "Subject: x\n", "Subject: x\n"},
		{"Return-Path: <>\nFrom nobody\n", "Return-Path: <>\nFrom nobody\n"},
		{"From: a header, not a From line\n", "From: a header, not a From line\n"},
		{"From x", ""},
		{"", ""},
	} {
		r, err := SkipFromLine(strings.NewReader(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != tt.want {
			t.Errorf("SkipFromLine(%.40q) = %.40q, %v; want %.40q", tt.in, got, err, tt.want)
		}
	}
}
