package ingest

import (
	"net/netip"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// aggKey identifies one store.Count row inside a batch.
type aggKey struct {
	zone, bucket string
	server       netip.Addr
	port         uint16
	source       parser.Source
	evidence     parser.Evidence
	day          int64 // days since the Unix epoch, UTC
}

type aggVal struct {
	key         aggKey
	n           int64
	first, last time.Time
	qname       string
}

// aggregate sums observations into per-day counts, so that a batch of a
// million lines about fifty thousand findings is fifty thousand rows. It
// remembers the order in which keys first appeared: the store takes a
// finding's sample query name from its first row, so rows in file order
// make the sample the first one logged, the same on every run, without
// sorting.
type aggregate struct {
	m     map[aggKey]*aggVal
	order []*aggVal
}

func newAggregate() *aggregate { return &aggregate{m: make(map[aggKey]*aggVal)} }

func (a *aggregate) len() int { return len(a.m) }

// reset empties the aggregate for the next batch. The map keeps its
// buckets: refilling it costs no growth (counts copies what a batch needs).
func (a *aggregate) reset() {
	clear(a.m)
	clear(a.order)
	a.order = a.order[:0]
}

func (a *aggregate) add(o *parser.Observation) {
	k := aggKey{
		zone:     o.Zone,
		server:   o.Server,
		port:     o.Port,
		source:   o.Source,
		evidence: o.Evidence,
		day:      dayOf(o.Time),
	}
	if o.Zone == "" {
		k.bucket = Bucket(o.QName, o.QType)
	}
	v := a.m[k]
	if v == nil {
		v = &aggVal{key: k, n: 1, first: o.Time, last: o.Time, qname: o.QName}
		a.m[k] = v
		a.order = append(a.order, v)
		return
	}
	v.n++
	if o.Time.Before(v.first) {
		v.first = o.Time
	}
	if o.Time.After(v.last) {
		v.last = o.Time
	}
	if v.qname == "" {
		v.qname = o.QName
	}
}

func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s < 0 && s%86400 != 0 {
		d--
	}
	return d
}

// counts converts the aggregate to store rows, in order of first
// appearance.
func (a *aggregate) counts() []store.Count {
	out := make([]store.Count, 0, len(a.order))
	var lastDay int64
	var lastDayText string
	for _, v := range a.order {
		k := &v.key
		if k.day != lastDay || lastDayText == "" {
			lastDay, lastDayText = k.day, time.Unix(k.day*86400, 0).UTC().Format(time.DateOnly)
		}
		out = append(out, store.Count{
			Zone:     k.zone,
			Bucket:   k.bucket,
			QName:    v.qname,
			Server:   k.server,
			Port:     k.port,
			Source:   string(k.source),
			Evidence: string(k.evidence),
			Day:      lastDayText,
			N:        v.n,
			First:    v.first.UTC(),
			Last:     v.last.UTC(),
		})
	}
	return out
}

// Bucket is the key under which zone-less evidence (BIND's reason lines,
// which name a query but not the zone) is grouped until verification
// attributes a zone to it: storage must not grow per distinct query name.
//
// SOA, NS and DNSKEY queries are asked at a zone apex, so the query name
// itself is the likely zone; a DS query is answered by the parent, so it is
// the parent; for any other type the query name's parent is the key: ten
// thousand random names under one zone share one bucket, while names under
// different zones stay apart so that verification can attribute each of
// them. The store bounds the number of buckets per server.
func Bucket(qname, qtype string) string {
	if qname == "" || qname == "." {
		return qname
	}
	switch qtype {
	case "SOA", "NS", "DNSKEY", "CDS", "CDNSKEY":
		return qname
	}
	return parent(qname)
}

// parent drops the first label of a canonical absolute name, honouring
// backslash escapes. The parent of a one-label name is the name itself, so
// that a bucket is never the root.
func parent(name string) string {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++ // skip the escaped byte (a \DDD escape's digits are never dots)
		case '.':
			if i+1 >= len(name) {
				return name
			}
			return name[i+1:]
		}
	}
	return name
}
