package ingest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/parser"
)

// BenchmarkCounts converts a batch of 100,000 keys (the default BatchKeys)
// to sorted store rows.
func BenchmarkCounts(b *testing.B) {
	a := newAggregate()
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		o := parser.Observation{Time: t0.Add(time.Duration(i*37%100_000) * time.Millisecond), Source: parser.SourceBIND,
			Evidence: parser.LameReferral, Zone: fmt.Sprintf("z%d.example.", i/2),
			Server: netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), Port: 53}
		a.add(&o, int64(i))
	}
	for b.Loop() {
		parts{a}.counts()
	}
}

// BenchmarkAggregateManyRows adds 50,000 observations to one finding, each
// of another (evidence kind, day) as a forged log can have them (rcode
// numbers, dates over ten years), then one more to each row: a hostile
// finding's rows must be found without walking all of them.
func BenchmarkAggregateManyRows(b *testing.B) {
	const n = 50_000
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	obs := make([]parser.Observation, n)
	for i := range obs {
		obs[i] = parser.Observation{Time: t0.AddDate(0, 0, -(i/4096)*7-i%7), Source: parser.SourceBIND,
			Evidence: parser.Evidence(fmt.Sprintf("rcode_%d", i%4096)), QName: "v.ex.", QType: "A",
			Server: netip.AddrFrom4([4]byte{192, 0, 2, 9}), Port: 53}
	}
	for b.Loop() {
		a := newAggregate()
		for round := range 2 {
			for i := range obs {
				a.add(&obs[i], int64(round*n+i))
			}
		}
	}
}
