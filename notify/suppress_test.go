package notify

import (
	"errors"
	"net/mail"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

func TestParseSuppression(t *testing.T) {
	tests := []struct {
		in, value string
		kind      store.SuppressionKind
		err       string
	}{
		// What an operator types after a complaint by phone.
		{in: "J.Doe@Example.COM", value: "j.doe@example.com", kind: store.SuppressAddress},
		{in: "@Example.com", value: "@example.com", kind: store.SuppressDomain},
		{in: "@bücher.example", value: "@xn--bcher-kva.example", kind: store.SuppressDomain},
		{in: "example.com", value: "example.com.", kind: store.SuppressZone},
		{in: `WE\.ird.LAB.`, value: `we\.ird.lab.`, kind: store.SuppressZone},
		{in: "", err: "not an address, @domain or zone"},
		{in: ".", err: "not an address, @domain or zone"},
		{in: "@", err: `address "@"`},
		{in: "@com", err: "fewer than two labels"},
		{in: "@ex_ample.com", err: "not a valid IDNA name"},
		{in: "a b@example.com", err: `local part has " "`},
		{in: "x@example.com\r\nBcc: y@example.net", err: `local part has "@"`},
		{in: "x\r\n@example.com", err: `local part has "\r"`},
		{in: "user@", err: "not local@domain"},
		{in: `a@b\.example.com`, err: "backslash"},
	}
	for _, tt := range tests {
		v, kind, err := ParseSuppression(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSuppression(%q) = %q, %v, %v; want an error with %q", tt.in, v, kind, err, tt.err)
			}
			continue
		}
		if err != nil || v != tt.value || kind != tt.kind {
			t.Errorf("ParseSuppression(%q) = %q, %v, %v; want %q, %v", tt.in, v, kind, err, tt.value, tt.kind)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	for in, want := range map[string]string{
		"dns-team@Example.COM":          "dns-team@example.com",
		"Dns.Team+lamers@example.co.uk": "Dns.Team+lamers@example.co.uk",
		"postmaster@xn--bcher-kva.test": "postmaster@xn--bcher-kva.test",
		"DNS health <dns@example.com>":  "",
		"dns@example":                   "",
		"dns@@example.com":              "",
		".dns@example.com":              "",
		"dns@127.0.0.1":                 "",
	} {
		got, err := CheckAddress(in)
		if want == "" {
			if err == nil || !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("CheckAddress(%q) = %q, %v; want ErrInvalidAddress", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("CheckAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// The zone walk honours escaped dots.
func TestZoneWalk(t *testing.T) {
	for _, tt := range []struct {
		child, parent string
		sub           bool
	}{
		{"a.b.example.", "b.example.", true},
		{"a.b.example.", "a.b.example.", true},
		{"ab.example.", "b.example.", false},
		{`a\.b.example.`, "b.example.", false},
		{`a\.b.example.`, "example.", true},
		{`a\\.b.example.`, "b.example.", true},
		{"example.", ".", true},
	} {
		if got := isSubdomain(tt.child, tt.parent); got != tt.sub {
			t.Errorf("isSubdomain(%q, %q) = %v", tt.child, tt.parent, got)
		}
	}
	if n := labels(`a\.b.example.`); n != 2 {
		t.Errorf("labels = %d, want 2", n)
	}
}

func FuzzParseSuppression(f *testing.F) {
	for _, s := range []string{"j.doe@example.com", "@example.com", "example.com", `we\.ird.lab.`, "@", ".",
		"x@example.com\r\nBcc: y@example.net", `a\000b.example.`, "@bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, kind, err := ParseSuppression(s)
		if err != nil {
			return
		}
		switch kind {
		case store.SuppressAddress:
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v || v != strings.ToLower(v) {
				t.Fatalf("ParseSuppression(%q) = %q: net/mail gives %v, %v", s, v, a, err)
			}
		case store.SuppressDomain:
			if _, err := CheckAddress("postmaster" + v); err != nil {
				t.Fatalf("ParseSuppression(%q) = %q: %v", s, v, err)
			}
		case store.SuppressZone:
			if c, err := parser.CanonicalName(v); err != nil || c != v {
				t.Fatalf("ParseSuppression(%q) = zone %q, not canonical (%q, %v)", s, v, c, err)
			}
		default:
			t.Fatalf("ParseSuppression(%q): kind %v", s, kind)
		}
		if again, kind2, err := ParseSuppression(v); err != nil || again != v || kind2 != kind {
			t.Fatalf("ParseSuppression(%q) = %q, but that parses to %q, %v, %v", s, v, again, kind2, err)
		}
	})
}

// FuzzCheckAddress: CheckAddress is the one check of an address, so what
// it returns is what the letter writer sends as it is (plainAddress), and
// returns itself again; and an address the letter writer takes as it is,
// CheckAddress takes too.
func FuzzCheckAddress(f *testing.F) {
	for _, s := range []string{
		"dns-team@Example.COM", "noc@example.net.", "noc@bücher.example", "postmaster@xn--bcher-kva.test",
		strings.Repeat("a", 65) + "@example.com", "a@b@example.com", "x\r\n@example.com", "dns@127.0.0.1",
		"a@-x.example", "a@x_y.example", "a@\u212a.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		out, err := CheckAddress(addr)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("CheckAddress(%q): %v does not match ErrInvalidAddress", addr, err)
			}
			if reason := plainAddress(addr); reason == "" {
				t.Fatalf("CheckAddress(%q) refuses it (%v), plainAddress takes it", addr, err)
			}
			return
		}
		if reason := plainAddress(out); reason != "" {
			t.Fatalf("CheckAddress(%q) = %q, which plainAddress refuses: %s", addr, out, reason)
		}
		if again, err := CheckAddress(out); err != nil || again != out {
			t.Fatalf("CheckAddress(%q) = %q, then %q, %v", addr, out, again, err)
		}
		if a, err := mail.ParseAddress(out); err != nil || a.Address != out {
			t.Fatalf("CheckAddress(%q) = %q: net/mail gives %v, %v", addr, out, a, err)
		}
	})
}

// The addresses the configuration accepts are those the letter writer
// sends, once made what CheckAddress returns: a final dot and a domain in
// Unicode are accepted and rewritten, a local part over 64 octets refused.
func TestCheckAddressIsWhatIsSent(t *testing.T) {
	w := newTestWriter(t, "", testSettings)
	for _, c := range []struct{ in, want string }{
		{"noc@example.net.", "noc@example.net"},
		{"noc@Bücher.example", "noc@xn--bcher-kva.example"},
		{strings.Repeat("a", 64) + "@example.net", strings.Repeat("a", 64) + "@example.net"},
		{strings.Repeat("a", 65) + "@example.net", ""},
	} {
		got, err := CheckAddress(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("CheckAddress(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("CheckAddress(%q) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		d := goldenMessage()
		d.To = got
		if _, err := w.Compose(d); err != nil {
			t.Errorf("Compose to %q: %v", got, err)
		}
		if _, err := w.ComposeReport(got, "Lame delegations", "text", "<p>html</p>"); err != nil {
			t.Errorf("ComposeReport to %q: %v", got, err)
		}
	}
}
