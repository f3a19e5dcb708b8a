package store

import (
	"fmt"
	"net/netip"
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
			Day: day.Format(dayLayout), N: 3, First: day, Last: day.Add(time.Minute)}
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
}
