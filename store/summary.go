package store

import (
	"context"
	"fmt"
)

// Summary is what the tables hold in aggregate: the figures `lamers run`
// serves as metrics. Reading it scans the findings table once (about 0.3 s
// for a million findings), which is why its caller reads it after its own
// steps and at most about once a minute, never per request.
type Summary struct {
	// Findings counts the findings by status (every status present, 0
	// when none), NeedsHuman those whose contact chain is exhausted.
	Findings   map[Status]int64
	NeedsHuman int64
	// RoundReasons counts by reason the probe rounds whose ID is above
	// the one asked for, and MaxRoundID is the highest round ID (the one
	// to ask for next time).
	RoundReasons map[string]int64
	MaxRoundID   int64
	// Outbox counts the messages by state (every state present).
	Outbox map[OutboxState]int64
}

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

// Summary reads the Summary. Rounds with an ID above roundsAfter are
// counted through the rounds' primary key; roundsAfter < 0 counts none and
// only reads MaxRoundID.
func (db *DB) Summary(ctx context.Context, roundsAfter int64) (Summary, error) {
	s := Summary{Findings: map[Status]int64{}, RoundReasons: map[string]int64{}, Outbox: map[OutboxState]int64{}, MaxRoundID: roundsAfter}
	for _, st := range Statuses() {
		s.Findings[st] = 0
	}
	for _, st := range OutboxStates() {
		s.Outbox[st] = 0
	}
	const op = "summary"
	gs, err := queryAll(ctx, db, op, scanGroup, "SELECT status, count(*), coalesce(sum(needs_human), 0) FROM findings GROUP BY status")
	if err != nil {
		return Summary{}, err
	}
	for _, g := range gs {
		st, err := ParseStatus(g.name)
		if err != nil {
			return Summary{}, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
		s.Findings[st], s.NeedsHuman = g.n, s.NeedsHuman+g.other
	}
	if roundsAfter < 0 {
		if err := db.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM rounds").Scan(&s.MaxRoundID); err != nil {
			return Summary{}, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
	} else {
		// One statement: the counts and the highest ID they cover come
		// from the same snapshot.
		gs, err = queryAll(ctx, db, op, scanGroup, "SELECT reason, count(*), max(id) FROM rounds WHERE id > ? GROUP BY reason", roundsAfter)
		if err != nil {
			return Summary{}, err
		}
		for _, g := range gs {
			s.RoundReasons[g.name], s.MaxRoundID = g.n, max(s.MaxRoundID, g.other)
		}
	}
	gs, err = queryAll(ctx, db, op, scanGroup, "SELECT state, count(*), 0 FROM outbox GROUP BY state")
	if err != nil {
		return Summary{}, err
	}
	for _, g := range gs {
		st, err := ParseOutboxState(g.name)
		if err != nil {
			return Summary{}, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
		s.Outbox[st] = g.n
	}
	return s, nil
}
