package notify

import (
	"context"
	"errors"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/store"
)

// Handing messages over, at most once (docs/notify.md, section 5): the
// outbox row is committed pending before the letter goes to the relay and
// marked after; a crash in between leaves it pending, and the next run
// makes it unknown, never sent again on its own.

// handle composes m and, in a sending run, hands it over.
func (r *run) handle(ctx context.Context, m *message) (Message, error) {
	token := ""
	if m.retry != nil {
		token = m.retry.Token
	} else {
		t, err := bounce.NewToken(r.n.Rand)
		if err != nil {
			return Message{}, errorf("%w", err)
		}
		token = t
	}
	fs, err := r.whole(ctx, m)
	if err != nil {
		return Message{}, err
	}
	letter, err := r.n.Composer.Compose(messageData(token, m.to, m.source, fs))
	if err != nil {
		var ce *composeError
		if !errors.As(err, &ce) { // LetterWriter's error names the message already
			err = errorf("compose the message to %s: %w", m.to, err)
		}
		return Message{}, err
	}
	msg := Message{To: m.to, Source: m.source, Subject: letter.Subject, Token: token, Retry: m.retry != nil, Findings: fs}
	r.rs.messaged[m.key] = true
	if !r.opts.Send {
		return msg, nil
	}
	if err := r.hand(ctx, m, &letter, &msg); err != nil {
		return msg, err
	}
	r.n.Log.Info("message", logKeyTo, m.to, logKeyToken, token, logKeyResult, msg.State.String())
	return msg, nil
}

// hand records m in the outbox, hands the letter to the transport and
// records what became of it.
func (r *run) hand(ctx context.Context, m *message, l *Letter, msg *Message) error {
	if err := r.lease.renew(ctx); err != nil {
		return err
	}
	if !r.opened {
		r.opened = true
		if err := r.n.Transport.Open(ctx); err != nil {
			if endsRun(err) || ctx.Err() != nil {
				return errorf("relay: %w", err)
			}
			r.relayErr = err
		}
	}
	e := store.OutboxEntry{Token: msg.Token, Recipient: m.to, Source: m.source, Subject: l.Subject, MessageID: l.MessageID,
		State: store.OutboxPending, Transport: r.n.TransportName, CreatedAt: r.n.Clock(), UpdatedAt: r.n.Clock()}
	for _, f := range m.findings {
		e.FindingIDs = append(e.FindingIDs, f.id)
	}
	var d Delivery
	if r.relayErr != nil {
		d = Delivery{Result: ResultDeferred, Detail: "the relay could not be reached: " + r.relayErr.Error()}
		if m.retry == nil { // recorded as deferred at once: it was never handed over
			e.State, e.Detail = store.OutboxDeferred, d.Detail
			_, err := r.n.Store.AddOutbox(ctx, e)
			msg.State, msg.Delivery = store.OutboxDeferred, d
			return wrapStore(err)
		}
	}
	var err error
	if m.retry != nil {
		err = r.n.Store.RetryOutbox(ctx, e)
	} else {
		_, err = r.n.Store.AddOutbox(ctx, e)
	}
	if err != nil {
		return errorf("%w", err)
	}
	var leaseErr error
	if r.relayErr == nil {
		stop := r.lease.keep(ctx)
		d = r.send(ctx, l)
		leaseErr = stop()
	}
	if err := r.finish(ctx, m, msg, d); err != nil {
		return err
	}
	if leaseErr != nil {
		return leaseErr // lost during the handover: what was handed over is recorded
	}
	if d.Err != nil {
		// The transport can send nothing more in this run: the later
		// messages are recorded deferred without being handed over. A
		// relay that refuses our envelope sender, or a sendmail that says
		// its setting is wrong, is a setting to fix, not a recipient's
		// fault: the run stops and says so.
		r.relayErr = d.Err
		if endsRun(d.Err) {
			return errorf("relay: %w", d.Err)
		}
	}
	return nil
}

// send hands l over under Hold's context: the first stop signal lets it
// finish, the second cancels it.
func (r *run) send(ctx context.Context, l *Letter) Delivery {
	sctx, release := ctx, func() {}
	if r.n.Hold != nil {
		sctx, release = r.n.Hold()
	}
	defer release()
	return r.n.Transport.Send(sctx, l)
}

// finish records the outcome of the pending message msg (whatever the
// run's context: what was handed over must be marked) and what follows
// from it in the run.
func (r *run) finish(ctx context.Context, m *message, msg *Message, d Delivery) error {
	o := store.OutboxOutcome{State: d.Result.State(), Code: d.Code, Enhanced: d.Enhanced, Detail: d.Detail}
	at := r.n.Clock()
	if err := r.n.Store.FinishOutbox(context.WithoutCancel(ctx), msg.Token, o, at); err != nil {
		return errorf("%w", err)
	}
	msg.State, msg.Delivery = o.State, d
	switch o.State {
	case store.OutboxSent, store.OutboxUnknown:
		ids := make([]int64, len(m.findings))
		for i, e := range m.findings {
			ids[i] = e.id
		}
		for i := range msg.Findings {
			if o.State == store.OutboxSent {
				msg.Findings[i].LastNotified = at.UTC()
			}
		}
		r.rs.mailed(m.key, ids, at)
	}
	return nil
}

// whole reads m's findings whole, for its letter and the report.
func (r *run) whole(ctx context.Context, m *message) ([]store.Finding, error) {
	fs := make([]store.Finding, len(m.findings))
	for i, e := range m.findings {
		f, err := r.n.Store.Finding(ctx, e.id)
		if err != nil {
			return nil, errorf("%w", err)
		}
		fs[i] = f
	}
	return fs, nil
}

// State is the recorded state (outbox, digests) of the result r; anything
// but the three definite answers is unknown.
func (r Result) State() store.OutboxState {
	switch r {
	case ResultSent:
		return store.OutboxSent
	case ResultDeferred:
		return store.OutboxDeferred
	case ResultRejected:
		return store.OutboxRejected
	}
	return store.OutboxUnknown
}

// wrapStore prefixes a store error, if any.
func wrapStore(err error) error {
	if err != nil {
		return errorf("%w", err)
	}
	return nil
}
