package dnsname

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Canonical's table: the spellings BIND 9 logs (docs/log-formats.md),
// the ones miekg/dns writes for names it unpacks, and the limits of RFC
// 1035 §2.3.4.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`www.upref.lab`, `www.upref.lab.`}, // BIND: no final dot
		{`.`, `.`},
		{`WWW.UpRef.LAB.`, `www.upref.lab.`},
		{`we\.ird.lab`, `we\.ird.lab.`}, // BIND 9.18, the lab's bind9.log
		{`we\046ird.lab`, `we\.ird.lab.`},
		{`sp\032ace.lab`, `sp\032ace.lab.`},
		{`sp\ ace.lab.`, `sp\032ace.lab.`}, // miekg/dns's escape of a space
		{`dollar$.lab.`, `dollar\$.lab.`},  // miekg/dns leaves '$' bare
		{`it\'s.lab.`, `it's.lab.`},        // and escapes a quote BIND does not
		{`we\(ird\"q.lab`, `we\(ird\"q.lab.`},
		{`\@\;\).lab`, `\@\;\).lab.`},
		{"caf\xc3\xa9.lab", `caf\195\169.lab.`},
		{`CAF\195\169.lab`, `caf\195\169.lab.`},
		{`a\000b.lab`, `a\000b.lab.`},
		{`\065.lab`, `a.lab.`},
		{`we?ird.lab.`, `we?ird.lab.`}, // Unbound's lossy '?' is an octet
		{strings.Repeat("a", 63) + ".lab", strings.Repeat("a", 63) + ".lab."},
	} {
		got, err := Canonical(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if again, err := Canonical(got); err != nil || again != got {
			t.Errorf("Canonical(%q) = %q, %v: not idempotent", got, again, err)
		}
	}
	long := strings.Repeat("a", 63)
	for _, in := range []string{"", "..", ".lab", "a..lab", long + "a.lab", `lab\`, `a\25`, `a\2x5.lab`, `a\256.lab`,
		strings.Repeat(long+".", 4)} {
		if got, err := Canonical(in); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", in, got)
		}
	}
	// 255 octets on the wire is the most a name may have.
	if _, err := Canonical(strings.Repeat(long+".", 3) + strings.Repeat("a", 61)); err != nil {
		t.Errorf("Canonical(255 octets): %v", err)
	}
	// An RNAME keeps its case; its escapes are made canonical.
	if got, err := Append(nil, `First\.Last.Big\ Shop.example.`, false); err != nil || string(got) != `First\.Last.Big\032Shop.example.` {
		t.Errorf("Append without folding = %q, %v", got, err)
	}
}

// Labels gives the wire octets of each label, and refuses what is not an
// absolute name.
func TestLabels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`.`, nil},
		{`lab.`, []string{"lab"}},
		{`we\.ird.lab.`, []string{"we.ird", "lab"}},       // BIND 9.18, the lab's bind9.log
		{`big\032shop.lab.`, []string{"big shop", "lab"}}, // a space
		{`caf\195\169.lab.`, []string{"caf\xc3\xa9", "lab"}},
		{`a\\.lab.`, []string{`a\`, "lab"}}, // an escaped backslash, then the dot
	} {
		got, err := Labels(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Labels(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrEmptyName},
		{"lab", errNotAbsolute},
		{`lab\.`, errNotAbsolute}, // the last dot is part of the label
		{"a..lab.", ErrEmptyLabel},
		{`a\25.lab.`, ErrBadDecimal},
		{`a\256.lab.`, ErrBadDecimal},
	} {
		if got, err := Labels(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("Labels(%q) = %q, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzCanonical checks that Canonical is idempotent and that the labels of
// its result are those of its input, decoded. Seeds: testdata/fuzz.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`www.upref.lab`, `we\.ird.lab`, `sp\ ace.lab.`, `dollar$.lab`, "caf\xc3\xa9.lab", `.`, `a\256`, `\`, `lab\.`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonical(s)
		if err != nil {
			return
		}
		if again, err := Canonical(c); err != nil || again != c {
			t.Fatalf("Canonical(%q) = %q; of that %q, %v", s, c, again, err)
		}
		labels, err := Labels(c)
		if err != nil {
			t.Fatalf("Labels(Canonical(%q) = %q): %v", s, c, err)
		}
		raw, err := Labels(s)
		if err != nil {
			raw, err = Labels(s + ".") // BIND's form, without the final dot
		}
		if err != nil {
			t.Fatalf("Canonical(%q) = %q, but its labels cannot be read: %v", s, c, err)
		}
		for i := range raw {
			raw[i] = foldASCII(raw[i])
		}
		if !slices.Equal(raw, labels) {
			t.Fatalf("labels of %q: %q, of its canonical form %q: %q", s, raw, c, labels)
		}
	})
}

// foldASCII lowers the ASCII letters of s, and only them (RFC 4343).
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Split takes relative names too, and says what is wrong with an escape.
func TestSplit(t *testing.T) {
	labels, absolute, err := Split(`j\.doe.example.com`) // an RNAME without its final dot
	if err != nil || absolute || !slices.Equal(labels, []string{"j.doe", "example", "com"}) {
		t.Errorf("Split(relative) = %q, %v, %v", labels, absolute, err)
	}
	for _, tc := range []struct {
		in, words string
		is        error
	}{
		{`abc\`, "backslash at the end of the name", ErrDangling},
		{`a\12.example.`, `\DDD needs three digits`, ErrBadDecimal},
		{`a\256b.example.`, `\256 is above 255`, ErrBadDecimal},
		{strings.Repeat(strings.Repeat("a", 63)+".", 4), "(257 on the wire, more than 255)", ErrLongName},
	} {
		_, _, err := Split(tc.in)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("Split(%q) error %v, want %v saying %q", tc.in, err, tc.is, tc.words)
		}
	}
}
