package resolver

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseRootHints(t *testing.T) {
	addrs, err := embeddedRootHints()
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 26 || addrs[0] != netip.MustParseAddr("198.41.0.4") || !addrs[13].Is6() {
		t.Errorf("embedded hints: %d addresses, first %v", len(addrs), addrs[0])
	}

	// A private tree's hints (the e2e lab's a.root-servers.lab.); the stray A
	// record is not a root NS target and is ignored.
	addrs, err = ParseRootHints(strings.NewReader(`
; private root
.                     3600000 NS   A.ROOT-SERVERS.LAB.
a.root-servers.lab.   3600000 A    127.53.0.1
a.root-servers.lab.   3600000 AAAA ::1
stray.lab.            3600000 A    192.0.2.1
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("127.53.0.1"), netip.MustParseAddr("::1")}
	if len(addrs) != 2 || addrs[0] != want[0] || addrs[1] != want[1] {
		t.Errorf("ParseRootHints = %v, want %v", addrs, want)
	}

	for _, bad := range []string{"", ". 3600 NS a.example.\n", ". 3600 IN NS\n"} {
		if _, err := ParseRootHints(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "resolver: parse root hints") {
			t.Errorf("ParseRootHints(%q) error %v", bad, err)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	r := newTestResolver(t, Config{})
	if len(r.roots) != 26 || r.cfg.Port != 53 || r.cfg.QPS != 50 || r.cfg.MaxReferrals != 20 || r.cfg.MaxCNAMEs != 8 {
		t.Errorf("defaults: %+v", r.cfg)
	}
	for _, cfg := range []Config{
		{Timeouts: []time.Duration{-1}},
		{DisableIPv4: true, DisableIPv6: true},
		{Source4: netip.MustParseAddr("::1")},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
}

func TestTTLCache(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	c := newTTLCache[int](2, func() time.Time { return now })
	c.put("a", 1, time.Minute)
	c.put("b", 2, time.Hour)
	c.put("c", 3, time.Hour) // full: "a" expires first and goes
	if _, ok := c.get("a"); ok || c.len() != 2 {
		t.Errorf("bound not kept: len %d", c.len())
	}
	now = now.Add(time.Hour)
	if _, ok := c.get("b"); ok {
		t.Error("expired entry returned")
	}
	c.put("z", 9, 0)
	if _, ok := c.get("z"); ok {
		t.Error("TTL 0 cached")
	}
}
