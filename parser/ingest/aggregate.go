package ingest

import (
	"cmp"
	"slices"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// aggregate sums observations into per-day counts, so that a batch of a
// million lines about fifty thousand findings is fifty thousand rows. It
// has two levels: findings (zone or bucket, server, port), and under each
// finding its few rows (source, evidence kind, UTC day). One map lookup per
// observation, on the finding; its rows are a short list.
//
// Every finding and row remembers the position of its first observation
// (seq, increasing through the input), and a finding the position of its
// first sample query name. counts emits findings, and rows within a finding,
// in that order, and aggregates built from parts of one input by several
// workers merge to exactly what one would have built: the output is the
// same for any number of workers. The store takes a finding's sample query
// name from its first row, so it is the first one logged, the same on every
// run.
type aggregate struct {
	idx  map[findingKey]int32
	fs   []aggFinding
	rows int
}

// aggFinding is one finding's part of a batch.
type aggFinding struct {
	key   findingKey
	seq   int64 // first observation
	qname string
	qseq  int64 // observation that gave qname
	row0  aggRow
	more  []aggRow // rows after the first, usually none
}

// aggRow is one store.Count: no pointers but the two interned kind strings.
type aggRow struct {
	source      parser.Source
	evidence    parser.Evidence
	day         int64 // days since the Unix epoch, UTC
	n           int64
	first, last int64 // Unix nanoseconds
	seq         int64
}

func newAggregate() *aggregate { return &aggregate{idx: make(map[findingKey]int32)} }

// len is the number of count rows: what BatchKeys bounds.
func (a *aggregate) len() int { return a.rows }

// reset empties the aggregate for the next batch. The map keeps its
// buckets: refilling it costs no growth.
func (a *aggregate) reset() {
	clear(a.idx)
	clear(a.fs)
	a.fs = a.fs[:0]
	a.rows = 0
}

// add counts one observation; seq is its position in the input (it must
// grow from one observation to the next within one worker's share).
func (a *aggregate) add(o *parser.Observation, seq int64) {
	k := findingKey{zone: o.Zone, server: o.Server, port: o.Port}
	if o.Zone == "" {
		k.bucket = Bucket(o.QName, o.QType)
	}
	i, ok := a.idx[k]
	if !ok {
		i = int32(len(a.fs))
		a.idx[k] = i
		a.fs = append(a.fs, aggFinding{key: k, seq: seq})
	}
	f := &a.fs[i]
	if f.qname == "" && o.QName != "" {
		f.qname, f.qseq = o.QName, seq
	}
	r := aggRow{source: o.Source, evidence: o.Evidence, day: dayOf(o.Time), n: 1, seq: seq}
	r.first = o.Time.UnixNano()
	r.last = r.first
	if !ok {
		f.row0 = r
		a.rows++
		return
	}
	if f.addRow(&r) {
		a.rows++
	}
}

// addRow merges r into the finding's row of the same kind and day, or adds
// it; it reports whether it added a row.
func (f *aggFinding) addRow(r *aggRow) bool {
	if f.row0.sameRow(r) {
		f.row0.merge(r)
		return false
	}
	for j := range f.more {
		if f.more[j].sameRow(r) {
			f.more[j].merge(r)
			return false
		}
	}
	f.more = append(f.more, *r)
	return true
}

func (r *aggRow) sameRow(o *aggRow) bool {
	return r.day == o.day && r.evidence == o.evidence && r.source == o.source
}

func (r *aggRow) merge(o *aggRow) {
	r.n += o.n
	r.first = min(r.first, o.first)
	r.last = max(r.last, o.last)
	r.seq = min(r.seq, o.seq)
}

// merge adds b's findings and rows to a (b is left as it was).
func (a *aggregate) merge(b *aggregate) {
	for j := range b.fs {
		g := &b.fs[j]
		i, ok := a.idx[g.key]
		if !ok {
			a.idx[g.key] = int32(len(a.fs))
			a.fs = append(a.fs, *g)
			a.fs[len(a.fs)-1].more = slices.Clone(g.more)
			a.rows += 1 + len(g.more)
			continue
		}
		f := &a.fs[i]
		f.seq = min(f.seq, g.seq)
		if g.qname != "" && (f.qname == "" || g.qseq < f.qseq) {
			f.qname, f.qseq = g.qname, g.qseq
		}
		if f.addRow(&g.row0) {
			a.rows++
		}
		for k := range g.more {
			if f.addRow(&g.more[k]) {
				a.rows++
			}
		}
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

// counts converts the aggregate to store rows: findings in order of first
// observation, each finding's rows together, in order of first observation.
func (a *aggregate) counts() []store.Count {
	bySeq := func(x, y aggFinding) int { return cmp.Compare(x.seq, y.seq) }
	if !slices.IsSortedFunc(a.fs, bySeq) { // merged from several workers
		slices.SortStableFunc(a.fs, bySeq)
		for i := range a.fs {
			a.idx[a.fs[i].key] = int32(i)
		}
	}
	out := make([]store.Count, 0, a.rows)
	var lastDay int64
	var lastDayText string
	emit := func(f *aggFinding, r *aggRow) {
		if r.day != lastDay || lastDayText == "" {
			lastDay, lastDayText = r.day, time.Unix(r.day*86400, 0).UTC().Format(time.DateOnly)
		}
		out = append(out, store.Count{
			Zone:     f.key.zone,
			Bucket:   f.key.bucket,
			QName:    f.qname,
			Server:   f.key.server,
			Port:     f.key.port,
			Source:   string(r.source),
			Evidence: string(r.evidence),
			Day:      lastDayText,
			N:        r.n,
			First:    time.Unix(0, r.first).UTC(),
			Last:     time.Unix(0, r.last).UTC(),
		})
	}
	var rows []*aggRow
	for i := range a.fs {
		f := &a.fs[i]
		if len(f.more) == 0 {
			emit(f, &f.row0)
			continue
		}
		rows = append(rows[:0], &f.row0)
		for j := range f.more {
			rows = append(rows, &f.more[j])
		}
		slices.SortStableFunc(rows, func(x, y *aggRow) int { return cmp.Compare(x.seq, y.seq) })
		for _, r := range rows {
			emit(f, r)
		}
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
