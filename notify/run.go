package notify

import (
	"context"
	"slices"
	"time"

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
	for i := range r.rs.entries {
		e := &r.rs.entries[i]
		d, err := r.n.choose(ctx, r.rs, e)
		if err != nil {
			return err
		}
		e.d, e.decided = d, true
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
	var es []entry
	intern := map[string]string{}
	err = st.EachFinding(ctx, store.Filter{Zone: r.opts.Zone, Zoning: store.Zoned,
		Statuses: []store.Status{store.StatusLame, store.StatusUnresponsive}}, func(f *store.Finding) error {
		es = append(es, entryOf(f, intern))
		return nil
	})
	if err != nil {
		return nil, errorf("%w", err)
	}
	rs.setEntries(es)
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
			if f := r.rs.byID[id]; f != nil && !f.gone {
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
	for _, e := range m.findings {
		r.rs.marks.add(store.ContactMark{FindingID: e.id, Address: m.to, Mark: store.MarkRejected, At: r.rs.now})
		d, err := r.n.choose(ctx, r.rs, e)
		if err != nil {
			return queue, err
		}
		e.d = d
		var queued bool
		if queue, queued = r.rs.replan(queue, i, e, &r.n.Config); !queued && d.contact != "" {
			r.rep.Resting++
		}
	}
	return queue, nil
}

// needsHuman lists the run's findings whose chain is exhausted.
func (r *run) needsHuman() {
	for i := range r.rs.entries {
		if e := &r.rs.entries[i]; e.decided && !e.gone && e.d.contact == "" {
			r.rep.NeedsHuman = append(r.rep.NeedsHuman, FindingRef{ID: e.id, Zone: e.zone, Server: e.server, Port: e.port})
		}
	}
}

// storeContacts writes the decisions that differ from what is stored.
func (r *run) storeContacts(ctx context.Context) error {
	var ds []store.ContactDecision
	for i := range r.rs.entries {
		e := &r.rs.entries[i]
		if !e.decided || e.gone {
			continue
		}
		cd := store.ContactDecision{FindingID: e.id, Contact: e.d.contact, Source: e.d.source, NeedsHuman: e.d.contact == "",
			Marks: e.d.marks}
		if cd.Contact == e.contact && cd.Source == e.source && cd.NeedsHuman == e.needsHuman &&
			sameMarks(cd.Marks, r.rs.stored[e.id]) {
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

// stale reports whether a verdict last probed at t is too old to mail
// about without a new round: older than max_verdict_age and than verify's
// minimum interval (a younger verdict may not be probed again yet).
func (r *run) stale(t time.Time) bool {
	return t.Before(r.rs.now.Add(-max(r.n.Config.MaxVerdictAge, r.n.Config.MinInterval)))
}

// refresh probes again the findings of msgs whose verdict is stale, and
// drops from msgs (and the run) those no longer lame or unresponsive, and
// those still stale: their new round could not be had.
func (r *run) refresh(ctx context.Context, msgs []*message) error {
	var stale []store.Finding
	for _, m := range msgs {
		for _, e := range m.findings {
			if !r.stale(e.lastProbed) || r.rs.reprobed[e.id] {
				continue
			}
			r.rs.reprobed[e.id] = true
			f, err := r.n.Store.Finding(ctx, e.id)
			if err != nil {
				return errorf("%w", err)
			}
			stale = append(stale, f)
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
		e := r.rs.byID[f.ID]
		switch {
		case f.Status != store.StatusLame && f.Status != store.StatusUnresponsive:
			r.rep.Cleared++
			e.gone = true
		case r.stale(f.LastProbed):
			r.rep.Unrefreshed++
			e.gone = true
		default:
			e.update(&f)
		}
	}
	for _, m := range msgs {
		m.findings = slices.DeleteFunc(m.findings, func(e *entry) bool { return e.gone })
	}
	return ctx.Err()
}

// messageData is what the templates see of a message.
func messageData(token, to string, source store.ContactSource, fs []store.Finding) MessageData {
	d := MessageData{Token: token, To: to, Source: source.String(), Findings: make([]FindingData, len(fs))}
	for i, f := range fs {
		d.Findings[i] = FindingData{Zone: f.Zone, Server: f.Server.String(), Port: f.Port, ServerNames: f.ServerNames,
			Status: f.Status.String(), Reason: f.Reason, Count: f.Count, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen,
			ConfirmedAt: f.ConfirmedAt}
	}
	return d
}
