package parser

import "bytes"

// Stateless reports whether Parse, for a Parser of format f, leaves the
// Parser's multi-line state alone when given line and reads none but what
// a stateful line at most ContextLines lines before it left: such lines
// may be parsed by several Parsers in any order, as long as the lines that
// follow a stateful line closely go, with it, to one Parser in order, and
// every Parser is told each line's number (SetLine). Stateful are the lines
// of Unbound's groups and verdicts (they all carry the thread tag
// "[pid:tid]"; Stateless errs on the side of false and calls any line with
// something shaped like one stateful) and BIND's "DNS format error"
// notices, whose FORMERR lines follow (pair.go). Safe to call from any
// goroutine.
func (f Format) Stateless(line []byte) bool {
	if f != Unbound && bytes.Contains(line, b4FormErr) {
		return false
	}
	if f == BIND || f == UnboundInfra {
		return true // neither ever parses Unbound's frames
	}
	return !hasThreadTag(line)
}

// ContextLines is how far after a stateful line (Stateless) a line may
// still depend on it: BIND logs the FORMERR line of a "DNS format error"
// notice right after it, other threads' lines at most in between.
const ContextLines = 256

// hasThreadTag reports whether line holds "[" digits ":" hex digits "]"
// anywhere.
func hasThreadTag(line []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(line[i:], ']')
		if j < 0 {
			return false
		}
		j += i
		if threadTagBefore(line, j) {
			return true
		}
		i = j + 1
	}
}

// threadTagBefore reports whether the "]" at line[end] closes "[pid:tid]".
func threadTagBefore(line []byte, end int) bool {
	k := end - 1
	for k >= 0 && isHex(line[k]) {
		k--
	}
	if k == end-1 || k < 0 || line[k] != ':' {
		return false
	}
	k--
	d := k
	for k >= 0 && isDigit(line[k]) {
		k--
	}
	return k < d && k >= 0 && line[k] == '['
}

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }
