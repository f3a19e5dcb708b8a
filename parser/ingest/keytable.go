package ingest

import "hash/maphash"

// keyTable indexes an aggregate's findings by key: open addressing with
// linear probing over 8-byte slots that hold a tag from the key's hash and
// the finding's index, at most half full. A lookup reads one slot, then the
// finding, which add updates anyway. A Go map would hold the 64-byte keys in
// its slots: one cache miss more per observation, and four times the memory
// (a batch's 84,000 findings: 2 MiB of slots here, 8 MiB of map).
type keyTable struct {
	seed  maphash.Seed
	slots []keySlot
	n     int
}

// keySlot is one slot of a keyTable; idx 0 marks an empty one.
type keySlot struct {
	tag uint32 // the high half of the key's hash
	idx int32  // the finding's index + 1
}

const minKeySlots = 1 << 10

func newKeyTable(seed maphash.Seed) keyTable {
	return keyTable{seed: seed, slots: make([]keySlot, minKeySlots)}
}

func (t *keyTable) hash(k *findingKey) uint64 { return maphash.Comparable(t.seed, *k) }

// find returns the index in fs of the finding with key k (hash h), or the
// slot to give insert.
func (t *keyTable) find(k *findingKey, h uint64, fs *slab[aggFinding]) (idx int32, slot int, ok bool) {
	mask := len(t.slots) - 1
	tag := uint32(h >> 32)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx == 0 {
			return 0, i, false
		}
		if s.tag == tag && fs.at(s.idx-1).key == *k {
			return s.idx - 1, i, true
		}
	}
}

// insert records finding idx of fs, whose key has hash h, in the slot find
// returned, and grows the table when it is half full.
func (t *keyTable) insert(slot int, h uint64, idx int32, fs *slab[aggFinding]) {
	t.slots[slot] = keySlot{tag: uint32(h >> 32), idx: idx + 1}
	if t.n++; 2*t.n > len(t.slots) {
		t.slots = regrow(t.slots, func(s keySlot) uint64 { return t.hash(&fs.at(s.idx - 1).key) })
	}
}

// regrow returns an open-addressing table of twice as many slots as old
// holding old's entries (the slots that are not the zero value), each
// placed by hash with linear probing.
func regrow[S comparable](old []S, hash func(S) uint64) []S {
	var empty S
	slots := make([]S, 2*len(old))
	mask := len(slots) - 1
	for _, s := range old {
		if s == empty {
			continue
		}
		i := int(hash(s)) & mask
		for slots[i] != empty {
			i = (i + 1) & mask
		}
		slots[i] = s
	}
	return slots
}

// reset empties the table; it keeps its size.
func (t *keyTable) reset() {
	clear(t.slots)
	t.n = 0
}

// rowTable indexes the rows (in an aggregate's rs) of the findings that have
// more than rowScan of them, by (finding, day, kind): open addressing with
// linear probing, at most half full, like keyTable. Row 0 of a finding
// lives in the finding and is not indexed.
type rowTable struct {
	seed  maphash.Seed
	slots []rowSlot
	n     int
}

// rowSlot is one slot of a rowTable; row 0 marks an empty one.
type rowSlot struct {
	f   int32 // the finding's index
	row int32 // the row's index in rs + 1
}

// rowKey is what a rowTable looks rows up by.
type rowKey struct {
	f    int32
	day  int32
	kind uint16
}

func (t *rowTable) hash(k *rowKey) uint64 { return maphash.Comparable(t.seed, *k) }

// find returns the index in rs of the row with key k, or the slot to give
// insert.
func (t *rowTable) find(k *rowKey, rs *slab[aggRow]) (row int32, slot int, ok bool) {
	if len(t.slots) == 0 {
		t.slots = make([]rowSlot, minKeySlots)
	}
	mask := len(t.slots) - 1
	for i := int(t.hash(k)) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.row == 0 {
			return 0, i, false
		}
		if s.f == k.f {
			if r := rs.at(s.row - 1); r.day == k.day && r.kind == k.kind {
				return s.row - 1, i, true
			}
		}
	}
}

// insert records row, whose key is k, in the slot find returned, and grows
// the table when it is half full.
func (t *rowTable) insert(slot int, k *rowKey, row int32, rs *slab[aggRow]) {
	t.slots[slot] = rowSlot{f: k.f, row: row + 1}
	if t.n++; 2*t.n > len(t.slots) {
		t.slots = regrow(t.slots, func(s rowSlot) uint64 {
			r := rs.at(s.row - 1)
			return t.hash(&rowKey{f: s.f, day: r.day, kind: r.kind})
		})
	}
}

// reset empties the table; it keeps its size.
func (t *rowTable) reset() {
	clear(t.slots)
	t.n = 0
}
