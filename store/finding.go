package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Finding is one (zone, bucket, server, port) with its totals and, once
// verification has run, its verdict.
type Finding struct {
	ID int64
	// Zone is "" for zone-less evidence not yet attributed by verification;
	// Bucket then groups its query names (OverflowBucket past the cap).
	Zone, Bucket string
	// QName is one sample query name.
	QName  string
	Server netip.Addr
	Port   uint16
	// ServerNames are the NS names pointing at Server, empty until
	// verification fills them.
	ServerNames []string
	Sources     []string // sorted subset of bind, unbound
	Observed    []string // sorted evidence kinds
	// Count is the number of events ever counted; it survives Prune.
	Count               int64
	FirstSeen, LastSeen time.Time
	// Status is "new" until verification.
	Status     string
	Reason     string
	Rounds     int
	LastProbed time.Time // zero if never
}

// Filter selects findings; zero fields do not filter.
type Filter struct {
	Zone   string
	Status string
	// Statuses keeps only findings with one of these statuses (empty: any);
	// it applies together with Status.
	Statuses []string
	Since    time.Time // LastSeen at or after Since
	Server   netip.Addr
}

// findingColumns are the columns scanFinding reads, in its order.
const findingColumns = `id, zone, bucket, qname, server, port, server_names, sources, observed, count,
	first_seen, last_seen, status, reason, rounds, last_probed`

// scanFinding reads one row of findingColumns.
func scanFinding(r rowScanner) (Finding, error) {
	var (
		fd                          Finding
		server, names, sources, obs string
		port                        int
		first, last                 int64
		probed                      sql.NullInt64
	)
	if err := r.Scan(&fd.ID, &fd.Zone, &fd.Bucket, &fd.QName, &server, &port, &names, &sources, &obs,
		&fd.Count, &first, &last, &fd.Status, &fd.Reason, &fd.Rounds, &probed); err != nil {
		return Finding{}, err
	}
	var err error
	if fd.Server, err = netip.ParseAddr(server); err != nil {
		return Finding{}, fmt.Errorf("finding %d: server: %w", fd.ID, err)
	}
	fd.Port = uint16(port)
	for _, s := range []struct {
		name string
		src  string
		dst  *[]string
	}{{"server_names", names, &fd.ServerNames}, {"sources", sources, &fd.Sources}, {"observed", obs, &fd.Observed}} {
		if err := json.Unmarshal([]byte(s.src), s.dst); err != nil {
			return Finding{}, fmt.Errorf("finding %d: %s: %w", fd.ID, s.name, err)
		}
	}
	fd.FirstSeen, fd.LastSeen = fromUnixNano(first), fromUnixNano(last)
	if probed.Valid {
		fd.LastProbed = fromUnixNano(probed.Int64)
	}
	return fd, nil
}

// queryFindings runs a SELECT of findingColumns and scans every row.
func (db *DB) queryFindings(ctx context.Context, op, q string, args ...any) ([]Finding, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	defer rows.Close()
	var fs []Finding
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
		}
		fs = append(fs, fd)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", op, db.path, err)
	}
	return fs, nil
}

// inList returns "col IN (?, ?, …)" and its arguments.
func inList(col string, vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}

// Findings returns the findings that match f, ordered by zone, server (IPv4
// before IPv6, numerically), port and bucket.
func (db *DB) Findings(ctx context.Context, f Filter) ([]Finding, error) {
	var where []string
	var args []any
	if f.Zone != "" {
		where, args = append(where, "zone = ?"), append(args, f.Zone)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if len(f.Statuses) > 0 {
		cond, a := inList("status", f.Statuses)
		where, args = append(where, cond), append(args, a...)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "last_seen >= ?"), append(args, f.Since.UnixNano())
	}
	if f.Server.IsValid() {
		where, args = append(where, "server = ?"), append(args, f.Server.WithZone("").String())
	}
	q := "SELECT " + findingColumns + " FROM findings"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	fs, err := db.queryFindings(ctx, "findings", q, args...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			strings.Compare(a.Zone, b.Zone),
			a.Server.Compare(b.Server),
			cmp.Compare(a.Port, b.Port),
			strings.Compare(a.Bucket, b.Bucket),
		)
	})
	return fs, nil
}

// Finding returns the finding with the given ID, or an error wrapping
// ErrNotFound.
func (db *DB) Finding(ctx context.Context, id int64) (Finding, error) {
	return findingByID(ctx, db.db, db.path, id)
}

func findingByID(ctx context.Context, q queryRower, path string, id int64) (Finding, error) {
	fd, err := scanFinding(q.QueryRowContext(ctx, "SELECT "+findingColumns+" FROM findings WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Finding{}, fmt.Errorf("store: finding %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Finding{}, fmt.Errorf("store: finding %d %s: %w", id, path, err)
	}
	return fd, nil
}

// DailyCounts returns the events of one finding per UTC day (all sources and
// evidence kinds together), for the days at or after since ("" for all).
func (db *DB) DailyCounts(ctx context.Context, findingID int64, since string) (map[string]int64, error) {
	if since != "" {
		if _, err := time.Parse(dayLayout, since); err != nil {
			return nil, fmt.Errorf("store: daily counts: day %q is not YYYY-MM-DD", since)
		}
	}
	rows, err := db.db.QueryContext(ctx,
		"SELECT day, sum(n) FROM daily_counts WHERE finding_id = ? AND day >= ? GROUP BY day", findingID, since)
	if err != nil {
		return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
	}
	defer rows.Close()
	m := make(map[string]int64)
	for rows.Next() {
		var day string
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
		}
		m[day] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
	}
	return m, nil
}

// KeepRounds is the number of newest probe rounds of each finding that Prune
// keeps however old they are: the confirmation policy needs a finding's
// recent history (a lame verdict stays lame until an authoritative round),
// while the digest needs no round older than the retention.
const KeepRounds = 10

// Prune deletes what is older than the retention day `before` (YYYY-MM-DD,
// UTC): the daily counts of the days before it, and the probe rounds made
// before its first instant except each finding's newest KeepRounds. It
// returns how many rows (daily counts and rounds) went. Findings keep their
// Count, FirstSeen, LastSeen, Rounds and verdict.
func (db *DB) Prune(ctx context.Context, before string) (int64, error) {
	day, err := time.Parse(dayLayout, before)
	if err != nil {
		return 0, fmt.Errorf("store: prune: day %q is not YYYY-MM-DD", before)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	defer tx.Rollback()
	var total int64
	for _, st := range []struct {
		what, query string
		args        []any
	}{
		{"daily counts", "DELETE FROM daily_counts WHERE day < ?", []any{before}},
		{"rounds", `DELETE FROM rounds WHERE at < ? AND id NOT IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY finding_id ORDER BY at DESC, id DESC) AS rn
				FROM rounds) WHERE rn <= ?)`, []any{day.UnixNano(), KeepRounds}},
	} {
		r, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return 0, fmt.Errorf("store: prune %s %s: %w", st.what, db.path, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: prune %s %s: %w", st.what, db.path, err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	return total, nil
}
