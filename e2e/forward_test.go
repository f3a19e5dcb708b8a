package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Forwarders are not delegations. Two more resolvers forward
// to servers of the lab that fail: a BIND ("forward first") to the
// blackhole, which never answers, and an Unbound (forward-zone ".") to the
// refuser, which answers REFUSED. What they log about their forwarders must
// make no finding when the line says so, and none once the forwarder is in
// [scan] ignore_servers when it does not. The Unbound writes its log to
// stderr (logfile ""), which logger hands to the lab's syslog daemon: the
// form journald gives Unbound's stderr ("host unbound[pid]: [epoch]
// unbound[pid:tid] info: …").
const (
	addrBINDFwd    = "127.53.100.3"
	addrUnboundFwd = "127.53.100.4"
)

// forwarders are the forwarding resolvers and what they wrote.
type forwarders struct {
	bind, unbound, logger *proc
	bindLog               string // BIND file channel
	unboundLog            string // Unbound's stderr through syslog (RFC 3164)
}

// startForwarders starts both forwarding resolvers; the lab's syslog
// daemon must run.
func (l *lab) startForwarders(t *testing.T) {
	t.Helper()
	f := &l.fwd
	d := l.mkdir(t, "bind-forwarder")
	f.bindLog = filepath.Join(d, "lamers-bind.log")
	conf := filepath.Join(d, "named.conf")
	writeFile(t, conf, fmt.Sprintf(`options {
%s    listen-on port 53 { %s; };
    listen-on-v6 { none; };
    recursion yes;
    allow-query { any; };
    allow-recursion { any; };
    forward first;
    forwarders { %s; };
};
controls { };
zone "." { type hint; file %q; };
logging {
    channel f { file "lamers-bind.log"; print-time yes; print-category yes; print-severity yes; severity info; };
    category default { f; };
    category lame-servers { f; };
};
`, bindOptions(d), addrBINDFwd, addrBlackhole, l.hints))
	run(t, "named-checkconf", conf)
	f.bind = l.startDaemon(t, "named", d, "named", "-f", "-c", conf)

	d = l.mkdir(t, "unbound-forwarder")
	conf = filepath.Join(d, "unbound.conf")
	// Unbound reads "server:" clauses given more than once as one.
	writeFile(t, conf, l.unboundServer(d, addrUnboundFwd)+fmt.Sprintf(`server:
    use-syslog: no
    logfile: ""
    verbosity: 2
    log-servfail: yes
forward-zone:
    name: "."
    forward-addr: %s
`, addrRefuser))
	run(t, "unbound-checkconf", conf)
	// Unbound's stderr goes through a FIFO to logger, which sends it to
	// the lab's syslog daemon as journald would.
	fifo := filepath.Join(d, "stderr.fifo")
	run(t, "mkfifo", fifo)
	f.logger = l.startDaemon(t, "logger", d, "logger", "--socket", filepath.Join(l.dir, "syslog", "dev-log"),
		"--socket-errors=on", "-t", "unbound", "--id", "-f", fifo)
	f.unbound = l.startDaemon(t, "unbound", d, "/bin/sh", "-c", `exec unbound -d -c "$0" 2>"$1"`, conf, fifo)
	waitDNS(t, f.bind, addrBINDFwd, ".", true)
	waitDNS(t, f.unbound, addrUnboundFwd, "lab.", true)
}

// queryForwarders sends a few queries through both forwarding resolvers.
func (l *lab) queryForwarders(t *testing.T) {
	t.Helper()
	batch := "www.upref.lab A\nwww.good.lab A\nwww.refused.lab A\nn1.good.lab A\n"
	dir := l.mkdir(t, "dig")
	for _, fwd := range []struct{ addr, name string }{{addrBINDFwd, "forwarder-bind"}, {addrUnboundFwd, "forwarder-unbound"}} {
		if err := digBatch(dir, fwd.addr, fwd.name, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// stopForwarders stops the forwarding resolvers (logger ends with
// Unbound's stderr).
func (l *lab) stopForwarders() {
	for _, p := range []*proc{l.fwd.bind, l.fwd.unbound} {
		if p != nil {
			daemons.stop(p, 10*time.Second)
		}
	}
	if l.fwd.logger != nil {
		select {
		case <-l.fwd.logger.done:
		case <-time.After(5 * time.Second):
			daemons.stop(l.fwd.logger, time.Second)
		}
	}
}

// testForwarders scans what the forwarding resolvers logged, without and
// with their forwarders in [scan] ignore_servers.
func (l *lab) testForwarders(t *testing.T) {
	l.needs(t, "scan", "report")
	// The lab's part: the lines this stage is about were written.
	for file, subs := range map[string][]string{
		l.fwd.bindLog: {"timed out resolving '", "': " + addrBlackhole + "#53"},
		l.fwd.unboundLog: {
			"reply from <.> " + addrRefuser + "#53",
			"query response was THROWAWAY",
			"all the configured stub or forward servers failed, at zone . from " + addrRefuser + " got REFUSED",
		},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if !bytes.Contains(b, []byte(s)) {
				t.Fatalf("%s: no line contains %q", file, s)
			}
		}
	}
	journald := regexp.MustCompile(`(?m)^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ unbound\[\d+\]: \[\d+\] unbound\[\d+:\d+\] info: reply from <\.> `)
	if b, _ := os.ReadFile(l.fwd.unboundLog); !journald.Match(b) {
		t.Fatalf("%s: no line in journald's form of Unbound's stderr", l.fwd.unboundLog)
	}

	conf := filepath.Join(l.dir, "ignore-forwarders.toml")
	writeFile(t, conf, fmt.Sprintf("[scan]\nignore_servers = [%q, %q]\n", addrBlackhole, addrRefuser+"/32"))
	for _, tc := range []struct {
		name, log, forwarder string
	}{
		{"bind", l.fwd.bindLog, addrBlackhole},
		{"unbound-stderr-syslog", l.fwd.unboundLog, addrRefuser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(l.dir, "db", "forwarders-"+tc.name+".db")
			out, _ := l.lamersRun(t, db, []int{0}, "scan", tc.log)
			if !bytes.Contains(out, []byte("lame-looking lines not understood: 0\n")) {
				t.Errorf("scan summary:\n%s", out)
			}
			// Without ignore_servers only the lines that do not say they
			// are about a forwarder count (BIND's timeouts, Unbound's
			// THROWAWAY replies to zone "."), and they do: that is what
			// ignore_servers is for.
			unlabelled := 0
			for _, f := range l.report(t, db) {
				if !sameAddr(f.Server, tc.forwarder) {
					continue
				}
				switch {
				case tc.name == "bind" && fmt.Sprint(f.Observed) == "[timeout]":
					unlabelled++
				case tc.name != "bind" && f.Zone == "." && fmt.Sprint(f.Observed) == "[throwaway]":
					unlabelled++
				default:
					fj, _ := json.Marshal(f)
					t.Errorf("finding against the forwarder from lines that say so: %s", fj)
				}
			}
			if unlabelled == 0 {
				t.Errorf("no finding against the forwarder from its unlabelled lines")
			}
			db = filepath.Join(l.dir, "db", "forwarders-"+tc.name+"-ignored.db")
			out, _ = l.lamersRun(t, db, []int{0}, "--config", conf, "scan", tc.log)
			if !strings.Contains(string(out), "evidence against ignored servers (scan.ignore_servers), not stored: ") {
				t.Errorf("scan summary counts no ignored evidence:\n%s", out)
			}
			for _, f := range l.report(t, db) {
				if sameAddr(f.Server, tc.forwarder) {
					fj, _ := json.Marshal(f)
					t.Errorf("finding against an ignored forwarder: %s", fj)
				}
			}
		})
	}
}
