package store

import (
	"context"
	"fmt"
)

// Summary is what the tables hold in aggregate: the figures `lamers run`
// serves as metrics. Reading it scans the findings table once (about 0.25 s
// for a million findings), which is why its caller reads it after its own
// steps and at most about once a minute, never per request.
type Summary struct {
	// Findings counts the findings by status (every status present, 0
	// when none), NeedsHuman those whose contact chain is exhausted.
	Findings   map[Status]int64
	NeedsHuman int64
	// Outbox counts the messages by state (every state present).
	Outbox map[OutboxState]int64
	// RoundReasons counts by reason the probe rounds recorded after the
	// Since given, Bounces by class the returned messages stored after it;
	// Next is where the next Summary's counts start.
	RoundReasons map[string]int64
	Bounces      map[BounceClass]int64
	Next         Since
}

// Since is where a Summary's counts of new rows start: the highest round
// and bounce IDs a previous Summary saw (Summary.Next). A negative ID
// counts none and only reads the highest.
type Since struct{ Round, Bounce int64 }

// group is one row of a GROUP BY: the group's name, its count and one
// more aggregate.
type group struct {
	name     string
	n, other int64
}

func scanGroup(r rowScanner) (group, error) {
	var g group
	err := r.Scan(&g.name, &g.n, &g.other)
	return g, err
}

// Summary reads the Summary. The rows after since are counted through
// their tables' primary keys.
func (db *DB) Summary(ctx context.Context, since Since) (Summary, error) {
	s := Summary{Findings: map[Status]int64{}, Outbox: map[OutboxState]int64{}}
	for _, st := range Statuses() {
		s.Findings[st] = 0
	}
	for _, st := range OutboxStates() {
		s.Outbox[st] = 0
	}
	const op = "summary"
	fail := func(err error) (Summary, error) { return Summary{}, fmt.Errorf("store: %s %s: %w", op, db.path, err) }
	gs, err := queryAll(ctx, db, op, scanGroup, "SELECT status, count(*), coalesce(sum(needs_human), 0) FROM findings GROUP BY status")
	if err != nil {
		return Summary{}, err
	}
	for _, g := range gs {
		st, err := ParseStatus(g.name)
		if err != nil {
			return fail(err)
		}
		s.Findings[st], s.NeedsHuman = g.n, s.NeedsHuman+g.other
	}
	if gs, err = queryAll(ctx, db, op, scanGroup, "SELECT state, count(*), 0 FROM outbox GROUP BY state"); err != nil {
		return Summary{}, err
	}
	for _, g := range gs {
		st, err := ParseOutboxState(g.name)
		if err != nil {
			return fail(err)
		}
		s.Outbox[st] = g.n
	}
	if s.RoundReasons, s.Next.Round, err = db.newRows(ctx, "rounds", "reason", since.Round); err != nil {
		return Summary{}, err
	}
	classes, next, err := db.newRows(ctx, "bounces", "class", since.Bounce)
	if err != nil {
		return Summary{}, err
	}
	s.Bounces, s.Next.Bounce = map[BounceClass]int64{}, next
	for name, n := range classes {
		c, err := ParseBounceClass(name)
		if err != nil {
			return fail(err)
		}
		s.Bounces[c] = n
	}
	return s, nil
}

// newRows counts the rows of table whose id is above after by col, and
// returns the highest id (after when none is above it). A negative after
// counts none and returns the highest id. table and col are constants of
// Summary's.
func (db *DB) newRows(ctx context.Context, table, col string, after int64) (map[string]int64, int64, error) {
	out := map[string]int64{}
	if after < 0 {
		if err := db.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM "+table).Scan(&after); err != nil {
			return nil, 0, fmt.Errorf("store: summary %s: %w", db.path, err)
		}
		return out, after, nil
	}
	// One statement: the counts and the highest id they cover come from
	// the same snapshot.
	gs, err := queryAll(ctx, db, "summary", scanGroup, "SELECT "+col+", count(*), max(id) FROM "+table+" WHERE id > ? GROUP BY "+col, after)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range gs {
		out[g.name], after = g.n, max(after, g.other)
	}
	return out, after, nil
}
