package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
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
	Since  time.Time // LastSeen at or after Since
	Server netip.Addr
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
	if !f.Since.IsZero() {
		where, args = append(where, "last_seen >= ?"), append(args, f.Since.UnixNano())
	}
	if f.Server.IsValid() {
		where, args = append(where, "server = ?"), append(args, f.Server.WithZone("").String())
	}
	q := `SELECT id, zone, bucket, qname, server, port, server_names, sources, observed, count,
		first_seen, last_seen, status, reason, rounds, last_probed FROM findings`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: findings %s: %w", db.path, err)
	}
	defer rows.Close()
	var fs []Finding
	for rows.Next() {
		var (
			fd                          Finding
			server, names, sources, obs string
			port                        int
			first, last                 int64
			probed                      sql.NullInt64
		)
		if err := rows.Scan(&fd.ID, &fd.Zone, &fd.Bucket, &fd.QName, &server, &port, &names, &sources, &obs,
			&fd.Count, &first, &last, &fd.Status, &fd.Reason, &fd.Rounds, &probed); err != nil {
			return nil, fmt.Errorf("store: findings %s: %w", db.path, err)
		}
		if fd.Server, err = netip.ParseAddr(server); err != nil {
			return nil, fmt.Errorf("store: finding %d: server: %w", fd.ID, err)
		}
		fd.Port = uint16(port)
		for _, s := range []struct {
			name string
			src  string
			dst  *[]string
		}{{"server_names", names, &fd.ServerNames}, {"sources", sources, &fd.Sources}, {"observed", obs, &fd.Observed}} {
			if err := json.Unmarshal([]byte(s.src), s.dst); err != nil {
				return nil, fmt.Errorf("store: finding %d: %s: %w", fd.ID, s.name, err)
			}
		}
		fd.FirstSeen, fd.LastSeen = fromUnixNano(first), fromUnixNano(last)
		if probed.Valid {
			fd.LastProbed = fromUnixNano(probed.Int64)
		}
		fs = append(fs, fd)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: findings %s: %w", db.path, err)
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

// Prune deletes the daily counts of the days before `before` (YYYY-MM-DD,
// UTC) and returns how many rows went. Findings keep their Count, FirstSeen
// and LastSeen.
func (db *DB) Prune(ctx context.Context, before string) (int64, error) {
	if _, err := time.Parse(dayLayout, before); err != nil {
		return 0, fmt.Errorf("store: prune: day %q is not YYYY-MM-DD", before)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, "DELETE FROM daily_counts WHERE day < ?", before)
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", db.path, err)
	}
	return n, nil
}
