package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lamers-dev/lamers/notify/digest"
	"github.com/lamers-dev/lamers/store"
)

// digestCommand is `lamers digest`.
type digestCommand struct {
	format, since string
	send          bool
}

func (c *digestCommand) doc() commandDoc {
	return commandDoc{
		name:     "digest",
		synopsis: "the periodic report for the operator: totals, worst servers, new, still lame, fixed (--send mails it)",
		help: `Builds the report of a period for the operator: the findings on record, those
first seen, lame, unresponsive and inconclusive now, confirmed in the period
or before it, fixed and stale in it; the messages sent to contacts and the
bounces of the period; the log events of its days; the worst servers (the
addresses lame or unresponsive for the most zones, most zones first: one
decommissioned server still listed in hundreds of delegations comes first);
and bounded lists of the new lame delegations, those still lame, the fixed,
the stale and those that need a human (no contact left), each with "and N
more".

The period ends now. It starts at --since (a date, an RFC 3339 time, or a
duration back from now: 336h, 14d); by default where the last digest sent
ended, so that no event falls between two digests, or digest.interval (336h)
back from now when none was ever sent.

It prints the digest in --format text (default), html or json. json is one
object: since, until, totals {findings, new, lame, unresponsive, fixed,
stale, inconclusive, notified, bounced, needs_human, ...}, worst_servers
[{server, zones, count, ...}] most zones first, and the lists.

--send mails it to digest.to instead, text and HTML as
multipart/alternative, through the relay and with the From and envelope
sender of [notify] (it needs notify.from and notify.bounce_address), records
it, and prints one line saying what became of it. Exit status 2 when it was
not sent.`,
	}
}

func (c *digestCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "format", "text", "output `format`: text, html or json")
	fs.StringVar(&c.since, "since", "", "start of the period: a date, an RFC 3339 time or a duration back like 336h (default: the end of the last digest sent, else digest.interval back)")
	fs.BoolVar(&c.send, "send", false, "mail the digest to digest.to instead of printing it")
}

func (c *digestCommand) run(ctx context.Context, a *app, args []string) error {
	if err := c.check(a, args); err != nil {
		return err
	}
	open := a.openStoreReadOnly
	if c.send {
		open = func(ctx context.Context) (*store.DB, error) { return a.openStore(ctx) }
	}
	db, err := open(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	m, err := a.mailer(a.cfg.Notify, c.send)
	if err != nil {
		return err
	}
	r, err := buildDigest(ctx, db, c.since, a.cfg.Digest, a.now())
	if err != nil {
		return err
	}
	if !c.send {
		return c.write(a.stdout, r, m)
	}
	s, err := mailDigest(ctx, a, db, m, r)
	if s.State != 0 {
		fmt.Fprintf(a.stdout, "digest %s to %s (%s to %s): %s\n", s.State, s.To, r.Since.Format(time.RFC3339),
			r.Until.Format(time.RFC3339), escapeTerminal(s.Delivery.Answer()))
	}
	return err
}

// buildDigest builds the digest of the period that ends now and starts at
// since (a --since flag, or "": digestSince's default). digest.Build reads
// and records the period to the second.
func buildDigest(ctx context.Context, db *store.DB, since string, cfg DigestConfig, now time.Time) (*digest.Report, error) {
	from, err := digestSince(ctx, db, since, cfg, now)
	if err != nil {
		return nil, err
	}
	return digest.Build(ctx, db, digest.Options{Since: from, Until: now})
}

// mailDigest mails r to digest.to through m and records it in db.
func mailDigest(ctx context.Context, a *app, db *store.DB, m *mailer, r *digest.Report) (digest.Sent, error) {
	dm := &digest.Mailer{Store: db, Templates: m.templates, Composer: m.writer, Transport: m.transport,
		TransportName: m.transportName, Hold: a.stop.hold}
	return dm.Send(ctx, r, a.cfg.Digest.To)
}

// check checks the arguments and flags against the configuration.
func (c *digestCommand) check(a *app, args []string) error {
	switch {
	case len(args) > 0:
		return usagef("digest: unexpected argument %q", args[0])
	case c.format != "text" && c.format != "html" && c.format != "json":
		return usagef("digest: --format: %q is not one of text, html, json", c.format)
	case c.send && a.cfg.Digest.To == "":
		return errors.New("digest: --send needs digest.to in the configuration")
	case c.send && (a.cfg.Notify.From == "" || a.cfg.Notify.BounceAddress == ""):
		return errors.New("digest: --send needs notify.from and notify.bounce_address in the configuration")
	}
	return nil
}

// digestSince is the start of a digest's period ending at now: flag (as
// report's --since takes it) when given; else the end of the last digest
// sent; else interval back from now. A last digest that ends after now
// (the clock was set back) is passed over.
func digestSince(ctx context.Context, db *store.DB, flag string, cfg DigestConfig, now time.Time) (time.Time, error) {
	if flag != "" {
		t, err := parseSince(flag, now)
		if err != nil {
			return t, usagef("digest: --since: %v", err)
		}
		if t.After(now) {
			return t, usagef("digest: --since: %s is in the future", t.Format(time.RFC3339))
		}
		return t, nil
	}
	last, ok, err := db.LastDigest(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if ok && !last.Until.After(now) {
		return last.Until, nil
	}
	if cfg.Interval == 0 {
		return time.Time{}, usagef("digest: digest.interval is 0 and no digest was sent: give --since")
	}
	return now.Add(-time.Duration(cfg.Interval)), nil
}

// write prints r in the command's format.
func (c *digestCommand) write(w io.Writer, r *digest.Report, m *mailer) error {
	var (
		out string
		err error
	)
	switch c.format {
	case "json":
		return r.WriteJSON(w)
	case "html":
		out, err = r.HTML(m.templates)
	default:
		out, err = r.Text(m.templates)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}
