package parser

import (
	"bytes"
	"time"
)

// BIND message prefixes (after print-category/print-severity).
var (
	b1Resolving   = []byte("lame server resolving ")          // B1, 9.2+
	b1On          = []byte("lame server on ")                 // B1, 9.1
	b8LameServer  = []byte("Lame server on ")                 // BIND 8, BIND 4.9
	b49Delegation = []byte("Lame delegation to ")             // BIND 4.9
	b4FormErr     = []byte("DNS format error from ")          // B4
	b5CNAME       = []byte("skipping nameserver ")            // B5
	b3Success     = []byte("success resolving ")              // B3
	b6DelegOnly   = []byte("enforced delegation-only for ")   // B6
	b7MarkLame    = []byte("could not mark server as lame: ") // B7
	b2Resolving   = []byte(" resolving '")                    // B2 (all generations)
)

// stripBINDPrefixes removes BIND's "category: ", "module: " and
// "severity: " (including "debug 3: ") prefixes, and a print-time that
// follows a syslog header.
func (p *Parser) stripBINDPrefixes(m []byte) []byte {
	if len(m) > 0 && isDigit(m[0]) {
		if _, n, ok := p.bindTime(m); ok {
			m = m[n:]
		} else if _, n, ok := p.isoTime(m); ok {
			m = m[n:]
		}
	}
	for k := 0; k < 6 && len(m) > 0 && m[0] >= 'a' && m[0] <= 'z'; k++ {
		i := 1
		for i < len(m) && (m[i] >= 'a' && m[i] <= 'z' || isDigit(m[i]) || m[i] == '-' || m[i] == '_') {
			i++
		}
		if i+1 < len(m) && m[i] == ':' && m[i+1] == ' ' {
			m = m[i+2:]
			continue
		}
		if i == 5 && string(m[:5]) == "debug" && i < len(m) && m[i] == ' ' {
			j := i + 1
			for j < len(m) && isDigit(m[j]) {
				j++
			}
			if j > i+1 && j+1 < len(m) && m[j] == ':' && m[j+1] == ' ' {
				m = m[j+2:]
				continue
			}
		}
		break
	}
	return m
}

// parseBIND parses a BIND 9, BIND 8 or BIND 4.9 message (docs/log-formats.md;
// BIND 9 lib/dns/resolver.c, BIND 8 ns_resp.c).
func (p *Parser) parseBIND(m []byte, t time.Time, out []Observation) ([]Observation, Result) {
	m = p.stripBINDPrefixes(m)
	switch {
	case bytes.HasPrefix(m, b1Resolving):
		return p.bindLame(m[len(b1Resolving):], t, out, false)
	case bytes.HasPrefix(m, b1On):
		return p.bindLame(m[len(b1On):], t, out, false)
	case bytes.HasPrefix(m, b8LameServer):
		return p.bindLame(m[len(b8LameServer):], t, out, true)
	case bytes.HasPrefix(m, b49Delegation):
		return p.bind49(m[len(b49Delegation):], t, out)
	case bytes.HasPrefix(m, b4FormErr):
		return p.bindFormErr(m[len(b4FormErr):], t, out)
	case bytes.HasPrefix(m, b5CNAME):
		// B5 names the CNAME'd NS host and the query, but no server
		// address: Recognised, no observation (see the package doc).
		if bytes.Contains(m, []byte("' because it is a CNAME, while resolving '")) && m[len(m)-1] == '\'' {
			return out, Recognised
		}
		return out, Unrecognised
	case bytes.HasPrefix(m, b3Success), bytes.HasPrefix(m, b6DelegOnly):
		// B3 is not evidence; B6 (delegation-only) has no evidence kind.
		if m[0] == 's' {
			return out, Ignored
		}
		return out, Recognised
	case bytes.HasPrefix(m, b7MarkLame):
		return out, Recognised
	}
	// B2 ends in "': addr#port"; other "… resolving '…'" messages (the
	// resolver category's "shut down hung fetch while resolving 'q/T'")
	// are not about a server.
	if i := bytes.Index(m, b2Resolving); i > 0 && bytes.Contains(m[i:], []byte("': ")) {
		return p.bindReason(m[:i], m[i+len(b2Resolving)-1:], t, out)
	}
	return out, heuristic(m)
}

// quoted takes a "'name'" token (BIND names never contain spaces: they are
// escaped as \032) followed by the given suffix from the start of s.
func quoted(s []byte, suffix string) (name, rest []byte, ok bool) {
	tok, rest, _ := cut(s, ' ')
	n := len(tok) - len(suffix)
	if n < 2 || tok[0] != '\'' || string(tok[n:]) != suffix || tok[n-1] != '\'' {
		return nil, nil, false
	}
	return tok[1 : n-1], rest, true
}

// bindLame parses the rest of B1 (9.1+) or BIND 8's "Lame server on":
// "'qname' (in 'zone'?): addr#port" or, for BIND 8, "'qname' (in 'zone'?):
// [addr].port 'ns-name'[: learnt (A=…,NS=…)]".
func (p *Parser) bindLame(s []byte, t time.Time, out []Observation, bind8 bool) ([]Observation, Result) {
	q, rest, ok := quoted(s, "")
	if !ok || !bytes.HasPrefix(rest, []byte("(in ")) {
		return out, Unrecognised
	}
	z, rest, ok := quoted(rest[4:], "?):")
	if !ok {
		return out, Unrecognised
	}
	addr, tail, _ := cut(rest, ' ')
	syntax := addrHash
	if bind8 {
		syntax = addrBracket
		if len(tail) > 0 && tail[0] != '\'' {
			return out, Unrecognised
		}
		if string(z) == `"."` {
			z = z[1:2]
		}
	} else if len(tail) > 0 {
		return out, Unrecognised
	}
	return p.emitBIND(t, LameReferral, z, q, nil, addr, syntax, out)
}

// bind49 parses the rest of BIND 4.9's "Lame delegation to 'x' from [addr]
// (server for 'zone'?) on query on name 'qname'".
func (p *Parser) bind49(s []byte, t time.Time, out []Observation) ([]Observation, Result) {
	_, rest, ok := quoted(s, "")
	if !ok || !bytes.HasPrefix(rest, []byte("from ")) {
		return out, Unrecognised
	}
	addr, rest, _ := cut(rest[5:], ' ')
	if !bytes.HasPrefix(rest, []byte("(server for ")) {
		return out, Unrecognised
	}
	z, rest, ok := quoted(rest[12:], "?)")
	if !ok || !bytes.HasPrefix(rest, []byte("on query on name ")) {
		return out, Unrecognised
	}
	q, rest, ok := quoted(rest[17:], "")
	if !ok || len(rest) > 0 {
		return out, Unrecognised
	}
	return p.emitBIND(t, LameReferral, z, q, nil, addr, addrBracket, out)
}

// bindFormErr parses the rest of B4: "ADDR#PORT resolving QNAME/TYPE for
// CLIENT: DETAIL". "non-improving referral" is its own evidence kind, any
// other detail is formerr.
func (p *Parser) bindFormErr(s []byte, t time.Time, out []Observation) ([]Observation, Result) {
	addr, rest, _ := cut(s, ' ')
	if !bytes.HasPrefix(rest, []byte("resolving ")) {
		return out, Unrecognised
	}
	qt, rest, _ := cut(rest[10:], ' ')
	if !bytes.HasPrefix(rest, []byte("for ")) {
		return out, Unrecognised
	}
	client, detail, _ := cut(rest[4:], ' ')
	if len(client) < 2 || client[len(client)-1] != ':' || len(detail) == 0 {
		return out, Unrecognised
	}
	i := bytes.LastIndexByte(qt, '/')
	if i <= 0 {
		return out, Unrecognised
	}
	h := noticeHash(addr, qt[:i], qt[i+1:])
	if string(detail) == "referral from global forwarder" {
		// 9.20.26+, 9.21.24+ rctx_referral(): about a forwarder, not a
		// delegation; remembered so that its reason line is not evidence
		// either.
		if _, ok := p.server(addr, addrHash); !ok {
			return out, Unrecognised
		}
		p.addNotice(h, t, true)
		return out, Recognised
	}
	ev := FormErr
	if string(detail) == "non-improving referral" {
		ev = NonImprovingReferral
	}
	out, res := p.emitBIND(t, ev, nil, qt[:i], qt[i+1:], addr, addrHash, out)
	if res == Recognised {
		p.addNotice(h, t, false)
	}
	return out, res
}

// bindReason parses B2 in its three generations; head is the text before
// " resolving ", s is "'qname/TYPE/CLASS': addr#port" (or "'qname':
// addr#port" in 9.3 development releases).
func (p *Parser) bindReason(head, s []byte, t time.Time, out []Observation) ([]Observation, Result) {
	qtc, rest, ok := quoted(s, ":")
	if !ok || len(rest) == 0 || bytes.IndexByte(rest, ' ') >= 0 {
		return out, Unrecognised
	}
	ev, res := p.reasonEvidence(head)
	if res != Recognised {
		return out, res
	}
	q, typ := qtc, []byte(nil)
	if j := bytes.LastIndexByte(qtc, '/'); j > 0 && isClass(qtc[j+1:]) {
		if k := bytes.LastIndexByte(qtc[:j], '/'); k > 0 {
			q, typ = qtc[:k], qtc[k+1:j]
		}
	}
	repeat := false
	if ev == FormErr && typ != nil {
		// add_bad() after log_formerr() for the same reply (pair.go)
		if n, ok := p.pairNotice(noticeHash(rest, q, typ), t); ok {
			if n.forwarder {
				return out, Recognised
			}
			repeat = true
		}
	}
	out, res = p.emitBIND(t, ev, nil, q, typ, rest, addrHash, out)
	if repeat && res == Recognised {
		out[len(out)-1].Repeat = true
	}
	return out, res
}

// reasonEvidence maps the text before " resolving " of B2 to an evidence
// kind (Recognised), to nothing (Ignored: a reason that says nothing about
// the server), or fails (Unrecognised):
//
//	9.10+     "[RCODE ]<reason>"        "REFUSED unexpected RCODE"
//	9.7–9.9   "error (<reason>[ RCODE])" "error (unexpected RCODE REFUSED)"
//	9.3–9.6   "<reason>[ (RCODE)]"       "unexpected RCODE (REFUSED)"
func (p *Parser) reasonEvidence(head []byte) (Evidence, Result) {
	rcode := func(r []byte) (Evidence, Result) {
		if ev, ok := p.rcodeEvidence(r); ok {
			return ev, Recognised
		}
		return "", Unrecognised
	}
	if bytes.HasPrefix(head, []byte("error (")) && head[len(head)-1] == ')' {
		head = head[7 : len(head)-1]
		if r, ok := bytes.CutPrefix(head, []byte("unexpected RCODE ")); ok {
			return rcode(r)
		}
		if _, ok := bytes.CutPrefix(head, []byte("unexpected OPCODE ")); ok {
			return FormErr, Recognised
		}
		return reasonText(head)
	}
	if r, ok := bytes.CutSuffix(head, []byte(" unexpected RCODE")); ok {
		return rcode(r)
	}
	if _, ok := bytes.CutSuffix(head, []byte(" unexpected OPCODE")); ok {
		return FormErr, Recognised
	}
	if r, ok := bytes.CutPrefix(head, []byte("unexpected RCODE (")); ok && len(r) > 1 && r[len(r)-1] == ')' {
		return rcode(r[:len(r)-1])
	}
	if r, ok := bytes.CutPrefix(head, []byte("unexpected OPCODE (")); ok && len(r) > 1 && r[len(r)-1] == ')' {
		return FormErr, Recognised
	}
	return reasonText(head)
}

// reasonText maps an isc_result_totext() text that add_bad() can log
// (lib/isc/result.c, 9.3 → 9.21).
func reasonText(r []byte) (Evidence, Result) {
	switch string(r) {
	case "connection refused":
		return ConnectionRefused, Recognised
	case "FORMERR", "received FORMERR", "truncated TCP response", "unexpected OPCODE",
		"unexpected end of input":
		return FormErr, Recognised
	case "BADVERS":
		return "rcode_badvers", Recognised
	case "timed out":
		return Timeout, Recognised
	case "host unreachable", "network unreachable", "host down", "network down",
		"permission denied", "address not available", "connection reset",
		"end of file", "invalid protocol", "address in use", "not connected",
		"port unreachable", "TLS error", "unexpected error":
		return Unreachable, Recognised
	case "broken trust chain", "insecurity proof failed", "must-be-secure",
		"not insecure", "key unauthorized", "signature expired",
		"signature in the future", "RRSIG failed to verify", "verify failure",
		"DNSSEC validation failed", "no valid signature found", "bad signature",
		"DS digest not supported", "algorithm is unsupported",
		"pending (DNSSEC)", "no secure proof of nonexistence",
		"no matching key found", "bad algorithm":
		return DNSSECFailure, Recognised
	case "operation canceled", "shutting down", "quota reached", "chase DS servers":
		// The resolver's own doing (rctx_dispfail(): a fetch cancelled or
		// the server shutting down; fetch quotas) or the DS chase of a
		// parent-side query: nothing about the server.
		return "", Ignored
	}
	if bytes.HasPrefix(r, []byte("no valid ")) {
		return DNSSECFailure, Recognised
	}
	return "", Unrecognised
}

// emitBIND appends one BIND observation after canonicalising its fields.
// A zone or qname that is not a valid name, or an address that does not
// parse, makes the line Unrecognised.
func (p *Parser) emitBIND(t time.Time, ev Evidence, zone, qname, typ, addr []byte, syntax byte, out []Observation) ([]Observation, Result) {
	srv, ok := p.server(addr, syntax)
	if !ok {
		return out, Unrecognised
	}
	o := Observation{Time: t, Source: SourceBIND, Evidence: ev, Server: srv.addr, Port: srv.port}
	if zone != nil {
		if o.Zone, ok = p.name(zone); !ok {
			return out, Unrecognised
		}
	}
	if zone != nil && string(qname) == string(zone) {
		o.QName = o.Zone // the zone's own query (NS, SOA, QNAME minimisation)
	} else if o.QName, ok = p.qname(qname); !ok {
		return out, Unrecognised
	}
	if typ != nil {
		if o.QType, ok = p.qtype(typ); !ok {
			return out, Unrecognised
		}
	}
	return append(out, o), Recognised
}
