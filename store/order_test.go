package store

import (
	"cmp"
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// goOrder is the report order as it was computed in Go before it moved to
// SQL (migration 0006): zone, server by netip.Addr.Compare, port, bucket.
func goOrder(a, b Finding) int {
	return cmp.Or(
		strings.Compare(a.Zone, b.Zone),
		a.Server.Compare(b.Server),
		cmp.Compare(a.Port, b.Port),
		strings.Compare(a.Bucket, b.Bucket),
	)
}

// orderCases are findings whose text order differs from the report order:
// "10.0.0.1" sorts before "9.0.0.1" as text, "2001:db8::10" before
// "2001:db8::9", "::1" before "192.0.2.1"; an IPv4-mapped IPv6 address is
// IPv6; ports compare as numbers (5353 after 53, 8 before 53).
var orderCases = []struct {
	zone, bucket, server string
	port                 uint16
}{
	{"b.example.", "", "10.0.0.1", 53},
	{"b.example.", "", "9.0.0.1", 53},
	{"b.example.", "", "192.0.2.1", 5353},
	{"b.example.", "", "192.0.2.1", 53},
	{"b.example.", "", "192.0.2.1", 8},
	{"b.example.", "", "::1", 53},
	{"b.example.", "", "2001:db8::10", 53},
	{"b.example.", "", "2001:db8::9", 53},
	{"b.example.", "", "2001:db8:0:1::", 53},
	{"b.example.", "", "::ffff:192.0.2.1", 53},
	{"b.example.", "", "255.255.255.255", 53},
	{"b.example.", "", "0.0.0.0", 53},
	{"a.example.", "", "192.0.2.1", 53},
	{"a\\.b.example.", "", "192.0.2.1", 53},
	{"", "refused.lab.", "192.0.2.1", 53},
	{"", "*", "192.0.2.1", 53},
	{"", "a.lab.", "192.0.2.1", 53},
	{"", "a.lab.", "2001:db8::1", 53},
}

func TestFindingsReportOrder(t *testing.T) {
	db := openTest(t)
	var counts []Count
	for _, c := range orderCases {
		counts = append(counts, Count{Zone: c.zone, Bucket: c.bucket, Server: netip.MustParseAddr(c.server), Port: c.port,
			Source: "bind", Evidence: "refused", Day: dayNamed(t, "2026-11-21"), N: 1, First: at(1, 0), Last: at(1, 0)})
	}
	mustCommit(t, db, Batch{Base: Checkpoint{Fingerprint: []byte("fp")}, Next: Checkpoint{Offset: 1, Lines: 1}, Counts: counts})
	var streamed []Finding
	if err := db.ScanFindings(context.Background(), Filter{}, func(f *Finding) error {
		streamed = append(streamed, *f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(streamed)
	slices.SortStableFunc(want, goOrder)
	if diff := gocmp.Diff(names(want), names(streamed)); diff != "" || len(streamed) != len(orderCases) {
		t.Errorf("report order (-Go sort +SQL):\n%s", diff)
	}
}

func names(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Zone+" "+f.Bucket+" "+netip.AddrPortFrom(f.Server, f.Port).String())
	}
	return out
}

// Findings written before migration 0006 get their server_key from it.
func TestMigrate0006FillsServerKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lamers.db")
	raw := openAtSchema(t, path, "0001_init.sql", "0002_verification.sql", "0003_lossy_candidates.sql", "0004_notify.sql",
		"0005_checkpoint_marks.sql").db
	for i, c := range orderCases {
		if _, err := raw.ExecContext(ctx, `INSERT INTO findings (zone, bucket, server, port, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
			c.zone, c.bucket, c.server, c.port, i+1, i+1); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db := openPath(t, path)
	fs, err := db.Findings(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(fs)
	slices.SortStableFunc(want, goOrder)
	if diff := gocmp.Diff(names(want), names(fs)); diff != "" || len(fs) != len(orderCases) {
		t.Errorf("report order after the upgrade (-Go sort +SQL):\n%s", diff)
	}
}
