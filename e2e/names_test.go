package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNames checks the two rules of docs/verification.md, "How names and
// addresses are compared", beyond what every zone's stages check: a zone
// given to check in another spelling is the same zone, and a link-local
// server logged with its scope is probed through that scope and reported
// with it.
func (l *lab) testNames(t *testing.T) {
	l.needs(t, "scan", "report", "verify", "check")
	t.Run("spelling", func(t *testing.T) {
		// big\032shop.lab. as a user may type it: miekg/dns's escape of the
		// space, upper case, no final dot.
		out, _ := l.lamersRun(t, filepath.Join(l.dir, "db", "check.db"), []int{0},
			"check", `BIG\ Shop.LAB`, "--root-hints", l.hints, "--format", "json")
		var r checkResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("check --format json: %v\n%s", err, out)
		}
		if r.Zone != `big\032shop.lab.` || len(r.Servers) != 1 || r.Servers[0].Verdict != authoritative ||
			!sameAddr(r.Servers[0].Address, addrGood1) {
			t.Errorf(`check BIG\ Shop.LAB: %s`, out)
		}
	})
	t.Run("scope", l.testScope)
}

// testScope scans a BIND 9 line for ll.lab., whose only server is the
// link-local fe80::53 on the namespace's lo, written as BIND writes a
// scoped server (isc_sockaddr_format: the interface index after '%'), and
// verifies it: the delegation lists fe80::53 without a scope, the probe
// goes to fe80::53 through lo and meets the upward referral of the upref
// view, and report keeps the scope.
func (l *lab) testScope(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	scoped := fmt.Sprintf("%s%%%d", addrUprefLL, lo.Index)
	dir := l.mkdir(t, "scope")
	logFile := filepath.Join(dir, "named.log")
	line := time.Now().UTC().Format("02-Jan-2006 15:04:05.000") +
		" lame-servers: info: lame server resolving 'www.ll.lab' (in 'll.lab'?): " + scoped + "#53\n"
	if err := os.WriteFile(logFile, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "scope.db")
	l.lamersRun(t, db, []int{0}, "scan", logFile)
	l.lamersRun(t, db, []int{0}, "verify", "--root-hints", l.hints, "--all")
	fs := l.report(t, db)
	if len(fs) != 1 {
		t.Fatalf("report: %+v, want one finding", fs)
	}
	f := fs[0]
	if f.Zone != "ll.lab." || f.Server != scoped || f.Status != "suspect" || f.Reason != "upward_referral" ||
		len(f.ServerNames) != 1 || f.ServerNames[0] != "ns-ll.nic.lab." {
		t.Errorf("finding %+v; want ll.lab. %s suspect upward_referral, NS ns-ll.nic.lab.", f, scoped)
	}
}
