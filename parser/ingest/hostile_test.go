package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// findingsOf returns the stored findings.
func findingsOf(t *testing.T, db *store.DB) []store.Finding {
	t.Helper()
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// A forged year 9999 and Unbound's "[0]" are counted at the file's time,
// not stored as times that wrap (year 1816) or are empty, and the summary
// says how many lines that was.
func TestScanTimeWindow(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, ""+
		// BIND 9.18 lab bind9.log line, year forged
		"22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"+
		// the lab's own line
		"22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"+
		// Unbound 1.17.1 lab unbound.log line, epoch forged
		"[0] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED\n")
	mtime := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	if err := os.Chtimes(log, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st := scan(t, db, log)
	if st.TimeReplaced != 2 || st.Recognised != 3 {
		t.Errorf("stats: %d times replaced, %d recognised; want 2, 3", st.TimeReplaced, st.Recognised)
	}
	fs := findingsOf(t, db)
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2", len(fs))
	}
	for _, f := range fs {
		switch f.Zone {
		case "upref.lab.":
			if f.Count != 2 || !f.FirstSeen.Equal(time.Date(2026, 11, 22, 2, 1, 50, 284e6, time.UTC)) || !f.LastSeen.Equal(mtime) {
				t.Errorf("upref.lab.: count %d, first %v, last %v", f.Count, f.FirstSeen, f.LastSeen)
			}
		case "refused.lab.":
			if f.Count != 1 || !f.FirstSeen.Equal(mtime) || !f.LastSeen.Equal(mtime) {
				t.Errorf("refused.lab.: count %d, first %v, last %v", f.Count, f.FirstSeen, f.LastSeen)
			}
		default:
			t.Errorf("unexpected finding %+v", f)
		}
	}
}

// The tailer counts the replaced times of what it commits too.
func TestTailTimeWindow(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	tl, clk := stepped(t, db, false, log)
	tl.Step(context.Background())
	// BIND 9.18 lab bind9.log line, year forged
	w.f.WriteString("22-Nov-9999 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n")
	tl.Step(context.Background())
	if got := tl.Stats().TimeReplaced; got != 1 {
		t.Errorf("Stats().TimeReplaced = %d, want 1", got)
	}
	fs := findingsOf(t, db)
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(clk.now()) {
		t.Fatalf("findings %+v, want one first seen at %v", fs, clk.now())
	}
}

// forgedRcodes returns n BIND 9.18 reason lines (lib/dns/resolver.c
// add_bad(), as in the lab's bind9.log) about one server and one bucket,
// each with another unassigned rcode number, as a forged log would have
// them: n evidence kinds for one finding.
func forgedRcodes(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "22-Nov-2026 02:01:%02d.%03d lame-servers: info: %d unexpected RCODE resolving 'q%d.victim.example/A/IN': 192.0.2.53#53\n", i/1000%60, i%1000, 30+i%4000, i)
	}
	return b.String()
}

// TestAggregateKindCap adds observations of 40 kinds to one finding, in
// input order and in random orders (workers add chunks as they come), and
// wants the rows of the 16 kinds seen first in the input and the other
// observations counted as extra, whatever the order.
func TestAggregateKindCap(t *testing.T) {
	p := parser.New(parser.Options{Location: time.UTC})
	var obs []parser.Observation
	for _, l := range strings.Split(strings.TrimSuffix(forgedRcodes(40)+forgedRcodes(40)+lameLines(0, 5), "\n"), "\n") {
		obs, _ = p.Parse([]byte(l), obs)
	}
	want := []string{}
	for i := 30; i < 30+maxFindingKinds; i++ {
		want = append(want, fmt.Sprintf("rcode_%d", i))
	}
	for seed := range 4 {
		order := rand.New(rand.NewPCG(uint64(seed), 9)).Perm(len(obs))
		if seed == 0 {
			slices.Sort(order)
		}
		a := newAggregate()
		for _, i := range order {
			a.add(&obs[i], int64(i))
		}
		ps := parts{a}
		extra := ps.capKinds()
		var kinds []string
		var events int64
		for c := range ps.rows {
			if c.Server == netip.MustParseAddr("192.0.2.53") {
				kinds = append(kinds, c.Evidence)
				events += c.N
			}
		}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("order %d: kinds (-want +got):\n%s", seed, diff)
		}
		if events != 2*maxFindingKinds || extra != 80-2*maxFindingKinds || ps.len() != maxFindingKinds+5 {
			t.Errorf("order %d: %d events, %d extra, %d rows; want %d, %d, %d", seed, events, extra, ps.len(), 2*maxFindingKinds, 80-2*maxFindingKinds, maxFindingKinds+5)
		}
	}
}

// TestScanKindCap scans 100 lines of distinct forged rcodes about one
// finding with one and with three workers: the finding keeps 16 kinds and
// 16 events, the summary counts the 84 others.
func TestScanKindCap(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, forgedRcodes(100))
	for _, workers := range []int{1, 3} {
		db := openDB(t, filepath.Join(dir, fmt.Sprintf("lamers%d.db", workers)))
		sc := NewScanner(db, Options{Location: time.UTC, Workers: workers, chunkLines: 7})
		var st Stats
		if err := sc.ScanFile(context.Background(), log, &st); err != nil {
			t.Fatal(err)
		}
		if st.ExtraKinds != 100-maxFindingKinds || st.Recognised != 100 {
			t.Errorf("%d workers: %d extra kinds, %d recognised; want %d, 100", workers, st.ExtraKinds, st.Recognised, 100-maxFindingKinds)
		}
		fs := findingsOf(t, db)
		if len(fs) != 1 || len(fs[0].Observed) != maxFindingKinds || fs[0].Count != maxFindingKinds {
			t.Fatalf("%d workers: findings %+v, want one with %d kinds and events", workers, fs, maxFindingKinds)
		}
	}
}

// TestAggregateManyRows counts observations of one finding over 40 days
// and 3 kinds, and of a few small findings, in a random order: the rows of
// the large finding are found through the row index (rowScan), and every
// row must hold what a plain sum per (finding, kind, day) gives.
func TestAggregateManyRows(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	evs := []parser.Evidence{parser.Refused, parser.ServFail, parser.Timeout}
	var obs []parser.Observation
	for i := range 2000 {
		o := parser.Observation{Time: t0.AddDate(0, 0, -(i*7)%40).Add(time.Duration(i) * time.Second), Source: parser.SourceBIND,
			Evidence: evs[i%3], QName: "v.example.", QType: "A", Server: netip.MustParseAddr("192.0.2.9"), Port: 53}
		if i%10 == 0 { // small findings in between
			o.QName, o.Server = fmt.Sprintf("q.z%d.example.", i%7), netip.MustParseAddr("192.0.2.10")
		}
		obs = append(obs, o)
	}
	type rowID struct{ Bucket, Evidence, Day string }
	type sum struct {
		N           int64
		First, Last time.Time
	}
	want := map[rowID]sum{}
	for _, o := range obs {
		k := rowID{Bucket(o.QName, o.QType), string(o.Evidence), o.Time.Format(time.DateOnly)}
		s := want[k]
		if s.N == 0 || o.Time.Before(s.First) {
			s.First = o.Time
		}
		if o.Time.After(s.Last) {
			s.Last = o.Time
		}
		s.N++
		want[k] = s
	}
	a := newAggregate()
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(len(obs)) {
		a.add(&obs[i], int64(i))
	}
	got := map[rowID]sum{}
	for _, c := range (parts{a}).counts() {
		got[rowID{c.Bucket, c.Evidence, c.Day.String()}] = sum{c.N, c.First, c.Last}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(want) <= 3*rowScan {
		t.Fatalf("only %d rows: the row index is not used", len(want))
	}
}

// TestScanKindCapAcrossBatches scans 200 lines of distinct forged rcodes
// about one finding in batches of 10 lines: each batch passes its 10 kinds
// (under the per-batch cap), and the store stops the finding's kinds at
// store.MaxObservedKinds; every event is in the count, the summary tells
// how many were counted without their kind.
func TestScanKindCapAcrossBatches(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, forgedRcodes(200))
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	sc := NewScanner(db, Options{Location: time.UTC, BatchLines: 10, chunkLines: 10})
	var st Stats
	if err := sc.ScanFile(context.Background(), log, &st); err != nil {
		t.Fatal(err)
	}
	fs := findingsOf(t, db)
	if len(fs) != 1 || len(fs[0].Observed) != store.MaxObservedKinds || fs[0].Count != 200 {
		t.Fatalf("findings %+v, want one with %d kinds and 200 events", fs, store.MaxObservedKinds)
	}
	if st.CappedKinds != 200-store.MaxObservedKinds || st.ExtraKinds != 0 {
		t.Errorf("%d events capped, %d extra; want %d, 0", st.CappedKinds, st.ExtraKinds, 200-store.MaxObservedKinds)
	}
}
