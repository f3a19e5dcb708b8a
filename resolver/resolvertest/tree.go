// Package resolvertest runs a private DNS tree on loopback, in process, for
// tests and benchmarks of package resolver and of what is built on it: a
// root, one TLD and any number of zones delegated from it, each zone served
// by some of a pool of server addresses. A server address behaves one way for
// every query it gets: it serves its zones authoritatively, or is lame
// (REFUSED, an upward referral to the root), or is silent, or closed.
//
// Every server listens on its own 127.x.y.z address, all on one random port
// (or Config.Port), over UDP and TCP, so a resolver reaches the whole tree
// with one resolver.Config.Port and the root hints file the Tree writes. Each
// address counts the queries it receives and the most it held at once (a
// query is held from its arrival until it is answered or dropped, at least
// Config.Latency), which lets a test check a client's politeness from the
// servers' side.
//
// It is modelled on coredns's plugin/pkg/dnstest; unlike that package it
// builds a whole delegation tree, not one server. IPv4 only; Linux and the
// BSDs route all of 127.0.0.0/8 to the loopback interface, macOS does not.
package resolvertest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Behavior is how one server address answers.
type Behavior int

const (
	// Authoritative serves its zones: AA answers, NODATA and NXDOMAIN with
	// the SOA; REFUSED for names outside them.
	Authoritative Behavior = iota
	// Refused answers REFUSED to everything.
	Refused
	// UpwardReferral answers NOERROR without AA and a referral to the root,
	// like BIND with "recursion yes; allow-recursion { none; }".
	UpwardReferral
	// Silent reads every query and answers none.
	Silent
	// Recursive answers from its zones' data like a recursive resolver
	// from its cache: RA=1, AA=0 (Unbound's rec_lame); REFUSED outside
	// them.
	Recursive
	// Closed has no socket: its queries get ICMP port unreachable over UDP
	// and a reset over TCP, like a host where no DNS server runs. It has no
	// counters.
	Closed
)

var behaviorNames = []string{"authoritative", "refused", "upward_referral", "silent", "recursive", "closed"}

func (b Behavior) String() string {
	if b >= 0 && int(b) < len(behaviorNames) {
		return behaviorNames[b]
	}
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// Config describes a tree. The zero value is a tree of one zone on one
// authoritative server.
type Config struct {
	// Net is the second octet of the tree's addresses, 55 by default: the
	// root is 127.Net.0.1, the TLD server 127.Net.0.2, server i is
	// 127.Net.(1+i/250).(1+i%250).
	Net byte
	// TLD is the top-level domain, "test." by default.
	TLD string
	// Zones is the number of zones delegated from the TLD, named
	// z000.test. and so on; 1 by default.
	Zones int
	// Servers gives the behaviour of each server address; one authoritative
	// server by default. At most 250*254 servers.
	Servers []Behavior
	// NSPerZone is the number of server addresses per zone, 1 by default,
	// at most len(Servers). Zone z is served by servers
	// (z + k*len(Servers)/NSPerZone) % len(Servers) for k < NSPerZone, so
	// every zone gets an even cross-section of the pool and every server
	// about Zones*NSPerZone/len(Servers) zones.
	NSPerZone int
	// Latency delays every answer (and every drop) of the zone servers.
	Latency time.Duration
	// Records are more records for the delegated zones, in zone-file text,
	// one record a string; each one goes into the zone its owner name lies
	// in ("z000.test. 300 IN MX 10 mail.z000.test.",
	// "mail.z000.test. 300 IN A 192.0.2.25"). An owner outside every zone
	// is an error.
	Records []string
	// Dir is where the root hints file is written; a temporary directory
	// removed by Close when empty.
	Dir string
	// Port is the port of every server; 0 picks a free one (Listen). A
	// benchmark in a network namespace of its own serves on 53, where
	// programs that cannot be told another port find it.
	Port uint16
}

// Server is one server address of the pool.
type Server struct {
	Addr     netip.Addr
	Name     string // its NS name, glued in the TLD: ns00.nic.test.
	Behavior Behavior
	Zones    []string
}

// Zone is one delegated zone.
type Zone struct {
	Name    string       // canonical, e.g. z007.test.
	Servers []netip.Addr // the addresses of its NS names, in NS name order
}

// Stats are one address's counters.
type Stats struct {
	Queries      int64 // queries received, UDP and TCP
	PeakInFlight int   // most queries held at once
}

// Tree is a running tree. Its fields are read-only.
type Tree struct {
	Port      uint16
	Root      netip.Addr // the root server
	TLD       netip.Addr // the TLD's server
	RootHints string     // path of the root hints file (named.root format)
	Servers   []Server
	Zones     []Zone

	counters map[netip.Addr]*counter
	net      *Network
	tmpDir   string
}

type counter struct {
	queries  atomic.Int64
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (c *counter) enter() {
	c.queries.Add(1)
	n := c.inFlight.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (c *counter) leave() { c.inFlight.Add(-1) }

// Start builds the tree described by cfg and starts its servers. Close stops
// them.
func Start(cfg Config) (*Tree, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	t := &Tree{
		Root:     netip.AddrFrom4([4]byte{127, cfg.Net, 0, 1}),
		TLD:      netip.AddrFrom4([4]byte{127, cfg.Net, 0, 2}),
		counters: map[netip.Addr]*counter{},
	}
	handlers, err := t.build(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Port != 0 {
		t.net, err = ListenOn(handlers, cfg.Port)
	} else {
		t.net, err = Listen(handlers)
	}
	if err != nil {
		return nil, err
	}
	t.Port = t.net.Port
	if err := t.writeHints(cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (c *Config) setDefaults() error {
	if c.Net == 0 {
		c.Net = 55
	}
	if c.TLD == "" {
		c.TLD = "test."
	}
	c.TLD = canonicalName(c.TLD)
	if _, ok := dns.IsDomainName(c.TLD); !ok || dns.CountLabel(c.TLD) != 1 {
		return fmt.Errorf("resolvertest: config: tld %q is not one label", c.TLD)
	}
	if c.Zones <= 0 {
		c.Zones = 1
	}
	if len(c.Servers) == 0 {
		c.Servers = []Behavior{Authoritative}
	}
	if len(c.Servers) > 250*254 {
		return fmt.Errorf("resolvertest: config: %d servers, at most %d", len(c.Servers), 250*254)
	}
	if c.NSPerZone <= 0 {
		c.NSPerZone = 1
	}
	if c.NSPerZone > len(c.Servers) {
		return fmt.Errorf("resolvertest: config: %d NS per zone, only %d servers", c.NSPerZone, len(c.Servers))
	}
	return nil
}

// build lays out the tree and returns each address's handler.
func (t *Tree) build(cfg Config) (map[netip.Addr]dns.Handler, error) {
	tld := cfg.TLD
	rootNS := "a.root-servers.nic." + tld
	tldNS := "ns.nic." + tld
	var root, top strings.Builder
	fmt.Fprintf(&root, ". 86400 IN SOA %s hostmaster.nic.%s 1 1800 900 604800 86400\n", rootNS, tld)
	fmt.Fprintf(&root, ". 518400 IN NS %s\n%s 518400 IN A %s\n", rootNS, rootNS, t.Root)
	fmt.Fprintf(&root, "%s 172800 IN NS %s\n%s 172800 IN A %s\n", tld, tldNS, tldNS, t.TLD)
	fmt.Fprintf(&top, "%s 86400 IN SOA %s hostmaster.nic.%s 1 1800 900 604800 3600\n", tld, tldNS, tld)
	fmt.Fprintf(&top, "%s 86400 IN NS %s\n%s 86400 IN A %s\n%s 86400 IN A %s\n", tld, tldNS, tldNS, t.TLD, rootNS, t.Root)

	n := len(cfg.Servers)
	width := len(fmt.Sprint(n - 1))
	for i, b := range cfg.Servers {
		a := netip.AddrFrom4([4]byte{127, cfg.Net, byte(1 + i/250), byte(1 + i%250)})
		name := fmt.Sprintf("ns%0*d.nic.%s", width, i, tld)
		t.Servers = append(t.Servers, Server{Addr: a, Name: name, Behavior: b})
		fmt.Fprintf(&top, "%s 86400 IN A %s\n", name, a)
	}
	zwidth := max(3, len(fmt.Sprint(cfg.Zones-1)))
	zoneName := func(z int) string { return fmt.Sprintf("z%0*d.%s", zwidth, z, tld) }
	names := map[string]bool{}
	for z := range cfg.Zones {
		names[zoneName(z)] = true
	}
	extra, err := sortRecords(cfg.Records, names)
	if err != nil {
		return nil, err
	}
	zones := make([]zoneSet, n)
	stride := n / cfg.NSPerZone
	for z := range cfg.Zones {
		name := zoneName(z)
		zone := Zone{Name: name}
		var text strings.Builder
		fmt.Fprintf(&text, "%s 3600 IN SOA %s hostmaster.%s %d 1800 900 604800 300\n",
			name, t.Servers[z%n].Name, name, 2026112200+z%100)
		idx := make([]int, cfg.NSPerZone)
		for k := range idx {
			idx[k] = (z + k*stride) % n
		}
		// In NS name order, the order in which resolvers try them.
		for _, i := range slices.Sorted(slices.Values(idx)) {
			s := &t.Servers[i]
			zone.Servers = append(zone.Servers, s.Addr)
			s.Zones = append(s.Zones, name)
			fmt.Fprintf(&top, "%s 86400 IN NS %s\n", name, s.Name)
			fmt.Fprintf(&text, "%s 3600 IN NS %s\n", name, s.Name)
		}
		for _, rr := range extra[name] {
			fmt.Fprintln(&text, rr)
		}
		zd, err := newZone(text.String())
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if zones[i] == nil {
				zones[i] = zoneSet{}
			}
			zones[i][name] = zd
		}
		t.Zones = append(t.Zones, zone)
	}

	rootZone, err := newZone(root.String())
	if err != nil {
		return nil, err
	}
	tldZone, err := newZone(top.String())
	if err != nil {
		return nil, err
	}
	h := map[netip.Addr]dns.Handler{
		t.Root: t.counted(t.Root, 0, authoritative(zoneSet{".": rootZone})),
		t.TLD:  t.counted(t.TLD, 0, authoritative(zoneSet{tld: tldZone})),
	}
	for i, s := range t.Servers {
		var sh dns.Handler
		switch s.Behavior {
		case Authoritative:
			sh = authoritative(zones[i])
		case Refused:
			sh = Reply{Rcode: dns.RcodeRefused}
		case UpwardReferral:
			ns, _ := dns.NewRR(". 518400 IN NS " + rootNS)
			glue, _ := dns.NewRR(rootNS + " 518400 IN A " + t.Root.String())
			sh = referral(ns, glue)
		case Silent:
			sh = dns.HandlerFunc(func(dns.ResponseWriter, *dns.Msg) {})
		case Closed:
			continue
		case Recursive:
			sh = recursive(authoritative(zones[i]))
		default:
			return nil, fmt.Errorf("resolvertest: config: server %d: unknown behaviour %d", i, s.Behavior)
		}
		h[s.Addr] = t.counted(s.Addr, cfg.Latency, sh)
	}
	return h, nil
}

// sortRecords returns records by the zone of zones their owner lies in.
func sortRecords(records []string, zones map[string]bool) (map[string][]string, error) {
	out := map[string][]string{}
	for _, text := range records {
		rrs, err := parseRRs(text)
		if err != nil {
			return nil, err
		}
		if len(rrs) != 1 {
			return nil, fmt.Errorf("resolvertest: config: record %q: want one record", text)
		}
		owner := canonicalName(rrs[0].Header().Name)
		zone := ""
		for _, off := range dns.Split(owner) {
			if zones[owner[off:]] {
				zone = owner[off:]
				break
			}
		}
		if zone == "" {
			return nil, fmt.Errorf("resolvertest: config: record %q: owner in none of the zones", text)
		}
		out[zone] = append(out[zone], rrs[0].String())
	}
	return out, nil
}

// counted wraps h with a's counters and the latency.
func (t *Tree) counted(a netip.Addr, latency time.Duration, h dns.Handler) dns.Handler {
	c := &counter{}
	t.counters[a] = c
	return dns.HandlerFunc(func(rw dns.ResponseWriter, req *dns.Msg) {
		c.enter()
		// The query stops being held just before its answer leaves:
		// a polite client sends the next one only after reading it.
		w := &leavingWriter{ResponseWriter: rw, leave: sync.OnceFunc(c.leave)}
		defer w.leave()
		if latency > 0 {
			time.Sleep(latency)
		}
		if len(req.Question) != 1 || req.Response || req.Opcode != dns.OpcodeQuery {
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeFormatError)
			w.WriteMsg(m)
			return
		}
		h.ServeDNS(w, req)
	})
}

// leavingWriter calls leave before the first write.
type leavingWriter struct {
	dns.ResponseWriter
	leave func()
}

func (w *leavingWriter) WriteMsg(m *dns.Msg) error {
	w.leave()
	return w.ResponseWriter.WriteMsg(m)
}

func (w *leavingWriter) Write(b []byte) (int, error) {
	w.leave()
	return w.ResponseWriter.Write(b)
}

func authoritative(zs zoneSet) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if opt := req.IsEdns0(); opt != nil {
			m.SetEdns0(1232, false)
		}
		if len(req.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
			w.WriteMsg(m)
			return
		}
		q := req.Question[0]
		z := zs.find(canonicalName(q.Name))
		if z == nil || q.Qclass != dns.ClassINET {
			m.Rcode = dns.RcodeRefused
		} else {
			z.answer(m, q)
		}
		w.WriteMsg(m)
	})
}

// recursive turns h's answers into a recursive resolver's: RA=1, AA=0.
func recursive(h dns.Handler) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		h.ServeDNS(&recursiveWriter{w}, req)
	})
}

// recursiveWriter clears AA and sets RA on the messages it writes.
type recursiveWriter struct{ dns.ResponseWriter }

func (w *recursiveWriter) WriteMsg(m *dns.Msg) error {
	if m.Rcode != dns.RcodeRefused {
		m.Authoritative, m.RecursionAvailable = false, true
	}
	return w.ResponseWriter.WriteMsg(m)
}

func referral(ns, glue dns.RR) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Ns = []dns.RR{ns}
		m.Extra = []dns.RR{glue}
		w.WriteMsg(m)
	})
}

func (t *Tree) writeHints(cfg Config) error {
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "resolvertest-"); err != nil {
			return fmt.Errorf("resolvertest: %w", err)
		}
		t.tmpDir = dir
	}
	rootNS := "a.root-servers.nic." + cfg.TLD
	text := fmt.Sprintf("; root hints of a resolvertest tree\n.\t3600000\tIN\tNS\t%s\n%s\t3600000\tIN\tA\t%s\n", rootNS, rootNS, t.Root)
	t.RootHints = filepath.Join(dir, "named.root")
	if err := os.WriteFile(t.RootHints, []byte(text), 0o644); err != nil {
		return fmt.Errorf("resolvertest: write root hints: %w", err)
	}
	return nil
}

// Close stops every server and removes the temporary directory.
func (t *Tree) Close() error {
	var errs []error
	if t.net != nil {
		errs = append(errs, t.net.Close())
		t.net = nil
	}
	if t.tmpDir != "" {
		errs = append(errs, os.RemoveAll(t.tmpDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("resolvertest: close: %w", err)
	}
	return nil
}

// Stats returns a snapshot of every address's counters: the root, the TLD
// and the servers.
func (t *Tree) Stats() map[netip.Addr]Stats {
	out := make(map[netip.Addr]Stats, len(t.counters))
	for a, c := range t.counters {
		out[a] = Stats{Queries: c.queries.Load(), PeakInFlight: int(c.peak.Load())}
	}
	return out
}

// Queries returns the queries received by all addresses together.
func (t *Tree) Queries() int64 {
	var n int64
	for _, c := range t.counters {
		n += c.queries.Load()
	}
	return n
}
