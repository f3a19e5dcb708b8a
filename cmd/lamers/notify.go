package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/store"
)

// notifyCommand is `lamers notify`.
type notifyCommand struct {
	send, retryUnknown bool
	format, zone       string
	limit              int
	rf                 resolverFlags
}

func (c *notifyCommand) doc() commandDoc {
	return commandDoc{
		name:     "notify",
		synopsis: "mail the contacts of confirmed lame delegations (a dry run unless --send)",
		help: `Takes the findings that are lame or unresponsive, probes again those whose
last round is older than notify.max_verdict_age, and finds each one's
contact: the zone's SOA RNAME (read from an authoritative answer only),
hostmaster@ the zone, postmaster@ the domain of the lame server's NS name, a
[[notify.override]] — the first that is a valid address, not suppressed, not
dead for the finding (a 5xx or a hard bounce before) and whose domain has a
usable mail exchange. Findings with no contact left need a human (report
shows them). Each recipient gets one message listing all its findings, at
most one per notify.recipient_interval and one per finding per
notify.finding_interval, at most notify.max_per_run messages per run, the
findings confirmed longest ago first.

Without --send (or notify.send = true) it prints what it would send and
sends nothing: it records no message, contact, mark, lease or SOA. It does
read DNS, and probes again the verdicts older than notify.max_verdict_age:
those rounds are recorded, as verify records its own, and may change a
finding's status. With --send every message is recorded before it is handed
to the relay and marked after: a message whose fate is unknown (a crash or a
timeout in between) is never sent again unless --retry-unknown. One sending
run at a time per database. --format json prints an array of messages: to,
contact_source, subject, findings [{zone, server, port, status, reason}],
result (dry-run, sent, deferred, rejected, unknown).

Exit status 0 when the run completed (some messages may be deferred or
rejected), 2 on a failure: --send without notify.from or
notify.bounce_address, a relay setting that cannot work (mandatory TLS not
offered, credentials or envelope sender refused, a sendmail_path that cannot
be run, a sendmail that exits 64, 77 or 78), a template that fails, the
database.`,
	}
}

func (c *notifyCommand) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.send, "send", false, "send the messages (default: notify.send, else a dry run)")
	fs.StringVar(&c.format, "format", "text", "output `format`: text or json")
	fs.StringVar(&c.zone, "zone", "", "only findings of this `zone`")
	fs.IntVar(&c.limit, "limit", 0, "at most `N` messages in this run (default notify.max_per_run)")
	fs.BoolVar(&c.retryUnknown, "retry-unknown", false, "hand the messages whose fate is unknown to the relay again")
	c.rf.register(fs)
}

// run plans and sends under the graceful stage: the first signal lets the
// message in flight finish (it holds the abort stage) and starts no other;
// what was sent is recorded and a rerun continues.
func (c *notifyCommand) run(ctx context.Context, a *app, args []string) error {
	opts, err := c.options(a, args)
	if err != nil {
		return err
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	n, closeAll, err := c.notifier(a, db, opts.Send)
	if err != nil {
		return err
	}
	defer closeAll(context.WithoutCancel(ctx))
	rep, err := n.Run(ctx, opts)
	if werr := c.write(a.stdout, &rep, opts.Send); err == nil {
		err = werr
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.stderr, "lamers: notify stopped early (%s): what was sent is recorded; run it again to continue\n", cause)
		return nil
	}
	return err // the notify and store packages name themselves
}

// options checks the arguments and flags against the configuration.
func (c *notifyCommand) options(a *app, args []string) (notify.Options, error) {
	opts := notify.Options{Send: c.send || a.cfg.Notify.Send, Limit: c.limit, RetryUnknown: c.retryUnknown}
	switch {
	case len(args) > 0:
		return opts, usagef("notify: unexpected argument %q", args[0])
	case c.format != "text" && c.format != "json":
		return opts, usagef("notify: --format: %q is not one of text, json", c.format)
	case c.limit < 0:
		return opts, usagef("notify: --limit: %d is negative", c.limit)
	case opts.Send && (a.cfg.Notify.From == "" || a.cfg.Notify.BounceAddress == ""):
		return opts, errors.New("notify: sending needs notify.from and notify.bounce_address in the configuration")
	}
	if c.zone != "" {
		z, err := canonicalZone(c.zone)
		if err != nil {
			return opts, usagef("notify: --zone: %v", err)
		}
		opts.Zone = z
	}
	return opts, nil
}

// notifier wires the Notifier: lamers' resolver for the SOAs and mail
// hosts, verify for the re-probes, the templates and the transport.
func (c *notifyCommand) notifier(a *app, db *store.DB, send bool) (*notify.Notifier, func(context.Context), error) {
	r, err := a.newResolver(&c.rf, false)
	if err != nil {
		return nil, nil, err
	}
	m, err := a.mailer(a.cfg.Notify, send)
	if err != nil {
		r.Close(context.Background())
		return nil, nil, err
	}
	nc := a.cfg.Notify
	overrides, err := nc.overrides()
	if err != nil {
		r.Close(context.Background())
		return nil, nil, err
	}
	n := notify.New(db, r)
	n.Config.MaxPerRun, n.Config.CheckDeliverability, n.Config.Overrides = nc.MaxPerRun, nc.CheckDeliverability, overrides
	n.Config.RecipientInterval, n.Config.FindingInterval = time.Duration(nc.RecipientInterval), time.Duration(nc.FindingInterval)
	n.Config.MaxVerdictAge, n.Config.MinInterval = time.Duration(nc.MaxVerdictAge), time.Duration(a.cfg.Verify.MinInterval)
	n.Reprober = (&verifyCommand{}).verifier(a, r, db)
	n.Composer, n.TransportName = m.writer, m.transportName
	if m.transport != nil {
		n.Transport = m.transport
	}
	n.Hold = a.stop.hold
	n.Log = a.log.With(logKeyComponent, "notify")
	return n, func(ctx context.Context) { r.Close(ctx) }, nil
}

// jsonMessage is the stable JSON shape of one message of a run.
type jsonMessage struct {
	To            string               `json:"to"`
	ContactSource string               `json:"contact_source"`
	Subject       string               `json:"subject"`
	Findings      []jsonMessageFinding `json:"findings"`
	Result        string               `json:"result"`
}

// jsonMessageFinding is a finding as a message lists it.
type jsonMessageFinding struct {
	Zone   string `json:"zone"`
	Server string `json:"server"`
	Port   uint16 `json:"port"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// resultOf names what became of m: dry-run, sent, deferred, rejected, unknown.
func resultOf(m *notify.Message) string {
	if m.State == 0 {
		return "dry-run"
	}
	return m.State.String()
}

// write prints the run's messages and what else it found.
func (c *notifyCommand) write(w io.Writer, rep *notify.Report, send bool) error {
	if c.format == "json" {
		out := make([]jsonMessage, len(rep.Messages))
		for i := range rep.Messages {
			m := &rep.Messages[i]
			out[i] = jsonMessage{To: m.To, ContactSource: m.Source.String(), Subject: m.Subject, Result: resultOf(m),
				Findings: make([]jsonMessageFinding, len(m.Findings))}
			for j, f := range m.Findings {
				out[i].Findings[j] = jsonMessageFinding{Zone: f.Zone, Server: f.Server.String(), Port: f.Port, Status: f.Status.String(), Reason: f.Reason}
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i := range rep.Messages {
		writeMessage(w, &rep.Messages[i])
	}
	return writeNotifySummary(w, rep, send)
}

// writeMessage prints one message: its result, recipient and subject, the
// relay's answer when it was not accepted, and its findings.
func writeMessage(w io.Writer, m *notify.Message) {
	retry := ""
	if m.Retry {
		retry = " (sent again)"
	}
	fmt.Fprintf(w, "%-8s %s (%s)%s: %s\n", resultOf(m), escapeTerminal(m.To), m.Source, retry, escapeTerminal(m.Subject))
	if d := m.Delivery; m.State != 0 && m.State != store.OutboxSent {
		fmt.Fprintf(w, "         relay: %s\n", escapeTerminal(d.Answer()))
	}
	for _, f := range m.Findings {
		server := f.Server.String()
		if f.Port != 53 {
			server = fmt.Sprintf("%s#%d", server, f.Port)
		}
		fmt.Fprintf(w, "         %s %s %s %s\n", escapeTerminal(f.Zone), server, f.Status, f.Reason)
	}
}

// writeNotifySummary prints the counts of a run.
func writeNotifySummary(w io.Writer, rep *notify.Report, send bool) error {
	if send {
		fmt.Fprintf(w, "messages: %d\n", len(rep.Messages))
	} else {
		fmt.Fprintf(w, "messages: %d (dry run: nothing was sent; --send sends them)\n", len(rep.Messages))
	}
	for _, l := range []struct {
		n    int
		text string
	}{
		{rep.Later, "messages left for later runs (max_per_run)"},
		{rep.Resting, "findings whose contact was mailed lately (recipient_interval, finding_interval)"},
		{len(rep.NeedsHuman), "findings that need a human: no contact left (lamers report shows them)"},
		{rep.Reprobed, "findings probed again (their verdict was old)"},
		{rep.Cleared, "of them no longer lame or unresponsive: not mentioned"},
		{rep.Unrefreshed, "of them could not be probed again: left for the next run"},
		{rep.Recovered, "messages an earlier run left unmarked, now unknown: never sent again unless --retry-unknown"},
	} {
		if l.n > 0 {
			fmt.Fprintf(w, "%s: %d\n", l.text, l.n)
		}
	}
	return nil
}
