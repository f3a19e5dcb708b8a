package verify

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// Unbound's dname_str (util/data/dname.c) prints every octet outside
// A–Z a–z 0–9 - _ * as '?'; a lossy name spells a known name when each '?'
// stands for one such octet and everything else is the same.
func TestSpells(t *testing.T) {
	tests := []struct {
		lossy, name string
		want        bool
	}{
		{"we?ird.lab.", `we\.ird.lab.`, true},        // the lab's unbound.log and bind9.log
		{"we?ird.lab.", `we\032ird.lab.`, true},      // a space
		{"we?ird.lab.", `we\@ird.lab.`, true},        // BIND's escape of '@'
		{"we?ird.lab.", "we?ird.lab.", true},         // a real '?' prints as '?'
		{"we??ird.lab.", `we\195\169ird.lab.`, true}, // é in UTF-8: two octets
		{"we?ird.lab.", `we\195\169ird.lab.`, false},
		{"we?ird.lab.", "weeird.lab.", false},   // 'e' prints as itself
		{"we?ird.lab.", "we-ird.lab.", false},   // so does '-'
		{"we?ird.lab.", "we_ird.lab.", false},   // and '_'
		{"we?ird.lab.", "we*ird.lab.", false},   // and '*'
		{"we?ird.lab.", "we.ird.lab.", false},   // a label boundary is a dot
		{"we?ird.lab.", `we\.ird.lab2.`, false}, // other labels must be equal
		{"we?ird.lab.", `we\.irdd.lab.`, false},
		{"we?ird.lab.", `WE\.IRD.LAB.`, true}, // names compare without case
		{"weird.lab.", "weird.lab.", false},   // nothing lossy to resolve
		{"we#", `we\.ird.lab.`, false},        // '#': a label too long to print
		{"we?ird&", `we\.ird.lab.`, false},    // '&': a name too long to print
		{"we?ird.lab.", `we\`, false},         // a broken escape
		{"we?ird.lab.", `we\99ird.lab.`, false},
	}
	for _, tt := range tests {
		if got := spells(tt.lossy, tt.name); got != tt.want {
			t.Errorf("spells(%q, %q) = %v, want %v", tt.lossy, tt.name, got, tt.want)
		}
	}
}

// An Unbound lossy name that spells exactly one name known for the same
// server is merged into that finding and verified as it; with two names
// it could spell, it stays inconclusive (lossy_name).
func TestVerifyLossyNameMerged(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	scanLines(t, db,
		// BIND 9.18, the lab's bind9.log: the zone with its escaped dot.
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 127.53.4.1#53`,
		// Unbound 1.17, the lab's unbound.log: the same zone, lossy.
		`[1795312911] unbound[19034:0] info: response for www.we?ird.lab. A IN`,
		`[1795312911] unbound[19034:0] info: reply from <we?ird.lab.> 127.53.4.1#53`,
		`[1795312911] unbound[19034:0] info: query response was LAME`,
		// For 127.53.3.1 BIND named two zones that Unbound's we?ird.lab.
		// could stand for.
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 127.53.3.1#53`,
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\032ird.lab' (in 'we\032ird.lab'?): 127.53.3.1#53`,
		`[1795312912] unbound[19034:0] info: response for www.we?ird.lab. A IN`,
		`[1795312912] unbound[19034:0] info: reply from <we?ird.lab.> 127.53.3.1#53`,
		`[1795312912] unbound[19034:0] info: query response was LAME`,
	)
	cfg.SkipEDNSCheck = true
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 4, MaxRounds: 100, Policy: DefaultPolicy()}
	vs, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Merged != 1 {
		t.Errorf("stats %+v, want 1 lossy name merged", vs)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Zone+" "+f.Server.String()] = f.Status.String() + " " + f.Reason + " " + strings.Join(f.Sources, ",")
		if f.Zone == `we\.ird.lab.` && f.Server == netip.MustParseAddr("127.53.4.1") && (f.Count != 2 || f.Rounds != 1) {
			t.Errorf("merged finding: count %d, %d rounds; want 2 events and one round", f.Count, f.Rounds)
		}
	}
	want := map[string]string{
		`we\.ird.lab. 127.53.4.1`: "suspect upward_referral bind,unbound",
		`we\.ird.lab. 127.53.3.1`: "stale not_in_delegation bind",
		`we?ird.lab. 127.53.3.1`:  "inconclusive lossy_name unbound",
		// Not delegated: lab.'s server answers the NS query for it with
		// NXDOMAIN, whose question echoes the space as miekg/dns writes it
		// (we\ ird.lab.). Nothing was merged into it.
		`we\032ird.lab. 127.53.3.1`: "stale not_delegated bind",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// Only the lossy finding is due (--zone names it): the finding it is
	// merged into gets its round in the same run.
	scanLines(t, db,
		`[1795312950] unbound[19034:0] info: response for www.we?ird.lab. A IN`,
		`[1795312950] unbound[19034:0] info: reply from <we?ird.lab.> 127.53.4.1#53`,
		`[1795312950] unbound[19034:0] info: query response was LAME`,
	)
	v.Clock = func() time.Time { return time.Now().Add(time.Hour) }
	if vs, err = v.Run(ctx, Options{Zone: "we?ird.lab."}); err != nil || vs.Merged != 1 || vs.Probed != 1 {
		t.Errorf("--zone we?ird.lab.: %+v, %v; want the lossy finding merged and its target probed", vs, err)
	}
	fs, err = db.Findings(ctx, store.Filter{Zone: `we\.ird.lab.`, Server: netip.MustParseAddr("127.53.4.1")})
	if err != nil || len(fs) != 1 || fs[0].Count != 3 || fs[0].Rounds != 2 || fs[0].Status != store.StatusLame {
		t.Errorf("merged finding after the second run: %+v, %v; want 3 events, 2 rounds, lame", fs, err)
	}
}

// A lossy name verified before the zone it spells is known — a daemon
// that read Unbound's line first, BIND's a moment later — is merged by the
// next run, not left inconclusive until its next round is due: the run
// looks at the lossy names it set aside before it picks the due findings.
func TestVerifyLossyNameMergedLater(t *testing.T) {
	cfg := newVerifyLab(t)
	cfg.SkipEDNSCheck = true
	ctx := context.Background()
	db := storetest.Open(t)
	// Unbound 1.17, the lab's unbound.log.
	scanLines(t, db,
		`[1795312911] unbound[19034:0] info: response for www.we?ird.lab. A IN`,
		`[1795312911] unbound[19034:0] info: reply from <we?ird.lab.> 127.53.4.1#53`,
		`[1795312911] unbound[19034:0] info: query response was LAME`,
	)
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 4, MaxRounds: 100, Policy: DefaultPolicy()}
	if vs, err := v.Run(ctx, Options{}); err != nil || vs.Merged != 0 {
		t.Fatalf("first run: %+v, %v; want nothing merged", vs, err)
	}
	fs, err := db.Findings(ctx, store.Filter{Zone: "we?ird.lab."})
	if err != nil || len(fs) != 1 || fs[0].Status != store.StatusInconclusive || fs[0].Reason != ReasonLossyName {
		t.Fatalf("after the first run: %+v, %v; want we?ird.lab. inconclusive lossy_name", fs, err)
	}
	// BIND 9.18, the lab's bind9.log, read after the first run.
	scanLines(t, db,
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.we\.ird.lab' (in 'we\.ird.lab'?): 127.53.4.1#53`,
	)
	vs, err := v.Run(ctx, Options{})
	if err != nil || vs.Merged != 1 || vs.Probed != 1 {
		t.Errorf("second run: %+v, %v; want the lossy finding merged and the zone it spells probed", vs, err)
	}
	fs, err = db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].Zone != `we\.ird.lab.` || fs[0].Count != 2 ||
		!slices.Equal(fs[0].Sources, []string{"bind", "unbound"}) || fs[0].Reason != "upward_referral" {
		t.Errorf("after the second run: %+v, %v; want one finding of we\\.ird.lab., 2 events from bind and unbound, upward_referral", fs, err)
	}
}

// BIND writes a '?' of a name as it is: a BIND finding whose zone holds
// one and is not delegated is stale (not_delegated), not a lossy name
// left inconclusive and looked at again every run.
func TestVerifyQuestionMarkFromBIND(t *testing.T) {
	cfg := newVerifyLab(t)
	cfg.SkipEDNSCheck = true
	ctx := context.Background()
	db := storetest.Open(t)
	// BIND 9.18's B1 line for a zone named x?y.lab. (the '?' is an octet
	// of the name; dns_name_totext does not escape it).
	scanLines(t, db,
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.x?y.lab' (in 'x?y.lab'?): 127.53.4.1#53`,
	)
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 1, MaxRounds: 10, Policy: DefaultPolicy()}
	if _, err := v.Run(ctx, Options{}); err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil || len(fs) != 1 || fs[0].Zone != "x?y.lab." || fs[0].Status != store.StatusStale || fs[0].Reason != ReasonNotDelegated {
		t.Errorf("findings %+v, %v; want x?y.lab. stale not_delegated", fs, err)
	}
}
