package parser

import "time"

// One reply, one event. Resolvers log some events in two
// lines; the second line's observation is then a Repeat: its evidence kind
// counts, its event does not.
//
// BIND 9 (lib/dns/resolver.c, 9.x → 9.21): log_formerr() writes "DNS format
// error from ADDR resolving Q/T for CLIENT: DETAIL" (B4), then add_bad()
// writes, for the same reply, a reason line whose evidence is formerr
// ("FORMERR resolving 'Q/T/C': ADDR", "received FORMERR" after "server sent
// FORMERR") unless the server was already marked bad in that fetch. Both
// are written by one call, so a reason line pairs with the latest notice of
// the same server and query at most pairLines lines and pairTime before it.
// The notice "referral from global forwarder" (9.20.26+, 9.21.24+) and its
// reason line are about a forwarder: neither is evidence.
//
// Unbound (iterator/iterator.c, services/mesh.c, 1.13.2+): the verdict of
// a reply ("query response was THROWAWAY", U3) and, when the query fails,
// its log-servfail line ("SERVFAIL <Q T C>: … at zone Z from ADDR got
// RCODE", U4). Other groups of the same thread can come between them. A
// log-servfail line pairs with the latest unpaired evidence verdict of the
// same thread, query name and type, zone and server address, among the
// last maxVerdicts; it takes the verdict's port (it prints none).
//
// Lines are identified by a 64-bit FNV-1a hash of their fields as printed:
// the memory is bounded and fixed (maxNotices + maxVerdicts entries), and
// State stays small.
const (
	pairLines   = ContextLines
	pairTime    = time.Second
	maxNotices  = 16
	maxVerdicts = 1024
)

// notice is a remembered B4 line.
type notice struct {
	h         uint64 // noticeHash; 0: free or paired
	line      int64  // its line number (Parser.SetLine)
	t         int64  // its time, Unix nanoseconds
	forwarder bool   // "referral from global forwarder"
}

// verdict is a remembered Unbound evidence verdict.
type verdict struct {
	h    uint64 // verdictHash; 0: free or paired
	seq  uint64 // pairs.vSeq when added
	prev uint16 // the previous verdict of the same bucket: its position + 1, 0 for none
	port uint16
}

// pairs is a Parser's memory of first lines. The verdicts are a ring, and
// chained by bucket of their hash (heads) so that a log-servfail line finds
// its verdict without looking at all of them.
type pairs struct {
	notices  [maxNotices]notice
	nNext    int
	verdicts [maxVerdicts]verdict
	vNext    int
	vSeq     uint64
	heads    [verdictBuckets]uint16 // newest verdict of each bucket: position + 1
}

// verdictBuckets is the number of hash chains of the verdicts.
const verdictBuckets = 2 * maxVerdicts

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvAdd hashes b and a separator into h.
func fnvAdd(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime // 0xff never occurs in a field's text
}

// nonZero keeps 0 for free slots.
func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// noticeHash identifies a B4 line by server ("addr#port") and query
// ("qname/TYPE"), as printed.
func noticeHash(server, qname, qtype []byte) uint64 {
	h := fnvAdd(fnvAdd(fnvOffset, server), qname)
	return nonZero(fnvAdd(h, qtype))
}

// addNotice remembers a B4 line.
func (p *Parser) addNotice(h uint64, t time.Time, forwarder bool) {
	r := &p.pairs
	r.notices[r.nNext] = notice{h: h, line: p.line, t: t.UnixNano(), forwarder: forwarder}
	r.nNext = (r.nNext + 1) % maxNotices
}

// pairNotice finds, marks paired and returns the latest unpaired notice h
// logged before the current line, at most pairLines lines and pairTime
// before t.
func (p *Parser) pairNotice(h uint64, t time.Time) (notice, bool) {
	r := &p.pairs
	tn := t.UnixNano()
	for k := 1; k <= maxNotices; k++ {
		n := &r.notices[(r.nNext-k+maxNotices)%maxNotices]
		if n.h != h {
			continue
		}
		if d := p.line - n.line; d <= 0 || d > pairLines {
			continue
		}
		if d := tn - n.t; d > int64(pairTime) || d < -int64(pairTime) {
			continue
		}
		found := *n
		n.h = 0
		return found, true
	}
	return notice{}, false
}

// verdictHash identifies an Unbound evidence verdict or log-servfail line
// by thread key, query name and type, zone and server address (without
// port), as printed.
func verdictHash(key, qname, qtype, zone, addr []byte) uint64 {
	h := fnvAdd(fnvAdd(fnvAdd(fnvAdd(fnvOffset, key), qname), qtype), zone)
	return nonZero(fnvAdd(h, addr))
}

// addVerdict remembers an evidence verdict, in place of the oldest.
func (p *Parser) addVerdict(h uint64, port uint16) {
	r := &p.pairs
	r.vSeq++
	b := h % verdictBuckets
	r.verdicts[r.vNext] = verdict{h: h, seq: r.vSeq, prev: r.heads[b], port: port}
	r.heads[b] = uint16(r.vNext + 1)
	r.vNext = (r.vNext + 1) % maxVerdicts
}

// pairVerdict finds, marks paired and returns the latest unpaired verdict
// h. It follows h's chain from the newest verdict to older ones; a link to
// a position since reused (by a newer verdict) ends it.
func (p *Parser) pairVerdict(h uint64) (verdict, bool) {
	r := &p.pairs
	next := r.vSeq + 1
	for pos := r.heads[h%verdictBuckets]; pos != 0; {
		v := &r.verdicts[pos-1]
		if v.seq >= next {
			break // the position holds a newer verdict now
		}
		if v.h == h {
			found := *v
			v.h = 0
			return found, true
		}
		next, pos = v.seq, v.prev
	}
	return verdict{}, false
}

// SetLine gives the number of the next line Parse reads (ingest passes
// each line's position in its content, so that a Parser reading chunks
// out of order pairs lines as one reading them in order would). Without
// it, Parse numbers the lines it reads itself.
func (p *Parser) SetLine(n int64) { p.line = n - 1 }
