package ingest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestScanFindingStats wants the summary's new and updated findings to
// count each finding once per scan, whatever the batches: a rescan adds
// lines about 100 known and 200 new findings, each of them twice, in
// batches of 50 lines.
func TestScanFindingStats(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "db"))
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, lameLines(0, 200)) // 200 findings: (zone i%97, server i%13) differ for i < 1261
	for _, tt := range []struct {
		name             string
		add              string
		batch            int
		wantNew, wantUpd int
	}{
		{"first scan", "", 0, 200, 0},
		{"same file again", "", 0, 0, 0},
		{"appended, in batches", lameLines(100, 300) + lameLines(100, 300), 50, 200, 100},
		{"appended, one batch", lameLines(0, 5), 0, 0, 5},
	} {
		if tt.add != "" {
			appendFile(t, log, tt.add)
		}
		sc := NewScanner(db, Options{Location: time.UTC, BatchLines: tt.batch})
		var st Stats
		if err := sc.ScanFile(context.Background(), log, &st); err != nil {
			t.Fatal(err)
		}
		if st.NewFindings != tt.wantNew || st.UpdatedFindings != tt.wantUpd {
			t.Errorf("%s: %d new, %d updated; want %d new, %d updated", tt.name, st.NewFindings, st.UpdatedFindings, tt.wantNew, tt.wantUpd)
		}
	}
}

func TestUnion(t *testing.T) {
	tests := []struct{ a, b, want []int64 }{
		{nil, nil, nil},
		{[]int64{1, 3}, nil, []int64{1, 3}},
		{nil, []int64{2}, []int64{2}},
		{[]int64{1, 3, 5}, []int64{2, 3, 6, 7}, []int64{1, 2, 3, 5, 6, 7}},
		{[]int64{1, 2}, []int64{1, 2}, []int64{1, 2}},
	}
	for _, tt := range tests {
		if got := union(slices.Clone(tt.a), slices.Clone(tt.b)); !slices.Equal(got, tt.want) {
			t.Errorf("union(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
