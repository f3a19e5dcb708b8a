package parser

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNameCache checks that a Parser's names are CanonicalName's, on a hit
// or a miss, while its cache grows to its bound and evicts: many more
// distinct names than it holds, in BIND's and Unbound's spellings, with
// upper case, escapes, bad names and names too long to be cached, each
// looked up several times in a random order.
func TestNameCache(t *testing.T) {
	long := strings.Repeat(`\097`, 20) // 80 bytes, 20 octets
	spellings := []func(i int) string{
		func(i int) string { return fmt.Sprintf("h%d.z%d.example", i%10, i) },                 // BIND
		func(i int) string { return fmt.Sprintf("h%d.z%d.example.", i%10, i) },                // Unbound
		func(i int) string { return fmt.Sprintf("WWW.Z%d.Example", i) },                       // folded
		func(i int) string { return fmt.Sprintf(`we\.ird%d.lab`, i) },                         // escaped dot
		func(i int) string { return fmt.Sprintf(`sp\032ace%d.lab`, i) },                       // \DDD
		func(i int) string { return fmt.Sprintf("a..%d.lab", i) },                             // empty label
		func(i int) string { return fmt.Sprintf(`dangling%d\`, i) },                           // bad escape
		func(i int) string { return fmt.Sprintf("%s.%s.%s.%s%d", long, long, long, long, i) }, // > maxCachedKey
		func(i int) string { return fmt.Sprintf("%s%d.lab", strings.Repeat("x", 60), i) },     // label > 63 octets for i >= 1000
	}
	const distinct = 200_000
	raws := make([]string, distinct)
	wants := make([]string, distinct)
	for i := range raws {
		raws[i] = spellings[i%len(spellings)](i)
		wants[i], _ = CanonicalName(raws[i]) // "" for a bad name
	}
	order := make([]int, 0, 3*distinct)
	for range 3 {
		order = append(order, rand.New(rand.NewPCG(1, 2)).Perm(distinct)...)
	}
	p := New(Options{Reference: testReference})
	for _, i := range order {
		got, ok := p.name([]byte(raws[i]))
		if ok != (wants[i] != "") || got != wants[i] {
			t.Fatalf("name(%q) = %q, %v; want %q", raws[i], got, ok, wants[i])
		}
	}
	if n := len(p.names.sets); n != nameSets {
		t.Errorf("name cache has %d sets, want the bound %d", n, nameSets)
	}
}

// TestServerCache checks that a Parser's addresses are parseServer's, on
// a hit or a miss and through fastServer4, while its cache grows to its
// bound and evicts.
func TestServerCache(t *testing.T) {
	spellings := []func(i int) string{
		func(i int) string { return fmt.Sprintf("100.64.%d.%d#53", i/250%256, i%250+1) },
		func(i int) string { return fmt.Sprintf("2001:db8:%x::%x#%d", i>>12, i&0xfff+1, 53+i%2) },
		func(i int) string { return fmt.Sprintf("2001:db8::%x", i) },
		func(i int) string { return fmt.Sprintf("[10.%d.%d.1].%d", i/256%256, i%256, 53+i%2) },
		func(i int) string { return fmt.Sprintf("fe80::%x%%eth%d@5353", i, i%2) },
		func(i int) string { return fmt.Sprintf("::ffff:10.0.%d.%d#53", i/256%256, i%256) },
		func(i int) string { return fmt.Sprintf("10.0.%d.0%d#53", i/256%256, i%10) }, // leading zero
		func(i int) string { return fmt.Sprintf("2001:db8::%x#0", i) },               // port 0
	}
	const distinct = 100_000
	p := New(Options{Reference: testReference})
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3 * distinct {
		i := rng.IntN(distinct)
		b := []byte(spellings[i%len(spellings)](i))
		for _, syntax := range []byte{addrHash, addrAt, addrPlain, addrBracket} {
			want, wantOK := parseServer(b, syntax)
			got, ok := p.server(b, syntax)
			if ok != wantOK || ok && got != want {
				t.Fatalf("server(%q, %q) = %v, %v; want %v, %v", b, syntax, got, ok, want, wantOK)
			}
		}
	}
	if n := len(p.addrs.sets); n != addrSets {
		t.Errorf("address cache has %d sets, want the bound %d", n, addrSets)
	}
}

// TestCacheHitAllocs checks that a name or an address seen before costs
// no allocation.
func TestCacheHitAllocs(t *testing.T) {
	p := New(Options{Reference: testReference})
	names := [][]byte{[]byte("www.upref.lab"), []byte("WWW.UPREF.LAB."), []byte(`we\.ird.lab`), []byte("a..lab")}
	addrs := [][]byte{[]byte("127.53.4.1#53"), []byte("2001:db8::53#53"), []byte("fe80::1%2#53"), []byte("bad#53")}
	parse := func() {
		for _, n := range names {
			p.name(n)
		}
		for _, a := range addrs {
			p.server(a, addrHash)
		}
	}
	parse()
	if n := testing.AllocsPerRun(100, parse); n != 0 {
		t.Errorf("%v allocations for names and addresses seen before, want 0", n)
	}
}
