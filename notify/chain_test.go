package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

// chainCase is one finding and the world around it.
type chainCase struct {
	name      string
	finding   spec
	rnames    map[string]string             // zone → SOA RNAME the zone's servers give
	mail      map[string]resolver.MailHosts // domain → where its mail goes (default: a usable MX)
	overrides []Override
	suppress  []string                                   // lamers suppress …
	prep      func(t *testing.T, db *store.DB, id int64) // marks on record
	noDeliver bool                                       // check_deliverability = false
	// want is the contact as "address (source)", "" for a human; marks are
	// the marks of this run as "mark address".
	want  string
	marks []string
}

// mark puts a message to addr about finding id on record and marks it.
func mark(t *testing.T, db *store.DB, id int64, addr string, m store.Mark, at time.Time) {
	t.Helper()
	ctx := context.Background()
	var seed [32]byte
	copy(seed[:], fmt.Sprint(id, addr, m, at.UnixNano()))
	token, err := bounce.NewToken(rand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOutbox(ctx, store.OutboxEntry{Token: token, Recipient: addr, Source: store.SourceRNAME, State: store.OutboxPending,
		Transport: "smtp", CreatedAt: at, FindingIDs: []int64{id}}); err != nil {
		t.Fatal(err)
	}
	if m == store.MarkRejected {
		if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: store.OutboxRejected, Code: 550, Enhanced: "5.1.1"}, at); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: store.OutboxSent, Code: 250}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkMessage(ctx, token, m, "test", at); err != nil {
		t.Fatal(err)
	}
}

// bounces marks dns@example.com with m, once per day given, that many days
// ago.
func bounces(m store.Mark, days ...int) func(t *testing.T, db *store.DB, id int64) {
	return func(t *testing.T, db *store.DB, id int64) {
		for _, d := range days {
			mark(t, db, id, "dns@example.com", m, t0.Add(-time.Duration(d)*24*time.Hour))
		}
	}
}

var chainCases = []chainCase{
	{name: "RNAME with an escaped dot",
		// rname.lab. 300 IN SOA ns-good1.nic.lab. first\.last.rname.lab. 2025112201 1800 900 604800 300 (the lab's zone)
		finding: spec{zone: "rname.lab.", server: "127.53.3.1", names: []string{"ns-refuser.nic.lab."}},
		rnames:  map[string]string{"rname.lab.": `first\.last.rname.lab.`},
		want:    "first.last@rname.lab (rname)"},
	{name: "invalid RNAME: hostmaster",
		// RFC 1912 §2.2's mistake: an @ in the RNAME.
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": `hostmaster\@example.com.`},
		want:    "hostmaster@example.com (hostmaster)",
		marks:   []string{`invalid hostmaster\@example.com.`}},
	{name: "invalid RNAME of one label",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "root.localhost."},
		want:    "hostmaster@example.com (hostmaster)",
		marks:   []string{"invalid root.localhost."}},
	{name: "no server answers authoritatively: no RNAME",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		want:    "hostmaster@example.com (hostmaster)"},
	{name: "every server lame: hostmaster undeliverable, postmaster of the NS name's registered domain",
		finding: spec{zone: "alllame.example.", server: "192.0.2.1", names: []string{"ns1.dns.provider.co.uk."}},
		mail:    map[string]resolver.MailHosts{"alllame.example": undeliverable("alllame.example")},
		want:    "postmaster@provider.co.uk (postmaster)",
		marks:   []string{"undeliverable hostmaster@alllame.example"}},
	{name: "postmaster of every NS name, in name order",
		finding: spec{zone: "alllame.example.", server: "192.0.2.1", names: []string{"ns2.b-host.net.", "ns1.a-host.net."}},
		mail: map[string]resolver.MailHosts{"alllame.example": undeliverable("alllame.example"),
			"a-host.net": {Domain: "a-host.net.", NullMX: true}},
		want:  "postmaster@b-host.net (postmaster)",
		marks: []string{"undeliverable hostmaster@alllame.example", "undeliverable postmaster@a-host.net"}},
	{name: "an NS name that is an address gives no postmaster",
		finding: spec{zone: "alllame.example.", server: "192.0.2.1", names: []string{"192.0.2.1."}},
		mail:    map[string]resolver.MailHosts{"alllame.example": undeliverable("alllame.example")},
		marks:   []string{"undeliverable hostmaster@alllame.example", "invalid 192.0.2.1."}},
	{name: "RNAME equal to hostmaster: one candidate, the RNAME's source",
		finding: spec{zone: "example.com.", server: "192.0.2.1", names: []string{"ns.example.com."}},
		rnames:  map[string]string{"example.com.": "HostMaster.example.com."},
		mail:    map[string]resolver.MailHosts{"example.com": {Domain: "example.com.", NXDomain: true}},
		marks:   []string{"undeliverable HostMaster@example.com", "undeliverable postmaster@example.com"}},
	{name: "override for an enclosing zone, the closest one",
		finding: spec{zone: "a.b.example.com.", server: "192.0.2.1"},
		mail:    map[string]resolver.MailHosts{"a.b.example.com": undeliverable("a.b.example.com")},
		overrides: []Override{{Zone: "example.com.", To: "far@example.net"}, {Zone: "b.example.com.", To: "near@example.net"},
			{Zone: "c.example.com.", To: "other@example.net"}},
		want:  "near@example.net (override)",
		marks: []string{"undeliverable hostmaster@a.b.example.com"}},
	{name: "suppressed address",
		finding:  spec{zone: "rname.lab.", server: "127.53.3.1"},
		rnames:   map[string]string{"rname.lab.": `First\.Last.rname.lab.`},
		suppress: []string{"first.last@RNAME.lab"},
		want:     "hostmaster@rname.lab (hostmaster)",
		marks:    []string{"suppressed First.Last@rname.lab"}},
	{name: "suppressed domain covers its subdomains",
		finding:  spec{zone: "mail.example.com.", server: "192.0.2.1", names: []string{"ns.example.net."}},
		rnames:   map[string]string{"mail.example.com.": "dns.example.com."},
		suppress: []string{"@example.com"},
		want:     "postmaster@example.net (postmaster)",
		marks:    []string{"suppressed dns@example.com", "suppressed hostmaster@mail.example.com"}},
	{name: "suppressed parent zone: a human decides",
		finding:   spec{zone: `we\.ird.lab.`, server: "127.53.4.1", names: []string{"ns-upref.nic.lab."}},
		overrides: []Override{{Zone: "lab.", To: "dns-team@example.net"}},
		suppress:  []string{"lab"},
		marks: []string{`invalid we\.ird.lab.`, "suppressed postmaster@nic.lab",
			"suppressed dns-team@example.net"}},
	{name: "dead for this finding: rejected before",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "dns.example.com."},
		prep: func(t *testing.T, db *store.DB, id int64) {
			mark(t, db, id, "DNS@example.com", store.MarkRejected, t0.Add(-40*24*time.Hour))
		},
		want: "hostmaster@example.com (hostmaster)"},
	{name: "bounced for another finding only: alive for this one",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "dns.example.com."},
		prep: func(t *testing.T, db *store.DB, id int64) {
			other := seed(t, db, spec{zone: "example.org.", server: "192.0.2.1"})[0]
			mark(t, db, other, "dns@example.com", store.MarkBounced, t0.Add(-time.Hour))
		},
		want: "dns@example.com (rname)"},
	{name: "three soft bounces in 14 days",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "dns.example.com."},
		prep:    bounces(store.MarkSoft, 1, 5, 13),
		want:    "hostmaster@example.com (hostmaster)"},
	{name: "three soft bounces, one older than 14 days",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "dns.example.com."},
		prep:    bounces(store.MarkSoft, 1, 5, 15),
		want:    "dns@example.com (rname)"},
	{name: "two policy bounces in 14 days",
		finding: spec{zone: "example.com.", server: "192.0.2.1"},
		rnames:  map[string]string{"example.com.": "dns.example.com."},
		prep:    bounces(store.MarkPolicy, 2, 3),
		want:    "hostmaster@example.com (hostmaster)"},
	{name: "deliverability not checked",
		finding:   spec{zone: "alllame.example.", server: "192.0.2.1"},
		mail:      map[string]resolver.MailHosts{"alllame.example": undeliverable("alllame.example")},
		noDeliver: true,
		want:      "hostmaster@alllame.example (hostmaster)"},
	{name: "exhausted: a human decides",
		finding: spec{zone: "alllame.example.", server: "192.0.2.1", names: []string{"ns.alllame.example."}},
		rnames:  map[string]string{"alllame.example.": "dns.gone.example."},
		mail: map[string]resolver.MailHosts{"alllame.example": undeliverable("alllame.example"),
			"gone.example": {Domain: "gone.example.", NXDomain: true}},
		marks: []string{"undeliverable dns@gone.example", "undeliverable hostmaster@alllame.example",
			"undeliverable postmaster@alllame.example"}},
}

func TestChain(t *testing.T) {
	for _, tt := range chainCases {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			id := seed(t, tn.db, tt.finding)[0]
			tn.lookup.rnames, tn.Config.Overrides = tt.rnames, tt.overrides
			for k, v := range tt.mail {
				tn.lookup.mail[k] = v
			}
			tn.Config.CheckDeliverability = !tt.noDeliver
			for _, s := range tt.suppress {
				addSuppression(t, tn.db, s)
			}
			if tt.prep != nil {
				tt.prep(t, tn.db, id)
			}
			d := tn.decide(t, id)
			got := ""
			if d.contact != "" {
				got = fmt.Sprintf("%s (%s)", d.contact, d.source)
			}
			if got != tt.want {
				t.Errorf("contact %q, want %q", got, tt.want)
			}
			var marks []string
			for _, m := range d.marks {
				marks = append(marks, m.Mark.String()+" "+m.Address)
			}
			if diff := cmp.Diff(tt.marks, marks); diff != "" {
				t.Errorf("marks (-want +got):\n%s", diff)
			}
		})
	}
}

// addSuppression suppresses what a person would type.
func addSuppression(t testing.TB, db *store.DB, s string) {
	t.Helper()
	v, kind, err := ParseSuppression(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddSuppression(context.Background(), store.Suppression{Value: v, Kind: kind,
		Source: store.SuppressedManually, CreatedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// decide loads a run's state as Run does and walks finding id's chain.
func (tn *testNotifier) decide(t *testing.T, id int64) decision {
	t.Helper()
	r := &run{n: tn.Notifier, rep: &Report{}, rs: newRunState(t0, false)}
	if _, err := r.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := r.rs.byID[id]
	if f == nil {
		t.Fatalf("finding %d is not in the run", id)
	}
	d, err := tn.choose(context.Background(), r.rs, f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The RNAME comes from a recorded authoritative round while its server is
// not lame for the zone and the record is recent; otherwise the zone's
// servers are asked.
func TestRecordedSOA(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		server    string // of the recorded SOA
		age       time.Duration
		want      string
		soaLookup int
	}{
		{"an ok server, recorded yesterday", "192.0.2.2", 24 * time.Hour, "recorded@example.com", 0},
		{"the lame server itself, authoritative once", "192.0.2.1", 24 * time.Hour, "asked@example.com", 1},
		{"an ok server, recorded 31 days ago", "192.0.2.2", 31 * 24 * time.Hour, "asked@example.com", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			ids := seed(t, tn.db, spec{zone: "example.com.", server: "192.0.2.1"}, spec{zone: "example.com.", server: "192.0.2.2"})
			// The second server answered authoritatively: its finding is ok.
			auth := store.Round{FindingID: ids[1], At: t0.Add(-time.Hour), Verdict: store.VerdictAuthoritative, Reason: "authoritative",
				Class: store.ClassAuthoritative}
			if _, err := tn.db.RecordRound(ctx, auth, store.FindingUpdate{Status: store.StatusOK, Reason: "authoritative"}); err != nil {
				t.Fatal(err)
			}
			if err := tn.db.RecordZoneSOA(ctx, store.ZoneSOA{SOA: store.SOA{MName: "ns.example.com.", RName: "recorded.example.com.", Serial: 1},
				Zone: "example.com.", Server: netip.MustParseAddr(tt.server), At: t0.Add(-tt.age)}); err != nil {
				t.Fatal(err)
			}
			tn.lookup.rnames = map[string]string{"example.com.": "asked.example.com."}
			d := tn.decide(t, ids[0])
			if d.contact != tt.want || tn.lookup.soaCalls != tt.soaLookup {
				t.Errorf("contact %s after %d SOA lookups, want %s after %d", d.contact, tn.lookup.soaCalls, tt.want, tt.soaLookup)
			}
		})
	}
}
