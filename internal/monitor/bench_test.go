package monitor

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/lamers-dev/lamers/store/storetest"
)

// BenchmarkMetrics1M serves /metrics from a database of 1,000,000
// findings (bench/README.md, "run"). "scrape" is one GET /metrics, what a
// Prometheus server pays each time; "summary" is one read of the tables'
// aggregates, which the sampler does after each step and about once a
// minute, never during a scrape.
func BenchmarkMetrics1M(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	seed(b, db, 1_000_000)
	mon := New(db, testOptions(newClock()))
	mon.Sample(ctx)
	h := mon.Handler()
	b.Run("scrape", func(b *testing.B) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if rec.Code != 200 {
				b.Fatalf("GET /metrics = %d", rec.Code)
			}
		}
	})
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			mon.summary(ctx)
			if mon.summaryErr != nil {
				b.Fatal(mon.summaryErr)
			}
		}
	})
}
