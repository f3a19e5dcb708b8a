package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/notify/mailbox"
	"github.com/lamers-dev/lamers/store"
)

// bounceCacheKiB is the page cache bounce asks SQLite for: storing a
// message touches a few pages, and the process, run by the MTA for each
// returned message, stays small (bench/README.md, section bounce).
const bounceCacheKiB = 8 << 10

// bounceCommand is `lamers bounce`.
type bounceCommand struct {
	maildir, mbox   string
	list, unmatched bool
	since, format   string
}

func (c *bounceCommand) doc() commandDoc {
	return commandDoc{
		name:     "bounce",
		synopsis: "store returned mail (bounces, complaints, unsubscriptions) and act on it",
		help: `Reads one message on standard input (the MTA's pipe; a leading "From "
line is skipped), every message of a Maildir's new/ (--maildir: each moved to
cur/ with the :2,S flag once stored) or of an mbox file (--mbox, only read).
Every message is stored once (the same message again is recognised by its
SHA-256 and not applied twice), its first 256 KiB kept. The notification it
answers is found by its token: in ORIGINAL_RECIPIENT or RECIPIENT (the pipe's
environment), Delivered-To, X-Original-To, or the returned message's
Message-ID or References — with notify.bounce_address set, only in that
address (LOCAL+TOKEN@DOMAIN, <lamers.TOKEN@DOMAIN>). A hard bounce makes the address dead for the
message's findings (notify mails the next contact), soft and policy bounces
are counted (3 soft or 2 policy ones within 14 days make it dead), a
complaint or an unsubscription suppresses it at once, delay notices and
auto-replies are only recorded. Messages without a known token are kept,
unmatched, for a person.

--list shows the messages received since --since (default 14d), --unmatched
only those that answer no message; --format json prints an array: id,
received_at, source, class, format, effect (none, counted, dead,
suppressed), marks, matched, token, token_source, to (the recipient of the
message it answers), recipient, status, action, diagnostic, from, subject,
problem, size, sha256.

Exit status 0 once the message is stored (matched or not, understood or
not); 75 (EX_TEMPFAIL) when it could not be stored — the database or the
input failed — so that the MTA keeps it and tries again (with --maildir the
message stays in new/); 2 on a usage error. See README.md, "Bounces", for
the MTA's side.`,
	}
}

func (c *bounceCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.maildir, "maildir", "", "store the messages of this Maildir's new/ (`dir`)")
	fs.StringVar(&c.mbox, "mbox", "", "store the messages of this mbox `file` (read only)")
	fs.BoolVar(&c.list, "list", false, "list the returned messages stored")
	fs.BoolVar(&c.unmatched, "unmatched", false, "with --list: only those that answer no message")
	fs.StringVar(&c.since, "since", "14d", "with --list: received since `when` (date, RFC 3339 time or duration like 14d)")
	fs.StringVar(&c.format, "format", "text", "with --list: output `format`, text or json")
}

// configFailed is what a configuration that cannot be loaded makes of
// bounce: a temporary failure when taking mail in, so that the MTA keeps
// the message until the configuration is mended.
func (c *bounceCommand) configFailed(err error) error {
	if c.list {
		return err
	}
	return tempFail(err)
}

func (c *bounceCommand) run(ctx context.Context, a *app, args []string) error {
	if err := c.check(a, args); err != nil {
		return err
	}
	if c.list {
		return c.listBounces(ctx, a)
	}
	err := c.take(ctx, a)
	// A stop between two messages of a Maildir or mbox leaves the rest for
	// the next run; a message on standard input that a stop kept from
	// being stored is a temporary failure: the MTA must keep it.
	if batch := c.maildir != "" || c.mbox != ""; batch && err != nil && context.Cause(ctx) != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.stderr, "lamers: bounce stopped early (%s): what was stored is kept; run it again to continue\n", context.Cause(ctx))
		return nil
	}
	var ue *usageError
	var ee *exitError
	if err != nil && !errors.As(err, &ue) && !errors.As(err, &ee) {
		return tempFail(err)
	}
	return err
}

// take stores what the flags say: the message on standard input, or those
// of --maildir or --mbox.
func (c *bounceCommand) take(ctx context.Context, a *app) error {
	db, err := a.openStore(ctx, store.WithCacheSize(bounceCacheKiB))
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	in := notify.NewIntake(db)
	// Tokens count only in our own bounce address (the configuration
	// keeps it as notify.CheckAddress returns it).
	if addr := a.cfg.Notify.BounceAddress; addr != "" {
		in.Local, in.Domain, _ = strings.Cut(addr, "@")
	}
	switch {
	case c.maildir != "":
		return c.takeMaildir(ctx, a, in)
	case c.mbox != "":
		return c.takeMbox(ctx, a, in)
	}
	return c.takeStdin(ctx, a, in)
}

// check refuses flags that do not go together.
func (c *bounceCommand) check(a *app, args []string) error {
	switch {
	case len(args) > 0:
		return usagef("bounce: unexpected argument %q", args[0])
	case c.maildir != "" && c.mbox != "":
		return usagef("bounce: --maildir and --mbox are one or the other")
	case c.list && (c.maildir != "" || c.mbox != ""):
		return usagef("bounce: --list takes no --maildir or --mbox")
	case !c.list && (c.unmatched || c.format != "text"):
		return usagef("bounce: --unmatched and --format are for --list")
	case c.list && c.format != "text" && c.format != "json":
		return usagef("bounce: --format: %q is not one of text, json", c.format)
	}
	return nil
}

// takeStdin stores the message on standard input. Empty input is no
// message (an MTA never pipes one): a usage error, nothing stored.
func (c *bounceCommand) takeStdin(ctx context.Context, a *app, in *notify.Intake) error {
	br := bufio.NewReader(a.stdin)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return usagef("bounce: standard input is empty: no message to store (--maildir, --mbox or --list otherwise)")
	}
	env := bounce.Options{OriginalRecipient: a.getenv("ORIGINAL_RECIPIENT"), Recipient: a.getenv("RECIPIENT")}
	rec, err := in.Take(ctx, br, store.BouncePipe, env)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, describeBounce(rec))
	return nil
}

// takeMaildir stores the messages of --maildir, a line for each.
func (c *bounceCommand) takeMaildir(ctx context.Context, a *app, in *notify.Intake) error {
	md, err := mailbox.OpenMaildir(c.maildir)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	var t tally
	err = in.TakeMaildir(ctx, md, func(r notify.MaildirResult) {
		name := escapeTerminal(r.Name)
		switch {
		case r.Err != nil && r.Received.ID == 0:
			t.left++
			fmt.Fprintf(a.stdout, "%s: not stored, left in new/: %s\n", name, escapeTerminal(r.Err.Error()))
		case r.Err != nil:
			t.add(r.Received)
			fmt.Fprintf(a.stdout, "%s: %s; not moved to cur/: %s\n", name, describeBounce(r.Received), escapeTerminal(r.Err.Error()))
		default:
			t.add(r.Received)
			fmt.Fprintf(a.stdout, "%s: %s\n", name, describeBounce(r.Received))
		}
	})
	t.print(a.stdout)
	return err
}

// takeMbox stores the messages of --mbox, a line for each.
func (c *bounceCommand) takeMbox(ctx context.Context, a *app, in *notify.Intake) error {
	f, err := os.Open(c.mbox)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("bounce: %w", err)}
	}
	defer f.Close()
	var t tally
	err = in.TakeMbox(ctx, f, func(n int, rec notify.Received) {
		t.add(rec)
		fmt.Fprintf(a.stdout, "message %d: %s\n", n, describeBounce(rec))
	})
	t.print(a.stdout)
	return err
}

// tally counts what a Maildir or mbox run did.
type tally struct{ stored, before, unmatched, left int }

func (t *tally) add(rec notify.Received) {
	switch {
	case !rec.New:
		t.before++
	case !rec.Matched():
		t.stored++
		t.unmatched++
	default:
		t.stored++
	}
}

func (t *tally) print(w io.Writer) {
	fmt.Fprintf(w, "stored: %d (unmatched: %d), stored before: %d", t.stored, t.unmatched, t.before)
	if t.left > 0 {
		fmt.Fprintf(w, ", not stored: %d", t.left)
	}
	fmt.Fprintln(w)
}

// describeBounce is one line on a stored message: its number and class,
// what it says of whom, and what it did.
func describeBounce(rec notify.Received) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bounce %d: %s", rec.ID, rec.Class)
	for _, s := range []string{rec.Status, rec.Recipient} {
		if s != "" {
			b.WriteString(" " + escapeTerminal(s))
		}
	}
	switch {
	case !rec.New:
		b.WriteString("; stored before, nothing done again")
	case rec.Token == "":
		b.WriteString("; no token: unmatched, kept for a person")
	case !rec.Matched():
		fmt.Fprintf(&b, "; token %s of no message: unmatched, kept for a person", escapeTerminal(rec.Token))
	default:
		fmt.Fprintf(&b, "; message %s to %s: %s", rec.Token, escapeTerminal(rec.To), effectText(rec.Bounce))
	}
	return b.String()
}

// effectText says what storing b did.
func effectText(b store.Bounce) string {
	marks := fmt.Sprintf("%d marks", b.Marks)
	if b.Marks == 1 {
		marks = "1 mark"
	}
	switch b.Effect {
	case store.EffectDead:
		return "dead for the message's findings (" + marks + ")"
	case store.EffectCounted:
		return fmt.Sprintf("%s bounce counted for the message's findings (%s)", b.Class, marks)
	case store.EffectSuppressed:
		return "suppressed (" + b.Class.String() + ")"
	}
	return "no effect"
}

// listBounces answers --list.
func (c *bounceCommand) listBounces(ctx context.Context, a *app) error {
	since, err := parseSince(c.since, time.Now())
	if err != nil {
		return usagef("bounce: --since: %v", err)
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	bs, err := db.Bounces(ctx, store.BounceFilter{Since: since, Unmatched: c.unmatched})
	if err != nil {
		return err
	}
	if c.format == "json" {
		return writeBouncesJSON(a.stdout, bs)
	}
	return writeBouncesTable(a.stdout, bs)
}

// jsonBounce is the stable JSON shape of a stored returned message.
type jsonBounce struct {
	ID          int64  `json:"id"`
	ReceivedAt  string `json:"received_at"`
	Source      string `json:"source"`
	Class       string `json:"class"`
	Format      string `json:"format"`
	Effect      string `json:"effect"`
	Marks       int    `json:"marks"`
	Matched     bool   `json:"matched"`
	Token       string `json:"token"`
	TokenSource string `json:"token_source"`
	To          string `json:"to"`
	Recipient   string `json:"recipient"`
	Status      string `json:"status"`
	Action      string `json:"action"`
	Diagnostic  string `json:"diagnostic"`
	From        string `json:"from"`
	Subject     string `json:"subject"`
	Problem     string `json:"problem"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

func writeBouncesJSON(w io.Writer, bs []store.Bounce) error {
	out := make([]jsonBounce, len(bs))
	for i, b := range bs {
		out[i] = jsonBounce{ID: b.ID, ReceivedAt: rfc3339(b.ReceivedAt), Source: b.Source.String(), Class: b.Class.String(),
			Format: b.Format, Effect: b.Effect.String(), Marks: b.Marks, Matched: b.Matched(), Token: b.Token,
			TokenSource: b.TokenSource, To: b.To, Recipient: b.Recipient, Status: b.Status, Action: b.Action,
			Diagnostic: b.Diagnostic, From: b.From, Subject: b.Subject, Problem: b.Problem, Size: b.Size, SHA256: b.SHA256}
	}
	return writeTerminalJSON(w, out)
}

func writeBouncesTable(w io.Writer, bs []store.Bounce) error {
	if len(bs) == 0 {
		_, err := fmt.Fprintln(w, "no returned messages")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSOURCE\tCLASS\tEFFECT\tTO\tRECIPIENT\tSTATUS\tDETAIL")
	for _, b := range bs {
		to := "unmatched"
		if b.Matched() {
			to = escapeTerminal(b.To)
		}
		detail := b.Diagnostic
		if detail == "" {
			detail = b.Problem
		}
		if detail == "" {
			detail = b.Subject
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.ReceivedAt.UTC().Format("2006-01-02 15:04"), b.Source,
			b.Class, b.Effect, to, escapeTerminal(dash(b.Recipient)), escapeTerminal(dash(b.Status)),
			escapeTerminal(dash(truncate(detail, 60))))
	}
	return tw.Flush()
}
