package parser

import "bytes"

// Stateless reports whether Parse, for a Parser of format f, neither reads
// nor changes the Parser's multi-line state (Unbound's pending groups) when
// given line: the observations it returns then depend on line alone, and
// such lines may be parsed by several Parsers in any order. It errs on the
// side of false: every line an Unbound group is built from carries the
// thread tag "[pid:tid]", so a line without anything shaped like one is
// stateless. Safe to call from any goroutine.
func (f Format) Stateless(line []byte) bool {
	if f == BIND || f == UnboundInfra {
		return true // neither ever parses Unbound's frames
	}
	return !hasThreadTag(line)
}

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
