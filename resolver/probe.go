package resolver

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// Probe is one probe round of one zone on one server address
// (docs/verification.md, sections 2 and 3).
type Probe struct {
	Zone    string         // canonical (CanonicalName); as given when it has no canonical form
	Server  netip.AddrPort // the address probed (IPv4-mapped addresses unmapped)
	Verdict Verdict
	Reason  string
	Rcode   string   // mnemonic of the reply classified ("NOERROR"); "" without one
	Flags   []string // FlagOpenRecursor, FlagEDNSNoncompliant; never nil
	RTT     time.Duration
	Packets int // packets sent to Server in this round, at most 4
	At      time.Time
	// SOA is the zone's SOA record from the reply when Verdict is
	// authoritative (AA, exactly one SOA owned by the zone); zero otherwise:
	// never taken from a referral, a recursive answer or a parent's
	// NXDOMAIN.
	SOA SOA
}

// SOA is what lamers reads of a zone's SOA record (RFC 1035 §3.3.13). The
// names are in canonical form (CanonicalName), except that the RNAME keeps
// the case the server sent: its first label is a mailbox's local part
// (first\.Last.example.com.).
type SOA struct {
	MName  string // the zone's primary server
	RName  string // the mailbox of the person responsible for the zone
	Serial uint32
}

// maxProbePackets is the packet budget of one round (docs/verification.md,
// section 2).
const maxProbePackets = 4

// Probe runs one round of "SOA <zone> IN, RD=0" against server
// and classifies the outcome (docs/verification.md, sections 2 and 3):
//
//  1. P1: UDP without EDNS, Timeouts[0]; after a timeout P1 again, Timeouts[1];
//  2. P2: UDP with EDNS0 (payload 1232, DO=0), last timeout, after P1 timed out
//     twice or answered FORMERR, NOTIMP, SERVFAIL, REFUSED or garbage;
//  3. TCP when a reply has TC=1, and after SERVFAIL on both P1 and P2;
//  4. when P1 (or its TCP follow-up) gave a clean reply and the budget
//     allows, one P2 to flag edns_noncompliant (unless Config.SkipEDNSCheck).
//
// Every reply to a query with EDNS is judged for edns_noncompliant, also
// without the EDNS check.
//
// At most 4 packets are sent. A port of 0 means Config.Port. A server of a
// disabled address family, a link-local IPv6 address without a zone, an
// invalid zone name or a cancelled ctx give vantage_error without counting.
func (r *Resolver) Probe(ctx context.Context, zone string, server netip.AddrPort) Probe {
	return r.probe(ctx, zone, server, probeMode{ednsCheck: !r.cfg.SkipEDNSCheck})
}

// ProbeSilent is Probe for an address that has just been silent for other
// zones: the round starts with a single P1 and, when that times out too,
// ends there (reason unresponsive, one packet) instead of retrying. An
// address that answers gets the full round. A dead server listed in
// hundreds of delegations so costs one packet and one timeout per zone,
// not three of each.
func (r *Resolver) ProbeSilent(ctx context.Context, zone string, server netip.AddrPort) Probe {
	return r.probe(ctx, zone, server, probeMode{short: true, ednsCheck: !r.cfg.SkipEDNSCheck})
}

// probeMode varies a probe round.
type probeMode struct {
	short     bool // give up after one silent P1 (ProbeSilent)
	ednsCheck bool // send the EDNS check after an authoritative P1
}

func (r *Resolver) probe(ctx context.Context, zone string, server netip.AddrPort, mode probeMode) Probe {
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	if server.Port() == 0 {
		server = netip.AddrPortFrom(server.Addr(), r.cfg.Port)
	}
	p := Probe{Zone: zone, Server: server, At: r.cfg.Clock(), Flags: []string{}}
	z, err := parseName(zone)
	if err != nil {
		return p.finish(ReasonVantageError, nil)
	}
	p.Zone = z
	if !r.usable(server.Addr()) {
		return p.finish(ReasonVantageError, nil)
	}
	ctx, done, err := r.begin(ctx)
	if err != nil {
		return p.finish(ReasonVantageError, nil)
	}
	defer done()
	rd := &round{r: r, ctx: ctx, zone: p.Zone, server: server, mode: mode}
	reason, reply, flags := rd.run()
	p.Packets = rd.packets
	p.RTT = rd.rtt
	p.Flags = append(p.Flags, flags...)
	if rd.ednsFault {
		p.Flags = append(p.Flags, FlagEDNSNoncompliant)
	}
	if ctx.Err() != nil && reply == nil {
		reason = ReasonVantageError
	}
	r.log.Debug("probe", logKeyZone, p.Zone, logKeyServer, server.String(), logKeyReason, reason, logKeyPackets, p.Packets)
	return p.finish(reason, reply)
}

// usable reports whether a can be queried from here at all.
func (r *Resolver) usable(a netip.Addr) bool {
	if !a.IsValid() || a.IsUnspecified() || !r.familyOK(a) {
		return false
	}
	if a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) && a.Zone() == "" {
		return false
	}
	return true
}

func (p Probe) finish(reason string, reply *dns.Msg) Probe {
	p.Reason = reason
	p.Verdict = VerdictOf(reason)
	if reply != nil {
		p.Rcode = rcodeName(reply.Rcode)
		if reason == ReasonAuthoritative {
			if soa := classify(p.Zone, reply).soa; soa != nil {
				p.SOA = SOA{MName: canonical(soa.Ns), RName: canonicalKeepCase(soa.Mbox), Serial: soa.Serial}
			}
		}
	}
	p.Flags = append(p.Flags, classifyFlags(reply)...)
	slices.Sort(p.Flags)
	p.Flags = slices.Compact(p.Flags)
	return p
}

func classifyFlags(reply *dns.Msg) []string {
	if reply != nil && reply.RecursionAvailable {
		return []string{FlagOpenRecursor}
	}
	return nil
}

// round is the state of one probe round.
type round struct {
	r          *Resolver
	ctx        context.Context
	zone       string
	server     netip.AddrPort
	packets    int
	mode       probeMode
	mismatched bool
	ednsFault  bool // a reply to a query with EDNS mishandled it
	rtt        time.Duration
}

// outcome of one packet.
type outcome struct {
	m   *dns.Msg
	err error // nil, errUnparseable (m has the header), or a transport error
}

func (o outcome) replied() bool { return o.m != nil }

// failure reports whether a reply calls for the EDNS fallback (P2).
func (o outcome) failure() bool {
	if o.m == nil {
		return false
	}
	if o.err != nil {
		return true // unparseable
	}
	switch o.m.Rcode {
	case dns.RcodeFormatError, dns.RcodeNotImplemented, dns.RcodeServerFailure, dns.RcodeRefused:
		return true
	}
	return false
}

func (o outcome) rcode() int {
	if o.m == nil {
		return -1
	}
	return o.m.Rcode
}

// malformed: FORMERR, NOTIMP or garbage (broken_server when P2 agrees).
func (o outcome) malformed() bool {
	return o.m != nil && (o.err != nil || o.m.Rcode == dns.RcodeFormatError || o.m.Rcode == dns.RcodeNotImplemented)
}

func (rd *round) query(edns, tcp bool, timeout time.Duration) outcome {
	m := new(dns.Msg)
	m.SetQuestion(rd.zone, dns.TypeSOA)
	m.RecursionDesired = false
	if edns {
		m.SetEdns0(1232, false)
	}
	rd.packets++
	reply, rtt, err := rd.r.send(rd.ctx, m, rd.server, tcp, timeout, gate{})
	if errors.Is(err, errMismatched) {
		rd.mismatched = true
	}
	if reply != nil {
		rd.rtt = rtt
		if edns && ednsFault(reply, err) {
			rd.ednsFault = true
		}
	}
	return outcome{m: reply, err: err}
}

// silence returns the reason for a round that got no usable reply, from the
// last transport error.
func (rd *round) silence(err error) string {
	switch {
	case errors.Is(err, errConnRefused):
		return ReasonNoDNSService
	case errors.Is(err, errVantage), rd.ctx.Err() != nil:
		return ReasonVantageError
	case rd.mismatched:
		return ReasonMismatchedReply
	default:
		return ReasonUnresponsive
	}
}

// hardStop reports whether a transport error ends the round at once.
func hardStop(err error) bool {
	return errors.Is(err, errConnRefused) || errors.Is(err, errVantage) ||
		errors.Is(err, context.Canceled)
}

// afterTC follows a truncated reply with TCP (RFC 7766). ok is false when
// TCP failed.
func (rd *round) afterTC(o outcome, edns bool) (outcome, bool) {
	if !o.replied() || !o.m.Truncated {
		return o, true
	}
	if rd.packets >= maxProbePackets {
		return o, false
	}
	t := rd.query(edns, true, rd.r.cfg.TCPTimeout)
	if !t.replied() {
		return t, false
	}
	return t, true
}

func (rd *round) timeout(i int) time.Duration {
	ts := rd.r.cfg.Timeouts
	if i >= len(ts) {
		return ts[len(ts)-1]
	}
	return ts[i]
}

// run executes the round and returns the reason, the reply it was classified
// from (nil if none) and extra flags.
func (rd *round) run() (string, *dns.Msg, []string) {
	lastT := rd.timeout(len(rd.r.cfg.Timeouts) - 1)

	// P1, retransmitted once after a timeout.
	p1 := rd.query(false, false, rd.timeout(0))
	if rd.mode.short && !p1.replied() {
		return rd.silence(p1.err), nil, nil
	}
	if !p1.replied() && !hardStop(p1.err) {
		p1 = rd.query(false, false, rd.timeout(1))
	}
	if !p1.replied() {
		if hardStop(p1.err) {
			return rd.silence(p1.err), nil, nil
		}
		// P2 after two P1 timeouts.
		p2 := rd.query(true, false, lastT)
		if !p2.replied() {
			return rd.silence(p2.err), nil, nil
		}
		return rd.final(p2, true)
	}

	if p1.m.Truncated {
		t, ok := rd.afterTC(p1, false)
		if !ok {
			return ReasonTCPFailedAfterTruncation, nil, nil
		}
		if t.failure() {
			return rd.reasonOf(t), t.m, nil
		}
		return rd.withEDNSCheck(t)
	}

	if !p1.failure() {
		return rd.withEDNSCheck(p1)
	}

	// P1 failed with FORMERR, NOTIMP, SERVFAIL, REFUSED or garbage: P2.
	p2 := rd.query(true, false, lastT)
	if !p2.replied() {
		switch {
		case p1.rcode() == dns.RcodeServerFailure && p1.err == nil:
			// SERVFAIL once, then nothing: not the "SERVFAIL on P1, P2
			// and TCP" of servfail.
			return ReasonIntermittentServfail, p1.m, nil
		default:
			// REFUSED or FORMERR/garbage stand on their own.
			return rd.reasonOf(p1), p1.m, nil
		}
	}
	if p2.m.Truncated {
		t, ok := rd.afterTC(p2, true)
		if !ok {
			return ReasonTCPFailedAfterTruncation, nil, nil
		}
		p2 = t
	}
	switch {
	case p1.malformed() && p2.malformed():
		return ReasonBrokenServer, p2.m, nil
	case p1.rcode() == dns.RcodeServerFailure && p2.rcode() == dns.RcodeServerFailure && p2.err == nil && !p2.m.Truncated:
		// SERVFAIL on P1 and P2; TCP decides.
		if rd.packets >= maxProbePackets {
			return ReasonServfail, p2.m, nil
		}
		t := rd.query(false, true, rd.r.cfg.TCPTimeout)
		if !t.replied() || t.rcode() == dns.RcodeServerFailure {
			return ReasonServfail, p2.m, nil
		}
		return rd.reasonOf(t), t.m, nil
	default:
		return rd.reasonOf(p2), p2.m, nil
	}
}

func (rd *round) final(o outcome, edns bool) (string, *dns.Msg, []string) {
	if o.m.Truncated {
		t, ok := rd.afterTC(o, edns)
		if !ok {
			return ReasonTCPFailedAfterTruncation, nil, nil
		}
		o = t
	}
	return rd.reasonOf(o), o.m, nil
}

func (rd *round) reasonOf(o outcome) string {
	if o.err != nil {
		return ReasonBrokenServer // unparseable
	}
	return classify(rd.zone, o.m).reason
}

// withEDNSCheck classifies a clean reply and sends one P2 to flag EDNS
// faults (edns_noncompliant; RFC 8906 §3.2): query judges the reply itself;
// here the server that answered P1 must answer P2 too, and, when P1 was
// authoritative, stay authoritative (or truncate).
func (rd *round) withEDNSCheck(o outcome) (string, *dns.Msg, []string) {
	reason := rd.reasonOf(o)
	if !rd.mode.ednsCheck || rd.packets >= maxProbePackets {
		return reason, o.m, nil
	}
	rtt := rd.rtt
	p2 := rd.query(true, false, rd.timeout(len(rd.r.cfg.Timeouts)-1))
	rd.rtt = rtt
	lost := !p2.replied() && rd.ctx.Err() == nil ||
		p2.replied() && reason == ReasonAuthoritative && !staysAuthoritative(rd.zone, p2)
	if lost {
		return reason, o.m, []string{FlagEDNSNoncompliant}
	}
	return reason, o.m, nil
}

// ednsFault judges a reply to a query with EDNS (RFC 6891 §7): one that
// does not parse, answers FORMERR or NOTIMP, carries no OPT record or
// claims an EDNS version other than 0 mishandled it.
func ednsFault(m *dns.Msg, err error) bool {
	if err != nil || m.Rcode == dns.RcodeFormatError || m.Rcode == dns.RcodeNotImplemented {
		return true
	}
	opt := m.IsEdns0()
	return opt == nil || opt.Version() != 0
}

// staysAuthoritative judges the EDNS check's reply after an authoritative
// P1: authoritative again, or truncated without an error.
func staysAuthoritative(zone string, o outcome) bool {
	if o.err != nil {
		return false
	}
	if o.m.Truncated {
		return o.m.Rcode == dns.RcodeSuccess
	}
	return classify(zone, o.m).reason == ReasonAuthoritative
}
