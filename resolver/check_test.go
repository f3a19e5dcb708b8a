package resolver

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkRow is a row of a Check as the table below writes it.
type checkRow struct {
	name, addr, reason string
	flags              []string
}

// TestCheckZones runs Check on one zone of the private tree per case and
// compares the zone's verdict and every row (docs/verification.md,
// "lamers check"). The zones copy the e2e lab's where it has one.
func TestCheckZones(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	tests := []struct {
		zone    string
		verdict ZoneVerdict
		rows    []checkRow
	}{
		// Healthy, and the child's apex lists a third name, whose server
		// no longer serves the zone: probed, lame, flagged.
		{"good.test.", ZoneLame, []checkRow{
			{"ns-good.alt.", "127.53.2.3", ReasonAuthoritative, nil},
			{"ns1.good.test.", "127.53.2.1", ReasonAuthoritative, nil},
			{"ns-old.alt.", "127.53.2.5", ReasonRefused, []string{FlagNSNotInParent}},
		}},
		// A move half done: the parent still lists ns-good.alt., the
		// child already ns-old.alt. instead.
		{"moved.test.", ZoneOK, []checkRow{
			{"ns-good.alt.", "127.53.2.3", ReasonAuthoritative, []string{FlagNSNotInChild}},
			{"ns1.good.test.", "127.53.2.1", ReasonAuthoritative, nil},
			{"ns-old.alt.", "127.53.2.5", ReasonAuthoritative, []string{FlagNSNotInParent}},
		}},
		// One server authoritative, one an upward referral (halflame.lab.).
		{"halflame.test.", ZoneLame, []checkRow{
			{"ns-upref.nic.test.", "127.53.4.1", ReasonUpwardReferral, nil},
			{"ns1.good.test.", "127.53.2.1", ReasonAuthoritative, nil},
		}},
		// Every server lame (refused.lab.): nothing answers authoritatively.
		{"refused.test.", ZoneBroken, []checkRow{{"ns1.refused.test.", "127.53.3.1", ReasonRefused, nil}}},
		// The only server's port is closed (closed.lab.): inconclusive,
		// and the zone broken all the same.
		{"closed.test.", ZoneBroken, []checkRow{{"ns-closed.nic.test.", "127.53.6.1", ReasonNoDNSService, nil}}},
		// The only server never answers (blackhole.lab.).
		{"blackhole.test.", ZoneBroken, []checkRow{{"ns-silent.nic.test.", "127.53.6.2", ReasonUnresponsive, nil}}},
		// The NS name is a CNAME to a good server (cnamens.lab.).
		{"cnamens.test.", ZoneOK, []checkRow{{"alias.nic.test.", "127.53.2.1", ReasonAuthoritative, []string{FlagNSIsCNAME}}}},
		// A tinydns (UDP only, no OPT) with an old copy, and an NSD with
		// the new one: neither SOA is the majority's (legacy.lab.).
		{"legacy.test.", ZoneOK, []checkRow{
			{"ns-good.alt.", "127.53.2.3", ReasonAuthoritative, []string{FlagSOAMismatch}},
			{"ns-legacy.nic.test.", "127.53.12.1", ReasonAuthoritative,
				[]string{FlagEDNSNoncompliant, FlagSOAMismatch, FlagTCPFailed}},
		}},
		// An NS name that does not exist is lame without an address; the
		// other server does not serve the zone: no apex NS set to compare.
		{"nsnx.test.", ZoneBroken, []checkRow{
			{"ns.missing.alt.", "", ReasonNSNameNXDomain, nil},
			{"ns1.good.test.", "127.53.2.1", ReasonRefused, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			t.Parallel()
			got, err := r.Check(context.Background(), tt.zone, nil)
			if err != nil {
				t.Fatal(err)
			}
			var rows []checkRow
			for _, s := range got.Servers {
				rows = append(rows, checkRow{s.Name, s.Address, s.Reason, s.Flags})
				if VerdictOf(s.Reason) != s.Verdict {
					t.Errorf("%s %s: verdict %s with reason %s", s.Name, s.Address, s.Verdict, s.Reason)
				}
			}
			for i := range tt.rows {
				if tt.rows[i].flags == nil {
					tt.rows[i].flags = []string{}
				}
			}
			if diff := cmp.Diff(tt.rows, rows, cmp.AllowUnexported(checkRow{})); diff != "" {
				t.Errorf("Check(%s) rows (-want +got):\n%s", tt.zone, diff)
			}
			if got.Verdict != tt.verdict {
				t.Errorf("Check(%s) zone verdict %q, want %q", tt.zone, got.Verdict, tt.verdict)
			}
		})
	}
}

// A server that never answers, or whose port is closed, costs Check one
// probe round: neither the apex NS query nor the TCP query goes to it.
func TestCheckDeadServerCost(t *testing.T) {
	l := newLab(t)
	r := newTestResolver(t, l.config())
	tests := []struct {
		zone    string
		server  netip.Addr
		packets int64 // P1, P1 again, P2; P1 alone when the port is closed
	}{
		{"blackhole.test.", addrSilent, 3},
		{"closed.test.", addrClosed, 1},
	}
	for _, tt := range tests {
		if _, err := r.Check(context.Background(), tt.zone, nil); err != nil {
			t.Fatal(err)
		}
		if got := r.Stats().PerAddress[tt.server].Packets; got != tt.packets {
			t.Errorf("Check(%s) sent %d packets to %s, want %d", tt.zone, got, tt.server, tt.packets)
		}
	}
	if got := l.count(addrSilent).Load(); got != 3 {
		t.Errorf("the silent server received %d queries, want 3", got)
	}
}

// A --server address with an IPv6 scope stands for the delegation's
// address without one (glue never carries a scope): its row shows the
// scope and the probe goes to the scoped address.
func TestCheckServerKeepsScope(t *testing.T) {
	scoped := netip.MustParseAddr("fe80::53%lo")
	c := newCheckRun(context.Background(), &Resolver{}, "ll.test.", []netip.Addr{scoped})
	fresh := c.add([]NameServer{{Name: "ns.ll.test.", Addrs: []netip.Addr{
		netip.MustParseAddr("fe80::53"), netip.MustParseAddr("fe80::54"),
	}}}, "")
	if want := []netip.Addr{scoped}; !slices.Equal(fresh, want) {
		t.Errorf("probed %v, want %v", fresh, want)
	}
	if len(c.rows) != 1 || c.rows[0].Address != "fe80::53%lo" || c.rows[0].Name != "ns.ll.test." {
		t.Errorf("rows %+v, want one of ns.ll.test. at fe80::53%%lo", c.rows)
	}
	if got := c.addUnlisted(); len(got) != 0 {
		t.Errorf("the scoped --server address is also unlisted: %v", got)
	}
}
