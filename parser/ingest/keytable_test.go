package ingest

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"testing"
)

// TestKeyTable fills a table past several growths with keys that differ in
// one field each, and wants every key found at its index, and keys never
// added not found.
func TestKeyTable(t *testing.T) {
	var fs slab[aggFinding]
	tab := newKeyTable(maphash.MakeSeed())
	key := func(i int) findingKey {
		k := findingKey{server: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 7)}), port: 53}
		switch i % 3 {
		case 0:
			k.zone = fmt.Sprintf("z%d.example.", i/3)
		case 1:
			k.bucket = fmt.Sprintf("z%d.example.", i/3) // same text, as a bucket
		case 2:
			k.zone, k.port = fmt.Sprintf("z%d.example.", i/3), 5353
		}
		return k
	}
	const n = 5000
	for i := range n {
		k := key(i)
		h := tab.hash(&k)
		if _, _, ok := tab.find(&k, h, &fs); ok {
			t.Fatalf("key %d %+v found before it was added", i, k)
		}
		_, slot, _ := tab.find(&k, h, &fs)
		tab.insert(slot, h, fs.add(aggFinding{key: k}), &fs)
	}
	if len(tab.slots) < 2*n {
		t.Errorf("%d slots for %d keys: more than half full", len(tab.slots), n)
	}
	for i := range n {
		k := key(i)
		idx, _, ok := tab.find(&k, tab.hash(&k), &fs)
		if !ok || idx != int32(i) {
			t.Fatalf("key %d %+v: find = %d, %v", i, k, idx, ok)
		}
		k.server = netip.MustParseAddr("2001:db8::1")
		if _, _, ok := tab.find(&k, tab.hash(&k), &fs); ok {
			t.Fatalf("key %+v found, never added", k)
		}
	}
	tab.reset()
	k := key(0)
	if _, _, ok := tab.find(&k, tab.hash(&k), &fs); ok || tab.n != 0 {
		t.Fatalf("key found after reset")
	}
}
