package bounce

import (
	"bytes"
	"strings"
)

// field is one unfolded header field; the name is lowercased.
type field struct{ name, value string }

// header is the fields of one header or DSN field block, in order.
type header []field

// get returns the value of the first field named name (lowercase), or "".
func (h header) get(name string) string {
	for _, f := range h {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// all returns the values of every field named name (lowercase).
func (h header) all(name string) []string {
	var vs []string
	for _, f := range h {
		if f.name == name {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// parseFields parses one block of header fields (RFC 5322 §2.2): folded
// lines are unfolded (RFC 5322 §2.2.3), values are trimmed and cut to
// fieldLimit bytes, lines that are neither fields nor continuations are
// skipped.
func parseFields(raw []byte) header {
	var h header
	var value []byte
	flush := func() {
		if len(h) > 0 && value != nil {
			h[len(h)-1].value = string(bytes.TrimSpace(value))
		}
		value = nil
	}
	for len(raw) > 0 {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte{'\n'})
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if value != nil && len(value) < fieldLimit {
				value = append(value, line[:min(len(line), fieldLimit-len(value))]...)
			}
			continue
		}
		if !isFieldLine(line) {
			flush()
			continue
		}
		flush()
		colon := bytes.IndexByte(line, ':')
		name := strings.ToLower(string(bytes.TrimRight(line[:colon], " \t")))
		h = append(h, field{name: name})
		rest := line[colon+1:]
		value = append(make([]byte, 0, len(rest)), rest[:min(len(rest), fieldLimit)]...)
	}
	flush()
	return h
}

// fieldBlocks parses text made of blocks of fields separated by empty
// lines, as in message/delivery-status (RFC 3464 §2.1) and
// message/feedback-report (RFC 5965 §3).
func fieldBlocks(data []byte) []header {
	var blocks []header
	from := 0
	for i := 0; i <= len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		end := i + j + 1
		if j < 0 {
			end = len(data)
		}
		if j < 0 || len(bytes.TrimSpace(data[i:end])) == 0 {
			if h := parseFields(data[from:end]); len(h) > 0 {
				blocks = append(blocks, h)
			}
			from = end
		}
		if j < 0 {
			break
		}
		i = end
	}
	return blocks
}
