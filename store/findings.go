package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	// Status is StatusNew until verification.
	Status     Status
	Reason     string
	Rounds     int
	LastProbed time.Time // zero if never
}

// Filter selects findings for Findings and DueFindings; zero fields do not
// filter.
type Filter struct {
	Zone     string
	Zoning   Zoning     // zoned findings, zone-less ones, or both
	Statuses []Status   // only findings with one of these statuses (empty: any)
	Server   netip.Addr // only findings of this address (any port)
	Since    time.Time  // only findings whose LastSeen is at or after Since
	// ProbedBefore keeps findings never probed or last probed before it.
	ProbedBefore time.Time
	Limit        int // at most this many findings, in the order of the call
}

// Zoning selects findings by whether their zone is known.
type Zoning uint8

// The zonings of a Filter.
const (
	AnyZoning Zoning = iota // zoned and zone-less findings
	Zoned                   // only findings with a zone
	ZoneLess                // only zone-less findings, not attributed yet
)

// where returns f as an SQL condition ("" for none) and its arguments.
func (f Filter) where() (string, []any, error) {
	var where []string
	var args []any
	if f.Zone != "" {
		where, args = append(where, "zone = ?"), append(args, f.Zone)
	}
	switch f.Zoning {
	case AnyZoning:
	case Zoned:
		where = append(where, "zone <> ''")
	case ZoneLess:
		where = append(where, "zone = ''")
	default:
		return "", nil, fmt.Errorf("unknown zoning %d", f.Zoning)
	}
	if len(f.Statuses) > 0 {
		names := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			if !valid(statusNames[:], s) {
				return "", nil, fmt.Errorf("unknown status %v", s)
			}
			names[i] = s.String()
		}
		cond, a := inList("status", names)
		where, args = append(where, cond), append(args, a...)
	}
	if f.Server.IsValid() {
		where, args = append(where, "server = ?"), append(args, f.Server.WithZone("").String())
	}
	if !f.Since.IsZero() {
		where, args = append(where, "last_seen >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.ProbedBefore.IsZero() {
		where, args = append(where, "(last_probed IS NULL OR last_probed < ?)"), append(args, f.ProbedBefore.UnixNano())
	}
	if f.Limit < 0 {
		return "", nil, fmt.Errorf("negative limit %d", f.Limit)
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// findingColumns are the columns scanFinding reads, in its order.
const findingColumns = `id, zone, bucket, qname, server, port, server_names, sources, observed, count,
	first_seen, last_seen, status, reason, rounds, last_probed`

// findingRow is one row of findingColumns as SQLite gives it.
type findingRow struct {
	id                          int64
	zone, bucket, qname, server string
	port                        int64
	names, sources, obs         string
	count, first, last          int64
	status, reason              string
	rounds                      int64
	probed                      sql.NullInt64
}

// scanFinding reads one row of findingColumns.
func scanFinding(r rowScanner) (Finding, error) {
	var fr findingRow
	if err := r.Scan(&fr.id, &fr.zone, &fr.bucket, &fr.qname, &fr.server, &fr.port, &fr.names, &fr.sources, &fr.obs,
		&fr.count, &fr.first, &fr.last, &fr.status, &fr.reason, &fr.rounds, &fr.probed); err != nil {
		return Finding{}, err
	}
	return fr.finding()
}

// findingValues reads one row of findingColumns as the driver gives it.
func findingValues(row []driver.Value) (Finding, error) {
	var fr findingRow
	var err error
	ints := []struct {
		col int
		dst *int64
	}{{0, &fr.id}, {5, &fr.port}, {9, &fr.count}, {10, &fr.first}, {11, &fr.last}, {14, &fr.rounds}}
	for _, c := range ints {
		if *c.dst, err = asInt64(row[c.col]); err != nil {
			return Finding{}, fmt.Errorf("column %d: %w", c.col, err)
		}
	}
	strs := []struct {
		col int
		dst *string
	}{{1, &fr.zone}, {2, &fr.bucket}, {3, &fr.qname}, {4, &fr.server}, {6, &fr.names}, {7, &fr.sources}, {8, &fr.obs},
		{12, &fr.status}, {13, &fr.reason}}
	for _, c := range strs {
		if *c.dst, err = asString(row[c.col]); err != nil {
			return Finding{}, fmt.Errorf("column %d: %w", c.col, err)
		}
	}
	if row[15] != nil {
		fr.probed.Valid = true
		if fr.probed.Int64, err = asInt64(row[15]); err != nil {
			return Finding{}, fmt.Errorf("column 15: %w", err)
		}
	}
	return fr.finding()
}

// finding builds the Finding of a row.
func (fr *findingRow) finding() (Finding, error) {
	fd := Finding{ID: fr.id, Zone: fr.zone, Bucket: fr.bucket, QName: fr.qname, Port: uint16(fr.port), Count: fr.count,
		Reason: fr.reason, Rounds: int(fr.rounds)}
	var err error
	if fd.Server, err = netip.ParseAddr(fr.server); err != nil {
		return Finding{}, fmt.Errorf("finding %d: server: %w", fd.ID, err)
	}
	if fd.Status, err = ParseStatus(fr.status); err != nil {
		return Finding{}, fmt.Errorf("finding %d: %w", fd.ID, err)
	}
	for _, s := range []struct {
		name string
		src  string
		dst  *[]string
	}{{"server_names", fr.names, &fd.ServerNames}, {"sources", fr.sources, &fd.Sources}, {"observed", fr.obs, &fd.Observed}} {
		if *s.dst, err = parseSet(s.src); err != nil {
			return Finding{}, fmt.Errorf("finding %d: %s: %w", fd.ID, s.name, err)
		}
	}
	fd.FirstSeen, fd.LastSeen = fromUnixNano(fr.first), fromUnixNano(fr.last)
	if fr.probed.Valid {
		fd.LastProbed = fromUnixNano(fr.probed.Int64)
	}
	return fd, nil
}

// parseSet reads a JSON set as jsonSet writes it. Sets without escapes
// (every evidence kind and source, nearly every name) are split without
// encoding/json, which costs a report of a million findings seconds.
func parseSet(s string) ([]string, error) {
	if s == "[]" {
		return nil, nil
	}
	if inner, ok := strings.CutPrefix(s, `["`); ok && !strings.ContainsRune(s, '\\') {
		if inner, ok = strings.CutSuffix(inner, `"]`); ok {
			return strings.Split(inner, `","`), nil
		}
	}
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
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
// before IPv6, numerically), port and bucket. ScanFindings gives them one
// at a time.
func (db *DB) Findings(ctx context.Context, f Filter) ([]Finding, error) {
	var fs []Finding
	err := db.ScanFindings(ctx, f, func(fd *Finding) error {
		fs = append(fs, *fd)
		return nil
	})
	return fs, err
}

// ScanFindings calls fn with each finding that matches f, in the order of
// Findings, reading them from SQLite as it goes: a report of a million
// findings never holds them all. The *Finding is valid during the call
// only. An error from fn stops the scan and is returned as it is.
func (db *DB) ScanFindings(ctx context.Context, f Filter, fn func(*Finding) error) error {
	where, args, err := f.where()
	if err != nil {
		return fmt.Errorf("store: findings: %w", err)
	}
	q := "SELECT " + findingColumns + " FROM findings" + where + orderSQL
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, int64(f.Limit))
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: findings %s: %w", db.path, err)
	}
	defer conn.Close()
	// On the driver's connection (rawconn.go): through database/sql, the
	// conversion of every column of a million rows doubles the time of a
	// report.
	var fnErr error
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		vals := make([]driver.Value, len(args))
		for i, a := range args {
			vals[i] = a
		}
		n := 0
		return queryRaw(c, q, func(row []driver.Value) error {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			fd, err := findingValues(row)
			if err != nil {
				return err
			}
			if err := fn(&fd); err != nil {
				fnErr = err
				return err
			}
			return nil
		}, vals...)
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("store: findings %s: %w", db.path, err)
	}
	return nil
}

// DueFindings returns the findings that match f in the order verification
// probes them: never-probed ones first, then by oldest last_probed; ties by
// ID.
func (db *DB) DueFindings(ctx context.Context, f Filter) ([]Finding, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, fmt.Errorf("store: due findings: %w", err)
	}
	q := "SELECT " + findingColumns + " FROM findings" + where + " ORDER BY last_probed IS NOT NULL, last_probed, id"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return queryAll(ctx, db, "due findings", scanFinding, q, args...)
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

// FindingUpdate is a finding's verdict as verification decides it.
type FindingUpdate struct {
	Status Status
	Reason string
	// ServerNames are the NS names pointing at the server in the current
	// delegation, canonical as the resolver gives them; stored sorted and
	// without duplicates.
	ServerNames []string
}

func (u FindingUpdate) validate() error {
	if !valid(statusNames[:], u.Status) {
		return fmt.Errorf("unknown status %v", u.Status)
	}
	return nil
}

// SetStatus updates a finding's status, reason and server_names without a
// probe round — stale: the zone is no longer delegated or the address is not
// in the delegation; or a zone-less finding that no delegation above its
// sample query name lists (it stays zone-less) — and moves last_probed
// forward to at. The finding must exist (ErrNotFound).
func (db *DB) SetStatus(ctx context.Context, findingID int64, at time.Time, u FindingUpdate) error {
	if at.IsZero() {
		return fmt.Errorf("store: set status of finding %d: no time", findingID)
	}
	if err := u.validate(); err != nil {
		return fmt.Errorf("store: set status of finding %d: %w", findingID, err)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("store: set status of finding %d %s: %w", findingID, db.path, err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "SELECT 1 FROM findings WHERE id = ?", findingID).Scan(new(int)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: set status of finding %d: %w", findingID, ErrNotFound)
		}
		return fmt.Errorf("store: set status of finding %d %s: %w", findingID, db.path, err)
	}
	if err := updateFinding(ctx, tx, findingID, at.UTC(), u, 0); err != nil {
		return fmt.Errorf("store: set status of finding %d %s: %w", findingID, db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: set status of finding %d %s: %w", findingID, db.path, err)
	}
	return nil
}

// updateFinding sets a finding's verdict, adds rounds to its round count and
// moves last_probed forward to at.
func updateFinding(ctx context.Context, tx *sql.Tx, id int64, at time.Time, u FindingUpdate, rounds int) error {
	res, err := tx.ExecContext(ctx, `UPDATE findings SET status = ?, reason = ?, server_names = ?,
		rounds = rounds + ?, last_probed = max(coalesce(last_probed, 0), ?) WHERE id = ?`,
		u.Status.String(), u.Reason, jsonSet(sortedSet(u.ServerNames)), rounds, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("update finding: %d rows changed", n)
	}
	return nil
}

// sortedSet returns s sorted, without duplicates or empty strings.
func sortedSet(s []string) []string {
	s = slices.DeleteFunc(slices.Clone(s), func(v string) bool { return v == "" })
	slices.Sort(s)
	return slices.Compact(s)
}
