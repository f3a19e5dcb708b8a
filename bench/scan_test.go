// Package bench holds the whole-process scan benchmark (run.sh, genlog) and
// Go benchmarks of ingest.Scanner.ScanFile on the generated files, for
// profiling:
//
//	bench/run.sh   # generates bench/out/*.log once
//	go test -run '^$' -bench ScanFile -benchtime 1x -cpuprofile /tmp/cpu.out ./bench/
//	go tool pprof -top bench.test /tmp/cpu.out
//
// LAMERS_BENCH_WORKERS=n sets the number of parse workers (default: as
// lamers scan, GOMAXPROCS up to 4).
package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
)

var files = []struct{ name, path string }{
	{"lame-2m", "out/lame-2m.log"},
	{"mixed-5m", "out/mixed-5m.log"},
}

// timedSink measures the time spent in Commit (it runs on the committer
// goroutine, concurrently with parsing).
type timedSink struct {
	ingest.Sink
	commits atomic.Int64
	ns      atomic.Int64
	rows    atomic.Int64
}

func (s *timedSink) Commit(ctx context.Context, b store.Batch) (store.CommitResult, error) {
	t := time.Now()
	s.rows.Add(int64(b.Len()))
	r, err := s.Sink.Commit(ctx, b)
	s.ns.Add(int64(time.Since(t)))
	s.commits.Add(1)
	return r, err
}

// nullSink accepts every batch and stores nothing: parse + aggregate only.
type nullSink struct {
	version int64
	rows    atomic.Int64
}

func (s *nullSink) CheckpointsByFingerprint(context.Context, []byte) ([]store.Checkpoint, error) {
	return nil, nil
}
func (s *nullSink) MaxCheckpointID(context.Context) (int64, error) { return 0, nil }
func (s *nullSink) Commit(_ context.Context, b store.Batch) (store.CommitResult, error) {
	s.version++
	n := 0
	for range b.All() { // as the store reads them
		n++
	}
	s.rows.Add(int64(n))
	c := b.Next
	c.ID, c.Version, c.Fingerprint = 1, s.version, b.Base.Fingerprint
	return store.CommitResult{Checkpoint: c}, nil
}

func need(b *testing.B, path string) {
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s missing: run bench/run.sh first (%v)", path, err)
	}
}

// BenchmarkScanFile is the whole scan of one generated file into a fresh
// SQLite store, as `lamers scan` does it.
func BenchmarkScanFile(b *testing.B) {
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			need(b, f.path)
			var lines int64
			var sink *timedSink
			for b.Loop() {
				b.StopTimer()
				db, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				sink = &timedSink{Sink: db}
				b.StartTimer()
				var st ingest.Stats
				if err := ingest.NewScanner(sink, ingest.Options{Location: time.UTC, Workers: benchWorkers()}).ScanFile(b.Context(), f.path, &st); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := db.Close(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				lines = st.Lines
			}
			report(b, lines)
			b.ReportMetric(float64(sink.ns.Load())/1e6, "commit-ms/op")
			b.ReportMetric(float64(sink.commits.Load()), "commits/op")
			b.ReportMetric(float64(sink.rows.Load()), "rows/op")
		})
	}
}

// BenchmarkScanFileNoStore is the same scan with a sink that stores
// nothing: reading, parsing and aggregating only.
func BenchmarkScanFileNoStore(b *testing.B) {
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			need(b, f.path)
			var lines int64
			var sink *nullSink
			for b.Loop() {
				sink = &nullSink{}
				var st ingest.Stats
				if err := ingest.NewScanner(sink, ingest.Options{Location: time.UTC, Workers: benchWorkers()}).ScanFile(b.Context(), f.path, &st); err != nil {
					b.Fatal(err)
				}
				lines = st.Lines
			}
			report(b, lines)
			b.ReportMetric(float64(sink.rows.Load()), "rows/op")
		})
	}
}

func report(b *testing.B, lines int64) {
	if lines == 0 {
		return
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(lines)
	b.ReportMetric(per, "ns/line")
	b.ReportMetric(1e9/per, "lines/s")
}

// benchWorkers is Options.Workers from LAMERS_BENCH_WORKERS (0: default).
func benchWorkers() int {
	n, _ := strconv.Atoi(os.Getenv("LAMERS_BENCH_WORKERS"))
	return n
}
