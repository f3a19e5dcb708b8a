package resolver

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDelegation(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	ctx := context.Background()
	tests := []struct {
		zone string
		want Delegation
	}{
		// Glue for the in-bailiwick name, an iterative lookup for ns-good.alt.,
		// and a name only the child's apex lists.
		{"good.test", Delegation{
			Zone: "good.test.", Parent: "test.", Delegated: true,
			NS: []NameServer{
				{Name: "ns-good.alt.", Addrs: []netip.Addr{addrGood2}},
				{Name: "ns1.good.test.", Addrs: []netip.Addr{addrGood1}, Glue: true},
			},
			ChildNS:   []string{"ns-good.alt.", "ns-old.alt.", "ns1.good.test."},
			ChildOnly: []NameServer{{Name: "ns-old.alt.", Addrs: []netip.Addr{addrOld}}},
		}},
		// NS name that does not exist (ns_name_nxdomain); glue for ns1.good.test in
		// the parent's bailiwick (a sibling zone's name).
		{"nsnx.test.", Delegation{
			Zone: "nsnx.test.", Parent: "test.", Delegated: true,
			NS: []NameServer{
				{Name: "ns.missing.alt.", Err: ReasonNSNameNXDomain},
				{Name: "ns1.good.test.", Addrs: []netip.Addr{addrGood1}, Glue: true},
			},
		}},
		// A zone no longer delegated: NXDOMAIN from test.
		{"gone.test.", Delegation{Zone: "gone.test.", Parent: "test."}},
		// A name below a lame delegation whose servers answer nothing useful.
		{"upref.test.", Delegation{
			Zone: "upref.test.", Parent: "test.", Delegated: true,
			NS: []NameServer{{Name: "ns-upref.nic.test.", Addrs: []netip.Addr{addrUpref}, Glue: true}},
		}},
		// A TLD.
		{"alt.", Delegation{
			Zone: "alt.", Parent: ".", Delegated: true,
			NS:      []NameServer{{Name: "ns1.nic.alt.", Addrs: []netip.Addr{addrAlt}, Glue: true}},
			ChildNS: []string{"ns1.nic.alt."},
		}},
	}
	for _, tt := range tests {
		got, err := r.Delegation(ctx, tt.zone)
		if err != nil {
			t.Errorf("Delegation(%s): %v", tt.zone, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("Delegation(%s) (-want +got):\n%s", tt.zone, diff)
		}
	}
	// The NS name is a CNAME: followed (RFC 1536 allows 8).
	d, err := r.Delegation(ctx, "cnamens.test.")
	if err != nil || len(d.NS) != 1 || d.NS[0].Err != "" || len(d.NS[0].Addrs) != 1 || d.NS[0].Addrs[0] != addrGood1 || !d.NS[0].Alias {
		t.Errorf("Delegation(cnamens.test) = %+v, %v", d, err)
	}
	// A chain of 10 CNAMEs: the lookup gives up.
	d, err = r.Delegation(ctx, "cnloop.test.")
	if err != nil || len(d.NS) != 1 || d.NS[0].Err != ReasonNSLookupFailed {
		t.Errorf("Delegation(cnloop.test) = %+v, %v", d, err)
	}

	// Cached: asking again sends nothing.
	before := r.Stats().Packets
	if _, err := r.Delegation(ctx, "good.test."); err != nil {
		t.Fatal(err)
	}
	if after := r.Stats().Packets; after != before {
		t.Errorf("cached delegation sent %d packets", after-before)
	}
}

func TestMaxReferrals(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	name := strings.Repeat("x.", 30) + "deep.test."
	if _, err := r.Delegation(context.Background(), name); !errors.Is(err, ErrBudget) {
		t.Errorf("Delegation below an endless referral chain: %v, want ErrBudget", err)
	}
	if n := l.count(addrDeep).Load(); n > 20 {
		t.Errorf("the referring server saw %d queries, more than 20 referrals", n)
	}
}

func TestDelegationParentUnreachable(t *testing.T) {
	l := newLab(t)
	cfg := l.config()
	cfg.RootHints = []netip.Addr{addrSilent}
	r := newTestResolver(t, cfg)
	_, err := r.Delegation(context.Background(), "good.test.")
	if !errors.Is(err, ErrParentUnreachable) {
		t.Errorf("Delegation with silent root hints: %v, want ErrParentUnreachable", err)
	}
}

func TestZoneFor(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	tests := []struct {
		qname  string
		server netip.Addr
		zone   string // "" means ErrNotListed
	}{
		// BIND: "REFUSED unexpected RCODE resolving 'www.refused.test/A/IN': 127.53.3.1#53"
		{"www.refused.test", addrRefused, "refused.test."},
		{"n1.good.test", addrGood1, "good.test."},
		{"n1.good.test", addrGood2, "good.test."},
		// Only in the child's apex NS set.
		{"n1.good.test", addrOld, "good.test."},
		// One lame server of several zones: each qname gets its own zone.
		{"www.halflame.test", addrUpref, "halflame.test."},
		{"a.b.sub.upref.test", addrUpref, "sub.upref.test."},
		{"www.upref.test", addrUpref, "upref.test."},
		// The parent's server is listed for selfref.test itself (the e2e lab's selfref.lab.).
		{"www.selfref.test", addrTest, "selfref.test."},
		{"www.test", addrTest, "test."},
		// An address no longer listed anywhere: stale.
		{"www.good.test", addrUnlisted, ""},
	}
	for _, tt := range tests {
		got, err := r.ZoneFor(context.Background(), tt.qname, tt.server)
		if tt.zone == "" {
			if !errors.Is(err, ErrNotListed) {
				t.Errorf("ZoneFor(%s, %s) = %q, %v; want ErrNotListed", tt.qname, tt.server, got, err)
			}
			continue
		}
		if err != nil || got != tt.zone {
			t.Errorf("ZoneFor(%s, %s) = %q, %v; want %q", tt.qname, tt.server, got, err, tt.zone)
		}
	}
}

func TestCheck(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	ctx := context.Background()

	got, err := r.Check(ctx, "halflame.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	// rtt_ms varies: compare the rest.
	var decoded map[string]any
	json.Unmarshal(js, &decoded)
	for _, s := range decoded["servers"].([]any) {
		if _, ok := s.(map[string]any)["rtt_ms"].(float64); !ok {
			t.Errorf("rtt_ms missing or not a number in %v", s)
		}
		delete(s.(map[string]any), "rtt_ms")
	}
	want := map[string]any{
		"zone": "halflame.test.", "parent": "test.",
		"delegation": []any{"ns-upref.nic.test.", "ns1.good.test."},
		"verdict":    "lame",
		"servers": []any{
			map[string]any{"name": "ns-upref.nic.test.", "address": "127.53.4.1", "verdict": "lame", "reason": "upward_referral", "flags": []any{}},
			map[string]any{"name": "ns1.good.test.", "address": "127.53.2.1", "verdict": "authoritative", "reason": "authoritative", "flags": []any{}},
		},
	}
	if diff := cmp.Diff(want, decoded); diff != "" {
		t.Errorf("Check(halflame.test) JSON (-want +got):\n%s", diff)
	}

	// Only the given servers; an unlisted one is probed under no name.
	got, err = r.Check(ctx, "good.test.", []netip.Addr{addrGood2, addrUnlisted})
	if err != nil {
		t.Fatal(err)
	}
	var rows [][3]string
	for _, s := range got.Servers {
		rows = append(rows, [3]string{s.Name, s.Address, s.Reason})
	}
	wantRows := [][3]string{{"ns-good.alt.", "127.53.2.3", "authoritative"}, {"", "127.53.99.1", "no_dns_service"}}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("Check(good.test, servers) (-want +got):\n%s", diff)
	}

	// ns_name_nxdomain rows have no address.
	got, err = r.Check(ctx, "nsnx.test.", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Servers[0]; s.Name != "ns.missing.alt." || s.Address != "" || s.Verdict != VerdictLame || s.Reason != ReasonNSNameNXDomain {
		t.Errorf("nsnx.test first row %+v", s)
	}

	// Not delegated: an error, as `lamers check` exits 2.
	if _, err := r.Check(ctx, "gone.test.", nil); !errors.Is(err, ErrNotDelegated) {
		t.Errorf("Check(gone.test) error %v, want ErrNotDelegated", err)
	}
}
