package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"time"
)

// The digest's reads (notify/digest): the totals of a period, the
// findings of its lists and the worst servers. Each is one query; none
// reads every finding but DigestTotals, which scans the findings table
// once and the daily counts of the period's days. The lists and the worst
// servers come from the partial indexes of migration 0009.
//
// A period is [since, until). Its events are counted from daily_counts,
// whose rows are UTC days: the days from the one since falls on to the one
// until falls on, both included (DigestDays).

// DigestTotals are the counts of a digest's period. "Now" is when they
// are read.
type DigestTotals struct {
	// Findings is every finding held now; New those first seen in the
	// period.
	Findings, New int64
	// Lame, Unresponsive and Inconclusive count the findings of that status
	// now.
	Lame, Unresponsive, Inconclusive int64
	// Confirmed counts the findings lame or unresponsive now and confirmed
	// in the period (new lame delegations), StillLame those confirmed
	// before it.
	Confirmed, StillLame int64
	// Fixed and Stale count the findings of that status now that became
	// so in the period.
	Fixed, Stale int64
	// NeedsHuman counts the findings whose contact chain is exhausted now.
	NeedsHuman int64
	// Events are the events the logs gave on the period's days
	// (DigestDays), every finding's.
	Events int64
}

// DigestTotals reads the totals of the period [since, until) in one scan
// of the findings and one of the daily counts.
func (db *DB) DigestTotals(ctx context.Context, since, until time.Time) (DigestTotals, error) {
	var t DigestTotals
	s, u := since.UnixNano(), until.UnixNano()
	first, last := DigestDays(since, until)
	err := db.db.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM daily_counts WHERE day BETWEEN ? AND ?",
		first.String(), last.String()).Scan(&t.Events)
	if err != nil {
		return DigestTotals{}, fmt.Errorf("store: digest totals %s: events: %w", db.path, err)
	}
	err = db.db.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum(first_seen >= ?1 AND first_seen < ?2), 0),
		coalesce(sum(status = 'lame'), 0),
		coalesce(sum(status = 'unresponsive'), 0),
		coalesce(sum(status = 'inconclusive'), 0),
		coalesce(sum(confirmed_at >= ?1 AND confirmed_at < ?2), 0),
		coalesce(sum(confirmed_at < ?1), 0),
		coalesce(sum(status = 'fixed' AND status_at >= ?1 AND status_at < ?2), 0),
		coalesce(sum(status = 'stale' AND status_at >= ?1 AND status_at < ?2), 0),
		coalesce(sum(needs_human), 0)
		FROM findings`, s, u).Scan(&t.Findings, &t.New, &t.Lame, &t.Unresponsive, &t.Inconclusive,
		&t.Confirmed, &t.StillLame, &t.Fixed, &t.Stale, &t.NeedsHuman)
	if err != nil {
		return DigestTotals{}, fmt.Errorf("store: digest totals %s: %w", db.path, err)
	}
	return t, nil
}

// DigestDays returns the first and the last UTC day whose events count
// for the period [since, until): the day since falls on and the day of
// the period's last instant.
func DigestDays(since, until time.Time) (first, last Day) {
	last = DayOf(until.Add(-time.Nanosecond))
	return DayOf(since), max(last, DayOf(since))
}

// DigestList names one list of findings of a digest.
type DigestList uint8

// The lists of a digest, each in its order.
const (
	// ListConfirmed: lame or unresponsive now, confirmed in the period;
	// the earliest confirmed first.
	ListConfirmed DigestList = iota + 1
	// ListStillLame: lame or unresponsive now, confirmed before the
	// period; the earliest confirmed first.
	ListStillLame
	// ListFixed: fixed now, and fixed in the period; the earliest first.
	ListFixed
	// ListStale: stale now, and stale since the period; the earliest
	// first.
	ListStale
	// ListNeedsHuman: every finding that needs a human now, whenever it
	// came to; the one confirmed longest ago first.
	ListNeedsHuman
)

// DigestFinding is a finding as a digest lists it.
type DigestFinding struct {
	ID          int64
	Zone        string
	Server      netip.Addr
	Port        uint16
	ServerNames []string
	Status      Status
	Reason      string
	// ConfirmedAt is when it became lame or unresponsive (zero if it is
	// neither), StatusAt when its status last changed.
	ConfirmedAt, StatusAt time.Time
	// Events are its events on the period's days (DigestDays).
	Events int64
}

// digestLists are the condition and order of each list; ?1 and ?2 are the
// period's bounds. Each condition repeats its partial index's WHERE word
// for word, which is how SQLite knows the index applies.
var digestLists = map[DigestList]struct{ where, order string }{
	ListConfirmed:  {"confirmed_at IS NOT NULL AND confirmed_at >= ?1 AND confirmed_at < ?2", "confirmed_at"},
	ListStillLame:  {"confirmed_at IS NOT NULL AND confirmed_at < ?1", "confirmed_at"},
	ListFixed:      {"status IN ('fixed', 'stale') AND status = 'fixed' AND status_at >= ?1 AND status_at < ?2", "status_at"},
	ListStale:      {"status IN ('fixed', 'stale') AND status = 'stale' AND status_at >= ?1 AND status_at < ?2", "status_at"},
	ListNeedsHuman: {"needs_human = 1", "confirmed_at"},
}

// DigestFindings returns at most limit findings of the list of the period
// [since, until), in the list's order (ties by zone, server, port), each
// with its events on the period's days.
func (db *DB) DigestFindings(ctx context.Context, list DigestList, since, until time.Time, limit int) ([]DigestFinding, error) {
	l, ok := digestLists[list]
	if !ok || limit < 0 {
		return nil, fmt.Errorf("store: digest findings: list %d, limit %d", list, limit)
	}
	first, last := DigestDays(since, until)
	return queryAll(ctx, db, "digest findings", scanDigestFinding, `SELECT id, zone, server, port, server_names,
		status, reason, confirmed_at, status_at,
		(SELECT coalesce(sum(n), 0) FROM daily_counts WHERE finding_id = findings.id AND day BETWEEN ?3 AND ?4)
		FROM findings WHERE `+l.where+` ORDER BY `+l.order+`, zone, server_key, port, bucket LIMIT ?5`,
		since.UnixNano(), until.UnixNano(), first.String(), last.String(), limit)
}

func scanDigestFinding(r rowScanner) (DigestFinding, error) {
	var (
		f                 DigestFinding
		server, names, st string
		port              int
		confirmed, at     sql.NullInt64
	)
	if err := r.Scan(&f.ID, &f.Zone, &server, &port, &names, &st, &f.Reason, &confirmed, &at, &f.Events); err != nil {
		return DigestFinding{}, err
	}
	var err error
	if f.Server, err = netip.ParseAddr(server); err != nil {
		return DigestFinding{}, fmt.Errorf("finding %d: server: %w", f.ID, err)
	}
	if f.Status, err = ParseStatus(st); err != nil {
		return DigestFinding{}, fmt.Errorf("finding %d: %w", f.ID, err)
	}
	if f.ServerNames, err = parseSet(names); err != nil {
		return DigestFinding{}, fmt.Errorf("finding %d: server_names: %w", f.ID, err)
	}
	f.Port = uint16(port)
	f.ConfirmedAt, f.StatusAt = fromNullUnixNano(confirmed), fromNullUnixNano(at)
	return f, nil
}

// WorstServer is a server address lame or unresponsive for zones.
type WorstServer struct {
	Server netip.Addr
	// Zones counts the zones it is confirmed lame or unresponsive for now,
	// Findings its confirmed findings (a zone on two ports counts once in
	// Zones, twice in Findings).
	Zones, Findings int64
	// Events are the events of those findings on the period's days.
	Events int64
	// Since is its earliest confirmation among them.
	Since time.Time
	// Names are the NS names pointing at it in those zones' delegations,
	// sorted, at most MaxWorstNames of them; MoreNames counts the others.
	Names     []string
	MoreNames int
}

// MaxWorstNames bounds the NS names WorstServers gives per server.
const MaxWorstNames = 5

// WorstServers returns at most limit server addresses that are lame or
// unresponsive for the most zones now, most zones first, then most events
// on the period's days, then by address; and how many such addresses there
// are in all.
func (db *DB) WorstServers(ctx context.Context, since, until time.Time, limit int) ([]WorstServer, int64, error) {
	if limit < 0 {
		return nil, 0, fmt.Errorf("store: worst servers: limit %d", limit)
	}
	const op = "worst servers"
	var total int64
	if err := db.db.QueryRowContext(ctx, "SELECT count(DISTINCT server) FROM findings WHERE confirmed_at IS NOT NULL").Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	first, last := DigestDays(since, until)
	ws, err := queryAll(ctx, db, op, func(r rowScanner) (WorstServer, error) {
		var w WorstServer
		var server string
		if err := r.Scan(&server, &w.Zones, &w.Findings, &w.Events); err != nil {
			return w, err
		}
		var err error
		w.Server, err = netip.ParseAddr(server)
		return w, err
	}, `SELECT server, count(DISTINCT zone), count(*),
		coalesce(sum((SELECT sum(n) FROM daily_counts WHERE finding_id = findings.id AND day BETWEEN ?1 AND ?2)), 0)
		FROM findings WHERE confirmed_at IS NOT NULL GROUP BY server
		ORDER BY 2 DESC, 4 DESC, min(server_key) LIMIT ?3`, first.String(), last.String(), limit)
	if err != nil {
		return nil, 0, err
	}
	for i := range ws {
		if err := db.worstServerDetails(ctx, &ws[i]); err != nil {
			return nil, 0, fmt.Errorf("store: %s %s: %s: %w", op, db.path, ws[i].Server, err)
		}
	}
	return ws, total, nil
}

// worstServerDetails reads w's earliest confirmation and NS names.
func (db *DB) worstServerDetails(ctx context.Context, w *WorstServer) error {
	var since int64
	if err := db.db.QueryRowContext(ctx, "SELECT min(confirmed_at) FROM findings WHERE confirmed_at IS NOT NULL AND server = ?",
		w.Server.String()).Scan(&since); err != nil {
		return err
	}
	w.Since = fromUnixNano(since)
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT j.value FROM findings f, json_each(f.server_names) j
		WHERE f.confirmed_at IS NOT NULL AND f.server = ? ORDER BY 1`, w.Server.String())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if len(w.Names) == MaxWorstNames {
			w.MoreNames++
			continue
		}
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		w.Names = append(w.Names, n)
	}
	return rows.Err()
}

// DigestMessages are the outbox messages recorded in a period.
type DigestMessages struct {
	// States counts them by their state now (every state present).
	States map[OutboxState]int64
	// Recipients and Findings count the distinct recipients and findings
	// of the messages the relay accepted.
	Recipients, Findings int64
}

// DigestMessages reads the messages recorded in [since, until).
func (db *DB) DigestMessages(ctx context.Context, since, until time.Time) (DigestMessages, error) {
	const op = "digest messages"
	m := DigestMessages{States: map[OutboxState]int64{}}
	for _, s := range values[OutboxState](outboxStateNames[:]) {
		m.States[s] = 0
	}
	s, u := since.UnixNano(), until.UnixNano()
	type state struct {
		name string
		n    int64
	}
	states, err := queryAll(ctx, db, op, func(r rowScanner) (state, error) {
		var st state
		return st, r.Scan(&st.name, &st.n)
	}, "SELECT state, count(*) FROM outbox WHERE created_at >= ? AND created_at < ? GROUP BY state", s, u)
	if err != nil {
		return DigestMessages{}, err
	}
	for _, st := range states {
		v, err := ParseOutboxState(st.name)
		if err != nil {
			return DigestMessages{}, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
		m.States[v] = st.n
	}
	err = db.db.QueryRowContext(ctx, `SELECT count(DISTINCT o.recipient), count(DISTINCT f.finding_id)
		FROM outbox o JOIN outbox_findings f ON f.outbox_id = o.id
		WHERE o.created_at >= ? AND o.created_at < ? AND o.state = 'sent'`, s, u).Scan(&m.Recipients, &m.Findings)
	if err != nil {
		return DigestMessages{}, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	return m, nil
}
