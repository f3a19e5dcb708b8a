package notify

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// Planning (docs/notify.md, section 3): one message per recipient listing
// the recipient's findings, within the limits, oldest confirmed first.

// runState is what one run knows and has decided.
type runState struct {
	now  time.Time
	send bool

	// entries are the run's findings (lame or unresponsive, in its
	// scope), oldest confirmed first; byID indexes them.
	entries []entry
	byID    map[int64]*entry

	recorded map[string][]store.ZoneSOA // SOAs on record, by zone, newest first
	soas     map[string]soaAnswer       // RNAMEs found in this run, by zone
	mail     map[string]mailAnswer      // deliverability, by domain
	names    map[nameKey]candidate      // hostmaster and postmaster candidates
	marks    markIndex
	supp     suppressor
	stored   map[int64][]store.ContactMark // per-run marks on record, by finding

	// lastTo and lastAbout are when a recipient, and a (recipient,
	// finding), were last mailed (messages sent, unknown or pending).
	lastTo    map[string]time.Time
	lastAbout map[string]map[int64]time.Time
	messaged  map[string]bool // recipients handled in this run
	reprobed  map[int64]bool  // findings probed again in this run
}

// entry is what a run keeps of one finding to plan with; a message reads
// its findings whole again when it is composed.
type entry struct {
	id          int64
	zone        string
	server      netip.Addr
	port        uint16
	names       []string // NS names pointing at the server
	lastProbed  time.Time
	confirmedAt time.Time
	rank        int // position in the order of confirmation
	// contact, source and needsHuman are what is on record.
	contact    string
	source     store.ContactSource
	needsHuman bool

	d       decision // this run's contact
	decided bool
	gone    bool // no longer lame or unresponsive, or its verdict could not be refreshed
}

// nameKey is a hostmaster or postmaster candidate's name and source.
type nameKey struct {
	source store.ContactSource
	name   string
}

// entryOf keeps what planning needs of f; interned shares equal strings.
func entryOf(f *store.Finding, intern map[string]string) entry {
	names := make([]string, len(f.ServerNames))
	for i, n := range f.ServerNames {
		if v, ok := intern[n]; ok {
			names[i] = v
		} else {
			intern[n], names[i] = n, n
		}
	}
	return entry{id: f.ID, zone: f.Zone, server: f.Server, port: f.Port, names: names, lastProbed: f.LastProbed,
		confirmedAt: f.ConfirmedAt, contact: f.Contact, source: f.ContactSource, needsHuman: f.NeedsHuman}
}

// update takes a finding's new verdict.
func (e *entry) update(f *store.Finding) {
	e.names, e.lastProbed, e.confirmedAt = f.ServerNames, f.LastProbed, f.ConfirmedAt
}

func newRunState(now time.Time, send bool) *runState {
	return &runState{now: now, send: send, byID: map[int64]*entry{}, soas: map[string]soaAnswer{}, mail: map[string]mailAnswer{},
		names: map[nameKey]candidate{}, messaged: map[string]bool{}, reprobed: map[int64]bool{}}
}

// message is one planned message.
type message struct {
	to       string
	key      string // lowerAddress(to)
	source   store.ContactSource
	findings []*entry
	retry    *store.OutboxEntry // the unknown message sent again
}

// confirmedOrder orders findings for planning: confirmed longest ago
// first, then by zone, server, port and ID.
func confirmedOrder(a, b *entry) int {
	return cmp.Or(a.confirmedAt.Compare(b.confirmedAt), strings.Compare(a.zone, b.zone),
		a.server.Compare(b.server), cmp.Compare(a.port, b.port), cmp.Compare(a.id, b.id))
}

// setEntries takes the run's findings and orders them.
func (rs *runState) setEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int { return confirmedOrder(&a, &b) })
	rs.entries = es
	rs.byID = make(map[int64]*entry, len(es))
	for i := range es {
		es[i].rank = i
		rs.byID[es[i].id] = &es[i]
	}
}

// setHistory indexes the messages that count for the limits.
func (rs *runState) setHistory(es []store.OutboxEntry) {
	rs.lastTo, rs.lastAbout = map[string]time.Time{}, map[string]map[int64]time.Time{}
	for _, e := range es {
		if e.State == store.OutboxSent || e.State == store.OutboxUnknown || e.State == store.OutboxPending {
			rs.mailed(lowerAddress(e.Recipient), e.FindingIDs, e.CreatedAt)
		}
	}
}

// mailed records that key was mailed about ids at t.
func (rs *runState) mailed(key string, ids []int64, t time.Time) {
	if t.After(rs.lastTo[key]) {
		rs.lastTo[key] = t
	}
	about := rs.lastAbout[key]
	if about == nil {
		about = map[int64]time.Time{}
		rs.lastAbout[key] = about
	}
	for _, id := range ids {
		if t.After(about[id]) {
			about[id] = t
		}
	}
}

// resting reports whether a message to key about finding id must wait: the
// recipient was mailed within recipientInterval, or about the finding
// within findingInterval, or has had its message of this run.
func (rs *runState) resting(key string, id int64, c *Config) bool {
	if rs.messaged[key] {
		return true
	}
	if t, ok := rs.lastTo[key]; ok && rs.now.Sub(t) < c.RecipientInterval {
		return true
	}
	t, ok := rs.lastAbout[key][id]
	return ok && rs.now.Sub(t) < c.FindingInterval
}

// plan groups the findings that have a contact into one message per
// recipient, in the order of their oldest finding, and counts the findings
// that must wait.
func (rs *runState) plan(c *Config) (msgs []*message, resting int) {
	byKey := map[string]*message{}
	for i := range rs.entries {
		e := &rs.entries[i]
		if e.gone || e.d.contact == "" {
			continue
		}
		key := lowerAddress(e.d.contact)
		if rs.resting(key, e.id, c) {
			resting++
			continue
		}
		m := byKey[key]
		if m == nil {
			m = &message{to: e.d.contact, key: key, source: e.d.source}
			byKey[key] = m
			msgs = append(msgs, m)
		}
		m.findings = append(m.findings, e)
	}
	return msgs, resting
}

// replan puts e, whose contact changed during the run, into the queue after
// position i: into the queued message to its new contact, or a new message
// at its place in the order. It reports whether e was queued (false: it
// has no contact left, or its contact must wait).
func (rs *runState) replan(queue []*message, i int, e *entry, c *Config) ([]*message, bool) {
	if e.d.contact == "" {
		return queue, false
	}
	key := lowerAddress(e.d.contact)
	if rs.resting(key, e.id, c) {
		return queue, false
	}
	for _, m := range queue[i+1:] {
		if m.key == key && m.retry == nil {
			j, _ := slices.BinarySearchFunc(m.findings, e, confirmedOrder)
			m.findings = slices.Insert(m.findings, j, e)
			return queue, true
		}
	}
	m := &message{to: e.d.contact, key: key, source: e.d.source, findings: []*entry{e}}
	j := i + 1
	for j < len(queue) && (queue[j].retry != nil || firstRank(queue[j]) < e.rank) {
		j++
	}
	return slices.Insert(queue, j, m), true
}

// firstRank is the rank of m's oldest finding; -1 for a message whose
// findings were all dropped.
func firstRank(m *message) int {
	if len(m.findings) == 0 {
		return -1
	}
	return m.findings[0].rank
}
