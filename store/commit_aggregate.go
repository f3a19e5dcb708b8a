package store

import (
	"cmp"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Before its transaction starts, Commit merges a batch's counts per finding
// (aggregate). A large batch holds 200,000 counts of 80,000 findings, so
// this is written for memory traffic. Ingest sends the counts of one
// finding one after the other: a run of counts of one finding makes one
// aggregate, without any lookup, and the runs of a finding whose counts
// were not together are merged afterwards, found by sorting the hashes of
// the keys (measured on 84,000 findings: 6 ms, where looking them up in a
// map cost 16 ms in cache misses). Aggregates are allocated in blocks;
// their evidence sets and the (day, source, evidence) of the daily rows are
// interned: a batch has few distinct ones. (Measured: 36 ms for the 210,000
// counts of the lame-2m batch, from 88 ms.)

// findingKey is the identity of a finding.
type findingKey struct {
	zone, bucket string
	server       netip.Addr
	port         uint16
}

// agg is the batch's contribution to one finding, merged in memory before
// the transaction starts.
type agg struct {
	key findingKey
	// server is key.server.String(), shared by the aggregates of a server.
	server      string
	qname       string
	sources     *stringSet
	observed    *stringSet
	n           int64
	first, last time.Time

	// into is the aggregate this one was merged into (nil: none): the
	// first run of the same finding, or the first aggregate that resolving
	// keys sent to the same finding. id is the finding's row id, 0 until
	// the upsert knows it.
	into *agg
	id   int64
	// kinds is the number of evidence kinds the finding holds (id != 0);
	// kept, when set, the evidence set to store instead of the union,
	// which would pass MaxObservedKinds (see capKinds).
	kinds int64
	kept  []string
}

// dailyRow is the batch's contribution to one daily_counts row.
type dailyRow struct {
	agg  *agg
	kind *dailyKind
	n    int64
}

// dailyKind is the (day, source, evidence) of daily rows.
type dailyKind struct {
	day              string // Day.String
	source, evidence string
	// values holds them boxed for the driver, once per batch.
	values [3]driver.Value
}

// compare orders daily kinds as the primary key of daily_counts does.
func (k *dailyKind) compare(o *dailyKind) int {
	return cmp.Or(strings.Compare(k.day, o.day), strings.Compare(k.source, o.source), strings.Compare(k.evidence, o.evidence))
}

// stringSet is a sorted set of strings, interned per batch: sets reached
// by adding the same strings to the same set are one, and know their JSON
// text.
type stringSet struct {
	items []string
	json  driver.Value // jsonSet(items), boxed for the driver
	with  map[string]*stringSet
}

func newStringSet(items []string) *stringSet {
	return &stringSet{items: items, json: jsonSet(items)}
}

// add returns the set with item added.
func (s *stringSet) add(item string) *stringSet {
	if len(s.items) == 1 && s.items[0] == item { // the common case, without a call
		return s
	}
	i, found := slices.BinarySearch(s.items, item)
	if found {
		return s
	}
	if t := s.with[item]; t != nil {
		return t
	}
	t := newStringSet(slices.Insert(slices.Clip(s.items), i, item))
	if s.with == nil {
		s.with = make(map[string]*stringSet)
	}
	s.with[item] = t
	return t
}

// kindCache interns the daily kinds of a batch. Those of the last few
// counts are compared first: a finding's rows cycle over a few kinds.
type kindCache struct {
	recent [4]*dailyKind
	days   [4]Day // the days of recent
	next   int
	all    map[kindKey]*dailyKind
}

// kindKey identifies a daily kind in kindCache.
type kindKey struct {
	day              Day
	source, evidence string
}

func (c *kindCache) get(day Day, source, evidence string) *dailyKind {
	for i, k := range c.recent {
		if k != nil && c.days[i] == day && k.source == source && k.evidence == evidence {
			return k
		}
	}
	key := kindKey{day, source, evidence}
	k := c.all[key]
	if k == nil {
		text := day.String()
		k = &dailyKind{day: text, source: source, evidence: evidence, values: [3]driver.Value{text, source, evidence}}
		if c.all == nil {
			c.all = make(map[kindKey]*dailyKind)
		}
		c.all[key] = k
	}
	c.days[c.next] = day
	c.recent[c.next] = k
	c.next = (c.next + 1) % len(c.recent)
	return k
}

// aggBlock is the number of aggregates allocated at a time.
const aggBlock = 1024

// aggregate validates the counts and merges them per finding, in order of
// first appearance, and lists their daily rows. Counts with N == 0 carry no
// event, only their source and evidence kind (the second line of an event
// logged in two, see parser.Observation.Repeat): they make no daily row.
// Counts may come in any order.
func aggregate(counts iter.Seq[*Count], n int) ([]*agg, []dailyRow, error) {
	var (
		// Sized for the common case of two or three rows per finding.
		aggs    = make([]*agg, 0, n/2)
		hashes  = make([]uint64, 0, n/2)
		daily   = make([]dailyRow, 0, n)
		servers = make(map[netip.Addr]string)
		empty   = newStringSet(nil)
		kinds   kindCache
		hash    keyHash
		block   []agg
		prev    *agg
	)
	i := -1
	for c := range counts {
		i++
		if err := validCount(c); err != nil {
			return nil, nil, fmt.Errorf("count %d (zone %q bucket %q server %s): %w", i, c.Zone, c.Bucket, c.Server, err)
		}
		first, last := c.First.UTC(), c.Last.UTC()
		if first.IsZero() {
			first = last
		}
		if last.IsZero() {
			last = first
		}
		if last.Before(first) {
			first, last = last, first
		}
		server := c.Server
		a := prev
		if a == nil || c.Port != a.key.port || server != a.key.server || c.Zone != a.key.zone || c.Bucket != a.key.bucket {
			// A new run.
			k := findingKey{zone: c.Zone, bucket: c.Bucket, server: server, port: c.Port}
			s, ok := servers[server]
			if !ok {
				s = server.String()
				servers[server] = s
			}
			if len(block) == cap(block) {
				block = make([]agg, 0, aggBlock)
			}
			block = append(block, agg{key: k, server: s, sources: empty, observed: empty, first: first, last: last})
			a = &block[len(block)-1]
			aggs = append(aggs, a)
			hashes = append(hashes, hash.sum(&k))
			prev = a
		}
		a.merge(c.QName, c.Source, c.Evidence, c.N, first, last)
		// Rows for the same (finding, day, source, evidence) are not merged
		// here: the daily upsert adds them up (see insertDaily).
		if c.N > 0 {
			daily = append(daily, dailyRow{agg: a, kind: kinds.get(c.Day, c.Source, c.Evidence), n: c.N})
		}
	}
	return mergeRuns(aggs, hashes), daily, nil
}

// mergeRuns merges each aggregate of aggs into the first one with the same
// key, if any (see agg.into), and returns the others, in order. hashes
// holds the hash of each one's key.
func mergeRuns(aggs []*agg, hashes []uint64) []*agg {
	// Sorted by hash, and by position for the same hash: below 2^24
	// aggregates, both fit in one integer.
	const posBits = 24
	type entry struct {
		h   uint64
		pos int
	}
	var entries []entry
	if len(aggs) < 1<<posBits {
		packed := make([]uint64, len(aggs))
		for i, h := range hashes {
			packed[i] = h&^(1<<posBits-1) | uint64(i)
		}
		slices.Sort(packed)
		entries = make([]entry, len(packed))
		for i, p := range packed {
			entries[i] = entry{p >> posBits, int(p & (1<<posBits - 1))}
		}
	} else {
		entries = make([]entry, len(aggs))
		for i, h := range hashes {
			entries[i] = entry{h, i}
		}
		slices.SortFunc(entries, func(x, y entry) int { return cmp.Or(cmp.Compare(x.h, y.h), cmp.Compare(x.pos, y.pos)) })
	}
	merged := false
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].h == entries[i].h {
			j++
		}
		// Within the same hash, each aggregate goes into the first one
		// before it with the same key.
		for p := i + 1; p < j; p++ {
			b := aggs[entries[p].pos]
			for q := i; q < p; q++ {
				if a := aggs[entries[q].pos]; a.into == nil && a.key == b.key {
					a.absorb(b)
					merged = true
					break
				}
			}
		}
		i = j
	}
	if !merged {
		return aggs
	}
	return slices.DeleteFunc(aggs, func(a *agg) bool { return a.into != nil })
}

// keyHash hashes finding keys.
type keyHash struct{ h maphash.Hash }

func (x *keyHash) sum(k *findingKey) uint64 {
	x.h.Reset()
	x.h.WriteString(k.zone)
	x.h.WriteByte(0)
	x.h.WriteString(k.bucket)
	x.h.WriteByte(0)
	a := k.server.As16()
	x.h.Write(a[:])
	x.h.WriteString(k.server.Zone())
	x.h.WriteByte(byte(k.port))
	x.h.WriteByte(byte(k.port >> 8))
	return x.h.Sum64()
}

// validCount checks c.
func validCount(c *Count) error {
	switch {
	case !c.Server.IsValid():
		return errors.New("invalid server address")
	case c.Zone != "" && c.Bucket != "":
		return errors.New("bucket set on a count with a zone")
	case c.Source == "":
		return errors.New("empty source")
	case c.Evidence == "":
		return errors.New("empty evidence kind")
	case c.N < 0:
		return fmt.Errorf("negative count %d", c.N)
	case c.First.IsZero() && c.Last.IsZero():
		return errors.New("no event time")
	case c.Day <= 0 || c.Day > maxDay:
		return fmt.Errorf("day %d is not a day from 1970-01-02 to 9999-12-31", c.Day)
	}
	return nil
}

// merge adds one count's totals to a.
func (a *agg) merge(qname, source, evidence string, n int64, first, last time.Time) {
	if a.qname == "" {
		a.qname = qname
	}
	a.sources = a.sources.add(source)
	a.observed = a.observed.add(evidence)
	a.n += n
	if first.Before(a.first) {
		a.first = first
	}
	if last.After(a.last) {
		a.last = last
	}
}

// absorb merges b, which comes after a in the batch, into a and makes b
// point at a.
func (a *agg) absorb(b *agg) {
	if a.qname == "" {
		a.qname = b.qname
	}
	for _, s := range b.sources.items {
		a.sources = a.sources.add(s)
	}
	for _, s := range b.observed.items {
		a.observed = a.observed.add(s)
	}
	a.n += b.n
	if b.first.Before(a.first) {
		a.first = b.first
	}
	if b.last.After(a.last) {
		a.last = b.last
	}
	b.into = a
}

// target is the aggregate a was merged into, or a.
func (a *agg) target() *agg {
	for a.into != nil {
		a = a.into
	}
	return a
}
