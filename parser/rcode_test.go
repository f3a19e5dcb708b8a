package parser

import (
	"fmt"
	"testing"
	"time"
)

// TestParseRcodes checks that only response codes of the IANA DNS RCODE
// registry (RFC 6895 §2.3), as BIND and Unbound print them, and numbers
// 0–4095 are evidence: any other word in the rcode's place makes the line
// Unrecognised, so that forged lines cannot invent evidence kinds.
func TestParseRcodes(t *testing.T) {
	r := testReference
	b2 := func(rcode string) string {
		// BIND 9.18 lib/dns/resolver.c add_bad(): "%s%s%s resolving '%s/%s/%s': %s"
		return rcode + ` unexpected RCODE resolving 'www.example.com/A/IN': 192.0.2.1#53`
	}
	u4 := func(rcode string) string {
		// Unbound 1.17.1 iterator/iterator.c errinf_reply(): "got %s" from sldns_wire2str_rcode_buf()
		return `[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all servers for this domain failed, at zone example.com. from 192.0.2.1 got ` + rcode
	}
	tEpoch := time.Unix(1795312911, 0).UTC()
	bindEv := func(ev Evidence) []Observation {
		return []Observation{bindObs(r, ev, "", "www.example.com.", "A", "192.0.2.1", 53)}
	}
	unbEv := func(ev Evidence) []Observation {
		return []Observation{unboundObs(tEpoch, ev, "example.com.", "www.example.com.", "A", "192.0.2.1", 53)}
	}
	cases := []lineCase{
		// BIND lib/dns/rcode.c RCODENAMES and ERCODENAMES
		{"bind-notimp", b2("NOTIMP"), bindEv("rcode_notimp"), Recognised},
		{"bind-yxrrset", b2("YXRRSET"), bindEv("rcode_yxrrset"), Recognised},
		{"bind-nxrrset", b2("NXRRSET"), bindEv("rcode_nxrrset"), Recognised},
		{"bind-notauth", b2("NOTAUTH"), bindEv("rcode_notauth"), Recognised},
		{"bind-notzone", b2("NOTZONE"), bindEv("rcode_notzone"), Recognised},
		{"bind-badvers", b2("BADVERS"), bindEv("rcode_badvers"), Recognised},
		{"bind-badcookie", b2("BADCOOKIE"), bindEv("rcode_badcookie"), Recognised},
		// BIND 9.18 resolver.c: a reply that does not parse after the retry
		// without EDNS is logged with the rcode it parsed (NOERROR): a
		// malformed reply
		{"bind-noerror", b2("NOERROR"), bindEv(FormErr), Recognised},
		// BIND lib/dns/rcode.c: rcodes 11–15 print as RESERVED<n>, 11 is
		// DSOTYPENI (RFC 8490)
		{"bind-reserved11", b2("RESERVED11"), bindEv("rcode_dsotypeni"), Recognised},
		{"bind-reserved12", b2("RESERVED12"), bindEv("rcode_12"), Recognised},
		// BIND lib/dns/rcode.c dns_mnemonic_totext(): other values in decimal
		{"bind-17", b2("17"), bindEv("rcode_badkey"), Recognised},
		{"bind-22", b2("22"), bindEv("rcode_badtrunc"), Recognised},
		{"bind-4095", b2("4095"), bindEv("rcode_4095"), Recognised},
		{"bind-4096", b2("4096"), nil, Unrecognised},
		{"bind-leading-zero", b2("017"), nil, Unrecognised},
		// forged words are not rcodes
		{"bind-forged", b2("XYZ123"), nil, Unrecognised},
		{"bind-forged-lower", b2("notimp"), nil, Unrecognised},
		{"bind-9.3-forged", `unexpected RCODE (FROB) resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Unrecognised},
		{"bind-9.7-forged", `error (unexpected RCODE FROB) resolving 'www.example.com/A/IN': 192.0.2.1#53`, nil, Unrecognised},
		// sldns/wire2str.c sldns_rcodes_data: NOTIMPL is BIND's NOTIMP
		{"unbound-notimpl", u4("NOTIMPL"), unbEv("rcode_notimp"), Recognised},
		{"unbound-notauth", u4("NOTAUTH"), unbEv("rcode_notauth"), Recognised},
		// sldns/wire2str.c sldns_wire2str_rcode_print(): "RCODE%u" for the others
		{"unbound-rcode11", u4("RCODE11"), unbEv("rcode_dsotypeni"), Recognised},
		{"unbound-rcode15", u4("RCODE15"), unbEv("rcode_15"), Recognised},
		{"unbound-forged", u4("XYZ123"), nil, Unrecognised},
		{"unbound-rcode-forged", u4("RCODE99999"), nil, Unrecognised},
	}
	runLineCases(t, Options{Location: time.UTC, Reference: r}, cases)
}

// TestRcodeKindsBounded feeds every word a forged log could put in the
// rcode's place and checks that the evidence kinds stay within the closed
// set: the registry's mnemonics and rcode_0 … rcode_4095.
func TestRcodeKindsBounded(t *testing.T) {
	p := New(Options{Location: time.UTC, Reference: testReference})
	kinds := map[Evidence]bool{}
	var out []Observation
	for i := range 20000 {
		for _, w := range []string{fmt.Sprint(i), fmt.Sprintf("RCODE%d", i), fmt.Sprintf("RESERVED%d", i), fmt.Sprintf("X%d", i)} {
			out, _ = p.Parse([]byte(w+` unexpected RCODE resolving 'www.example.com/A/IN': 192.0.2.1#53`), out[:0])
			for _, o := range out {
				kinds[o.Evidence] = true
			}
		}
	}
	if n := len(kinds); n > 4096 {
		t.Errorf("%d distinct evidence kinds from forged rcodes, want at most 4096", n)
	}
	if !kinds["rcode_4095"] || kinds["rcode_4096"] || kinds["rcode_x1"] {
		t.Errorf("kinds: rcode_4095 %v, rcode_4096 %v, rcode_x1 %v", kinds["rcode_4095"], kinds["rcode_4096"], kinds["rcode_x1"])
	}
}
