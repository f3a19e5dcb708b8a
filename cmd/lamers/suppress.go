package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/store"
)

// suppressCommand is `lamers suppress`.
type suppressCommand struct {
	list, remove bool
	reason       string
}

func (c *suppressCommand) doc() commandDoc {
	return commandDoc{
		name:     "suppress",
		args:     "ADDR|@DOMAIN|ZONE",
		synopsis: "never mail an address, a domain or about a zone again",
		help: `An address (j.doe@example.com) is never mailed again; a domain
(@example.com) covers every address at it and below it; a zone (example.com)
covers every finding of the zone and below it: such findings need a human.
Addresses and domains are compared without regard to case. --remove undoes a
suppression, --list shows them all (value, kind, source, reason, since).
Complaints and unsubscriptions that come back as mail (lamers bounce) are
suppressed the same way, at once.`,
	}
}

func (c *suppressCommand) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.list, "list", false, "list the suppressions")
	fs.BoolVar(&c.remove, "remove", false, "remove the suppression instead of adding it")
	fs.StringVar(&c.reason, "reason", "", "why, kept with the suppression (`text`)")
}

func (c *suppressCommand) run(ctx context.Context, a *app, args []string) error {
	switch {
	case c.list && (len(args) > 0 || c.remove || c.reason != ""):
		return usagef("suppress: --list takes no argument, --remove or --reason")
	case !c.list && len(args) != 1:
		return usagef("suppress: want one ADDR, @DOMAIN or ZONE, got %d arguments", len(args))
	case c.remove && c.reason != "":
		return usagef("suppress: --reason is for adding one")
	}
	var value string
	var kind store.SuppressionKind
	if !c.list {
		var err error
		if value, kind, err = notify.ParseSuppression(args[0]); err != nil {
			return usagef("suppress: %v", err)
		}
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	switch {
	case c.list:
		return c.print(ctx, a, db)
	case c.remove:
		removed, err := db.RemoveSuppression(ctx, value)
		if err != nil {
			return err
		}
		if !removed {
			return fmt.Errorf("suppress: %s is not suppressed", escapeTerminal(value))
		}
		fmt.Fprintf(a.stdout, "no longer suppressed: %s\n", escapeTerminal(value))
		return nil
	}
	s := store.Suppression{Value: value, Kind: kind, Reason: c.reason, Source: store.SuppressedManually, CreatedAt: time.Now()}
	added, err := db.AddSuppression(ctx, s)
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(a.stdout, "suppressed %s: %s\n", kind, escapeTerminal(value))
	} else {
		fmt.Fprintf(a.stdout, "already suppressed: %s\n", escapeTerminal(value))
	}
	return nil
}

// print lists the suppressions as a table.
func (c *suppressCommand) print(ctx context.Context, a *app, db *store.DB) error {
	ss, err := db.Suppressions(ctx)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no suppressions")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VALUE\tKIND\tSOURCE\tSINCE\tREASON")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", escapeTerminal(s.Value), s.Kind, s.Source,
			s.CreatedAt.UTC().Format("2006-01-02 15:04"), escapeTerminal(dash(s.Reason)))
	}
	return tw.Flush()
}
