package parser

import (
	"hash/maphash"
	"net/netip"
)

// The caches of canonical names and of addresses are 2-way set-associative
// arrays: a key hashes to a set of two slots, a hit in the second slot
// swaps it to the first, and a miss overwrites the second after moving the
// first there. A hit neither allocates nor writes outside its set, and
// nothing is ever cleared wholesale.
//
// A cache starts with minSets sets and grows fourfold, keeping its entries,
// each time it has missed as often as it has slots, up to its bound: a
// Parser that reads few lame lines (a small file, a fuzz input) stays
// small, one that reads many grows at most four times, then stays fixed.
// At the bound the slots take:
//
//	names  131,072 slots × 24 B = 3 MiB, plus one string per slot holding
//	       the raw and the canonical name (about 4 MiB for names of
//	       20–30 bytes; in the worst case 131,072 × (300 + 1,000) bytes)
//	addrs   32,768 slots × 48 B = 1.5 MiB, plus one string per slot holding
//	       the raw token (at most 80 bytes; IPv4 tokens with a port are not
//	       cached, see fastServer4)
const (
	minSets  = 1 << 8
	nameSets = 1 << 16
	addrSets = 1 << 14
)

// nameSlot caches the canonical form of one raw name in a single string:
// s is the raw name followed by its canonical form, or only the canonical
// form when that begins with the raw name (BIND's lower-case names, which
// lack the trailing dot, and Unbound's, which have it).
type nameSlot struct {
	s    string
	tag  uint32 // high half of the raw name's hash
	klen uint16 // the raw name is s[:klen]; s == "" is an empty slot
	voff uint16 // the canonical form is s[voff:]; "" remembers a bad name
}

type nameCache struct {
	seed   maphash.Seed
	sets   [][2]nameSlot
	misses int // since the last growth
}

func newNameCache(seed maphash.Seed) nameCache {
	return nameCache{seed: seed, sets: make([][2]nameSlot, minSets)}
}

// get returns the cached canonical form of raw ("" for a bad name) and the
// hash to give put on a miss.
func (c *nameCache) get(raw []byte) (s string, hash uint64, ok bool) {
	h := maphash.Bytes(c.seed, raw)
	set := &c.sets[h&uint64(len(c.sets)-1)]
	tag := uint32(h >> 32)
	if e := &set[0]; e.tag == tag && int(e.klen) == len(raw) && e.s[:e.klen] == string(raw) {
		return e.s[e.voff:], h, true
	}
	if e := &set[1]; e.tag == tag && int(e.klen) == len(raw) && e.s[:e.klen] == string(raw) {
		set[0], set[1] = set[1], set[0]
		return set[0].s[set[0].voff:], h, true
	}
	return "", h, false
}

// put caches canon as the canonical form of raw (or, if !valid, raw as a
// bad name), raw's hash being what get returned, and returns the canonical
// form as stored ("" for a bad name). raw is 1 to maxCachedKey bytes.
func (c *nameCache) put(raw, canon []byte, hash uint64, valid bool) string {
	e := nameSlot{tag: uint32(hash >> 32), klen: uint16(len(raw))}
	switch {
	case !valid:
		e.s = string(raw)
		e.voff = e.klen
	case len(canon) >= len(raw) && string(canon[:len(raw)]) == string(raw):
		e.s = string(canon)
	default:
		b := make([]byte, 0, len(raw)+len(canon))
		e.s = string(append(append(b, raw...), canon...))
		e.voff = e.klen
	}
	if c.misses++; c.misses >= 2*len(c.sets) && len(c.sets) < nameSets {
		c.grow()
	}
	c.insert(e, hash)
	return e.s[e.voff:]
}

func (c *nameCache) insert(e nameSlot, hash uint64) {
	set := &c.sets[hash&uint64(len(c.sets)-1)]
	set[1] = set[0]
	set[0] = e
}

// grow makes the cache four times larger (at most nameSets sets) and moves
// the entries over, in each set the older first.
func (c *nameCache) grow() {
	old := c.sets
	c.sets = make([][2]nameSlot, min(4*len(old), nameSets))
	c.misses = 0
	for i := range old {
		for w := 1; w >= 0; w-- {
			if e := old[i][w]; e.s != "" {
				c.insert(e, maphash.String(c.seed, e.s[:e.klen]))
			}
		}
	}
}

// addrSlot caches one parsed address token of one syntax; port 0
// remembers a token that does not parse.
type addrSlot struct {
	key    string // "" is an empty slot
	addr   netip.Addr
	port   uint16
	syntax byte
	tag    uint32
}

type addrCache struct {
	seed   maphash.Seed
	sets   [][2]addrSlot
	misses int // since the last growth
}

func newAddrCache(seed maphash.Seed) addrCache {
	return addrCache{seed: seed, sets: make([][2]addrSlot, minSets)}
}

// withSyntax mixes an address syntax into the hash of a token.
func withSyntax(hash uint64, syntax byte) uint64 {
	return hash ^ uint64(syntax)*0x9e3779b97f4a7c15
}

// get returns the cached server of the token b in syntax (port 0: a bad
// token) and the hash to give put on a miss.
func (c *addrCache) get(b []byte, syntax byte) (s server, hash uint64, ok bool) {
	h := withSyntax(maphash.Bytes(c.seed, b), syntax)
	set := &c.sets[h&uint64(len(c.sets)-1)]
	tag := uint32(h >> 32)
	if e := &set[0]; e.tag == tag && e.syntax == syntax && e.key == string(b) {
		return server{e.addr, e.port}, h, true
	}
	if e := &set[1]; e.tag == tag && e.syntax == syntax && e.key == string(b) {
		set[0], set[1] = set[1], set[0]
		return server{set[0].addr, set[0].port}, h, true
	}
	return server{}, h, false
}

// put caches s as the server of the token b (1 to 80 bytes) in syntax, its
// hash being what get returned.
func (c *addrCache) put(b []byte, syntax byte, s server, hash uint64) {
	if c.misses++; c.misses >= 2*len(c.sets) && len(c.sets) < addrSets {
		c.grow()
	}
	c.insert(addrSlot{key: string(b), addr: s.addr, port: s.port, syntax: syntax, tag: uint32(hash >> 32)}, hash)
}

func (c *addrCache) insert(e addrSlot, hash uint64) {
	set := &c.sets[hash&uint64(len(c.sets)-1)]
	set[1] = set[0]
	set[0] = e
}

// grow makes the cache four times larger (at most addrSets sets) and moves
// the entries over, in each set the older first.
func (c *addrCache) grow() {
	old := c.sets
	c.sets = make([][2]addrSlot, min(4*len(old), addrSets))
	c.misses = 0
	for i := range old {
		for w := 1; w >= 0; w-- {
			if e := old[i][w]; e.key != "" {
				c.insert(e, withSyntax(maphash.String(c.seed, e.key), e.syntax))
			}
		}
	}
}
