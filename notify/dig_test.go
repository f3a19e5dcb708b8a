package notify

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// digCases are zones as a DNS library writes them (miekg/dns escapes
// the special characters of RFC 1035 §5.1 and writes other bytes as
// \DDD), with the dig command a message shows.
var digCases = []struct {
	server string
	port   uint16
	zone   string
	want   string
}{
	{"192.0.2.1", 53, "example.com.", `dig +norec @192.0.2.1 example.com. SOA`},
	{"2001:db8::53", 53, "example.com.", `dig +norec @2001:db8::53 example.com. SOA`},
	// A link-local server with the scope the resolver logged (BIND
	// writes the interface index); dig reads the same syntax.
	{"fe80::1%2", 53, "example.com.", `dig +norec @fe80::1%2 example.com. SOA`},
	{"fe80::53%eth0.100", 5353, "example.com.", `dig +norec @fe80::53%eth0.100 -p 5353 example.com. SOA`},
	{"192.0.2.1", 5353, "example.com.", `dig +norec @192.0.2.1 -p 5353 example.com. SOA`},
	{"192.0.2.1", 53, ".", `dig +norec @192.0.2.1 . SOA`},
	{"192.0.2.1", 53, "_dmarc.xn--bcher-kva.example.", `dig +norec @192.0.2.1 _dmarc.xn--bcher-kva.example. SOA`},
	// An escaped dot inside a label, and a space (written "\ " or \032).
	{"192.0.2.1", 53, `we\.ird.example.`, `dig +norec @192.0.2.1 'we\.ird.example.' SOA`},
	{"192.0.2.1", 53, `a\ b.example.`, `dig +norec @192.0.2.1 'a\ b.example.' SOA`},
	// Shell metacharacters are legal in labels and mean nothing to dig.
	{"192.0.2.1", 53, `$(reboot).example.`, `dig +norec @192.0.2.1 '$(reboot).example.' SOA`},
	{"192.0.2.1", 53, "`id`;x|y&z>w<v*?[a].example.", "dig +norec @192.0.2.1 '`id`;x|y&z>w<v*?[a].example.' SOA"},
	{"192.0.2.1", 53, `x\"y.example.`, `dig +norec @192.0.2.1 'x\"y.example.' SOA`},
	// An apostrophe and a backslash: written as \039 and \092 so that
	// the single-quoted word needs no escaping in any shell.
	{"192.0.2.1", 53, `it's.example.`, `dig +norec @192.0.2.1 'it\039s.example.' SOA`},
	{"192.0.2.1", 53, `it\'s.example.`, `dig +norec @192.0.2.1 'it\039s.example.' SOA`},
	{"192.0.2.1", 53, `back\\slash.example.`, `dig +norec @192.0.2.1 'back\092slash.example.' SOA`},
	// CR LF escaped, as the contact chain and Compose let it through.
	{"192.0.2.1", 53, `a\013\010b.example.`, `dig +norec @192.0.2.1 'a\013\010b.example.' SOA`},
	// A leading -, + or @ would be an option, a query option or a server
	// to dig.
	{"192.0.2.1", 53, "-x.example.", `dig +norec @192.0.2.1 '\045x.example.' SOA`},
	{"192.0.2.1", 53, "+trace.example.", `dig +norec @192.0.2.1 '\043trace.example.' SOA`},
	{"192.0.2.1", 53, "@evil.example.", `dig +norec @192.0.2.1 '\064evil.example.' SOA`},
	{"192.0.2.1", 53, "x-.example.", `dig +norec @192.0.2.1 x-.example. SOA`},
}

func TestDigCommand(t *testing.T) {
	for _, c := range digCases {
		if got := digCommand(c.server, c.port, c.zone); got != c.want {
			t.Errorf("digCommand(%s, %d, %q) =\n%s\nwant\n%s", c.server, c.port, c.zone, got, c.want)
		}
	}
}

// TestDigThroughShell runs each command's arguments through /bin/sh and
// checks that dig would get exactly the words it should: the address and
// a name equal to the zone.
func TestDigThroughShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	for _, c := range digCases {
		cmd := digCommand(c.server, c.port, c.zone)
		// printf prints each argument dig would get on its own line.
		out, err := exec.Command(sh, "-c", "printf '%s\\n' "+strings.TrimPrefix(cmd, "dig ")).Output()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		args := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(args) < 4 {
			t.Errorf("%s: sh gives %q", cmd, args)
			continue
		}
		want := []string{"+norec", "@" + c.server}
		if c.port != 53 {
			want = append(want, "-p", "5353")
		}
		want = append(want, args[len(args)-2], "SOA")
		if !slices.Equal(args, want) {
			t.Errorf("%s: sh gives %q", cmd, args)
			continue
		}
		if err := sameName(args[len(args)-2], c.zone); err != "" {
			t.Errorf("%s: %s", cmd, err)
		}
	}
}

// sameName says how arg and zone differ as names, or "".
func sameName(arg, zone string) string {
	if err := checkName(arg); err != nil {
		return "dig's argument: " + err.Error()
	}
	if err := checkName(zone); err != nil {
		return "zone: " + err.Error()
	}
	a, _, _ := splitName(arg)
	z, _, _ := splitName(zone)
	if !slices.Equal(a, z) {
		return "dig's argument " + arg + " is another name than " + zone
	}
	if arg != "" && strings.IndexByte("-+@", arg[0]) >= 0 {
		return "dig's argument starts with " + arg[:1]
	}
	return ""
}

// FuzzDigCommand: for every zone Compose accepts, the zone word is one
// shell word — bare and harmless, or single-quoted without an apostrophe
// or a "\\" — that names the same zone and does not look like an option.
// The seeds are in testdata/fuzz/FuzzDigCommand.
func FuzzDigCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, zone string) {
		if checkName(zone) != nil {
			return
		}
		cmd := digCommand("192.0.2.1", 53, zone)
		word, ok := strings.CutPrefix(cmd, "dig +norec @192.0.2.1 ")
		if !ok {
			t.Fatalf("%q", cmd)
		}
		word, ok = strings.CutSuffix(word, " SOA")
		if !ok {
			t.Fatalf("%q", cmd)
		}
		arg := word
		if strings.HasPrefix(word, "'") {
			arg = strings.TrimSuffix(strings.TrimPrefix(word, "'"), "'")
			if len(word) < 2 || !strings.HasSuffix(word, "'") || strings.ContainsAny(arg, "'") || strings.Contains(arg, `\\`) {
				t.Fatalf("zone %q: word %s", zone, word)
			}
		} else if shellWord(word) != word {
			t.Fatalf("zone %q: bare word %s needs quoting", zone, word)
		}
		if err := sameName(arg, zone); err != "" {
			t.Fatalf("zone %q: %s", zone, err)
		}
	})
}
