package notify

import (
	"cmp"
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

	findings map[int64]*store.Finding // lame or unresponsive, in the run's scope
	rank     map[int64]int            // position in the order of confirmation
	order    []int64                  // finding IDs, oldest confirmed first

	recorded map[string][]store.ZoneSOA // SOAs on record, by zone, newest first
	soas     map[string]soaAnswer       // RNAMEs found in this run, by zone
	mail     map[string]mailAnswer      // deliverability, by domain
	names    map[string]candidate       // hostmaster and postmaster candidates, by name
	marks    markIndex
	supp     suppressor

	decisions map[int64]*decision
	stored    map[int64][]store.ContactMark // per-run marks on record, by finding

	// lastTo and lastAbout are when a recipient, and a (recipient,
	// finding), were last mailed (messages sent, unknown or pending).
	lastTo    map[string]time.Time
	lastAbout map[string]map[int64]time.Time
	messaged  map[string]bool // recipients handled in this run
	reprobed  map[int64]bool  // findings probed again in this run
}

func newRunState(now time.Time, send bool) *runState {
	return &runState{now: now, send: send, soas: map[string]soaAnswer{}, mail: map[string]mailAnswer{},
		names: map[string]candidate{}, decisions: map[int64]*decision{}, messaged: map[string]bool{}, reprobed: map[int64]bool{}}
}

// message is one planned message.
type message struct {
	to       string
	key      string // lowerAddress(to)
	source   store.ContactSource
	findings []*store.Finding
	retry    *store.OutboxEntry // the unknown message sent again
}

// confirmedOrder orders findings for planning: confirmed longest ago
// first, then by zone, server, port and ID.
func confirmedOrder(a, b *store.Finding) int {
	return cmp.Or(a.ConfirmedAt.Compare(b.ConfirmedAt), strings.Compare(a.Zone, b.Zone),
		a.Server.Compare(b.Server), cmp.Compare(a.Port, b.Port), cmp.Compare(a.ID, b.ID))
}

// setFindings takes the run's findings and orders them.
func (rs *runState) setFindings(fs []store.Finding) {
	rs.findings = make(map[int64]*store.Finding, len(fs))
	ptrs := make([]*store.Finding, len(fs))
	for i := range fs {
		ptrs[i] = &fs[i]
		rs.findings[fs[i].ID] = &fs[i]
	}
	slices.SortFunc(ptrs, confirmedOrder)
	rs.order = make([]int64, len(ptrs))
	rs.rank = make(map[int64]int, len(ptrs))
	for i, f := range ptrs {
		rs.order[i], rs.rank[f.ID] = f.ID, i
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
	for _, id := range rs.order {
		d := rs.decisions[id]
		if d == nil || d.contact == "" {
			continue
		}
		key := lowerAddress(d.contact)
		if rs.resting(key, id, c) {
			resting++
			continue
		}
		m := byKey[key]
		if m == nil {
			m = &message{to: d.contact, key: key, source: d.source}
			byKey[key] = m
			msgs = append(msgs, m)
		}
		m.findings = append(m.findings, rs.findings[id])
	}
	return msgs, resting
}

// replan puts finding id, whose contact changed during the run, into the
// queue after position i: into the queued message to its new contact, or a
// new message at its place in the order. It reports whether the finding
// was queued (false: it has no contact left, or its contact must wait).
func (rs *runState) replan(queue []*message, i int, id int64, c *Config) ([]*message, bool) {
	d := rs.decisions[id]
	if d.contact == "" {
		return queue, false
	}
	key := lowerAddress(d.contact)
	if rs.resting(key, id, c) {
		return queue, false
	}
	f := rs.findings[id]
	for _, m := range queue[i+1:] {
		if m.key == key && m.retry == nil {
			j, _ := slices.BinarySearchFunc(m.findings, f, confirmedOrder)
			m.findings = slices.Insert(m.findings, j, f)
			return queue, true
		}
	}
	m := &message{to: d.contact, key: key, source: d.source, findings: []*store.Finding{f}}
	j := i + 1
	for j < len(queue) && (queue[j].retry != nil || rs.firstRank(queue[j]) < rs.rank[id]) {
		j++
	}
	return slices.Insert(queue, j, m), true
}

// firstRank is the rank of m's oldest finding; -1 for a message whose
// findings were all dropped.
func (rs *runState) firstRank(m *message) int {
	if len(m.findings) == 0 {
		return -1
	}
	return rs.rank[m.findings[0].ID]
}
