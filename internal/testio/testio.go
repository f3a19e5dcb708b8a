// Package testio holds readers that tests and benchmarks build large
// inputs from without holding them in memory.
package testio

import "io"

// Repeat returns a reader of n bytes: line over and over, the last copy
// cut where n ends.
func Repeat(line string, n int64) io.Reader {
	return io.LimitReader(&repeat{line: line}, n)
}

// repeat reads line for ever.
type repeat struct {
	line string
	off  int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}
