package store

import (
	"context"
	"iter"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testNow is the wall clock of every test database.
var testNow = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// openTest opens a fresh database in a temporary directory.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "lamers.db"))
}

func openPath(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	db.clock = func() time.Time { return testNow }
	t.Cleanup(func() {
		if err := db.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// utcDay returns the first instant of a UTC day written 2006-01-02.
func utcDay(s string) time.Time {
	t, err := time.Parse(dayLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// days turns daily counts keyed by day text into DailyCounts's form.
func days(m map[string]int64) map[time.Time]int64 {
	out := make(map[time.Time]int64, len(m))
	for d, n := range m {
		out[utcDay(d)] = n
	}
	return out
}

// at returns a log timestamp on 2026-11-21 (UTC).
func at(hh, mm int) time.Time {
	return time.Date(2026, 11, 21, hh, mm, 0, 0, time.UTC)
}

var (
	srvA = netip.MustParseAddr("192.0.2.53")
	srvB = netip.MustParseAddr("2001:db8::53")
)

// zoned is a count with a zone, as from a BIND "lame server resolving" line.
func zoned(zone string, server netip.Addr, source, evidence string, n int64, first, last time.Time) Count {
	return Count{Zone: zone, Server: server, Port: 53, Source: source, Evidence: evidence,
		Day: DayOf(first), N: n, First: first, Last: last}
}

// zoneless is a count without a zone, as from a BIND 9.10+ "REFUSED
// unexpected RCODE resolving" line.
func zoneless(bucket, qname string, server netip.Addr, evidence string, n int64, first, last time.Time) Count {
	return Count{Bucket: bucket, QName: qname, Server: server, Port: 53, Source: "bind", Evidence: evidence,
		Day: DayOf(first), N: n, First: first, Last: last}
}

// cmpOpts compare findings and checkpoints by value. A finding's Weight is
// derived from its other fields and its daily counts, which the tests
// compare; TestDueFindingsOrder checks it.
var cmpOpts = []cmp.Option{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateEmpty(),
	cmpopts.IgnoreFields(Finding{}, "Weight"),
}

// snapshot is everything a Commit can change.
type snapshot struct {
	Findings    []Finding
	Checkpoints []Checkpoint
	Daily       map[int64]map[time.Time]int64
}

func takeSnapshot(t *testing.T, db *DB) snapshot {
	t.Helper()
	ctx := context.Background()
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	max, err := db.MaxCheckpointID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{Findings: fs, Daily: make(map[int64]map[time.Time]int64)}
	for id := int64(1); id <= max; id++ {
		c, err := db.Checkpoint(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s.Checkpoints = append(s.Checkpoints, c)
	}
	for _, f := range fs {
		if s.Daily[f.ID], err = db.DailyCounts(ctx, f.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// mustCommit commits b or fails the test.
func mustCommit(t testing.TB, db *DB, b Batch) CommitResult {
	t.Helper()
	r, err := db.Commit(context.Background(), b)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return r
}

// TestDay: DayOf rounds towards the past, String and Time are its
// inverses, and the days the database holds are YYYY-MM-DD.
func TestDay(t *testing.T) {
	for _, tt := range []struct {
		at   string
		want Day
		text string
	}{
		{"1970-01-01T23:59:59Z", 0, "1970-01-01"},
		{"1969-12-31T23:59:59Z", -1, "1969-12-31"},
		{"2026-11-22T02:01:50Z", 20779, "2026-11-22"},
		{"2026-11-22T23:30:00-02:00", 20780, "2026-11-23"}, // a UTC day, whatever the offset
		{"2024-02-29T12:00:00Z", 19782, "2024-02-29"},
	} {
		at, err := time.Parse(time.RFC3339, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		d := DayOf(at)
		if d != tt.want || d.String() != tt.text || DayOf(d.Time()) != d || !d.Time().Equal(d.Time().Truncate(24*time.Hour)) {
			t.Errorf("DayOf(%s) = %d %q (%v), want %d %q", tt.at, d, d, d.Time(), tt.want, tt.text)
		}
	}
}

// dayNamed is the Day of a YYYY-MM-DD date.
func dayNamed(t testing.TB, s string) Day {
	t.Helper()
	at, err := time.Parse(dayLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return DayOf(at)
}

// seqOf gives counts as Commit gives them to aggregate.
func seqOf(counts []Count) (iter.Seq[*Count], int) {
	b := Batch{Counts: counts}
	return b.All(), b.Len()
}
