package notify

import (
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// shellWords runs words through a POSIX shell (sh -c) and returns the
// arguments the shell makes of them, each in brackets.
func shellWords(t testing.TB, words string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", "printf '[%s]' "+words)
	cmd.Dir = t.TempDir() // a glob the quoting missed would match nothing here
	cmd.Env = []string{"HOME=/nonexistent", "x=EXPANDED"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", cmd.Args[2], err)
	}
	return string(out)
}

func TestDigCommand(t *testing.T) {
	tests := []struct {
		addr string
		port int
		zone string
		want string
	}{
		// docs/notify.md §4: the plain form.
		{"192.0.2.1", 53, "example.com.", "dig +norec @192.0.2.1 example.com. SOA"},
		{"2001:db8::53", 53, "example.com.", "dig +norec @2001:db8::53 example.com. SOA"},
		{"192.0.2.1", 5353, "example.com.", "dig +norec @192.0.2.1 -p 5353 example.com. SOA"},
		{"fe80::1%eth0", 53, "example.com.", "dig +norec @fe80::1 example.com. SOA"},
		{"192.0.2.1", 53, ".", "dig +norec @192.0.2.1 . SOA"},
		// Presentation-form escapes are shell syntax: quoted.
		{"192.0.2.1", 53, `ex\.ample.com.`, `dig +norec @192.0.2.1 'ex\.ample.com.' SOA`},
		{"192.0.2.1", 53, `a\ b.example.`, `dig +norec @192.0.2.1 'a\ b.example.' SOA`},
		{"192.0.2.1", 53, `a\$x.example.`, `dig +norec @192.0.2.1 'a\$x.example.' SOA`},
		{"192.0.2.1", 53, `it's.example.`, `dig +norec @192.0.2.1 'it'\''s.example.' SOA`},
		{"192.0.2.1", 53, "a;rm.example.", "dig +norec @192.0.2.1 'a;rm.example.' SOA"},
		{"192.0.2.1", 53, "*.example.", "dig +norec @192.0.2.1 '*.example.' SOA"},
		{"192.0.2.1", 53, "~root.example.", "dig +norec @192.0.2.1 '~root.example.' SOA"},
		{"192.0.2.1", 53, "a`id`.example.", "dig +norec @192.0.2.1 'a`id`.example.' SOA"},
		{"192.0.2.1", 53, "_dmarc.example.", "dig +norec @192.0.2.1 _dmarc.example. SOA"},
		// dig would take these for an option or a server.
		{"192.0.2.1", 53, "-x.example.", `dig +norec @192.0.2.1 '\-x.example.' SOA`},
		{"192.0.2.1", 53, "+tcp.example.", `dig +norec @192.0.2.1 '\+tcp.example.' SOA`},
		{"192.0.2.1", 53, "@evil.example.", `dig +norec @192.0.2.1 '\@evil.example.' SOA`},
	}
	for _, tt := range tests {
		got := DigCommand(netip.MustParseAddr(tt.addr), tt.port, tt.zone)
		if got != tt.want {
			t.Errorf("DigCommand(%s, %d, %q) = %s, want %s", tt.addr, tt.port, tt.zone, got, tt.want)
		}
		checkDigWords(t, netip.MustParseAddr(tt.addr), tt.port, tt.zone, got)
	}
}

// checkDigWords checks that a shell makes of cmd exactly the arguments
// dig must see.
func checkDigWords(t testing.TB, addr netip.Addr, port int, zone, cmd string) {
	t.Helper()
	rest, ok := strings.CutPrefix(cmd, "dig ")
	if !ok {
		t.Fatalf("%q does not start with dig", cmd)
	}
	want := "[+norec][@" + addr.WithZone("").String() + "]"
	if port != 53 {
		want += "[-p][" + strconv.Itoa(port) + "]"
	}
	want += "[" + digName(zone) + "][SOA]"
	if got := shellWords(t, rest); got != want {
		t.Fatalf("sh makes %s of %s, want %s", got, cmd, want)
	}
}

func TestShellQuote(t *testing.T) {
	for _, s := range []string{
		"", "plain", "a b", "'", "''", `\`, `"`, "$x", "${x}", "$(id)", "`id`", "a\nb", "a\tb",
		"!", "#x", "~", "x=1", "a|b", "a&b", "a>b", "a<b", "(a)", "{a,b}", "[ab]", "?", "*",
		"é", "\xff",
	} {
		if got := shellWords(t, shellQuote(s)); got != "["+s+"]" {
			t.Errorf("shellQuote(%q) = %s: the shell makes %s of it", s, shellQuote(s), got)
		}
	}
}

// The shell gives dig exactly the zone name, whatever its bytes (NUL
// aside, which no argument can hold), and dig sees no option in it.
func FuzzDigCommand(f *testing.F) {
	for _, s := range []string{"example.com.", `it's\$\ odd.example.`, "-x.example.", "a\nb.", "$(id).", "'", ""} {
		f.Add(s, uint16(53))
	}
	f.Add("example.com.", uint16(5353))
	f.Fuzz(func(t *testing.T, zone string, port uint16) {
		if strings.IndexByte(zone, 0) >= 0 || port == 0 {
			return
		}
		cmd := DigCommand(netip.MustParseAddr("2001:db8::53"), int(port), zone)
		if name := digName(zone); name != "" && strings.IndexByte("-+@", name[0]) >= 0 {
			t.Fatalf("dig would read %q as an option or a server", name)
		}
		checkDigWords(t, netip.MustParseAddr("2001:db8::53"), int(port), zone, cmd)
	})
}
