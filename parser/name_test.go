package parser

import (
	"errors"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/internal/dnsname"
)

func TestCanonicalName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		// BIND 9 dns_name_format: no trailing dot (docs/log-formats.md)
		{`www.upref.lab`, `www.upref.lab.`},
		{`www.upref.lab.`, `www.upref.lab.`},
		{`.`, `.`},
		{`WWW.UpRef.LAB`, `www.upref.lab.`},
		// BIND 9.18 lab bind9.log: escaped dot
		{`we\.ird.lab`, `we\.ird.lab.`},
		{`WE\.IRD.lab.`, `we\.ird.lab.`},
		{`we\046ird.lab`, `we\.ird.lab.`},
		// BIND 9.18 lab bind9.log: \032, \( and \"
		{`sp\032ace.refused.lab`, `sp\032ace.refused.lab.`},
		{`sp\ ace.refused.lab`, `sp\032ace.refused.lab.`},
		{`we\(ird\"q.refused.lab`, `we\(ird\"q.refused.lab.`},
		{`we\040ird\034q.refused.lab`, `we\(ird\"q.refused.lab.`},
		// escapes of ordinary characters are dropped, letters folded
		{`\a\B\-.lab`, `ab-.lab.`},
		{`\065.lab`, `a.lab.`},
		// bytes above 0x7e and below 0x21
		{"caf\xc3\xa9.lab", `caf\195\169.lab.`},
		{`a\000b.lab`, `a\000b.lab.`},
		{`\@\$\;\).lab`, `\@\$\;\).lab.`},
		// Unbound's lossy '?' stays a literal
		{`we?ird.lab.`, `we?ird.lab.`},
		{`*.lab`, `*.lab.`},
	} {
		got, err := CanonicalName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := CanonicalName(got); err != nil || again != got {
			t.Errorf("CanonicalName(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
}

func TestCanonicalNameErrors(t *testing.T) {
	long := make([]byte, 64)
	for i := range long {
		long[i] = 'a'
	}
	var over []byte
	for i := 0; i < 5; i++ {
		over = append(over, long[:60]...)
		over = append(over, '.')
	}
	for _, in := range []string{
		"",
		"..",
		".lab",
		"a..lab",
		string(long) + ".lab",
		string(over),
		`lab\`,
		`a\25`,
		`a\2x5.lab`,
		`a\256.lab`,
	} {
		if got, err := CanonicalName(in); err == nil {
			t.Errorf("CanonicalName(%q) = %q, want an error", in, got)
		}
	}
	// 63-octet labels and a 255-octet name are fine
	max := string(long[:63]) + "." + string(long[:63]) + "." + string(long[:63]) + "." + string(long[:61])
	if _, err := CanonicalName(max); err != nil {
		t.Errorf("CanonicalName(255 octets): %v", err)
	}
	if _, err := CanonicalName(max + "a"); err == nil {
		t.Errorf("CanonicalName(256 octets) succeeded")
	}
}

// TestCanonicalNameErrorKinds checks that the octet that breaks a limit
// decides the error, also inside runs of literal octets (appended at once)
// and where a run meets an escape.
func TestCanonicalNameErrorKinds(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		in   string
		want error
	}{
		{a(64) + ".lab", dnsname.ErrLongLabel},
		{a(62) + `\065\066.lab`, dnsname.ErrLongLabel},
		{`\065` + a(63) + ".lab", dnsname.ErrLongLabel},
		{a(63) + "." + a(63) + "." + a(63) + "." + a(62), dnsname.ErrLongName},
		{a(63) + "." + a(63) + "." + a(63) + "." + a(61) + `\065`, dnsname.ErrLongName},
		{a(63) + "." + a(63) + "." + a(63) + "." + a(63) + "." + a(64), dnsname.ErrLongName},
		{"a..lab", dnsname.ErrEmptyLabel},
		{`ab\`, dnsname.ErrDangling},
		{`ab\25`, dnsname.ErrBadDecimal},
	} {
		if _, err := CanonicalName(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("CanonicalName(%q): %v, want %v", tc.in, err, tc.want)
		}
	}
}
