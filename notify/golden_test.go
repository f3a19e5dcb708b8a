package notify_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/notify")

// goldenDir holds the rendered parts of fixed messages.
var goldenDir = filepath.Join("..", "testdata", "golden", "notify")

// at is a fixed time of the tests' messages.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// settings are the configuration of the tests' messages; the token comes
// from a fixed source, so the rendered parts are always the same.
func settings() notify.Settings {
	return notify.Settings{
		From:          "DNS health <dns-health@resolver.example.net>",
		ReplyTo:       "Jane Operator <jane@resolver.example.net>",
		BounceAddress: "lamers-bounces@resolver.example.net",
		Rand:          bytes.NewReader(bytes.Repeat([]byte{0x5a}, 13)),
	}
}

// several is a message with findings of several reasons, ports, statuses
// and zone names that need quoting for the shell.
func several() notify.MessageData {
	return notify.MessageData{
		To:            "hostmaster@example.com",
		ContactSource: notify.SourceRNAME,
		Generated:     at("2026-07-09T14:03:00Z"),
		Findings: []notify.FindingData{
			{
				Zone: "example.com.", Server: "192.0.2.1", Port: 53,
				NSNames: []string{"ns1.example.net.", "dns.example.org."},
				Status:  notify.StatusLame, Reason: "not_authoritative",
				FirstSeen: at("2026-06-01T08:00:00Z"), LastSeen: at("2026-07-08T22:10:00Z"), Count: 1204, Days: 31,
				ConfirmedAt: at("2026-06-01T09:12:00Z"),
			},
			{
				Zone: "example.com.", Server: "2001:db8::53", Port: 5353,
				NSNames: []string{"ns2.example.net."},
				Status:  notify.StatusLame, Reason: "refused",
				FirstSeen: at("2026-07-08T10:00:00Z"), LastSeen: at("2026-07-08T10:00:00Z"), Count: 1, Days: 1,
			},
			{
				// miekg/dns escapes "$" and " " in presentation form.
				Zone: `it's\$\ odd.example.com.`, Server: "198.51.100.7", Port: 53,
				Status: notify.StatusLame, Reason: "rcode_notauth",
				FirstSeen: at("2026-07-01T00:00:00Z"), LastSeen: at("2026-07-02T00:00:00Z"), Count: 2, Days: 2,
			},
			{
				Zone: "-x.example.com.", Server: "203.0.113.9", Port: 53,
				NSNames: []string{"ns.-x.example.com."},
				// The number of days is not known (Days 0).
				Status: notify.StatusUnresponsive, Reason: "unresponsive",
				FirstSeen: at("2026-07-01T00:00:00Z"), LastSeen: at("2026-07-05T00:00:00Z"), Count: 9,
				ConfirmedAt: at("2026-07-04T23:00:00Z"),
			},
		},
	}
}

// TestGolden compares the parts of fixed messages with
// testdata/golden/notify/NAME.{txt,html}. Run `go test ./notify -run
// TestGolden -update` to rewrite them, and read the diff.
func TestGolden(t *testing.T) {
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	one := several()
	one.Findings = one.Findings[:1]
	one.ContactSource = notify.SourceHostmaster
	for name, data := range map[string]notify.MessageData{"several": several(), "one": one} {
		t.Run(name, func(t *testing.T) {
			l, err := notify.Compose(set, data, settings())
			if err != nil {
				t.Fatal(err)
			}
			for ext, got := range map[string]string{"txt": l.Text, "html": l.HTML} {
				golden := filepath.Join(goldenDir, name+"."+ext)
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s differs (-want +got):\n%s", golden, diff)
				}
			}
		})
	}
}
