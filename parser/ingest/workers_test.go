package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

var addrs = cmpopts.EquateComparable(netip.Addr{})

// recordSink keeps every batch it is given, as a scan's whole output.
type recordSink struct {
	version int64
	batches []store.Batch
}

func (s *recordSink) CheckpointsByFingerprint(context.Context, []byte) ([]store.Checkpoint, error) {
	return nil, nil
}
func (s *recordSink) MaxCheckpointID(context.Context) (int64, error) { return 0, nil }
func (s *recordSink) Commit(_ context.Context, b store.Batch) (store.CommitResult, error) {
	s.version++
	c := b.Next
	c.ID, c.Version, c.Fingerprint = 1, s.version, b.Base.Fingerprint
	b.Base = store.Checkpoint{} // the previous batch's, already compared
	var counts []store.Count
	for c := range b.All() {
		counts = append(counts, *c)
	}
	if len(counts) != b.Len() {
		return store.CommitResult{}, fmt.Errorf("batch of %d counts says %d", len(counts), b.Len())
	}
	b.Counts, b.Rows, b.RowsLen = counts, nil, 0
	s.batches = append(s.batches, b)
	return store.CommitResult{Checkpoint: c}, nil
}

// interleaved writes a log that mixes the lab's BIND 9.18 lines, its
// syslog file (BIND and Unbound through rsyslog) and Unbound's own file,
// line by line in a fixed pseudo-random order, so that Unbound's
// three-line groups are spread over many chunks.
func interleaved(t *testing.T) string {
	t.Helper()
	var srcs [][]string
	for _, f := range []string{"bind9.log", "syslog-rfc3164.log", "unbound.log"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", f))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n"))
	}
	r := rand.New(rand.NewPCG(1, 2))
	var out strings.Builder
	for {
		left := 0
		for _, s := range srcs {
			left += len(s)
		}
		if left == 0 {
			break
		}
		k := r.IntN(left)
		for i, s := range srcs {
			if k < len(s) {
				out.WriteString(s[0])
				if !strings.HasSuffix(s[0], "\n") {
					out.WriteString("\n")
				}
				srcs[i] = s[1:]
				break
			}
			k -= len(s)
		}
	}
	path := filepath.Join(t.TempDir(), "mixed.log")
	writeFile(t, path, out.String()+lameLines(0, 3000))
	return path
}

// TestWorkersSameOutput scans the same files with 1, 2 and 3 parse
// workers, in chunks of a few lines and in batches of a few hundred lines,
// and wants the same batches: counts in the same order with the same sample
// names, the same checkpoints (Unbound's pending groups included) and the
// same statistics.
func TestWorkersSameOutput(t *testing.T) {
	// and a forged log: one finding with hundreds of evidence kinds, only
	// the first 16 stored whatever the workers' order
	forged := filepath.Join(t.TempDir(), "forged.log")
	writeFile(t, forged, forgedRcodes(300)+lameLines(0, 50)+forgedRcodes(300))
	paths := []string{interleaved(t), forged}
	for _, f := range []string{"bind9.log", "syslog-rfc3164.log", "syslog-rfc5424.log", "unbound.log", "unbound-dump_infra.txt"} {
		paths = append(paths, filepath.Join("..", "..", "testdata", "lab", f))
	}
	for _, path := range paths {
		for _, batch := range []int{0, 97} {
			t.Run(fmt.Sprintf("%s/batch=%d", filepath.Base(path), batch), func(t *testing.T) {
				var want []store.Batch
				var wantSt Stats
				for _, workers := range []int{1, 2, 3} {
					sink := &recordSink{}
					sc := NewScanner(sink, Options{Location: time.UTC, Workers: workers, BatchLines: batch, chunkLines: 5})
					var st Stats
					if err := sc.ScanFile(context.Background(), path, &st); err != nil {
						t.Fatal(err)
					}
					st.findings = nil
					if workers == 1 {
						want, wantSt = sink.batches, st
						if st.Recognised == 0 {
							t.Fatal("nothing recognised")
						}
						continue
					}
					if diff := cmp.Diff(want, sink.batches, addrs); diff != "" {
						t.Errorf("%d workers: batches differ from 1 worker's (-want +got):\n%s", workers, diff)
					}
					if diff := cmp.Diff(wantSt, st, cmp.AllowUnexported(Stats{})); diff != "" {
						t.Errorf("%d workers: stats differ (-want +got):\n%s", workers, diff)
					}
				}
			})
		}
	}
}

// TestAggregateParts splits observations between the parts of an
// aggregate by key, at random, and adds them in a random order (workers
// take chunks as they come); it wants the parts to give what one aggregate
// gives in input order.
func TestAggregateParts(t *testing.T) {
	p := parser.New(parser.Options{Location: time.UTC})
	var obs []parser.Observation
	lines := strings.Split(strings.TrimSuffix(lameLines(0, 500), "\n"), "\n")
	// zone-less lines (buckets), and repeats on another day and kind
	for i := range 200 {
		lines = append(lines,
			fmt.Sprintf("23-Nov-2026 01:00:%02d.000 lame-servers: info: REFUSED unexpected RCODE resolving 'q%d.b%d.example/A/IN': 192.0.2.%d#53", i%60, i, i%7, 1+i%5),
			fmt.Sprintf("22-Nov-2026 03:00:%02d.000 lame-servers: info: lame server resolving 'x%d.z%d.example' (in 'z%d.example'?): 192.0.2.%d#53", i%60, i, i%97, i%97, 1+i%13))
	}
	var seqs []int64
	for i, l := range lines {
		n := len(obs)
		obs, _ = p.Parse([]byte(l), obs)
		for range len(obs) - n {
			seqs = append(seqs, int64(i))
		}
	}
	one := newAggregate()
	for i := range obs {
		one.add(&obs[i], seqs[i])
	}
	want := parts{one}.counts()
	for n := 2; n <= 4; n++ {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		ps := make(parts, n)
		for i := range ps {
			ps[i] = newAggregate()
		}
		partOf := make(map[findingKey]int)
		for _, i := range r.Perm(len(obs)) {
			k := keyOf(&obs[i])
			if _, ok := partOf[k]; !ok {
				partOf[k] = r.IntN(n)
			}
			ps[partOf[k]].add(&obs[i], seqs[i])
		}
		if ps.len() != one.len() {
			t.Errorf("%d parts: %d rows, want %d", n, ps.len(), one.len())
		}
		if diff := cmp.Diff(want, ps.counts(), addrs); diff != "" {
			t.Errorf("%d parts: counts differ (-want +got):\n%s", n, diff)
		}
	}
}
