package ingest

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// A resolver that forwards to 192.0.2.53 ("forward first") and resolves
// the rest itself: lines about the forwarder are no finding, whether they
// say so or the forwarder is in IgnoreServers.
const forwarderLog = "" +
	// BIND 9.18 resolver.c add_bad(ISC_R_TIMEDOUT, badns_forwarder): the
	// forwarder timed out (not labelled)
	"22-Nov-2026 02:15:01.020 lame-servers: info: timed out resolving 'www.example.com/A/IN': 192.0.2.53#53\n" +
	// BIND 9.20.26+ rctx_referral(): labelled, and its FORMERR line
	"22-Nov-2026 02:15:02.113 resolver: notice: DNS format error from 192.0.2.53#53 resolving www.example.net/A for 10.0.0.7#41234: referral from global forwarder\n" +
	"22-Nov-2026 02:15:02.113 lame-servers: info: FORMERR resolving 'www.example.net/A/IN': 192.0.2.53#53\n" +
	// a real lame delegation met while resolving itself
	"22-Nov-2026 02:15:03.000 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"

func TestScanIgnoreServers(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "named.log")
	writeFile(t, log, forwarderLog)
	sc := NewScanner(db, Options{Location: time.UTC, IgnoreServers: []netip.Prefix{netip.MustParsePrefix("192.0.2.53/32")}})
	var st Stats
	if err := sc.ScanFile(context.Background(), log, &st); err != nil {
		t.Fatal(err)
	}
	if st.IgnoredServers != 1 || st.Recognised != 4 || st.Unrecognised != 0 {
		t.Errorf("stats: %d ignored, %d recognised, %d not understood; want 1, 4, 0", st.IgnoredServers, st.Recognised, st.Unrecognised)
	}
	fs := findingsOf(t, db)
	if len(fs) != 1 || fs[0].Zone != "upref.lab." {
		t.Errorf("findings %+v, want upref.lab. only", fs)
	}
}

func TestTailIgnoreServers(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "lamers.db"))
	log := filepath.Join(dir, "lame.log")
	w := openAppender(t, log, 0)
	tl, _ := steppedWith(t, db, func(o *TailOptions) {
		o.IgnoreServers = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	}, log)
	tl.Step(context.Background())
	w.f.WriteString(forwarderLog)
	tl.Step(context.Background())
	if got := tl.Stats().IgnoredServers; got != 1 {
		t.Errorf("Stats().IgnoredServers = %d, want 1", got)
	}
	if fs := findingsOf(t, db); len(fs) != 1 || fs[0].Zone != "upref.lab." {
		t.Errorf("findings %+v, want upref.lab. only", fs)
	}
}
