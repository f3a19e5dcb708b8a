package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BIND 9.18 lab bind9.log lines 34–35: one reply, logged twice
// (lib/dns/resolver.c log_formerr(), then add_bad()).
const (
	labB4 = "22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral\n"
	labB2 = "22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53\n"
)

// Unbound 1.17.1 lab unbound.log: a THROWAWAY verdict, another group of the
// thread, and the log-servfail line of the query (iterator/iterator.c,
// services/mesh.c).
const labUnboundPair = `[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN
[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53
[1795312911] unbound[19034:0] info: query response was THROWAWAY
[1795312911] unbound[19034:0] info: response for ns1.refused.lab. AAAA IN
[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53
[1795312911] unbound[19034:0] info: query response was THROWAWAY
[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED
`

// wantFinding checks the one finding of server: its count and kinds.
func wantFinding(t *testing.T, db *storeDB, server string, count int64, kinds ...string) {
	t.Helper()
	for _, f := range findingsOf(t, db) {
		if f.Server.String() != server {
			continue
		}
		if f.Count != count || !slices.Equal(f.Observed, kinds) {
			t.Errorf("%s: count %d, observed %v; want %d, %v", server, f.Count, f.Observed, count, kinds)
		}
		return
	}
	t.Errorf("no finding for %s", server)
}

// TestScanPairs scans events logged in two lines, with the two lines in
// one chunk, in two chunks, two batches and two runs, with one and three
// workers: each is one event with the kinds of both lines.
func TestScanPairs(t *testing.T) {
	filler := func(n int) string { return lameLines(100, n) } // other servers
	for _, tc := range []struct {
		name        string
		first, rest string
		chunk       int
		batch       int
	}{
		{"bind-one-chunk", labB4 + labB2, "", 0, 0},
		{"bind-two-chunks", filler(4) + labB4 + labB2 + filler(3), "", 5, 0},
		{"bind-two-batches", filler(4) + labB4 + labB2 + filler(3), "", 5, 5},
		{"bind-two-runs", filler(3) + labB4, labB2 + filler(3), 0, 0},
		{"bind-far", labB4 + filler(2) + labB2, "", 2, 0},
		{"unbound-two-runs", labUnboundPair[:strings.Index(labUnboundPair, "[1795312911] unbound[19034:0] error")], labUnboundPair[strings.Index(labUnboundPair, "[1795312911] unbound[19034:0] error"):], 0, 0},
		{"unbound-two-batches", labUnboundPair, "", 2, 2},
	} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) {
				dir := t.TempDir()
				db := openDB(t, filepath.Join(dir, "lamers.db"))
				log := filepath.Join(dir, "named.log")
				writeFile(t, log, tc.first)
				sc := NewScanner(db, Options{Location: time.UTC, Workers: workers, chunkLines: tc.chunk, BatchLines: tc.batch})
				var st Stats
				if err := sc.ScanFile(context.Background(), log, &st); err != nil {
					t.Fatal(err)
				}
				if tc.rest != "" {
					appendFile(t, log, tc.rest)
					if err := sc.ScanFile(context.Background(), log, &st); err != nil {
						t.Fatal(err)
					}
				}
				if strings.HasPrefix(tc.name, "bind") {
					wantFinding(t, db, "127.53.5.1", 1, "formerr", "non_improving_referral")
				} else {
					wantFinding(t, db, "127.53.3.1", 2, "refused", "throwaway")
				}
			})
		}
	}
}

// TestTailPairs follows a log whose two-line event is split between two
// commits.
func TestTailPairs(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	tl, _ := stepped(t, db, false, log)
	tl.Step(context.Background())
	w.f.WriteString(labB4)
	tl.Step(context.Background())
	w.f.WriteString(labB2)
	tl.Step(context.Background())
	wantFinding(t, db, "127.53.5.1", 1, "formerr", "non_improving_referral")
}
