package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Zones whose labels presentation form escapes, and link-local servers
// with their scope, through scan and every report format: names in
// canonical form (lower case, BIND's escapes), servers with the scope BIND
// logged, and --zone finding a zone however it is spelled.
func TestReportOddNamesAndScopes(t *testing.T) {
	env := testEnv(t)
	log := filepath.Join(t.TempDir(), "named.log")
	// BIND 9.18 lines (docs/log-formats.md): B1 with the zone, B2 without;
	// names in the case the resolver received, escapes as dns_name_format
	// writes them, servers as isc_sockaddr_format writes them.
	lines := []string{
		`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.Big\032Shop.test' (in 'Big\032Shop.test'?): 192.0.2.1#53`,
		`22-Nov-2026 02:01:50.285 lame-servers: info: lame server resolving 'www.say\"hi\;\@\(x.test' (in 'say\"hi\;\@\(x.test'?): 192.0.2.1#53`,
		`22-Nov-2026 02:01:50.286 lame-servers: info: lame server resolving 'www.CAF\195\169.test' (in 'CAF\195\169.test'?): fe80::1%2#53`,
		`22-Nov-2026 02:01:50.287 lame-servers: info: REFUSED unexpected RCODE resolving 'www.we\.ird.test/A/IN': fe80::53%3#5353`,
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := lamers(t, env, nil, "scan", log); r.code != 0 {
		t.Fatalf("scan: exit %d: %s", r.code, r.stderr)
	}

	r := lamers(t, env, nil, "report", "--format", "json")
	var fs []struct{ Zone, QName, Server string }
	if err := json.Unmarshal([]byte(r.stdout), &fs); r.code != 0 || err != nil {
		t.Fatalf("report --format json: exit %d, %v: %s", r.code, err, r.stdout)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Zone+" "+f.QName+" "+f.Server)
	}
	want := []string{
		` www.we\.ird.test. fe80::53%3`,
		`big\032shop.test. www.big\032shop.test. 192.0.2.1`,
		`caf\195\169.test. www.caf\195\169.test. fe80::1%2`,
		`say\"hi\;\@\(x.test. www.say\"hi\;\@\(x.test. 192.0.2.1`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("report --format json:\n%q\nwant\n%q", got, want)
	}

	r = lamers(t, env, nil, "report", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) != 5 {
		t.Fatalf("report --format csv: exit %d, %v: %s", r.code, err, r.stdout)
	}
	for i, rec := range recs[1:] {
		if got := rec[0] + " " + rec[1] + " " + rec[2]; got != want[i] {
			t.Errorf("csv row %d: %q, want %q", i+1, got, want[i])
		}
	}

	r = lamers(t, env, nil, "report")
	for _, cell := range []string{`big\032shop.test.`, `say\"hi\;\@\(x.test.`, `caf\195\169.test.`, "fe80::1%2", "fe80::53%3#5353"} {
		if !strings.Contains(r.stdout, cell) {
			t.Errorf("report (table) lacks %q:\n%s", cell, r.stdout)
		}
	}

	// --zone takes any spelling of the name.
	for _, spelling := range []string{`BIG\ SHOP.test`, `big\032shop.test.`, `Say\034Hi\059\064\040X.Test`} {
		r = lamers(t, env, nil, "report", "--format", "csv", "--zone", spelling)
		if recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); r.code != 0 || err != nil || len(recs) != 2 {
			t.Errorf("report --zone %s: exit %d, %v: %s %s", spelling, r.code, err, r.stdout, r.stderr)
		}
	}
}
