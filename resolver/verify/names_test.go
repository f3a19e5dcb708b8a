package verify

import (
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/resolver"
)

// The parser's names are the store's keys, the resolver's names are what
// verification attributes and compares them with: one name must have one
// canonical form in both (docs/verification.md, "Names"). resolver may not
// import parser, so the agreement is checked here, where both are at hand.
func TestCanonicalNamesAgree(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, in := range []string{
		`www.upref.lab`,             // BIND 9: no final dot
		`WWW.UpRef.LAB.`,            // any case (RFC 4343)
		`we\.ird.lab`,               // BIND 9.18, the lab's bind9.log
		`we\046ird.lab`,             // the same octet as \DDD
		`sp\032ace.refused.lab`,     // the lab's bind9.log: a space
		`sp\ ace.refused.lab.`,      // miekg/dns writes a space so
		`we\(ird\"q.refused.lab`,    // the lab's bind9.log
		`semi\;colon.lab`,           // ';' opens a comment in zone files
		`at\@sign.lab`,              // '@' is the origin in zone files
		`dollar$.lab.`,              // miekg/dns leaves '$' bare, BIND escapes it
		`it\'s.lab.`,                // miekg/dns escapes a quote, BIND does not
		"caf\xc3\xa9.lab",           // é, raw UTF-8
		`CAF\195\169.lab`,           // é, BIND's escapes
		`a\000b.lab`,                // a NUL octet
		`we?ird.lab.`,               // Unbound's lossy '?'
		`.`,                         // the root
		long + ".lab",               // a label of 63 octets
		long + "a.lab",              // 64: too long
		strings.Repeat(long+".", 4), // 256 octets: too long
		"", "..", ".lab", "a..lab",  // empty names and labels
		`lab\`, `a\25`, `a\2x5`, `a\256`, // broken escapes
	} {
		p, perr := parser.CanonicalName(in)
		r, rerr := resolver.CanonicalName(in)
		if p != r || (perr == nil) != (rerr == nil) {
			t.Errorf("%q: parser %q, %v; resolver %q, %v", in, p, perr, r, rerr)
		}
	}
}

// FuzzCanonicalNamesAgree checks the agreement on any input: both accept
// or both refuse, and what they accept they write the same. Seeds:
// testdata/fuzz/FuzzCanonicalNamesAgree.
func FuzzCanonicalNamesAgree(f *testing.F) {
	for _, s := range []string{`www.upref.lab`, `we\.ird.lab`, `sp\ ace.lab.`, `Big\032Shop.Test`, "caf\xc3\xa9.lab", `.`, `a\256`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, perr := parser.CanonicalName(s)
		r, rerr := resolver.CanonicalName(s)
		if p != r || (perr == nil) != (rerr == nil) {
			t.Fatalf("%q: parser %q, %v; resolver %q, %v", s, p, perr, r, rerr)
		}
	})
}
