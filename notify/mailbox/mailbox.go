// Package mailbox reads mail where an MTA or a mail fetcher leaves it for
// `lamers bounce`: one message on a stream (an MTA's pipe), the messages of
// a Maildir, the messages of an mbox file. Each message is handed over as
// a stream and none is ever held whole, whatever its size.
//
// # Formats
//
//   - A piped message may start with an mbox "From SENDER DATE" line
//     (RFC 4155 §2): Postfix's local(8) writes one before a message it
//     pipes to a command. SkipFromLine drops it.
//   - Maildir, as qmail's maildir(5) defines it and fetchmail, getmail,
//     Postfix and Exim write it: complete messages appear in new/; a
//     reader moves each one to cur/ and appends the info ":2," with its
//     flags, here "S" (seen) once the message is stored.
//   - mbox (RFC 4155): messages follow one another, each after a line
//     starting with "From ". Mbox reads the "mboxrd" form: a line of the
//     message that starts with "From ", after any number of '>', was
//     written with one '>' more, which is taken off again.
//
// # Where it departs from the standards
//
//   - A "From " line starts a new mbox message only at the start of the
//     file or after an empty line (the line every writer puts between two
//     messages, which belongs to the format and not to the message): a
//     body line "From …" that a writer forgot to quote does not split a
//     message in two. A file that does not start with a "From " line
//     starts with a message all the same.
//   - Maildir names of other systems' conventions (an info part other than
//     ":2,", Windows' "!") are kept as they are and ":2,S" is appended.
package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// bufSize is the buffer of the readers: the longest line fragment read at
// once. Longer lines are read in fragments.
const bufSize = 64 << 10

var fromLine = []byte("From ")

// SkipFromLine returns a reader of r that leaves out a first line starting
// with "From " (RFC 4155's envelope line, which Postfix's local(8) writes
// before a message it pipes), however long that line is.
func SkipFromLine(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, bufSize)
	head, err := br.Peek(len(fromLine))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mailbox: read: %w", err)
	}
	if bytes.Equal(head, fromLine) {
		if _, err := skipLine(br); err != nil {
			return nil, err
		}
	}
	return br, nil
}

// skipLine reads br to the end of the current line and reports whether it
// reached the end of the input.
func skipLine(br *bufio.Reader) (eof bool, err error) {
	for {
		_, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			return false, nil
		case errors.Is(err, io.EOF):
			return true, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return false, fmt.Errorf("mailbox: read: %w", err)
		}
	}
}

// Maildir is a Maildir directory: new/ holds the messages not read yet,
// cur/ those read.
type Maildir struct {
	dir string
}

// OpenMaildir checks that dir is a Maildir (it has new/ and cur/).
func OpenMaildir(dir string) (*Maildir, error) {
	for _, sub := range []string{"new", "cur"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("mailbox: maildir %s: %w", dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("mailbox: maildir %s: %s is not a directory", dir, sub)
		}
	}
	return &Maildir{dir: dir}, nil
}

// Dir returns the Maildir's directory.
func (d *Maildir) Dir() string { return d.dir }

// New returns the names of the messages in new/, sorted: its regular
// files whose names do not start with ".". (Deliveries write to tmp/ and
// rename into new/, so a file in new/ is complete.)
func (d *Maildir) New() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.dir, "new"))
	if err != nil {
		return nil, fmt.Errorf("mailbox: maildir %s: %w", d.dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Open opens the message name of new/.
func (d *Maildir) Open(name string) (*os.File, error) {
	f, err := os.Open(filepath.Join(d.dir, "new", name))
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	return f, nil
}

// Seen moves the message name from new/ to cur/, its info ":2," with the
// flag S (seen) added to those it has. A message that another reader moved
// to the same name already is not an error.
func (d *Maildir) Seen(name string) error {
	from := filepath.Join(d.dir, "new", name)
	to := filepath.Join(d.dir, "cur", SeenName(name))
	err := os.Rename(from, to)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(to); serr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	return nil
}

// SeenName returns the name of a Maildir message in cur/ once it is seen:
// "1733.M1P2.host" → "1733.M1P2.host:2,S"; flags it has already are kept,
// in ASCII order as maildir(5) wants them ("…:2,FR" → "…:2,FRS").
func SeenName(name string) string {
	base, flags, ok := strings.Cut(name, ":2,")
	if !ok {
		return name + ":2,S"
	}
	if strings.IndexByte(flags, 'S') >= 0 {
		return name
	}
	b := []byte(flags + "S")
	slices.Sort(b)
	return base + ":2," + string(b)
}
