package notify

import (
	"errors"
	"net/mail"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

func TestRNAMEAddress(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []addressCase{
		// RFC 1035 §8: a dot in the local part is escaped.
		{`first\.last.example.com.`, "first.last@example.com", ""},
		// RFC 1035 §5.1: \DDD is a decimal octet, \046 is ".".
		{`first\046last.example.com.`, "first.last@example.com", ""},
		// RFC 1035 §8's own example.
		{`Action\.domains.ISI.EDU.`, "Action.domains@isi.edu", ""},
		// The common case, as miekg/dns prints SOA RNAMEs.
		{`hostmaster.example.com.`, "hostmaster@example.com", ""},
		{`dns-admin.nic.example.co.uk.`, "dns-admin@nic.example.co.uk", ""},
		// Case is kept in the local part, folded in the domain.
		{`J\.Doe.Example.COM.`, "J.Doe@example.com", ""},
		// The final dot may be left off.
		{`hostmaster.example.com`, "hostmaster@example.com", ""},
		// atext characters other than letters and digits (RFC 5322 §3.2.3).
		{`a+b_c-d!e#f$g%h&i'j*k=l?m^n` + "`" + `o{p|q}r~s/t.example.net.`, "a+b_c-d!e#f$g%h&i'j*k=l?m^n`o{p|q}r~s/t@example.net", ""},
		// An escaped plain character is that character.
		{`\h\o\s\t.example.com.`, "host@example.com", ""},
		// A-labels are kept; U-labels become A-labels.
		{`hostmaster.xn--bcher-kva.example.`, "hostmaster@xn--bcher-kva.example", ""},
		{`hostmaster.b\195\188cher.example.`, "hostmaster@xn--bcher-kva.example", ""},
		// A 63-octet local part.
		{long63 + `.example.com.`, long63 + "@example.com", ""},

		// An escaped backslash before an escaped dot: the local part is "a\",
		// not atext (Zonemaster's SYNTAX06 regex reads it as "a.b").
		{`a\\.b.example.com.`, "", `local part has "\\"`},
		{`hostmaster@example.com.`, "", `local part has "@"`},
		{`hostmaster\@example.com.`, "", `local part has "@"`},
		{`root.localhost.`, "", "domain has fewer than two labels"},
		{`hostmaster.com.`, "", "domain has fewer than two labels"},
		{`hostmaster.`, "", "domain has fewer than two labels"},
		{`.`, "", "root name"},
		{``, "", "empty name"},
		{`j\032doe.example.com.`, "", `local part has " "`},
		{`j\ doe.example.com.`, "", `local part has " "`},
		{`j\195\164ger.example.com.`, "", "not ASCII (would need SMTPUTF8)"},
		{`hostmaster.ex_ample.com.`, "", "not a valid IDNA name"},
		// Dot-atom rules (RFC 5322 §3.4.1).
		{`\.hostmaster.example.com.`, "", "starts or ends with a dot"},
		{`hostmaster\..example.com.`, "", "starts or ends with a dot"},
		{`a\.\.b.example.com.`, "", "two dots in a row"},
		{`"quoted".example.com.`, "", `local part has "\""`},
		{`\"quoted\".example.com.`, "", `local part has "\""`},
		{`a\;b.example.com.`, "", `local part has ";"`},
		{`a\(b\).example.com.`, "", `local part has "("`},
		{`a,b.example.com.`, "", `local part has ","`},
		{`<a>.example.com.`, "", `local part has "<"`},
		// Control characters, escaped or raw, anywhere (header injection).
		{`evil\013\010Bcc:\032x.example.com.`, "", "control character"},
		{"evil\r\nBcc: x.example.com.", "", "control character"},
		{`ok.exa\000mple.com.`, "", "control character"},
		{`ok.example.com\127.`, "", "control character"},
		{`a\009b.example.com.`, "", "control character"},
		{`ok.exa` + "\x00" + `mple.com.`, "", "control character"},
		// Escapes.
		{`abc\`, "", "backslash at the end"},
		{`a\12.example.com.`, "", "three digits"},
		{`a\1.example.com.`, "", "three digits"},
		{`a\256b.example.com.`, "", "above 255"},
		// Empty labels.
		{`..example.com.`, "", "empty label"},
		{`a..example.com.`, "", "empty label"},
		{`a.example..com.`, "", "empty label"},
		// Lengths (RFC 1035 §2.3.4).
		{long63 + `a.example.com.`, "", "label longer than 63 octets"},
		{`a.` + long63 + `b.com.`, "", "label longer than 63 octets"},
		{`a.` + strings.Repeat(long63+".", 4) + `com.`, "", "name longer than 255 octets"},
		{strings.Repeat(`\046`, 2000), "", "name longer than 255 octets"},
		// Domain rules.
		{`a.exam\.ple.com.`, "", "escaped dot"},
		{`a.-example.com.`, "", "not a valid IDNA name"},
		{`a.example-.com.`, "", "not a valid IDNA name"},
		{`a.exa\ mple.com.`, "", "not a valid IDNA name"},
		{`a.exa@mple.com.`, "", "not a valid IDNA name"},
		{`a.\255\255.com.`, "", "domain is not UTF-8"},
		{`a.xn--zz.com.`, "", "not a valid IDNA name"}, // bad Punycode
		{`a.192.0.2.1.`, "", "top-level label is all digits"},
		{`a.example.123.`, "", "top-level label is all digits"},
		// U+3002 IDEOGRAPHIC FULL STOP maps to "." under UTS #46.
		{`a.example\227\128\130com.net.`, "", "labels change under IDNA mapping"},
	}
	checkAddresses(t, "RNAMEAddress", RNAMEAddress, ErrInvalidRNAME, ErrInvalidName, "notify: rname ", tests)
}

// addressCase is one input of a name-to-address function, the address it
// must give, or (want "") the words its error must hold.
type addressCase struct{ in, want, rule string }

// checkAddresses runs fn over the cases: an accepted name gives exactly the
// address; a rejected one an error that starts with prefix, names the
// rule, matches sentinel and not other, and holds no raw control bytes.
func checkAddresses(t *testing.T, name string, fn func(string) (string, error), sentinel, other error, prefix string, tests []addressCase) {
	t.Helper()
	for _, tt := range tests {
		got, err := fn(tt.in)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("%s(%q) = %q, %v; want %q", name, tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s(%q) = %q, want an error naming %q", name, tt.in, got, tt.rule)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, sentinel) || errors.Is(err, other) {
			t.Errorf("%s(%q): %v matches the wrong sentinel", name, tt.in, err)
		}
		if !strings.Contains(msg, tt.rule) || !strings.HasPrefix(msg, prefix) {
			t.Errorf("%s(%q) error %q, want it to start %q and name %q", name, tt.in, msg, prefix, tt.rule)
		}
		if strings.ContainsAny(msg, "\r\n\x00") {
			t.Errorf("%s(%q) error %q has raw control characters", name, tt.in, msg)
		}
	}
}

func TestRNAMEAddressErrorText(t *testing.T) {
	// The exact form of an error: package, what failed, on what, why.
	_, err := RNAMEAddress("x.")
	if want := `notify: rname "x.": domain has fewer than two labels`; err == nil || err.Error() != want {
		t.Errorf("RNAMEAddress(%q) error %v, want %q", "x.", err, want)
	}
	// IDNA errors keep their cause in the chain.
	_, err = RNAMEAddress("a.xn--zz.com.")
	if err == nil || errors.Unwrap(err) == nil || !strings.HasPrefix(errors.Unwrap(err).Error(), "idna: ") {
		t.Errorf("RNAMEAddress(a.xn--zz.com.) error %v does not wrap the IDNA error", err)
	}
	// A hostile name is cut in the message.
	_, err = RNAMEAddress(strings.Repeat("x", 5000))
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("RNAMEAddress(5000 x) error %d bytes long, want a short one", len(err.Error()))
	}
}

func TestHostmaster(t *testing.T) {
	tests := []addressCase{
		// RFC 2142 §4: HOSTMASTER for DNS.
		{"example.com.", "hostmaster@example.com", ""},
		{"Example.COM", "hostmaster@example.com", ""},
		{`sub.b\195\188cher.example.`, "hostmaster@sub.xn--bcher-kva.example", ""},
		{"com.", "", "fewer than two labels"},
		{".", "", "root name"},
		{"", "", "empty name"},
		{"ex_ample.com.", "", "not a valid IDNA name"},
		{`exa\010mple.com.`, "", "control character"},
		{`a\.b.example.com.`, "", "escaped dot"},
		{"2.0.192.in-addr.arpa.", "hostmaster@2.0.192.in-addr.arpa", ""},
	}
	checkAddresses(t, "Hostmaster", Hostmaster, ErrInvalidName, ErrInvalidRNAME, "notify: zone ", tests)
}

func TestPostmaster(t *testing.T) {
	tests := []addressCase{
		// The registered domain of the server's name (public suffix list).
		{"ns1.example.com.", "postmaster@example.com", ""},
		{"ns1.dns.example.co.uk.", "postmaster@example.co.uk", ""},
		{"NS.Example.NET", "postmaster@example.net", ""},
		{"example.org.", "postmaster@example.org", ""},
		{`ns.b\195\188cher.de.`, "postmaster@xn--bcher-kva.de", ""},
		// Not a host name, or no registered domain.
		{"co.uk.", "", "is a public suffix"},
		{"com.", "", "fewer than two labels"},
		{"192.0.2.1", "", "is an IP address"},
		{"192.0.2.1.", "", "is an IP address"},
		{"2001:db8::53", "", "is an IP address"},
		{"[2001:db8::53]", "", "is an IP address"},
		{"ns1.192.0.2.1.", "", "top-level label is all digits"},
		{"ns_1.example.com.", "", "not a valid IDNA name"},
		{"ns1.example.com.\r\n", "", "control character"},
		{"", "", "empty name"},
	}
	checkAddresses(t, "Postmaster", Postmaster, ErrInvalidName, ErrInvalidRNAME, "notify: ns name ", tests)
}

// FuzzRNAMEAddress checks what an accepted address promises: net/mail parses
// it back to itself, it has one '@', no control or non-ASCII bytes, and its
// domain is already in IDNA lookup form with the RNAME's labels less one.
func FuzzRNAMEAddress(f *testing.F) {
	for _, s := range []string{
		`first\.last.example.com.`, `first\046last.example.com.`, `a\\.b.example.com.`,
		`hostmaster@example.com.`, `root.localhost.`, `.`, `j\195\164ger.example.com.`,
		`hostmaster.b\195\188cher.example.`, `evil\013\010Bcc:\032x.example.com.`, `a\256b.x.y.`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rname string) {
		addr, err := RNAMEAddress(rname)
		if err != nil {
			if !errors.Is(err, ErrInvalidRNAME) {
				t.Fatalf("RNAMEAddress(%q) error %v does not match ErrInvalidRNAME", rname, err)
			}
			return
		}
		if strings.Count(addr, "@") != 1 {
			t.Fatalf("RNAMEAddress(%q) = %q: not exactly one '@'", rname, addr)
		}
		for i := 0; i < len(addr); i++ {
			if c := addr[i]; c < 0x21 || c >= 0x7f {
				t.Fatalf("RNAMEAddress(%q) = %q: byte %#x", rname, addr, c)
			}
		}
		parsed, err := mail.ParseAddress(addr)
		if err != nil || parsed.Address != addr {
			t.Fatalf("RNAMEAddress(%q) = %q: net/mail gives %v, %v", rname, addr, parsed, err)
		}
		domain := addr[strings.IndexByte(addr, '@')+1:]
		again, err := idna.Lookup.ToASCII(domain)
		if err != nil || again != domain {
			t.Fatalf("RNAMEAddress(%q) domain %q re-encodes to %q, %v", rname, domain, again, err)
		}
		if reason := plainAddress(addr); reason != "" {
			t.Fatalf("RNAMEAddress(%q) = %q: the letter writer refuses it: %s", rname, addr, reason)
		}
		labels, _ := parseName(rname)
		if n := strings.Count(domain, ".") + 1; n != len(labels)-1 {
			t.Fatalf("RNAMEAddress(%q) domain %q has %d labels, the RNAME %d after the local part", rname, domain, n, len(labels)-1)
		}
	})
}
