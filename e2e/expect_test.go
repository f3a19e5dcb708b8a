package e2e

// What the lab must produce, zone by zone: the delegation as lab. has it,
// the verdict and reason each (NS name, address) must get from lamers
// (verify and check), and the evidence each resolver logs. The log columns
// are what BIND 9.18 and Unbound 1.17 write in this lab (testdata/lab at the
// module root holds a recorded run; docs/log-formats.md explains each line),
// the verdicts and reasons follow docs/verification.md.

// Verdicts of check --format json.
const (
	authoritative = "authoritative"
	lame          = "lame"
	inconclusive  = "inconclusive"
)

// nsExpect is one (NS name, address) of a delegation and what probing it
// must give: one of verdicts, and one of reasons ("" for authoritative);
// check must give it exactly flags (none when nil). childOnly: only the
// zone's own apex NS set lists the name, not lab.
type nsExpect struct {
	name, addr string
	verdicts   []string
	reasons    []string
	flags      []string
	childOnly  bool
}

// with returns ns expecting the flags from check.
func (ns nsExpect) with(flags ...string) nsExpect {
	ns.flags = flags
	return ns
}

// logExpect is evidence a resolver must log: a finding for server whose
// observed kinds include at least one of kinds. zone "" means the line
// carries no zone (BIND's reason lines): any zone, or none, is accepted.
type logExpect struct {
	zone, server string
	kinds        []string
}

type zoneExpect struct {
	zone    string // presentation format, absolute, as lamers reports it
	broken  string // what the lab did to it
	check   string // the zone's verdict from check: ok, lame or broken
	ns      []nsExpect
	bind    []logExpect
	unbound []logExpect
	// random: the lame server of the zone is picked at random by the
	// resolvers, so its evidence may be missing; when present, its verdict
	// must still be the right one.
	random bool
}

// delegates reports whether addr is one of the zone's servers.
func (z *zoneExpect) delegates(addr string) bool {
	for _, ns := range z.ns {
		if sameAddr(ns.addr, addr) {
			return true
		}
	}
	return false
}

// ok is a server that serves the zone properly; its reason is the
// classification's name, "authoritative" (docs/verification.md), or empty.
func ok(name, addr string) nsExpect {
	return nsExpect{name: name, addr: addr, verdicts: []string{authoritative}, reasons: []string{authoritative, ""}}
}

func lameNS(name, addr string, reasons ...string) nsExpect {
	return nsExpect{name: name, addr: addr, verdicts: []string{lame}, reasons: reasons}
}

func silentNS(name, addr string, verdicts []string, reasons ...string) nsExpect {
	return nsExpect{name: name, addr: addr, verdicts: verdicts, reasons: reasons}
}

func ev(zone, server string, kinds ...string) logExpect { return logExpect{zone, server, kinds} }

var expectations = []zoneExpect{
	{
		zone: "refused.lab.", broken: "REFUSED: the server serves other zones only", check: "broken",
		ns:      []nsExpect{lameNS("ns1.refused.lab.", addrRefuser, "refused")},
		bind:    []logExpect{ev("", addrRefuser, "refused")},
		unbound: []logExpect{ev("refused.lab.", addrRefuser, "refused", "throwaway")},
	},
	{
		zone: "upref.lab.", broken: "upward referral to the root", check: "broken",
		ns:      []nsExpect{lameNS("ns-upref.nic.lab.", addrUpref, "upward_referral")},
		bind:    []logExpect{ev("upref.lab.", addrUpref, "lame_referral")},
		unbound: []logExpect{ev("upref.lab.", addrUpref, "lame_referral")},
	},
	{
		// Unbound writes this zone as "we?ird.lab." (lossy), so only BIND's
		// evidence can be pinned to it.
		zone: `we\.ird.lab.`, broken: "upward referral, escaped label", check: "broken",
		ns:   []nsExpect{lameNS("ns-upref.nic.lab.", addrUpref, "upward_referral")},
		bind: []logExpect{ev(`we\.ird.lab.`, addrUpref, "lame_referral")},
	},
	{
		// The root server answers with a non-AA referral to lab., an
		// ancestor of the zone: an upward referral (table row 3).
		zone: "otherauth.lab.", broken: "NS authoritative for other zones: non-AA referral to the parent", check: "broken",
		ns:      []nsExpect{lameNS("a.root-servers.lab.", addrRoot, "upward_referral")},
		bind:    []logExpect{ev("otherauth.lab.", addrRoot, "lame_referral")},
		unbound: []logExpect{ev("otherauth.lab.", addrRoot, "lame_referral")},
	},
	{
		zone: "recursive.lab.", broken: "NS is a caching resolver (RA=1, AA=0)", check: "broken",
		ns:      []nsExpect{lameNS("ns-recursor.nic.lab.", addrRecursor, "recursive_not_authoritative").with("open_recursor")},
		bind:    []logExpect{ev("", addrRecursor, "formerr", "non_improving_referral")},
		unbound: []logExpect{ev("recursive.lab.", addrRecursor, "rec_lame")},
	},
	{
		zone: "servfail.lab.", broken: "zone configured but not loadable: SERVFAIL", check: "broken",
		ns:      []nsExpect{lameNS("ns-upref.nic.lab.", addrUpref, "servfail")},
		bind:    []logExpect{ev("", addrUpref, "servfail")},
		unbound: []logExpect{ev("servfail.lab.", addrUpref, "servfail", "throwaway")},
	},
	{
		// Port unreachable is soft evidence: lame only once confirmed.
		zone: "closed.lab.", broken: "nothing listens (port unreachable)", check: "broken",
		ns:   []nsExpect{silentNS("ns-closed.nic.lab.", addrClosed, []string{lame, inconclusive}, "no_dns_service")},
		bind: []logExpect{ev("", addrClosed, "connection_refused")},
	},
	{
		// Neither resolver logs a timeout with the server's address.
		zone: "blackhole.lab.", broken: "listens, never answers", check: "broken",
		ns: []nsExpect{silentNS("ns-blackhole.nic.lab.", addrBlackhole, []string{inconclusive}, "unresponsive")},
	},
	{
		// AA NXDOMAIN with lab.'s SOA; neither resolver logs it.
		zone: "parentsoa.lab.", broken: "server has the parent's (stale) data", check: "broken",
		ns: []nsExpect{lameNS("ns-stale.nic.lab.", addrStale, "nxdomain", "wrong_soa_owner")},
	},
	{
		zone: "selfref.lab.", broken: "NS is the parent's server: referral to itself", check: "broken",
		ns:   []nsExpect{lameNS("ns1.nic.lab.", addrTLD, "self_referral")},
		bind: []logExpect{ev("selfref.lab.", addrTLD, "lame_referral")},
	},
	{
		zone: "good.lab.", broken: "nothing (healthy)", check: "ok",
		ns: []nsExpect{ok("ns1.good.lab.", addrGood1), ok("ns2.good.lab.", addrGood2)},
	},
	{
		zone: "halflame.lab.", broken: "one NS fine, one NS upward referral", check: "lame",
		ns:      []nsExpect{ok("ns-good1.nic.lab.", addrGood1), lameNS("ns-upref.nic.lab.", addrUpref, "upward_referral")},
		bind:    []logExpect{ev("halflame.lab.", addrUpref, "lame_referral")},
		unbound: []logExpect{ev("halflame.lab.", addrUpref, "lame_referral")},
		random:  true,
	},
	{
		zone: "rname.lab.", broken: `SOA RNAME first\.last; one NS REFUSED`, check: "lame",
		ns:      []nsExpect{ok("ns-good1.nic.lab.", addrGood1), lameNS("ns-refuser.nic.lab.", addrRefuser, "refused")},
		bind:    []logExpect{ev("", addrRefuser, "refused")},
		unbound: []logExpect{ev("rname.lab.", addrRefuser, "throwaway", "refused")},
		random:  true,
	},
	{
		zone: "v6.lab.", broken: "only NS is IPv6, upward referral", check: "broken",
		ns:      []nsExpect{lameNS("ns-v6.nic.lab.", addrUpref6, "upward_referral")},
		bind:    []logExpect{ev("v6.lab.", addrUpref6, "lame_referral")},
		unbound: []logExpect{ev("v6.lab.", addrUpref6, "lame_referral")},
	},
	{
		// The NS name is a CNAME to a good server: BIND refuses to use it
		// (logged without an address, so no finding), Unbound follows it.
		// The address behind it serves the zone properly.
		zone: "cnamens.lab.", broken: "NS name is a CNAME", check: "ok",
		ns: []nsExpect{ok("alias.nic.lab.", addrGood1).with("ns_is_cname")},
	},
	{
		// Three servers answer authoritatively. A djbdns tinydns answers
		// over UDP only and without OPT, from an older copy of the zone;
		// the NSD's copy names a third server that lab. does not list.
		// Neither resolver logs anything against them.
		zone: "legacy.lab.", broken: "tinydns: no EDNS, no TCP, old serial; NS sets differ", check: "ok",
		ns: []nsExpect{
			ok("ns-good1.nic.lab.", addrGood1),
			ok("ns-legacy.nic.lab.", addrLegacy).with("edns_noncompliant", "soa_mismatch", "tcp_failed"),
			{name: "ns-good2.nic.lab.", addr: addrGood2, verdicts: []string{authoritative}, reasons: []string{authoritative},
				flags: []string{"ns_not_in_parent"}, childOnly: true},
		},
	},
	// Labels that presentation form escapes (docs/verification.md, "How
	// names and addresses are compared"). Unbound writes each of them
	// lossily (caf??.lab.), so only BIND's evidence can be pinned to them;
	// verify merges Unbound's into it.
	{
		// lab.zone spells the delegation "Big\ Shop"; miekg/dns writes the
		// question of every reply as big\ shop.lab., BIND and lamers write
		// big\032shop.lab.: the names meet only in canonical form.
		zone: `big\032shop.lab.`, broken: "nothing (healthy), a space and upper case in the label", check: "ok",
		ns: []nsExpect{ok("ns-good1.nic.lab.", addrGood1)},
	},
	{
		zone: `say\"hi\;\@\(x.lab.`, broken: "upward referral, a label with '\"', ';', '@' and '('", check: "broken",
		ns:   []nsExpect{lameNS("ns-upref.nic.lab.", addrUpref, "upward_referral")},
		bind: []logExpect{ev(`say\"hi\;\@\(x.lab.`, addrUpref, "lame_referral")},
	},
	{
		zone: `caf\195\169.lab.`, broken: "REFUSED, a non-ASCII octet in the label", check: "broken",
		ns:   []nsExpect{lameNS("ns-refuser.nic.lab.", addrRefuser, "refused")},
		bind: []logExpect{ev("", addrRefuser, "refused")},
	},
}

// goodServers never deserve a finding in any zone they serve.
var goodServers = []string{addrGood1, addrGood2}
