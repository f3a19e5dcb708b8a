package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Addresses of the private tree; they exist only on the namespace's lo.
const (
	addrRoot      = "127.53.0.1"  // NSD: "."
	addrTLD       = "127.53.1.1"  // NSD: "lab." (every delegation)
	addrGood1     = "127.53.2.1"  // NSD: the healthy zones
	addrGood2     = "127.53.2.2"  //   same NSD, second address
	addrRefuser   = "127.53.3.1"  // NSD serving only other.lab: REFUSED
	addrUpref     = "127.53.4.1"  // BIND view "upref": upward referrals, SERVFAIL for servfail.lab
	addrUpref6    = "::1"         //   same view over IPv6
	addrUprefLL   = "fe80::53"    //   same view, link-local on the namespace's lo (ll.lab)
	addrRecursor  = "127.53.5.1"  // BIND view "recursor": an open resolver used as NS
	addrClosed    = "127.53.6.1"  // nothing listens
	addrBlackhole = "127.53.6.2"  // BIND with blackhole { any; }: never answers
	addrStale     = "127.53.7.1"  // NSD with an old copy of lab.
	addrLegacy    = "127.53.12.1" // djbdns tinydns: UDP only, no EDNS
	addrBIND      = "127.53.100.1"
	addrUnbound   = "127.53.100.2"
	addrMX        = "10.53.25.1" // Postfix: mx.nic.lab, not loopback (postfix_test.go says why)
)

var labAddrs = []string{addrRoot, addrTLD, addrGood1, addrGood2, addrRefuser, addrUpref, addrRecursor,
	addrClosed, addrBlackhole, addrStale, addrLegacy, addrBIND, addrUnbound, addrBINDFwd, addrUnboundFwd, addrMX}

// lab is the running tree: one set of daemons for every stage.
type lab struct {
	dir      string // work directory (outer run's temp dir)
	zones    string // testdata/zones, absolute
	tdata    string // testdata, absolute
	hints    string // root hints of the private tree
	lamers   string // the lamers binary, "" if it did not build
	buildErr string

	bindRes, unbound, syslogd *proc

	// the logs the resolvers wrote
	bindFull, bindISO, sys3164, sys5424, unboundLog string

	fwd  forwarders // forward_test.go
	mail *postfix   // postfix_test.go
}

// labLogs are the resolver logs scanned by the suite, by name.
func (l *lab) labLogs() []labLog {
	return []labLog{
		{"bind-full", l.bindFull, "bind"},
		{"bind-iso8601", l.bindISO, "bind"},
		{"syslog-rfc3164", l.sys3164, "bind"},
		{"syslog-rfc5424", l.sys5424, "bind"},
		{"unbound", l.unboundLog, "unbound"},
	}
}

type labLog struct{ name, path, source string }

func newLab(t *testing.T) *lab {
	t.Helper()
	td, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{dir: workDir, tdata: td, zones: filepath.Join(td, "zones"), hints: filepath.Join(td, "zones", "root.hints")}
	if b, err := os.ReadFile(filepath.Join(l.dir, "build-error.txt")); err == nil {
		l.buildErr = string(b)
	} else {
		l.lamers = filepath.Join(l.dir, "lamers")
	}
	l.bindFull = filepath.Join(l.dir, "bind-resolver", "lamers-bind.log")
	l.bindISO = filepath.Join(l.dir, "bind-resolver", "lamers-bind-iso.log")
	l.sys3164 = filepath.Join(l.dir, "syslog", "syslog-rfc3164.log")
	l.sys5424 = filepath.Join(l.dir, "syslog", "syslog-rfc5424.log")
	l.unboundLog = filepath.Join(l.dir, "unbound", "unbound.log")
	l.fwd.unboundLog = filepath.Join(l.dir, "syslog", "unbound-stderr-rfc3164.log")
	return l
}

func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// setupNetwork brings up the namespace's lo with the lab's /32 addresses.
// BIND only listens on addresses that exist on an interface.
func (l *lab) setupNetwork(t *testing.T) {
	var b strings.Builder
	b.WriteString("link set lo up\n")
	for _, a := range labAddrs {
		fmt.Fprintf(&b, "addr add %s/32 dev lo\n", a)
	}
	fmt.Fprintf(&b, "addr add %s/64 dev lo\n", addrUprefLL)
	cmd := exec.Command("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v\n%s", err, out)
	}
	// ::1 appears with lo; make sure it is usable before BIND binds it.
	for i := 0; i < 50; i++ {
		out := run(t, "ip", "-6", "addr", "show", "dev", "lo")
		if strings.Contains(out, "::1/128") && strings.Contains(out, addrUprefLL+"/64") && !strings.Contains(out, "tentative") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("::1 and " + addrUprefLL + " did not come up on lo")
}

func (l *lab) mkdir(t *testing.T, name string) string {
	t.Helper()
	d := filepath.Join(l.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startDaemon starts a daemon whose output goes to dir/NAME.out.
func (l *lab) startDaemon(t *testing.T, name, dir string, argv ...string) *proc {
	t.Helper()
	p, err := daemons.start(name, filepath.Join(dir, name+".out"), argv...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nsd writes an NSD configuration serving zones (name → file in testdata/zones).
func (l *lab) nsd(t *testing.T, name string, addrs []string, zones [][2]string) *proc {
	t.Helper()
	d := l.mkdir(t, "nsd-"+name)
	var b strings.Builder
	b.WriteString("server:\n")
	for _, a := range addrs {
		fmt.Fprintf(&b, "    ip-address: %s\n", a)
	}
	fmt.Fprintf(&b, `    port: 53
    do-ip6: no
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: %q
    database: ""
    zonelistfile: "%[2]s/zone.list"
    xfrdfile: "%[2]s/xfrd.state"
    xfrdir: %[2]q
    pidfile: "%[2]s/nsd.pid"
    logfile: "%[2]s/nsd.log"
    verbosity: 1
    hide-version: yes
    tcp-count: 16
remote-control:
    control-enable: no
`, l.zones, d)
	for _, z := range zones {
		// The name is written as it is: NSD reads its escapes (\032).
		fmt.Fprintf(&b, "zone:\n    name: \"%s\"\n    zonefile: %q\n", z[0], z[1])
	}
	conf := filepath.Join(d, "nsd.conf")
	writeFile(t, conf, b.String())
	run(t, "nsd-checkconf", conf)
	return l.startDaemon(t, "nsd", d, "nsd", "-d", "-c", conf)
}

// bindOptions are the options every named of the lab shares.
func bindOptions(dir string) string {
	return fmt.Sprintf(`    directory %q;
    pid-file "named.pid";
    session-keyfile "session.key";
    managed-keys-directory %[1]q;
    dump-file "named_dump.db";
    statistics-file "named.stats";
    notify no;
    dnssec-validation no;
    version none;
    hostname none;
    server-id none;
`, dir)
}

// bindAuth is the authoritative BIND with two views chosen by destination:
// "upref" (127.53.4.1, ::1, fe80::53) serves only upref-own.lab and the unloadable
// servfail.lab, and gives everything else an upward referral to the root
// (recursion allowed to nobody, cache readable by all); "recursor"
// (127.53.5.1) is an open resolver that forwards recursive.lab to its real
// server, so its answers come back RA=1, AA=0.
func (l *lab) bindAuth(t *testing.T) *proc {
	d := l.mkdir(t, "bind-auth")
	conf := filepath.Join(d, "named.conf")
	writeFile(t, conf, fmt.Sprintf(`options {
%s    listen-on port 53 { %s; %s; };
    listen-on-v6 port 53 { %[4]s; %[9]s; };
    allow-query { any; };
};
controls { };
logging {
    channel f { file "named.log"; print-time yes; print-category yes; print-severity yes; severity info; };
    category default { f; };
    category lame-servers { f; };
};
view upref {
    match-destinations { %[2]s; %[4]s; %[9]s; };
    recursion yes;
    allow-recursion { none; };
    allow-query-cache { any; };
    zone "." { type hint; file %[6]q; };
    zone "upref-own.lab" { type primary; file "%[7]s/upref-own.lab.zone"; };
    zone "servfail.lab" { type primary; file "%[7]s/servfail.lab.zone"; };
};
view recursor {
    match-destinations { %[5]s; };
    recursion yes;
    allow-recursion { any; };
    allow-query-cache { any; };
    zone "." { type hint; file %[6]q; };
    zone "recursive.lab" { type forward; forward only; forwarders { %[8]s; }; };
};
`, bindOptions(d), addrUpref, addrRecursor, addrUpref6, addrRecursor, l.hints, l.zones, addrGood1, addrUprefLL))
	run(t, "named-checkconf", conf)
	return l.startDaemon(t, "named", d, "named", "-f", "-c", conf)
}

// bindBlackhole listens on 127.53.6.2 and never answers.
func (l *lab) bindBlackhole(t *testing.T) *proc {
	d := l.mkdir(t, "bind-blackhole")
	conf := filepath.Join(d, "named.conf")
	writeFile(t, conf, fmt.Sprintf(`options {
%s    listen-on port 53 { %s; };
    listen-on-v6 { none; };
    recursion no;
    blackhole { any; };
};
controls { };
zone "." { type hint; file %q; };
`, bindOptions(d), addrBlackhole, l.hints))
	run(t, "named-checkconf", conf)
	return l.startDaemon(t, "named", d, "named", "-f", "-c", conf)
}

// tinydns is djbdns's authoritative server on 127.53.12.1, serving
// legacy.lab. from testdata/zones/legacy.lab.tinydns (compiled with
// tinydns-data into its root directory). It speaks UDP only (djbdns leaves
// TCP to axfrdns) and ignores EDNS: its replies carry no OPT record.
func (l *lab) tinydns(t *testing.T) *proc {
	d := l.mkdir(t, "tinydns")
	data, err := os.ReadFile(filepath.Join(l.zones, "legacy.lab.tinydns"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d, "data"), string(data))
	cmd := exec.Command("tinydns-data")
	cmd.Dir = d
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tinydns-data: %v\n%s", err, out)
	}
	// tinydns chroots to ROOT and drops to UID/GID (nobody).
	return l.startDaemon(t, "tinydns", d, "env", "IP="+addrLegacy, "ROOT="+d, "UID=65534", "GID=65534", "tinydns")
}

// rsyslogd is a private syslog daemon listening on its own socket (the BIND
// resolver sees it as /dev/log), writing RFC 3164 and RFC 5424 files; the
// forwarding Unbound's stderr (program "unbound") goes to a file of its own.
func (l *lab) rsyslogd(t *testing.T) *proc {
	d := l.mkdir(t, "syslog")
	conf := filepath.Join(d, "rsyslog.conf")
	writeFile(t, conf, fmt.Sprintf(`global(workDirectory=%[1]q)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[1]s/dev-log" CreatePath="on")
if $programname == "unbound" then {
    action(type="omfile" file=%[4]q template="RSYSLOG_TraditionalFileFormat")
    stop
}
*.* action(type="omfile" file=%[2]q template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file=%[3]q template="RSYSLOG_SyslogProtocol23Format")
`, d, l.sys3164, l.sys5424, l.fwd.unboundLog))
	p := l.startDaemon(t, "rsyslogd", d, "rsyslogd", "-n", "-f", conf, "-i", filepath.Join(d, "rsyslogd.pid"))
	sock := filepath.Join(d, "dev-log")
	waitFor(t, p, "rsyslogd socket", func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return p
}

// bindResolver is the BIND 9 resolver under test. Its logging block is
// testdata/named-logging.conf, included as is. It runs in its own mount
// namespace where /dev is a small tmpfs whose /dev/log is the private
// rsyslogd's socket, so its syslog channel reaches that daemon and nothing
// on the host. Its control channel (rndc.conf next to named.conf) tells
// waitIdle when it has finished its queries.
func (l *lab) bindResolver(t *testing.T) *proc {
	d := l.mkdir(t, "bind-resolver")
	conf := filepath.Join(d, "named.conf")
	key := rndcKey(t)
	writeFile(t, conf, fmt.Sprintf(`options {
%s    listen-on port 53 { %s; };
    listen-on-v6 { none; };
    recursion yes;
    allow-query { any; };
    allow-recursion { any; };
};
%s
controls { inet %[2]s port %[6]d allow { 127.0.0.0/8; } keys { %[7]q; }; };
zone "." { type hint; file %[4]q; };
include %[5]q;
`, bindOptions(d), addrBIND, key, l.hints, filepath.Join(l.tdata, "named-logging.conf"), rndcPort, rndcKeyName))
	writeFile(t, filepath.Join(d, "rndc.conf"), fmt.Sprintf(`%s
options { default-key %q; default-server %s; default-port %d; };
`, key, rndcKeyName, addrBIND, rndcPort))
	run(t, "named-checkconf", conf)
	const devSetup = `set -e
mount -t tmpfs -o mode=0755,size=1m lamers-e2e-dev /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
ln -s "$0" /dev/log
exec "$@"`
	return l.startDaemon(t, "named", d, "unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", devSetup, filepath.Join(l.dir, "syslog", "dev-log"),
		"named", "-f", "-c", conf)
}

// unboundResolver is the Unbound under test; its logging settings are
// testdata/unbound-logging.conf, included as is. Its control socket
// (unbound.ctl, no certificates) tells waitIdle when it has finished its
// queries.
func (l *lab) unboundResolver(t *testing.T) *proc {
	d := l.mkdir(t, "unbound")
	conf := filepath.Join(d, "unbound.conf")
	writeFile(t, conf, l.unboundServer(d, addrUnbound)+fmt.Sprintf("include: %q\n", filepath.Join(l.tdata, "unbound-logging.conf")))
	run(t, "unbound-checkconf", conf)
	return l.startDaemon(t, "unbound", d, "unbound", "-d", "-c", conf)
}

// unboundServer is the configuration every Unbound of the lab shares: one
// thread in directory dir listening on addr, iterating from the lab's
// root, remote control on a socket in dir (waitIdle reads its request list).
func (l *lab) unboundServer(dir, addr string) string {
	return fmt.Sprintf(`server:
    username: ""
    chroot: ""
    directory: %q
    pidfile: "%[1]s/unbound.pid"
    interface: %s
    port: 53
    do-ip4: yes
    do-ip6: yes
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    root-hints: %q
    module-config: "iterator"
    prefetch: no
remote-control:
    control-enable: yes
    control-interface: "%[1]s/unbound.ctl"
    control-use-cert: no
`, dir, addr, l.hints)
}

// waitFor polls ready every 100 ms for up to 15 s, failing early if p exits.
func waitFor(t *testing.T, p *proc, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ready() {
			return
		}
		if p != nil && p.exited() {
			t.Fatalf("%s: %s exited (%v):\n%s", what, p.name, p.err, p.tail())
		}
		if time.Now().After(deadline) {
			msg := ""
			if p != nil {
				msg = p.tail()
			}
			t.Fatalf("%s: not ready after 15s\n%s", what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDNS waits until addr answers a SOA query for zone (any rcode).
func waitDNS(t *testing.T, p *proc, addr, zone string, rd bool) {
	t.Helper()
	rec := "+norec"
	if rd {
		rec = "+rec"
	}
	waitFor(t, p, fmt.Sprintf("%s SOA @%s", zone, addr), func() bool {
		out, _ := exec.Command("dig", rec, "+time=1", "+tries=1", "@"+addr, zone, "SOA").CombinedOutput()
		return strings.Contains(string(out), "status: ")
	})
}

// startServers starts the authoritative side of the tree.
func (l *lab) startServers(t *testing.T) {
	t.Helper()
	root := l.nsd(t, "root", []string{addrRoot}, [][2]string{{".", "root.zone"}})
	tld := l.nsd(t, "tld", []string{addrTLD}, [][2]string{{"lab.", "lab.zone"}})
	good := l.nsd(t, "good", []string{addrGood1, addrGood2}, [][2]string{
		{"good.lab.", "good.lab.zone"}, {"halflame.lab.", "halflame.lab.zone"},
		{"rname.lab.", "rname.lab.zone"}, {"recursive.lab.", "recursive.lab.zone"},
		{"cnamens.lab.", "cnamens.lab.zone"}, {`big\032shop.lab.`, "bigshop.lab.zone"},
		{"legacy.lab.", "legacy.lab.zone"}})
	refuser := l.nsd(t, "refuser", []string{addrRefuser}, [][2]string{{"other.lab.", "other.lab.zone"}})
	stale := l.nsd(t, "stale", []string{addrStale}, [][2]string{{"lab.", "lab-stale.zone"}})
	auth := l.bindAuth(t)
	bh := l.bindBlackhole(t)
	legacy := l.tinydns(t)
	l.syslogd = l.rsyslogd(t)

	waitDNS(t, root, addrRoot, ".", false)
	waitDNS(t, tld, addrTLD, "lab.", false)
	waitDNS(t, good, addrGood1, "good.lab.", false)
	waitDNS(t, good, addrGood2, "good.lab.", false)
	waitDNS(t, refuser, addrRefuser, "other.lab.", false)
	waitDNS(t, stale, addrStale, "lab.", false)
	waitDNS(t, legacy, addrLegacy, "legacy.lab.", false)
	waitDNS(t, auth, addrUpref, "upref-own.lab.", false)
	waitDNS(t, auth, addrUpref6, "upref-own.lab.", false)
	waitDNS(t, auth, addrUprefLL+"%lo", "upref-own.lab.", false)
	waitDNS(t, auth, addrRecursor, "upref-own.lab.", false)
	waitFor(t, bh, "blackhole TCP listener", func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addrBlackhole, "53"), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (l *lab) startResolvers(t *testing.T) {
	t.Helper()
	l.bindRes = l.bindResolver(t)
	l.unbound = l.unboundResolver(t)
	waitDNS(t, l.bindRes, addrBIND, ".", true)
	waitDNS(t, l.unbound, addrUnbound, ".", true)
	for _, f := range []string{l.bindFull, l.bindISO, l.unboundLog} {
		waitFor(t, nil, "log file "+f, func() bool { _, err := os.Stat(f); return err == nil })
	}
}

// warmRecursor fills the cache of the resolver used as an NS: it answers
// RD=0 queries from its cache only, and its cached answers (RA=1, AA=0)
// are what makes it lame.
func (l *lab) warmRecursor(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for _, q := range zoneQueries("recursive.lab") {
		b.WriteString(q + "\n")
	}
	if err := digBatch(l.mkdir(t, "dig"), addrRecursor, "warm-recursor", b.String()); err != nil {
		t.Fatal(err)
	}
}

// zoneQueries are the queries sent for every zone, in dig batch syntax.
func zoneQueries(zone string) []string {
	qs := []string{"www." + zone + " A", zone + " SOA", zone + " NS", "n1." + zone + " A", "n2." + zone + " A",
		"n3." + zone + " A", "n4." + zone + " A", "n5." + zone + " AAAA", "mail." + zone + " MX"}
	switch zone {
	case "refused.lab":
		// names that need escapes in the logs
		qs = append(qs, `sp\032ace.refused.lab A`, `we\(ird\"q.refused.lab A`)
	case `say\"hi\;\@\(x.lab`, `caf\195\169.lab`:
		// the zone in upper case, as a client may send it
		qs = append(qs, "WWW."+strings.ToUpper(zone)+" A")
	case "halflame.lab", "rname.lab":
		// more names, more chances that the lame server gets picked
		for i := 6; i <= 8; i++ {
			qs = append(qs, fmt.Sprintf("n%d.%s A", i, zone))
		}
		for i := 1; i <= 6; i++ {
			qs = append(qs, fmt.Sprintf("h%d.%s A", i, zone))
		}
	}
	return qs
}

// digBatch runs one dig over a batch of queries against server (RD=1,
// 1 s per query: the resolvers go on resolving and logging after dig gave
// up), with the batch and dig's output in dir. It fails only when the batch
// cannot be written or dig cannot run: unanswered queries are the lab's
// point.
func digBatch(dir, server, name, batch string) error {
	f := filepath.Join(dir, name+".batch")
	if err := os.WriteFile(f, []byte(batch), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dig", "+time=1", "+tries=1", "+noall", "+comments", "@"+server, "-f", f).CombinedOutput()
	os.WriteFile(filepath.Join(dir, name+".out"), out, 0o644)
	if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		return fmt.Errorf("dig -f %s: %w", f, err)
	}
	return nil
}

// query sends every zone's queries through both resolvers, zones and
// resolvers in parallel, in two rounds: the second, sent once the
// resolvers have finished the first, finds their server caches populated.
func (l *lab) query(t *testing.T) {
	t.Helper()
	dir := l.mkdir(t, "dig")
	for round := 1; round <= 2; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(expectations))
		for _, res := range []struct{ name, addr string }{{"bind", addrBIND}, {"unbound", addrUnbound}} {
			for _, zc := range expectations {
				zone := strings.TrimSuffix(zc.zone, ".")
				var b strings.Builder
				for _, q := range zoneQueries(zone) {
					b.WriteString(q + "\n")
				}
				name := fmt.Sprintf("round%d-%s-%s", round, res.name, strings.NewReplacer(`\`, "", ".", "_").Replace(zone))
				wg.Add(1)
				go func(addr, batch string) {
					defer wg.Done()
					errs <- digBatch(dir, addr, name, batch)
				}(res.addr, b.String())
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		l.waitIdle(t, fmt.Sprintf("round %d", round))
	}
}

// Control channels of the resolvers under test, used to see when they have
// no query in progress.
const (
	rndcKeyName = "lamers-e2e"
	rndcPort    = 953
)

// rndcKey returns a named.conf/rndc.conf key statement with a fresh secret.
func rndcKey(t *testing.T) string {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("key %q { algorithm hmac-sha256; secret %q; };", rndcKeyName, base64.StdEncoding.EncodeToString(secret))
}

// inProgress returns what each resolver is still working on: BIND's
// number of current recursive clients (rndc status, "recursive clients:
// N/…") and the query names of Unbound's request list (unbound-control
// dump_requestlist).
func (l *lab) inProgress() (bind int, unbound []string, err error) {
	out, err := exec.Command("rndc", "-c", filepath.Join(l.dir, "bind-resolver", "rndc.conf"), "status").CombinedOutput()
	if err != nil {
		return 0, nil, fmt.Errorf("rndc status: %v: %s", err, out)
	}
	_, rest, ok := strings.Cut(string(out), "recursive clients: ")
	n, _, _ := strings.Cut(rest, "/")
	if bind, err = strconv.Atoi(n); !ok || err != nil {
		return 0, nil, fmt.Errorf("rndc status: no recursive clients count in %q", out)
	}
	out, err = exec.Command("unbound-control", "-c", filepath.Join(l.dir, "unbound", "unbound.conf"), "dump_requestlist").CombinedOutput()
	if err != nil {
		return 0, nil, fmt.Errorf("unbound-control dump_requestlist: %v: %s", err, out)
	}
	// "thread #0", a header, then "  0    A IN www.blackhole.lab. 3.208 iterator …"
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err == nil {
			unbound = append(unbound, f[3])
		}
	}
	return bind, unbound, nil
}

// waitIdle waits until the resolvers have finished every query sent so
// far, and so logged what it makes them log: BIND has no recursive client
// left, and Unbound's request list holds nothing but queries under the
// zones whose servers never answer (blackhole.lab, closed.lab), on which
// Unbound may keep backing off for minutes without logging evidence.
func (l *lab) waitIdle(t *testing.T, what string) {
	t.Helper()
	start := time.Now()
	for {
		bind, unbound, err := l.inProgress()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		busy := slices.DeleteFunc(unbound, underSilentZone)
		if bind == 0 && len(busy) == 0 {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("%s: after a minute BIND still has %d recursive clients, Unbound works on %q", what, bind, busy)
		}
		time.Sleep(100 * time.Millisecond) // polling the resolvers' counters
	}
	t.Logf("%s: resolvers done after %.1fs", what, time.Since(start).Seconds())
}

// underSilentZone reports whether name is at or under a zone of the lab
// none of whose servers ever answers.
func underSilentZone(name string) bool {
	z := zoneExpectFor(underZone(name))
	if z == nil {
		return false
	}
	for _, ns := range z.ns {
		if !slices.ContainsFunc(ns.reasons, func(r string) bool { return r == "unresponsive" || r == "no_dns_service" }) {
			return false
		}
	}
	return true
}

// stopResolvers stops both resolvers (query has waited until they were
// done) and then rsyslogd, so that every log is complete and final before
// lamers reads it.
func (l *lab) stopResolvers(t *testing.T) {
	t.Helper()
	daemons.stop(l.bindRes, 10*time.Second)
	daemons.stop(l.unbound, 10*time.Second)
	l.stopForwarders()
	daemons.stop(l.syslogd, 10*time.Second)
}
