package ingest

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// aggregate sums observations into per-day counts, so that a batch of a
// million lines about fifty thousand findings is fifty thousand rows. It
// has two levels: findings (zone or bucket, server, port), and under each
// finding its few rows (source, evidence kind, UTC day). One key-table
// lookup per observation, on the finding; its rows are a short list.
//
// Every finding and row remembers the position of its first observation
// (seq, increasing through the input), and a finding the position of its
// first sample query name. parts.rows emits findings, and rows within a
// finding, in that order, whatever order the observations were added in
// and however the keys were split between parts: the output is the same
// for any number of workers. The store takes a finding's sample query
// name from its first row, so it is the first one logged, the same on every
// run.
//
// Memory: a batch can hold 250,000 rows, so findings and rows
// live in paged slabs (no doubling copies) and rows hold no pointers (the
// garbage collector does not scan them): about 160 bytes a finding with its
// first row, 48 a further row, plus 16 to 32 in the key table (keytable.go).
// Every row counts towards the batch's bound (BatchKeys), whatever the
// lines say, and one finding passes at most maxFindingKinds evidence kinds
// to the store (capKinds).
type aggregate struct {
	idx   keyTable
	fs    slab[aggFinding]
	rs    slab[aggRow]
	ridx  rowTable // rows of findings with more than rowScan of them
	kinds []kind   // a row's kind indexes this
	// kindIdx finds the kinds past the first kindScan of a.kinds.
	kindIdx map[kind]uint16
	// dropped is the number of rows capKinds dropped, extra the events
	// not counted because the kind table was full.
	dropped int
	extra   int64
}

// maxFindingKinds bounds the evidence kinds (source and kind) one finding
// passes to the store from one batch. A real finding has a few: a server
// fails in one way, seen by one or two resolvers, some events logged as two
// lines of two kinds. A forged log can give one finding thousands (one per
// rcode number), and the store merges a finding's kinds as sets whose cost
// grows with their square. The kinds kept are those seen first in the
// input; the events of the others are counted (Stats.ExtraKinds), not
// stored.
const maxFindingKinds = 16

// dropKind marks a row capKinds dropped; it indexes no kind.
const dropKind = 1<<16 - 1

// kindScan is how many kinds kindOf compares before it looks in the map:
// a batch of a real log has fewer.
const kindScan = 8

// kind is what a row counts besides its day.
type kind struct {
	source   parser.Source
	evidence parser.Evidence
}

// aggFinding is one finding's part of a batch.
type aggFinding struct {
	key   findingKey
	seq   int64 // first observation
	qname string
	qseq  int64 // observation that gave qname
	// row0 is the finding's first row, kept here (one cache miss less per
	// observation); row0.next starts the list of the others in rs.
	row0  aggRow
	nrows int32 // rows in the list, row0 included
}

// aggRow is one store.Count.
type aggRow struct {
	n           int64
	first, last int64 // Unix nanoseconds
	seq         int64
	day         int32 // days since the Unix epoch, UTC
	kind        uint16
	next        int32 // the finding's next row, -1 for none
}

func newAggregate() *aggregate { return newAggregateSeed(maphash.MakeSeed()) }

// newAggregateSeed returns an aggregate whose keys hash with seed.
func newAggregateSeed(seed maphash.Seed) *aggregate {
	return &aggregate{idx: newKeyTable(seed), ridx: rowTable{seed: seed}}
}

// len is the number of count rows: what BatchKeys bounds.
func (a *aggregate) len() int { return a.fs.len() + a.rs.len() - a.dropped }

// reset empties the aggregate for the next batch. The map keeps its
// buckets: refilling it costs no growth.
func (a *aggregate) reset() {
	a.idx.reset()
	a.fs.reset()
	a.rs.reset()
	a.ridx.reset()
	a.dropped, a.extra = 0, 0
}

// kindOf returns the index of (source, evidence) in a.kinds, adding it, in
// constant time: the first kindScan kinds are compared, the others are
// found in a map. The parser's evidence kinds are a closed set of a few
// thousand (parser.Evidence), so the table stays below dropKind; were it
// full, kindOf would return dropKind.
func (a *aggregate) kindOf(source parser.Source, evidence parser.Evidence) uint16 {
	for i, k := range a.kinds[:min(len(a.kinds), kindScan)] {
		if k.evidence == evidence && k.source == source {
			return uint16(i)
		}
	}
	k := kind{source, evidence}
	if i, ok := a.kindIdx[k]; ok {
		return i
	}
	i := len(a.kinds)
	if i >= dropKind {
		return dropKind
	}
	a.kinds = append(a.kinds, k)
	if i >= kindScan {
		if a.kindIdx == nil {
			a.kindIdx = make(map[kind]uint16)
		}
		a.kindIdx[k] = uint16(i)
	}
	return uint16(i)
}

// add counts one observation; seq is its position in the input. The
// parser's query names are transient (parser.Options.TransientQName): what
// the aggregate keeps of them, it copies. A worker
// may see its chunks out of order (worker 0 takes stateful and other chunks
// as they come), so nothing here assumes seq grows.
func (a *aggregate) add(o *parser.Observation, seq int64) {
	k := keyOf(o)
	a.addKey(o, seq, &k, a.idx.hash(&k))
}

// keyOf returns the key of the finding o counts towards.
func keyOf(o *parser.Observation) findingKey {
	k := findingKey{zone: o.Zone, server: o.Server, port: o.Port}
	if o.Zone == "" {
		k.bucket = Bucket(o.QName, o.QType)
	}
	return k
}

// addKey is add of o, whose finding key k has hash h (a.idx.hash).
func (a *aggregate) addKey(o *parser.Observation, seq int64, k *findingKey, h uint64) {
	t := o.Time.UnixNano()
	r := aggRow{n: 1, first: t, last: t, seq: seq, day: int32(store.DayOf(o.Time)), kind: a.kindOf(o.Source, o.Evidence), next: -1}
	if o.Repeat {
		r.n = 0 // the second line of an event: its kind counts, not its event
	}
	if r.kind == dropKind {
		a.extra += r.n
		return
	}
	i, slot, ok := a.idx.find(k, h, &a.fs)
	if !ok {
		nk := *k
		nk.bucket = strings.Clone(k.bucket)
		a.idx.insert(slot, h, a.fs.add(aggFinding{key: nk, seq: seq, qname: strings.Clone(o.QName), qseq: seq, row0: r, nrows: 1}), &a.fs)
		return
	}
	f := a.fs.at(i)
	f.seq = min(f.seq, seq)
	if o.QName != "" && (f.qname == "" || seq < f.qseq) {
		f.qname, f.qseq = strings.Clone(o.QName), seq
	}
	a.addRow(i, f, &r)
}

// rowScan is how many rows of a finding addRow walks; the rows of a
// finding with more (a long log: one per day and kind; a forged one: one
// per forged date and rcode) are found in a.ridx, so that adding to a
// finding costs the same whatever its rows.
const rowScan = 8

// addRow merges r into the row of finding fi (f) of the same kind and day,
// or adds it.
func (a *aggregate) addRow(fi int32, f *aggFinding, r *aggRow) {
	if f.nrows > rowScan {
		x := &f.row0
		if x.day != r.day || x.kind != r.kind {
			k := rowKey{f: fi, day: r.day, kind: r.kind}
			j, slot, ok := a.ridx.find(&k, &a.rs)
			if !ok {
				a.ridx.insert(slot, &k, a.appendRow(f, r), &a.rs)
				return
			}
			x = a.rs.at(j)
		}
		x.merge(r)
		return
	}
	for x := &f.row0; ; {
		if x.day == r.day && x.kind == r.kind {
			x.merge(r)
			return
		}
		if x.next < 0 {
			break
		}
		x = a.rs.at(x.next)
	}
	a.appendRow(f, r)
	if f.nrows > rowScan {
		for j := f.row0.next; j >= 0; j = a.rs.at(j).next {
			x := a.rs.at(j)
			k := rowKey{f: fi, day: x.day, kind: x.kind}
			_, slot, _ := a.ridx.find(&k, &a.rs)
			a.ridx.insert(slot, &k, j, &a.rs)
		}
	}
}

// appendRow adds r to f's rows and returns its index in a.rs.
func (a *aggregate) appendRow(f *aggFinding, r *aggRow) int32 {
	r.next = f.row0.next
	j := a.rs.add(*r)
	f.row0.next = j
	f.nrows++
	return j
}

// merge adds r, of the same kind and day, to x.
func (x *aggRow) merge(r *aggRow) {
	x.n += r.n
	x.first = min(x.first, r.first)
	x.last = max(x.last, r.last)
	x.seq = min(x.seq, r.seq)
}

// capKinds drops the rows of every finding's kinds past its first
// maxFindingKinds (by position of their first observation, so the result
// does not depend on the order the observations were added in) and
// returns the events they counted. It is called once the batch is complete;
// calling it again drops nothing more.
func (a *aggregate) capKinds() (extra int64) {
	extra, a.extra = a.extra, 0
	var rows []*aggRow
	var kept []uint16
	for i := range int32(a.fs.len()) {
		f := a.fs.at(i)
		if f.nrows <= maxFindingKinds {
			continue // fewer rows than the cap: fewer kinds
		}
		rows = append(rows[:0], &f.row0)
		for j := f.row0.next; j >= 0; j = a.rs.at(j).next {
			rows = append(rows, a.rs.at(j))
		}
		slices.SortFunc(rows, func(x, y *aggRow) int { return cmp.Compare(x.seq, y.seq) })
		kept = kept[:0]
		for _, r := range rows {
			switch {
			case r.kind == dropKind, slices.Contains(kept, r.kind):
			case len(kept) < maxFindingKinds:
				kept = append(kept, r.kind)
			default:
				extra += r.n
				r.kind = dropKind
				a.dropped++
			}
		}
	}
	return extra
}

// parts is an aggregate split into parts whose keys are disjoint (the
// shards of a scan's batch, see workers).
type parts []*aggregate

// len is the number of count rows.
func (ps parts) len() int {
	n := 0
	for _, a := range ps {
		n += a.len()
	}
	return n
}

// capKinds is aggregate.capKinds of every part.
func (ps parts) capKinds() int64 {
	var extra int64
	for _, a := range ps {
		extra += a.capKinds()
	}
	return extra
}

// rows yields the parts as store rows: findings in order of first
// observation, each finding's rows together, in order of first
// observation. It yields one Count, overwritten for each row (see
// store.Batch.Rows).
func (ps parts) rows(yield func(*store.Count) bool) {
	type ref struct {
		seq       int64
		part, idx int32
	}
	var order []ref
	for p, a := range ps {
		for i := range int32(a.fs.len()) {
			order = append(order, ref{a.fs.at(i).seq, int32(p), i})
		}
	}
	slices.SortFunc(order, func(x, y ref) int {
		return cmp.Or(cmp.Compare(x.seq, y.seq), cmp.Compare(x.part, y.part), cmp.Compare(x.idx, y.idx))
	})
	var (
		rows []*aggRow
		c    store.Count
	)
	for _, ref := range order {
		a := ps[ref.part]
		f := a.fs.at(ref.idx)
		rows = rows[:0]
		for r := &f.row0; ; r = a.rs.at(r.next) {
			if r.kind != dropKind {
				rows = append(rows, r)
			}
			if r.next < 0 {
				break
			}
		}
		slices.SortStableFunc(rows, func(x, y *aggRow) int { return cmp.Compare(x.seq, y.seq) })
		for _, r := range rows {
			k := a.kinds[r.kind]
			c = store.Count{
				Zone:     f.key.zone,
				Bucket:   f.key.bucket,
				QName:    f.qname,
				Server:   f.key.server,
				Port:     f.key.port,
				Source:   string(k.source),
				Evidence: string(k.evidence),
				Day:      store.Day(r.day),
				N:        r.n,
				First:    time.Unix(0, r.first).UTC(),
				Last:     time.Unix(0, r.last).UTC(),
			}
			if !yield(&c) {
				return
			}
		}
	}
}

// counts returns the rows as a slice.
func (ps parts) counts() []store.Count {
	out := make([]store.Count, 0, ps.len())
	for c := range ps.rows {
		out = append(out, *c)
	}
	return out
}

// slab is an append-only array in pages of slabPage elements: it grows
// without copying, and its elements do not move.
type slab[T any] struct {
	pages [][]T
	n     int
}

const slabPage = 4096

func (s *slab[T]) len() int { return s.n }

func (s *slab[T]) add(v T) int32 {
	p := s.n / slabPage
	if p == len(s.pages) {
		s.pages = append(s.pages, make([]T, 0, slabPage))
	}
	s.pages[p] = append(s.pages[p], v)
	s.n++
	return int32(s.n - 1)
}

func (s *slab[T]) at(i int32) *T { return &s.pages[i/slabPage][i%slabPage] }

// reset empties the slab and keeps its pages.
func (s *slab[T]) reset() {
	for i := range s.pages {
		clear(s.pages[i])
		s.pages[i] = s.pages[i][:0]
	}
	s.n = 0
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
