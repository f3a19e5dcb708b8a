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
