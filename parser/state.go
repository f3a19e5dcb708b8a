package parser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// stateMagic opens every non-empty State blob; the digit is the version.
// Version 1 (groups only) is still read.
const (
	stateMagic   = "lamers-parser-state-2\n"
	stateMagicV1 = "lamers-parser-state-1\n"
)

// maxField bounds every field of a group (names as printed by Unbound are
// at most ~1 KiB; addresses are shorter).
const maxField = 2048

// State returns the Parser's multi-line state (Unbound groups whose last
// line has not been read yet, and the first lines of two-line events that
// a later line may still pair with, see pair.go) as bytes to store with a
// checkpoint. The same state always gives the same bytes; no state gives an
// empty slice. Caches are not part of the state: they never change results.
//
// Layout: stateMagic, uvarint group count, then per group in order of last touch: uvarint-prefixed key, one flags
// byte (1 query, 2 reply), and uvarint-prefixed qname, qtype, zone and
// server; uvarint notice count, then per notice, oldest first: flags byte
// (1 forwarder), 8-byte hash, varint line, varint time; uvarint verdict
// count, then per verdict, oldest first: 8-byte hash, uvarint port.
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
	var notices []notice
	for k := maxNotices; k >= 1; k-- {
		if n := p.pairs.notices[(p.pairs.nNext-k+maxNotices)%maxNotices]; n.h != 0 {
			notices = append(notices, n)
		}
	}
	var verdicts []verdict
	for k := maxVerdicts; k >= 1; k-- {
		if v := p.pairs.verdicts[(p.pairs.vNext-k+maxVerdicts)%maxVerdicts]; v.h != 0 {
			verdicts = append(verdicts, v)
		}
	}
	if len(groups) == 0 && len(notices) == 0 && len(verdicts) == 0 {
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
	b = binary.AppendUvarint(b, uint64(len(notices)))
	for _, n := range notices {
		var flags byte
		if n.forwarder {
			flags = 1
		}
		b = append(b, flags)
		b = binary.LittleEndian.AppendUint64(b, n.h)
		b = binary.AppendVarint(b, n.line)
		b = binary.AppendVarint(b, n.t)
	}
	b = binary.AppendUvarint(b, uint64(len(verdicts)))
	for _, v := range verdicts {
		b = binary.LittleEndian.AppendUint64(b, v.h)
		b = binary.AppendUvarint(b, uint64(v.port))
	}
	return b
}

func appendField(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

var errState = errors.New("malformed state")

// Restore replaces the Parser's multi-line state with one returned by
// State (possibly by another Parser, or by a version-1 Parser). An empty
// blob clears it. A malformed blob is an error and leaves the state
// unchanged.
func (p *Parser) Restore(state []byte) error {
	if len(state) == 0 {
		clear(p.pending)
		p.pairs = pairs{}
		return nil
	}
	st, err := decodeState(state)
	if err != nil {
		return fmt.Errorf("parser: restore state: %w", err)
	}
	clear(p.pending)
	p.seq = 0
	for _, g := range st.groups {
		p.seq++
		g.p.seq = p.seq
		p.pending[g.key] = g.p
	}
	p.pairs = pairs{}
	for _, n := range st.notices {
		p.pairs.notices[p.pairs.nNext] = n
		p.pairs.nNext = (p.pairs.nNext + 1) % maxNotices
	}
	for _, v := range st.verdicts {
		p.addVerdict(v.h, v.port)
	}
	for _, n := range st.notices {
		// A Parser that is not given line numbers goes on from the last
		// notice's.
		p.line = max(p.line, n.line)
	}
	return nil
}

type keyedGroup struct {
	key string
	p   *pending
}

// decoded is a State blob's content.
type decoded struct {
	v2       bool
	groups   []keyedGroup
	notices  []notice
	verdicts []verdict
}

func decodeState(b []byte) (decoded, error) {
	var st decoded
	switch {
	case len(b) >= len(stateMagic) && string(b[:len(stateMagic)]) == stateMagic:
		st.v2 = true
	case len(b) >= len(stateMagicV1) && string(b[:len(stateMagicV1)]) == stateMagicV1:
	default:
		return st, fmt.Errorf("%w: bad header", errState)
	}
	b = b[len(stateMagic):]
	uvarint := func(max uint64, what string) (uint64, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > max {
			return 0, fmt.Errorf("%w: bad %s", errState, what)
		}
		b = b[k:]
		return n, nil
	}
	varint := func(what string) (int64, error) {
		n, k := binary.Varint(b)
		if k <= 0 {
			return 0, fmt.Errorf("%w: bad %s", errState, what)
		}
		b = b[k:]
		return n, nil
	}
	hash := func() (uint64, error) {
		if len(b) < 8 {
			return 0, fmt.Errorf("%w: truncated hash", errState)
		}
		h := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if h == 0 {
			return 0, fmt.Errorf("%w: zero hash", errState)
		}
		return h, nil
	}
	n, err := uvarint(maxPending, "group count")
	if err != nil {
		return st, err
	}
	if !st.v2 && n == 0 {
		return st, fmt.Errorf("%w: bad group count", errState)
	}
	field := func() ([]byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) || l > maxField {
			return nil, fmt.Errorf("%w: truncated field", errState)
		}
		f := b[k : k+int(l)]
		b = b[k+int(l):]
		return append([]byte(nil), f...), nil
	}
	st.groups = make([]keyedGroup, 0, n)
	seen := make(map[string]bool, n)
	for range n {
		key, err := field()
		if err != nil {
			return st, err
		}
		if len(key) == 0 || seen[string(key)] {
			return st, fmt.Errorf("%w: bad or repeated key", errState)
		}
		seen[string(key)] = true
		if len(b) == 0 || b[0] == 0 || b[0] > 3 {
			return st, fmt.Errorf("%w: bad flags", errState)
		}
		g := &pending{hasQuery: b[0]&1 != 0, hasReply: b[0]&2 != 0}
		b = b[1:]
		for _, f := range []*[]byte{&g.qname, &g.qtype, &g.zone, &g.server} {
			if *f, err = field(); err != nil {
				return st, err
			}
		}
		st.groups = append(st.groups, keyedGroup{string(key), g})
	}
	if st.v2 {
		if n, err = uvarint(maxNotices, "notice count"); err != nil {
			return st, err
		}
		for range n {
			if len(b) == 0 || b[0] > 1 {
				return st, fmt.Errorf("%w: bad notice flags", errState)
			}
			nt := notice{forwarder: b[0] == 1}
			b = b[1:]
			if nt.h, err = hash(); err != nil {
				return st, err
			}
			if nt.line, err = varint("notice line"); err != nil {
				return st, err
			}
			if nt.t, err = varint("notice time"); err != nil {
				return st, err
			}
			st.notices = append(st.notices, nt)
		}
		if n, err = uvarint(maxVerdicts, "verdict count"); err != nil {
			return st, err
		}
		for range n {
			var v verdict
			if v.h, err = hash(); err != nil {
				return st, err
			}
			port, err := uvarint(1<<16-1, "verdict port")
			if err != nil {
				return st, err
			}
			v.port = uint16(port)
			st.verdicts = append(st.verdicts, v)
		}
		if len(st.groups) == 0 && len(st.notices) == 0 && len(st.verdicts) == 0 {
			return st, fmt.Errorf("%w: empty state", errState)
		}
	}
	if len(b) != 0 {
		return st, fmt.Errorf("%w: trailing bytes", errState)
	}
	return st, nil
}
