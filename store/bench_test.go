package store

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

const benchCounts = 50_000

// benchBatch builds benchCounts counts over findings distinct findings
// (zones or zone-less buckets on 200 servers), spread over 5 days and 2
// evidence kinds. gen makes the zone names differ between iterations when
// new findings are wanted.
func benchBatch(findings, gen int) []Count {
	counts := make([]Count, 0, benchCounts)
	evidence := []string{"lame_referral", "refused"}
	for i := range benchCounts {
		f := i % findings
		server := netip.AddrFrom4([4]byte{192, 0, 2, byte(f % 200)})
		day := time.Date(2026, 11, 17+(i/findings)%5, 1, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		c := Count{Server: server, Port: 53, Source: "bind", Evidence: evidence[(i/findings/5)%2],
			Day: DayOf(day), N: 3, First: day, Last: day.Add(time.Minute)}
		if f%10 == 0 { // a tenth zone-less, at most 25 buckets per server
			c.Bucket = fmt.Sprintf("g%d-b%d.lab.", gen, f/200%25)
			c.QName = "q." + c.Bucket
		} else {
			c.Zone = fmt.Sprintf("z%d-%d.example.", gen, f)
		}
		counts = append(counts, c)
	}
	return counts
}

// BenchmarkCommit commits batches of 50,000 counts. "ns/count" is the cost
// of one count, checkpoint and transaction included.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name     string
		findings int  // distinct findings per batch
		fresh    bool // every batch creates its findings
	}{
		{"new-findings-50000", benchCounts, true},
		{"existing-findings-50000", benchCounts, false},
		{"existing-findings-2000", 2000, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := openTest(b)
			base := Checkpoint{Fingerprint: []byte("bench")}
			fixed := benchBatch(bc.findings, 0)
			gen := 0
			for b.Loop() {
				counts := fixed
				if bc.fresh {
					b.StopTimer()
					gen++
					counts = benchBatch(bc.findings, gen)
					b.StartTimer()
				}
				n := base
				n.Offset, n.Lines = base.Offset+1<<20, base.Lines+benchCounts
				r, err := db.Commit(b.Context(), Batch{Base: base, Next: n, Counts: counts})
				if err != nil {
					b.Fatal(err)
				}
				base = r.Checkpoint
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchCounts), "ns/count")
		})
	}
	b.Run("lame-shape", benchLameShape)
}

// The one batch of a `lamers scan` of bench/out/lame-2m.log (bench/genlog)
// holds 83,835 findings, about 30 % of them zone-less, on a pool of 10,000
// servers (one in five IPv6), in order of first appearance, which is random
// with respect to their names, and 208,558 counts over two days, grouped by
// finding, as ingest hands them over. lameShapeBatch builds one like it.
const (
	lameFindings = 84_000
	lameServers  = 10_000
)

// lameShapeBatch builds that batch. gen makes its findings differ from
// those of other generations.
func lameShapeBatch(gen int) []Count {
	counts := make([]Count, 0, lameFindings*5/2)
	rnd := uint32(2166136261)
	next := func() uint32 { // xorshift: deterministic, cheap
		rnd ^= rnd << 13
		rnd ^= rnd >> 17
		rnd ^= rnd << 5
		return rnd
	}
	tlds := []string{"example.", "example.com.", "example.net.", "example.org.", "test.", "co.example.", "invalid.example."}
	servers := make([]netip.Addr, lameServers)
	for i := range servers {
		if i%5 == 4 {
			servers[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x01, byte(i >> 12), 14: byte(i >> 8), 15: byte(i)})
		} else {
			servers[i] = netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)})
		}
	}
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for f := range lameFindings {
		r := next()
		z := f * 7919 % 100_003 // distinct, in no order
		name := fmt.Sprintf("g%d-z%d.%s", gen, z, tlds[z%len(tlds)])
		c := Count{Server: servers[r>>8%lameServers], Port: 53, Source: "bind"}
		if r%10 < 3 { // zone-less: a bucket
			c.Bucket, c.QName = name, "ns1."+name
		} else {
			c.Zone, c.QName = name, "www."+name
		}
		first := t0.Add(time.Duration(f) * 500 * time.Millisecond)
		// Two or three rows: lame_referral on both days, and for half of
		// them a second kind of evidence on the first.
		ev := []string{"lame_referral", "lame_referral", "servfail"}[:2+int(r>>4)%2]
		for i, e := range ev {
			c.Evidence, c.N = e, int64(1+r%7)
			day := first.Add(time.Duration(i%2) * 24 * time.Hour)
			c.Day, c.First, c.Last = DayOf(day), day, day.Add(time.Hour)
			counts = append(counts, c)
		}
	}
	return counts
}

// benchLameShape commits the lame-shape batch into a fresh database
// ("new", as `lamers scan` of a new file does), into the database that
// holds it already ("existing"), and in small batches of 500 counts of that
// shape into a database that holds it ("tail-500", as `lamers tail` does
// every second). "ns/count" is the cost of one count, checkpoint and
// transaction included.
func benchLameShape(b *testing.B) {
	fixed := lameShapeBatch(0)
	commit := func(b *testing.B, db *DB, base Checkpoint, counts []Count) Checkpoint {
		n := base
		n.Offset, n.Lines = base.Offset+1<<20, base.Lines+int64(len(counts))
		r, err := db.Commit(b.Context(), Batch{Base: base, Next: n, Counts: counts})
		if err != nil {
			b.Fatal(err)
		}
		return r.Checkpoint
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			db := openTest(b)
			counts := slices.Clone(fixed)
			runtime.GC() // not the garbage of the setup
			b.StartTimer()
			commit(b, db, Checkpoint{Fingerprint: []byte("bench")}, counts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(fixed)), "ns/count")
	})
	b.Run("existing", func(b *testing.B) {
		db := openTest(b)
		base := commit(b, db, Checkpoint{Fingerprint: []byte("bench")}, slices.Clone(fixed))
		for b.Loop() {
			b.StopTimer()
			counts := slices.Clone(fixed)
			runtime.GC()
			b.StartTimer()
			base = commit(b, db, base, counts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(fixed)), "ns/count")
	})
	b.Run("tail-500", func(b *testing.B) {
		db := openTest(b)
		base := commit(b, db, Checkpoint{Fingerprint: []byte("bench")}, slices.Clone(fixed))
		fresh := lameShapeBatch(1)
		i := 0
		for b.Loop() {
			// Half of each small batch adds to existing findings, half
			// creates new ones.
			counts := make([]Count, 0, 500)
			for range 250 {
				counts = append(counts, fixed[i%len(fixed)], fresh[i%len(fresh)])
				i++
			}
			base = commit(b, db, base, counts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/count")
	})
}

// BenchmarkAggregate merges the lame-shape batch in memory, as Commit does
// before its transaction.
func BenchmarkAggregate(b *testing.B) {
	counts := lameShapeBatch(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := aggregate(seqOf(counts)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(counts)), "ns/count")
}

// BenchmarkDueFindings orders a large table the way a verify run reads it:
// the first page of 2,000 (twice verify.max_rounds), zoned findings with an
// active status, due by the minimum interval; then the count of the rest.
// Each finding has counts on two days, so its weight needs its daily rows.
// LAMERS_BENCH_FINDINGS sets the number of findings (200,000 by default).
func BenchmarkDueFindings(b *testing.B) {
	n := 200_000
	if s := os.Getenv("LAMERS_BENCH_FINDINGS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	db := openTest(b)
	base := Checkpoint{Fingerprint: []byte("bench")}
	for start := 0; start < n; start += benchCounts / 2 {
		var counts []Count
		for f := start; f < min(start+benchCounts/2, n); f++ {
			server := netip.AddrFrom4([4]byte{10, byte(f >> 16), byte(f >> 8), byte(f)})
			for d := range 2 {
				day := time.Date(2026, 11, 20+d, 1, 0, 0, 0, time.UTC).Add(time.Duration(f) * time.Millisecond)
				counts = append(counts, Count{Zone: fmt.Sprintf("z%d.example.", f), Server: server, Port: 53, Source: "bind",
					Evidence: "lame_referral", Day: DayOf(day), N: int64(1 + f%1000), First: day, Last: day})
			}
		}
		next := base
		next.Offset, next.Lines = base.Offset+1<<20, base.Lines+int64(len(counts))
		r, err := db.Commit(b.Context(), Batch{Base: base, Next: next, Counts: counts})
		if err != nil {
			b.Fatal(err)
		}
		base = r.Checkpoint
	}
	f := Filter{Zoning: Zoned, Statuses: []Status{StatusNew, StatusSuspect, StatusLame, StatusUnresponsive, StatusInconclusive},
		ProbedBefore: testNow, Limit: 2000}
	b.Run(fmt.Sprintf("page-2000-of-%d", n), func(b *testing.B) {
		for b.Loop() {
			fs, err := db.DueFindings(b.Context(), f)
			if err != nil || len(fs) != 2000 {
				b.Fatalf("%d findings, %v", len(fs), err)
			}
		}
	})
	b.Run(fmt.Sprintf("count-%d", n), func(b *testing.B) {
		for b.Loop() {
			if c, err := db.CountFindings(b.Context(), f); err != nil || c != n {
				b.Fatalf("count %d, %v", c, err)
			}
		}
	})
}
