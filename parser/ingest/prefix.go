package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/lamers-dev/lamers/store"
)

// Prefix marks (docs/exactly-once.md, "Prefixes"). While content is read,
// the first line end at or after each mark position (markAfter: 1 KiB,
// 2 KiB, then every 4 KiB up to 64 KiB, then every power of two) becomes a
// store.PrefixMark of the checkpoint: its offset, the lines before it and the
// hash of the bytes before it, as for a checkpoint's own offset. A file
// shorter than a checkpoint of its fingerprint is a prefix of that content
// when its bytes match at the last mark it reaches: the same argument as
// for resuming (the same first line, the same 4096 bytes before a
// position), applied at the mark instead of the checkpoint's offset; the
// bytes after the mark are the stream's by the same token, since a stream
// only grows at its end. Such a file adds nothing.
//
// The limit of the argument: the last mark a file reaches is within 4 KiB
// of its end below 64 KiB, and at least half its length above. A file that
// is the same as content already read up to there and differs only after
// it (logs without timestamps, the same lines after every start of named)
// is taken for a prefix.

// markAfter returns the first mark position above off (see above).
func markAfter(off int64) int64 {
	const step, dense = 4 << 10, 64 << 10
	switch {
	case off < 1<<10:
		return 1 << 10
	case off < 2<<10:
		return 2 << 10
	case off < dense:
		return (off/step + 1) * step
	}
	n := bits.Len64(uint64(off))
	if n >= 63 {
		return math.MaxInt64
	}
	return 1 << n
}

// prefixOf reports whether c is a prefix of the content of one of cands
// (ascending by offset), which c's hashes at their offsets (hashes) did
// not match, and if so how many lines c holds.
func prefixOf(c *content, cands []store.Checkpoint, hashes [][]byte) (lines int64, ok bool, err error) {
	var offs []int64
	for i, cp := range cands {
		if hashes[i] != nil { // c reaches the offset: a longer, different file
			continue
		}
		for _, m := range cp.Marks {
			offs = append(offs, m.Offset)
		}
	}
	if len(offs) == 0 {
		return 0, false, nil
	}
	slices.Sort(offs)
	offs = slices.Compact(offs)
	got, err := c.tailHashes(offs)
	if err != nil {
		return 0, false, err
	}
	at := make(map[int64][]byte, len(offs))
	for i, off := range offs {
		if got[i] != nil {
			at[off] = got[i]
		}
	}
	for i := len(cands) - 1; i >= 0; i-- {
		if hashes[i] != nil {
			continue
		}
		// The last mark c reaches decides.
		ms := cands[i].Marks
		for j := len(ms) - 1; j >= 0; j-- {
			h, reached := at[ms[j].Offset]
			if !reached {
				continue
			}
			if !bytes.Equal(h, ms[j].Hash) {
				break
			}
			n, err := c.linesFrom(ms[j].Offset)
			return ms[j].Lines + n, true, err
		}
	}
	return 0, false, nil
}

// linesFrom counts the lines of c after offset: the complete ones, and a
// last one without newline when c is final.
func (c *content) linesFrom(offset int64) (int64, error) {
	rc, err := c.openAt(offset)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	var n int64
	partial := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			partial = chunk[len(chunk)-1] != '\n'
			if !partial {
				n++
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if partial && c.final {
				n++
			}
			return n, nil
		default:
			return 0, err
		}
	}
}
