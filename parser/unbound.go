package parser

import (
	"bytes"
	"time"
)

// pending is the part of an Unbound group seen so far on one thread: the
// raw fields of "response for" (U1) and "reply from" (U2), kept as printed
// until a "query response …" line (U3) says whether they are evidence.
type pending struct {
	seq      uint64 // last touch, for eviction and State order
	hasQuery bool
	hasReply bool
	qname    []byte
	qtype    []byte
	zone     []byte
	server   []byte // "addr#port"
}

// Unbound message prefixes (after "level: ").
var (
	u1Response  = []byte("response for ")
	u2Reply     = []byte("reply from <")
	u3Query     = []byte("query response ")
	u4ServFail  = []byte("SERVFAIL <")
	u3MarkRec   = []byte("mark as REC_LAME")
	u5Mark      = []byte("mark ")
	u4AtZone    = []byte("at zone ")
	u4Forward   = []byte("all the configured stub or forward servers failed,")
	u3Was       = []byte("was ")
	u3Category  = []byte("categorized as ")
	u3RecLame   = []byte("REC_LAME")
	infraTTL    = []byte("ttl")
	infraExpire = []byte("expired")
)

// group returns the pending group of key, creating it (and evicting the
// least recently touched group at the bound).
func (p *Parser) group(key []byte) *pending {
	p.seq++
	if g, ok := p.pending[string(key)]; ok {
		g.seq = p.seq
		return g
	}
	if len(p.pending) >= maxPending {
		var oldKey string
		var old *pending
		for k, g := range p.pending {
			if old == nil || g.seq < old.seq {
				oldKey, old = k, g
			}
		}
		delete(p.pending, oldKey)
	}
	g := &pending{seq: p.seq}
	p.pending[string(key)] = g
	return g
}

// parseUnbound parses an Unbound message m (docs/log-formats.md, U1–U7;
// Unbound iterator/iterator.c) written by
// the thread identified by key.
func (p *Parser) parseUnbound(m []byte, t time.Time, key []byte, out []Observation) ([]Observation, Result) {
	if len(key) > maxField/2 {
		key = key[:maxField/2]
	}
	switch {
	case bytes.HasPrefix(m, u1Response):
		// U1: "response for www.upref.lab. A IN"
		name, rest, _ := cut(m[len(u1Response):], ' ')
		typ, class, _ := cut(rest, ' ')
		if len(name) == 0 || len(name) > maxField || len(typ) == 0 || len(typ) > 32 || len(class) == 0 || bytes.IndexByte(class, ' ') >= 0 {
			return out, Unrecognised
		}
		g := p.group(key)
		g.qname = append(g.qname[:0], name...)
		g.qtype = append(g.qtype[:0], typ...)
		g.hasQuery, g.hasReply = true, false
		return out, Recognised
	case bytes.HasPrefix(m, u2Reply):
		// U2: "reply from <upref.lab.> 127.53.4.1#53"
		zone, addr, ok := cut(m[len(u2Reply):], '>')
		if !ok || len(addr) < 2 || addr[0] != ' ' {
			return out, Unrecognised
		}
		addr = addr[1:]
		if _, ok := p.server(addr, addrHash); !ok {
			return out, Unrecognised
		}
		if _, ok := p.name(zone); !ok {
			return out, Unrecognised
		}
		g := p.group(key)
		g.zone = append(g.zone[:0], zone...)
		g.server = append(g.server[:0], addr...)
		g.hasReply = true
		return out, Recognised
	case bytes.HasPrefix(m, u3Query):
		return p.unboundVerdict(m[len(u3Query):], t, key, out)
	case bytes.HasPrefix(m, u4ServFail):
		return p.unboundServFail(m[len(u4ServFail):], t, key, out)
	case bytes.HasPrefix(m, u3MarkRec):
		// U3' second line: already counted with "query response REC_LAME".
		return out, Recognised
	case bytes.HasPrefix(m, u5Mark) && hasLame(m):
		// U5 internal errors ("mark lame: …", "mark rec_lame: …").
		return out, Recognised
	}
	if hasLame(m) && (bytes.HasPrefix(m, []byte("   rtt=")) || bytes.HasPrefix(m, []byte("chase to ")) ||
		bytes.HasPrefix(m, []byte("blacklisted "))) {
		// U7, verbosity 4: server selection notes, no new evidence.
		return out, Recognised
	}
	return out, heuristic(m)
}

// unboundVerdict handles U3: v is what follows "query response ". It ends
// the thread's group; LAME, DNSSEC LAME, REC_LAME and THROWAWAY make an
// observation from the group's reply (and query, when seen).
func (p *Parser) unboundVerdict(v []byte, t time.Time, key []byte, out []Observation) ([]Observation, Result) {
	var ev Evidence
	if r, ok := bytes.CutPrefix(v, u3Was); ok {
		r, _ = bytes.CutPrefix(r, u3Category) // Unbound ≥ 1.25
		switch string(r) {
		case "LAME":
			ev = LameReferral
		case "DNSSEC LAME":
			ev = DNSSECLame
		case "THROWAWAY":
			ev = Throwaway
		case "REC_LAME":
			ev = RecLame
		}
	} else if bytes.HasPrefix(v, u3RecLame) {
		ev = RecLame
	} else {
		return out, heuristic(v)
	}
	g, ok := p.pending[string(key)]
	if !ok || !g.hasReply {
		if ok {
			g.hasQuery = false
		}
		if ev == "" {
			return out, Ignored
		}
		// The group began before this input (or was evicted).
		return out, Recognised
	}
	hasQuery := g.hasQuery
	g.hasQuery, g.hasReply = false, false
	if ev == "" {
		return out, Ignored
	}
	srv, ok1 := p.server(g.server, addrHash)
	zone, ok2 := p.name(g.zone)
	if !ok1 || !ok2 {
		return out, Unrecognised
	}
	o := Observation{Time: t, Source: SourceUnbound, Evidence: ev, Zone: zone, Server: srv.addr, Port: srv.port}
	if hasQuery {
		q, okq := p.qname(g.qname)
		typ, okt := p.qtype(g.qtype)
		if okq && okt {
			o.QName, o.QType = q, typ
			addr, _, _ := cut(g.server, '#')
			p.addVerdict(verdictHash(key, g.qname, g.qtype, g.zone, addr), srv.port)
		}
	}
	return append(out, o), Recognised
}

// unboundServFail handles U4 (log-servfail) of the thread key: s follows
// "SERVFAIL <" and is "qname TYPE CLASS>: errinf", errinf containing "at
// zone Z from ADDR got RCODE". The rcode gives the evidence; forms without
// "from ADDR" or without "got RCODE" carry no usable server: Recognised, no
// observation. A line that fails the query of an earlier verdict is a
// Repeat of it (pair.go).
func (p *Parser) unboundServFail(s []byte, t time.Time, key []byte, out []Observation) ([]Observation, Result) {
	qtc, errinf, ok := bytes.Cut(s, []byte(">: "))
	if !ok {
		return out, Unrecognised
	}
	name, rest, _ := cut(qtc, ' ')
	typ, class, _ := cut(rest, ' ')
	if len(name) == 0 || len(typ) == 0 || len(class) == 0 {
		return out, Unrecognised
	}
	if bytes.Contains(errinf, u4Forward) {
		// processLastResort(): the servers of a forward-zone or stub-zone,
		// not a delegation
		return out, Recognised
	}
	i := bytes.Index(errinf, u4AtZone)
	if i < 0 || (i > 0 && errinf[i-1] != ' ') {
		return out, Recognised
	}
	zone, rest, _ := cut(errinf[i+len(u4AtZone):], ' ')
	from, ok := bytes.CutPrefix(rest, []byte("from "))
	if !ok {
		return out, Recognised
	}
	addr, rest, _ := cut(from, ' ')
	rc, ok := bytes.CutPrefix(rest, []byte("got "))
	if !ok {
		return out, Recognised
	}
	rc, _, _ = cut(rc, ' ')
	v, ok := rcodeValue(rc)
	if !ok {
		return out, Unrecognised
	}
	switch v {
	case 0, 3, 6: // NOERROR, NXDOMAIN, YXDOMAIN: answers, not failures
		return out, Recognised
	}
	ev := p.rcodeKind(v)
	srv, ok := p.server(addr, addrPlain)
	if !ok {
		return out, Unrecognised
	}
	o := Observation{Time: t, Source: SourceUnbound, Evidence: ev, Server: srv.addr, Port: srv.port}
	if o.Zone, ok = p.name(zone); !ok {
		return out, Unrecognised
	}
	if o.QName, ok = p.qname(name); !ok {
		return out, Unrecognised
	}
	if o.QType, ok = p.qtype(typ); !ok {
		return out, Unrecognised
	}
	if v, ok := p.pairVerdict(verdictHash(key, name, typ, zone, addr)); ok {
		o.Repeat, o.Port = true, v.port
	}
	return append(out, o), Recognised
}

// looksInfra reports whether a bare line has dump_infra's shape:
// "addr[@port] zone. ttl …" or "addr zone. expired …".
func looksInfra(line []byte) bool {
	if len(line) == 0 || !(isDigit(line[0]) || line[0] == ':' || line[0] >= 'a' && line[0] <= 'f' || line[0] >= 'A' && line[0] <= 'F') {
		return false
	}
	_, rest, _ := cut(line, ' ')
	zone, rest, _ := cut(rest, ' ')
	if len(zone) == 0 || zone[len(zone)-1] != '.' {
		return false
	}
	third, _, _ := cut(rest, ' ')
	return bytes.Equal(third, infraTTL) || bytes.Equal(third, infraExpire)
}

// parseInfra parses one line of `unbound-control dump_infra` (Unbound
// daemon/remote.c, 1.4.22+; docs/log-formats.md): "addr[@port] zone. ttl N ping N var N rtt N rto N tA N tAAAA N
// tother N ednsknown N edns N delay N lame dnssec D rec R A X other Y".
// A or other > 0 give lame_referral, rec rec_lame, dnssec dnssec_lame and
// tA+tAAAA+tother > 0 timeout, all at the reference time. "expired" entries
// and entries without any flag are Ignored.
func (p *Parser) parseInfra(line []byte, out []Observation) ([]Observation, Result) {
	addr, rest, _ := cut(line, ' ')
	zone, rest, _ := cut(rest, ' ')
	key, rest, _ := cut(rest, ' ')
	if len(zone) == 0 || zone[len(zone)-1] != '.' {
		return out, heuristic(line)
	}
	if bytes.Equal(key, infraExpire) {
		return out, Ignored
	}
	if !bytes.Equal(key, infraTTL) {
		return out, heuristic(line)
	}
	var timeouts, dnssec, rec, lameA, lameOther int64
	seenLame := false
	for k := key; len(k) > 0; k, rest, _ = cut(rest, ' ') {
		if string(k) == "lame" {
			seenLame = true
			continue
		}
		var v []byte
		v, rest, _ = cut(rest, ' ')
		n, ok := atoi(v)
		if !ok {
			return out, Unrecognised
		}
		switch string(k) {
		case "tA", "tAAAA", "tother":
			timeouts += n
		case "dnssec":
			dnssec = n
		case "rec":
			rec = n
		case "A":
			lameA = n
		case "other":
			lameOther = n
		}
	}
	if !seenLame {
		return out, Unrecognised
	}
	srv, ok := p.server(addr, addrAt)
	if !ok {
		return out, Unrecognised
	}
	z, ok := p.name(zone)
	if !ok {
		return out, Unrecognised
	}
	o := Observation{Time: p.ref, Source: SourceUnbound, Zone: z, Server: srv.addr, Port: srv.port}
	n := len(out)
	for _, f := range [...]struct {
		on bool
		ev Evidence
	}{
		{lameA > 0 || lameOther > 0, LameReferral},
		{rec > 0, RecLame},
		{dnssec > 0, DNSSECLame},
		{timeouts > 0, Timeout},
	} {
		if f.on {
			o.Evidence = f.ev
			out = append(out, o)
		}
	}
	if len(out) == n {
		return out, Ignored
	}
	return out, Recognised
}

// atoi parses a possibly negative decimal integer of at most 18 digits.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
