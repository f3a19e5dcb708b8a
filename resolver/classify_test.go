package resolver

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// TestClassify covers the classifier on replies written as zone-file text,
// including shapes the private tree does not produce.
func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		r      resolvertest.Reply
		reason string
	}{
		{"authoritative", resolvertest.Reply{AA: true, Answer: `example.org. 300 IN SOA ns.example.org. h.example.org. 1 2 3 4 5`}, ReasonAuthoritative},
		{"authoritative, owner in another case", resolvertest.Reply{AA: true, Answer: `EXAMPLE.org. 300 IN SOA ns.example.org. h.example.org. 1 2 3 4 5`}, ReasonAuthoritative},
		{"two SOAs at the apex", resolvertest.Reply{AA: true, Answer: "example.org. 300 IN SOA a. b. 1 2 3 4 5\nexample.org. 300 IN SOA a. b. 2 2 3 4 5"}, ReasonBrokenServer},
		{"SOA of another class", resolvertest.Reply{AA: true, Answer: `example.org. 300 CH SOA a. b. 1 2 3 4 5`}, ReasonNoSOA},
		// BIND with "recursion yes" answering from its cache (the e2e lab's recursive.lab.).
		{"RA=1 AA=0 answer", resolvertest.Reply{RA: true, Answer: `example.org. 300 IN SOA a. b. 1 2 3 4 5`}, ReasonRecursiveNotAuthoritative},
		// Lab (c') uncached: RA=1 referral to itself.
		{"RA=1 referral", resolvertest.Reply{RA: true, Ns: `example.org. 300 IN NS ns.example.net.`}, ReasonRecursiveNotAuthoritative},
		{"RA=1 all empty", resolvertest.Reply{RA: true}, ReasonEmptyNonAuthoritative},
		// Lab (c) otherauth.lab: the root refers to lab.
		{"referral to the parent", resolvertest.Reply{Ns: `org. 172800 IN NS a.gtld.example.`}, ReasonUpwardReferral},
		{"referral to the root", resolvertest.Reply{Ns: `. 3600000 IN NS a.root-servers.net.`}, ReasonUpwardReferral},
		{"referral to a child", resolvertest.Reply{Ns: `sub.example.org. 3600 IN NS ns.sub.example.org.`}, ReasonReferralOtherZone},
		{"referral to a sibling", resolvertest.Reply{Ns: `example.com. 3600 IN NS ns.example.com.`}, ReasonReferralOtherZone},
		{"AA=0 NODATA", resolvertest.Reply{Ns: `org. 300 IN SOA a. b. 1 2 3 4 5`}, ReasonNotAuthoritative},
		{"AA=0 glue only", resolvertest.Reply{Extra: `ns.example.org. 300 IN A 192.0.2.1`}, ReasonNotAuthoritative},
		{"AA=1 referral", resolvertest.Reply{AA: true, Ns: `example.org. 300 IN NS ns.example.org.`}, ReasonNoSOA},
		{"AA=1 other zone's SOA in authority", resolvertest.Reply{AA: true, Ns: `org. 300 IN SOA a. b. 1 2 3 4 5`}, ReasonNoSOA},
		{"AA=1 answer of another type", resolvertest.Reply{AA: true, Answer: `example.org. 300 IN A 192.0.2.1`}, ReasonNoSOA},
		{"CNAME at apex, AA=0", resolvertest.Reply{Answer: `example.org. 300 IN CNAME example.net.`}, ReasonCNAMEAtApex},
		{"NXDOMAIN AA=0", resolvertest.Reply{Rcode: dns.RcodeNameError}, ReasonNXDomain},
		{"NOTIMP", resolvertest.Reply{Rcode: dns.RcodeNotImplemented}, ReasonBrokenServer},
		{"YXDOMAIN", resolvertest.Reply{Rcode: dns.RcodeYXDomain}, "rcode_yxdomain"},
		{"rcode 12", resolvertest.Reply{Rcode: 12}, "rcode_12"},
	}
	req := new(dns.Msg)
	req.SetQuestion("example.org.", dns.TypeSOA)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.r.Msg(req)
			c := classify("example.org.", m)
			if c.reason != tt.reason {
				t.Errorf("classify = %s, want %s\n%v", c.reason, tt.reason, m)
			}
			if !KnownReason(c.reason) {
				t.Errorf("reason %q unknown", c.reason)
			}
		})
	}
}

func TestKnownReason(t *testing.T) {
	for _, r := range []string{ReasonAuthoritative, ReasonUnresponsive, ReasonParentUnreachable, "rcode_notauth", "rcode_12"} {
		if !KnownReason(r) {
			t.Errorf("KnownReason(%q) = false", r)
		}
	}
	for _, r := range []string{"", "rcode_", "rcode_NOTAUTH", "lame"} {
		if KnownReason(r) {
			t.Errorf("KnownReason(%q) = true", r)
		}
	}
	if VerdictOf("rcode_badcookie") != VerdictInconclusive || VerdictOf("rcode_notauth") != VerdictLame {
		t.Error("VerdictOf of rcode reasons")
	}
}

func TestMatchReply(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("example.org.", dns.TypeSOA)
	ok := func(mut func(m *dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetReply(q)
		mut(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"match", ok(func(*dns.Msg) {}), nil},
		{"question in another case", ok(func(m *dns.Msg) { m.Question[0].Name = "EXAMPLE.org." }), nil},
		{"wrong ID", ok(func(m *dns.Msg) { m.Id++ }), errNoMatch},
		{"QR=0", ok(func(m *dns.Msg) { m.Response = false }), errNoMatch},
		{"other opcode", ok(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), errNoMatch},
		{"other name", ok(func(m *dns.Msg) { m.Question[0].Name = "example.com." }), errNoMatch},
		{"other type", ok(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeA }), errNoMatch},
		{"no question", ok(func(m *dns.Msg) { m.Question = nil }), errNoMatch},
		{"FORMERR without question", ok(func(m *dns.Msg) { m.Question = nil; m.Rcode = dns.RcodeFormatError }), nil},
		{"short", []byte{1, 2, 3}, errNoMatch},
		{"garbage body", append(ok(func(*dns.Msg) {})[:12:12], 0xff), errUnparseable},
	}
	for _, tt := range tests {
		_, err := matchReply(q, tt.raw)
		if err != tt.want {
			t.Errorf("%s: matchReply error %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzClassify feeds arbitrary messages to the classifier and to the reply
// matcher: no panic, always a known reason.
func FuzzClassify(f *testing.F) {
	req := new(dns.Msg)
	req.SetQuestion("example.org.", dns.TypeSOA)
	for _, r := range []resolvertest.Reply{
		{AA: true, Answer: `example.org. 300 IN SOA ns.example.org. h.example.org. 1 2 3 4 5`},
		{Ns: `. 3600000 IN NS a.root-servers.net.`, Extra: `a.root-servers.net. 300 IN A 198.41.0.4`},
		{Rcode: dns.RcodeRefused},
		{RA: true, Answer: `example.org. 300 IN CNAME example.net.`},
		{Rcode: dns.RcodeNameError, AA: true, Ns: `org. 300 IN SOA a. b. 1 2 3 4 5`},
	} {
		b, err := r.Msg(req).Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(raw); err == nil {
			for _, zone := range []string{"example.org.", "."} {
				c := classify(zone, m)
				if !KnownReason(c.reason) {
					t.Fatalf("classify(%s) gave unknown reason %q for\n%v", zone, c.reason, m)
				}
				if c.reason == ReasonAuthoritative && c.soa == nil {
					t.Fatalf("authoritative without SOA")
				}
			}
			if len(m.Question) > 0 && m.Question[0].Name != "" {
				if _, ok := dns.IsDomainName(m.Question[0].Name); ok {
					_ = referralCut(m, ".", canonical(m.Question[0].Name))
					_ = useful(m, ".", canonical(m.Question[0].Name))
				}
			}
		}
		r, err := matchReply(req, raw)
		if err == nil && r == nil {
			t.Fatal("matchReply: nil reply without error")
		}
	})
}
