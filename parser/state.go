package parser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// stateMagic opens every non-empty State blob; the digit is the version.
const stateMagic = "lamers-parser-state-1\n"

// maxField bounds every field of a group (names as printed by Unbound are
// at most ~1 KiB; addresses are shorter).
const maxField = 2048

// State returns the Parser's multi-line state (Unbound groups whose last
// line has not been read yet) as bytes to store with a checkpoint. The
// same state always gives the same bytes; no state gives an empty slice.
// Caches are not part of the state: they never change results.
//
// Layout: stateMagic, uvarint count, then per group in order of last touch:
// uvarint-prefixed key, one flags byte (1 query, 2 reply), and
// uvarint-prefixed qname, qtype, zone and server.
func (p *Parser) State() []byte {
	type kg struct {
		key string
		g   *pending
	}
	var groups []kg
	for k, g := range p.pending {
		if g.hasQuery || g.hasReply {
			groups = append(groups, kg{k, g})
		}
	}
	if len(groups) == 0 {
		return []byte{}
	}
	slices.SortFunc(groups, func(a, b kg) int {
		switch {
		case a.g.seq < b.g.seq:
			return -1
		case a.g.seq > b.g.seq:
			return 1
		}
		return 0
	})
	b := append([]byte(nil), stateMagic...)
	b = binary.AppendUvarint(b, uint64(len(groups)))
	for _, x := range groups {
		var flags byte
		if x.g.hasQuery {
			flags |= 1
		}
		if x.g.hasReply {
			flags |= 2
		}
		b = appendField(b, []byte(x.key))
		b = append(b, flags)
		b = appendField(b, x.g.qname)
		b = appendField(b, x.g.qtype)
		b = appendField(b, x.g.zone)
		b = appendField(b, x.g.server)
	}
	return b
}

func appendField(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

var errState = errors.New("malformed state")

// Restore replaces the Parser's multi-line state with one returned by
// State (possibly by another Parser). An empty blob clears it. A malformed
// blob is an error and leaves the state unchanged.
func (p *Parser) Restore(state []byte) error {
	if len(state) == 0 {
		clear(p.pending)
		return nil
	}
	groups, err := decodeState(state)
	if err != nil {
		return fmt.Errorf("parser: restore state: %w", err)
	}
	clear(p.pending)
	p.seq = 0
	for _, g := range groups {
		p.seq++
		g.p.seq = p.seq
		p.pending[g.key] = g.p
	}
	return nil
}

type keyedGroup struct {
	key string
	p   *pending
}

func decodeState(b []byte) ([]keyedGroup, error) {
	if len(b) < len(stateMagic) || string(b[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("%w: bad header", errState)
	}
	b = b[len(stateMagic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxPending {
		return nil, fmt.Errorf("%w: bad group count", errState)
	}
	b = b[k:]
	field := func() ([]byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) || l > maxField {
			return nil, fmt.Errorf("%w: truncated field", errState)
		}
		f := b[k : k+int(l)]
		b = b[k+int(l):]
		return append([]byte(nil), f...), nil
	}
	groups := make([]keyedGroup, 0, n)
	seen := make(map[string]bool, n)
	for range n {
		key, err := field()
		if err != nil {
			return nil, err
		}
		if len(key) == 0 || seen[string(key)] {
			return nil, fmt.Errorf("%w: bad or repeated key", errState)
		}
		seen[string(key)] = true
		if len(b) == 0 || b[0] == 0 || b[0] > 3 {
			return nil, fmt.Errorf("%w: bad flags", errState)
		}
		g := &pending{hasQuery: b[0]&1 != 0, hasReply: b[0]&2 != 0}
		b = b[1:]
		for _, f := range []*[]byte{&g.qname, &g.qtype, &g.zone, &g.server} {
			if *f, err = field(); err != nil {
				return nil, err
			}
		}
		groups = append(groups, keyedGroup{string(key), g})
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errState)
	}
	return groups, nil
}
