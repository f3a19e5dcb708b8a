package notify

import (
	"context"
	"slices"

	"github.com/lamers-dev/lamers/store"
)

// slog attribute keys.
const (
	logKeyZone   = "zone"
	logKeyErr    = "err"
	logKeyTo     = "to"
	logKeyToken  = "token"
	logKeyResult = "result"
)

// leaseName is the lease a sending run holds.
const leaseName = "notify"

// run is one Run: the notifier, what it knows and decided, and the
// transport's session.
type run struct {
	n     *Notifier
	rs    *runState
	opts  Options
	rep   *Report
	limit int
	lease *leaseKeeper

	opened   bool  // the transport is open
	relayErr error // why the transport could not be opened
}

// Run plans the messages of one run and, with opts.Send, hands them to the
// transport (docs/notify.md). It returns what it did, also when it ends
// early: a store or composer error, an unusable relay setting, or ctx
// cancelled (the message in flight is finished under Hold's context and
// recorded; no new one is started).
func (n *Notifier) Run(ctx context.Context, opts Options) (Report, error) {
	var rep Report
	if n.Composer == nil || n.Reprober == nil || (opts.Send && n.Transport == nil) {
		return rep, errorf("run: no composer, re-prober or transport")
	}
	r := &run{n: n, opts: opts, rep: &rep, limit: n.Config.MaxPerRun}
	if opts.Limit > 0 {
		r.limit = opts.Limit
	}
	r.rs = newRunState(n.Clock().UTC(), opts.Send)
	if opts.Send {
		lk, err := n.acquire(ctx)
		if err != nil {
			return rep, err
		}
		r.lease = lk
		defer lk.release(context.WithoutCancel(ctx))
		if rep.Recovered, err = n.Store.RecoverPending(ctx, r.rs.now); err != nil {
			return rep, errorf("%w", err)
		}
	}
	err := r.steps(ctx)
	if r.opened {
		if cerr := n.Transport.Close(context.WithoutCancel(ctx)); cerr != nil {
			n.Log.Warn("closing the transport", logKeyErr, cerr)
		}
	}
	if opts.Send {
		if serr := r.storeContacts(context.WithoutCancel(ctx)); err == nil {
			err = serr
		}
	}
	r.needsHuman()
	return rep, err
}

// steps loads the run's state, decides every finding's contact, plans
// and delivers.
func (r *run) steps(ctx context.Context) error {
	retry, err := r.load(ctx)
	if err != nil {
		return err
	}
	for _, id := range r.rs.order {
		d, err := r.n.choose(ctx, r.rs, r.rs.findings[id])
		if err != nil {
			return err
		}
		r.rs.decisions[id] = &d
	}
	queue, resting := r.rs.plan(&r.n.Config)
	r.rep.Resting = resting
	queue = append(r.retries(retry), queue...)
	if err := r.refresh(ctx, queue[:min(r.limit, len(queue))]); err != nil {
		return err
	}
	return r.deliver(ctx, queue)
}

// load reads the findings, SOAs, marks, suppressions and recent messages,
// and the unknown messages to retry.
func (r *run) load(ctx context.Context) (retry []store.OutboxEntry, err error) {
	st, rs := r.n.Store, r.rs
	fs, err := st.Findings(ctx, store.Filter{Zone: r.opts.Zone, Zoning: store.Zoned,
		Statuses: []store.Status{store.StatusLame, store.StatusUnresponsive}})
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.setFindings(fs)
	soas, err := st.ZoneSOAs(ctx, r.opts.Zone)
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.recorded = map[string][]store.ZoneSOA{}
	for _, s := range soas {
		rs.recorded[s.Zone] = append(rs.recorded[s.Zone], s)
	}
	marks, err := st.ContactMarks(ctx, 0)
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.marks, rs.stored = newMarkIndex(marks), map[int64][]store.ContactMark{}
	for _, m := range marks {
		if m.Mark.PerRun() {
			rs.stored[m.FindingID] = append(rs.stored[m.FindingID], m)
		}
	}
	supp, err := st.Suppressions(ctx)
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.supp = newSuppressor(supp)
	since := rs.now.Add(-max(r.n.Config.RecipientInterval, r.n.Config.FindingInterval))
	history, err := st.Outbox(ctx, store.OutboxFilter{Since: since,
		States: []store.OutboxState{store.OutboxSent, store.OutboxUnknown, store.OutboxPending}})
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.setHistory(history)
	if r.opts.RetryUnknown {
		if retry, err = st.Outbox(ctx, store.OutboxFilter{States: []store.OutboxState{store.OutboxUnknown}}); err != nil {
			return nil, errorf("%w", err)
		}
	}
	return retry, nil
}

// retries are the messages of the unknown entries to send again: their
// findings still lame or unresponsive (in the run's scope), unless the
// recipient has been suppressed since.
func (r *run) retries(es []store.OutboxEntry) []*message {
	var out []*message
	for i := range es {
		e := &es[i]
		m := &message{to: e.Recipient, key: lowerAddress(e.Recipient), source: e.Source, retry: e}
		for _, id := range e.FindingIDs {
			if f := r.rs.findings[id]; f != nil {
				m.findings = append(m.findings, f)
			}
		}
		slices.SortFunc(m.findings, confirmedOrder)
		if v, ok := r.rs.supp.address(e.Recipient); ok || len(m.findings) == 0 {
			r.n.Log.Info("not retried: suppressed, or no finding still lame", logKeyToken, e.Token, logKeyTo, e.Recipient,
				"suppression", v)
			continue
		}
		out = append(out, m)
	}
	return out
}

// deliver handles the queue in order, at most limit messages, and puts
// the findings of a rejected message to their next contact.
func (r *run) deliver(ctx context.Context, queue []*message) error {
	handed, i := 0, 0
	for ; i < len(queue) && handed < r.limit && ctx.Err() == nil; i++ {
		m := queue[i]
		if err := r.refresh(ctx, queue[i:i+1]); err != nil {
			return err
		}
		if len(m.findings) == 0 {
			continue
		}
		if r.rs.messaged[m.key] {
			r.rep.Resting += len(m.findings)
			continue
		}
		msg, err := r.handle(ctx, m)
		if err != nil {
			return err
		}
		r.rep.Messages = append(r.rep.Messages, msg)
		handed++
		if msg.State == store.OutboxRejected {
			if queue, err = r.reroute(ctx, queue, i, m); err != nil {
				return err
			}
		}
	}
	for _, m := range queue[i:] {
		if len(m.findings) > 0 {
			r.rep.Later++
		}
	}
	return ctx.Err()
}

// reroute moves the findings of the rejected message queue[i] to their
// next contact, in this run when its limits allow.
func (r *run) reroute(ctx context.Context, queue []*message, i int, m *message) ([]*message, error) {
	for _, f := range m.findings {
		r.rs.marks.add(store.ContactMark{FindingID: f.ID, Address: m.to, Mark: store.MarkRejected, At: r.rs.now})
		d, err := r.n.choose(ctx, r.rs, f)
		if err != nil {
			return queue, err
		}
		r.rs.decisions[f.ID] = &d
		var queued bool
		if queue, queued = r.rs.replan(queue, i, f.ID, &r.n.Config); !queued && d.contact != "" {
			r.rep.Resting++
		}
	}
	return queue, nil
}

// needsHuman lists the run's findings whose chain is exhausted.
func (r *run) needsHuman() {
	for _, id := range r.rs.order {
		if d := r.rs.decisions[id]; d != nil && d.contact == "" && r.rs.findings[id] != nil {
			r.rep.NeedsHuman = append(r.rep.NeedsHuman, *r.rs.findings[id])
		}
	}
}

// storeContacts writes the decisions that differ from what is stored.
func (r *run) storeContacts(ctx context.Context) error {
	var ds []store.ContactDecision
	for _, id := range r.rs.order {
		d, f := r.rs.decisions[id], r.rs.findings[id]
		if d == nil || f == nil {
			continue
		}
		cd := store.ContactDecision{FindingID: id, Contact: d.contact, Source: d.source, NeedsHuman: d.contact == "", Marks: d.marks}
		if cd.Contact == f.Contact && cd.Source == f.ContactSource && cd.NeedsHuman == f.NeedsHuman &&
			sameMarks(cd.Marks, r.rs.stored[id]) {
			continue
		}
		ds = append(ds, cd)
	}
	if len(ds) == 0 {
		return nil
	}
	if err := r.n.Store.SetContacts(ctx, ds); err != nil {
		return errorf("%w", err)
	}
	return nil
}

// sameMarks reports whether two sets of per-run marks say the same, times
// aside.
func sameMarks(a, b []store.ContactMark) bool {
	key := func(m store.ContactMark) string { return m.Address + "\x00" + m.Mark.String() + "\x00" + m.Reason }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// stale reports whether f's verdict is too old to mail about without a
// new round: older than max_verdict_age and than verify's minimum
// interval (a younger verdict may not be probed again yet).
func (r *run) stale(f *store.Finding) bool {
	return f.LastProbed.Before(r.rs.now.Add(-max(r.n.Config.MaxVerdictAge, r.n.Config.MinInterval)))
}

// refresh probes again the findings of msgs whose verdict is stale, and
// drops from msgs (and the run) those no longer lame or unresponsive, and
// those still stale: their new round could not be had.
func (r *run) refresh(ctx context.Context, msgs []*message) error {
	var stale []store.Finding
	for _, m := range msgs {
		for _, f := range m.findings {
			if r.stale(f) && !r.rs.reprobed[f.ID] {
				stale = append(stale, *f)
				r.rs.reprobed[f.ID] = true
			}
		}
	}
	if len(stale) == 0 {
		return nil
	}
	r.rep.Reprobed += len(stale)
	if _, err := r.n.Reprober.Recheck(ctx, stale); err != nil {
		return errorf("re-probe: %w", err)
	}
	for _, old := range stale {
		f, err := r.n.Store.Finding(ctx, old.ID)
		if err != nil {
			return errorf("%w", err)
		}
		switch {
		case f.Status != store.StatusLame && f.Status != store.StatusUnresponsive:
			r.rep.Cleared++
			delete(r.rs.findings, f.ID)
		case r.stale(&f):
			r.rep.Unrefreshed++
			delete(r.rs.findings, f.ID)
		default:
			*r.rs.findings[f.ID] = f
		}
	}
	for _, m := range msgs {
		m.findings = slices.DeleteFunc(m.findings, func(f *store.Finding) bool { return r.rs.findings[f.ID] == nil })
	}
	return ctx.Err()
}

// messageData is what the templates see of m.
func messageData(token string, m *message) MessageData {
	d := MessageData{Token: token, To: m.to, Source: m.source.String(), Findings: make([]FindingData, len(m.findings))}
	for i, f := range m.findings {
		d.Findings[i] = FindingData{Zone: f.Zone, Server: f.Server.String(), Port: f.Port, ServerNames: f.ServerNames,
			Status: f.Status.String(), Reason: f.Reason, Count: f.Count, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen,
			ConfirmedAt: f.ConfirmedAt}
	}
	return d
}
