package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Mbox reads the messages of an mbox file one after another (see the
// package comment for the form it reads).
type Mbox struct {
	br  *bufio.Reader
	cur *mboxMessage
	buf []byte // the line buffer, handed from message to message
	err error  // the error that ended the file, io.EOF at its end
}

// NewMbox returns a reader of the messages of the mbox file r.
func NewMbox(r io.Reader) *Mbox {
	return &Mbox{br: bufio.NewReaderSize(r, bufSize), buf: make([]byte, 0, bufSize)}
}

// Next returns the next message, as a reader of its bytes that ends where
// the message ends (its "From " line and the empty line before the next
// one left out, mboxrd quoting undone). The message before it is read to
// its end first if it was not. At the end of the file Next returns io.EOF;
// a "From " line with nothing after it is no message.
func (m *Mbox) Next() (io.Reader, error) {
	if m.cur != nil {
		if _, err := io.Copy(io.Discard, m.cur); err != nil {
			return nil, err
		}
		m.buf, m.cur = m.cur.line[:0], nil
	}
	if m.err != nil {
		return nil, m.err
	}
	head, err := m.br.Peek(len(fromLine))
	if len(head) == 0 || err != nil && !errors.Is(err, io.EOF) {
		m.err = readErr(err)
		return nil, m.err
	}
	if bytes.Equal(head, fromLine) {
		if _, err := skipLine(m.br); err != nil {
			m.err = err
			return nil, err
		}
		if _, err := m.br.Peek(1); err != nil {
			m.err = readErr(err)
			return nil, m.err
		}
	}
	m.cur = &mboxMessage{br: m.br, lineStart: true, line: m.buf[:0]}
	return m.cur, nil
}

// readErr is io.EOF for the end of the input, else the read error wrapped.
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return fmt.Errorf("mailbox: read mbox: %w", err)
}

// mboxMessage reads one message of an mbox file, line fragment by line
// fragment, up to the "From " line of the next one.
type mboxMessage struct {
	br        *bufio.Reader
	line      []byte // the fragment being handed out (a copy), from off
	off       int
	lineStart bool // the next fragment starts a line
	blank     []byte
	held      bool // blank holds an empty line that ends the message if a "From " line follows
	done      bool
	err       error
}

func (m *mboxMessage) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if m.off < len(m.line) {
			c := copy(p[n:], m.line[m.off:])
			n += c
			m.off += c
			continue
		}
		if m.done {
			if n > 0 {
				return n, nil
			}
			return 0, m.err
		}
		m.fill()
	}
	return n, nil
}

// fill reads the next fragment of the message into m.line, or ends it.
func (m *mboxMessage) fill() {
	m.line, m.off = m.line[:0], 0
	if m.lineStart {
		head, _ := m.br.Peek(len(fromLine))
		if m.held && bytes.Equal(head, fromLine) {
			m.end(io.EOF) // the empty line belongs to the separator
			return
		}
	}
	frag, err := m.br.ReadSlice('\n')
	if m.held && len(frag) == 0 && errors.Is(err, io.EOF) {
		m.end(io.EOF) // the empty line mbox writers put after the last message
		return
	}
	if m.held {
		// The empty line held back is part of the message after all.
		m.line, m.held = append(m.line, m.blank...), false
	}
	if m.lineStart && isEmptyLine(frag) && err == nil {
		m.blank, m.held = append(m.blank[:0], frag...), true
		return
	}
	if m.lineStart {
		frag = unquoteFrom(frag)
	}
	m.line = append(m.line, frag...)
	switch {
	case err == nil:
		m.lineStart = true
	case errors.Is(err, bufio.ErrBufferFull):
		m.lineStart = false
	case errors.Is(err, io.EOF):
		m.lineStart = false
		m.end(io.EOF)
	default:
		m.end(readErr(err))
	}
}

// end ends the message with err (io.EOF: its end); an empty line held
// back is left out.
func (m *mboxMessage) end(err error) {
	m.done, m.err, m.held = true, err, false
}

func isEmptyLine(b []byte) bool {
	return len(b) == 1 && b[0] == '\n' || len(b) == 2 && b[0] == '\r' && b[1] == '\n'
}

// unquoteFrom takes one '>' off a line that starts with ">…>From "
// (mboxrd).
func unquoteFrom(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i > 0 && bytes.HasPrefix(line[i:], fromLine) {
		return line[1:]
	}
	return line
}
