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
	QName string
	// Server keeps its IPv6 scope (fe80::1%2), as Count.Server.
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
	// ConfirmedAt is when the finding last became lame or unresponsive;
	// zero while it is neither.
	ConfirmedAt time.Time

	// Contact is the address notify mails the finding to now and
	// ContactSource the step of the contact chain it came from ("" and 0:
	// none yet, or none left). NeedsHuman is set when every candidate was
	// passed over (docs/notify.md, section 2).
	Contact       string
	ContactSource ContactSource
	NeedsHuman    bool
	// LastNotified is when the relay last accepted a message listing the
	// finding; zero if never.
	LastNotified time.Time
	// Weight is the evidence weight in days (docs/verification.md,
	// section 5): what is costly to forge — two resolver programs, many
	// days, a long span, many events — counts as that many days of
	// waiting in DueFindings's order.
	Weight int
}

// Filter selects findings for Findings and DueFindings; zero fields do not
// filter.
type Filter struct {
	Zone     string
	Zoning   Zoning     // zoned findings, zone-less ones, or both
	Statuses []Status   // only findings with one of these statuses (empty: any)
	Server   netip.Addr // only findings of this address, scope included (any port)
	Since    time.Time  // only findings whose LastSeen is at or after Since
	// ProbedBefore keeps findings never probed or last probed before it.
	ProbedBefore time.Time
	// Under keeps the findings whose zone — for a zone-less finding its
	// sample query name, else its bucket — is this absolute name or lies
	// below it (by labels as written, as for NotUnder).
	Under string
	// NotServers leaves out the findings of these addresses (scope
	// included, any port).
	NotServers []netip.Addr
	// NotUnder leaves out the findings whose zone — for a zone-less
	// finding its sample query name, else its bucket — is one of these
	// absolute names or lies below one of them (by labels as written: an
	// escaped dot counts as a boundary too).
	NotUnder []string
	// After, for DueFindings and CountFindings only, keeps the findings
	// that come after this one in verification order: a page of
	// DueFindings continues after the last finding of the page before (as
	// DueFindings returned it: its LastProbed, FirstSeen, Weight and ID).
	After *Finding
	Limit int // at most this many findings, in the order of the call
}

// Zoning selects findings by whether their zone is known.
type Zoning uint8

// The zonings of a Filter.
const (
	AnyZoning Zoning = iota // zoned and zone-less findings
	Zoned                   // only findings with a zone
	ZoneLess                // only zone-less findings, not attributed yet
	// Bucketed: zone-less findings of a named bucket, those Attribute can
	// give a zone; not the OverflowBucket, which mixes unrelated names.
	Bucketed
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
	case Bucketed:
		where, args = append(where, "zone = '' AND bucket <> ?"), append(args, OverflowBucket)
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
		where, args = append(where, "server = ?"), append(args, f.Server.String())
	}
	if !f.Since.IsZero() {
		where, args = append(where, "last_seen >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.ProbedBefore.IsZero() {
		where, args = append(where, "(last_probed IS NULL OR last_probed < ?)"), append(args, f.ProbedBefore.UnixNano())
	}
	if len(f.NotServers) > 0 {
		servers := make([]string, len(f.NotServers))
		for i, a := range f.NotServers {
			servers[i] = a.String()
		}
		cond, a := inList("server", servers)
		where, args = append(where, "NOT "+cond), append(args, a...)
	}
	if f.Under != "" {
		cond, a, err := underSQL(f.Under)
		if err != nil {
			return "", nil, fmt.Errorf("under: %w", err)
		}
		where, args = append(where, cond), append(args, a...)
	}
	for _, name := range f.NotUnder {
		cond, a, err := underSQL(name)
		if err != nil {
			return "", nil, fmt.Errorf("not under: %w", err)
		}
		where, args = append(where, "NOT "+cond), append(args, a...)
	}
	if f.After != nil {
		k := dueKey(*f.After)
		where = append(where, "("+dueKeySQL+" > ? OR ("+dueKeySQL+" = ? AND id > ?))")
		args = append(args, k, k, f.After.ID)
	}
	if f.Limit < 0 {
		return "", nil, fmt.Errorf("negative limit %d", f.Limit)
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// The evidence weight of a finding, in days (docs/verification.md, section
// 5, "Order"). Anyone who can make a resolver log a name controls what the
// logs say, so the weight counts what costs a forger most: a second
// resolver program (both BIND and Unbound logged it) 8; each further day
// with events 2, up to 14 days; each day between the first and the last
// event 1, up to 28; each power of ten of events 2, up to a million.
// A finding seen once weighs 0.
const weightSQL = `(8 * (max(json_array_length(sources), 1) - 1)
	+ 2 * (min(max((SELECT count(DISTINCT day) FROM daily_counts WHERE finding_id = findings.id), 1), 15) - 1)
	+ min((last_seen - first_seen) / 86400000000000, 28)
	+ 2 * min(length(max(count, 1)) - 1, 6))`

// dueKeySQL is where a finding stands in verification order, smallest
// first: the time it has been waiting since — its last probe, or its first
// sighting if never probed — moved earlier by its weight in days. dueKey
// computes the same from a Finding.
const dueKeySQL = `(coalesce(last_probed, first_seen) - 86400000000000 * ` + weightSQL + `)`

func dueKey(f Finding) int64 {
	since := f.LastProbed
	if since.IsZero() {
		since = f.FirstSeen
	}
	return unixNano(since) - int64(24*time.Hour)*int64(f.Weight)
}

// nameSQL is the name a finding is about: its zone, or for a zone-less
// finding its sample query name, else its bucket.
const nameSQL = `(CASE WHEN zone <> '' THEN zone WHEN qname <> '' THEN qname ELSE bucket END)`

// underSQL is the condition that a finding's name (nameSQL) is name or lies
// below it.
func underSQL(name string) (string, []any, error) {
	if !strings.HasSuffix(name, ".") {
		return "", nil, fmt.Errorf("%q is not an absolute name", name)
	}
	if name == "." {
		return "1", nil, nil
	}
	return "(" + nameSQL + " = ? OR substr(" + nameSQL + ", -?) = ?)", []any{name, len(name) + 1, "." + name}, nil
}

// findingColumns are the columns scanFinding reads, in its order.
const findingColumns = findingColumnsBase + weightSQL

// findingColumnsNoWeight are findingColumns with a weight of 0.
const findingColumnsNoWeight = findingColumnsBase + "0"

const findingColumnsBase = `id, zone, bucket, qname, server, port, server_names, sources, observed, count,
	first_seen, last_seen, status, reason, rounds, last_probed, confirmed_at,
	contact, contact_source, needs_human, last_notified, `

// findingRow is one row of findingColumns as SQLite gives it.
type findingRow struct {
	id                          int64
	zone, bucket, qname, server string
	port                        int64
	names, sources, obs         string
	count, first, last          int64
	status, reason              string
	rounds                      int64
	probed, confirmed, notified sql.NullInt64
	contact, source             string
	needsHuman                  bool
	weight                      int64
}

// scanFinding reads one row of findingColumns.
func scanFinding(r rowScanner) (Finding, error) {
	var fr findingRow
	if err := r.Scan(&fr.id, &fr.zone, &fr.bucket, &fr.qname, &fr.server, &fr.port, &fr.names, &fr.sources, &fr.obs,
		&fr.count, &fr.first, &fr.last, &fr.status, &fr.reason, &fr.rounds, &fr.probed, &fr.confirmed,
		&fr.contact, &fr.source, &fr.needsHuman, &fr.notified, &fr.weight); err != nil {
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
	}{{0, &fr.id}, {5, &fr.port}, {9, &fr.count}, {10, &fr.first}, {11, &fr.last}, {14, &fr.rounds}, {21, &fr.weight}}
	for _, c := range ints {
		if *c.dst, err = asInt64(row[c.col]); err != nil {
			return Finding{}, fmt.Errorf("column %d: %w", c.col, err)
		}
	}
	strs := []struct {
		col int
		dst *string
	}{{1, &fr.zone}, {2, &fr.bucket}, {3, &fr.qname}, {4, &fr.server}, {6, &fr.names}, {7, &fr.sources}, {8, &fr.obs},
		{12, &fr.status}, {13, &fr.reason}, {17, &fr.contact}, {18, &fr.source}}
	for _, c := range strs {
		if *c.dst, err = asString(row[c.col]); err != nil {
			return Finding{}, fmt.Errorf("column %d: %w", c.col, err)
		}
	}
	nulls := []struct {
		col int
		dst *sql.NullInt64
	}{{15, &fr.probed}, {16, &fr.confirmed}, {20, &fr.notified}}
	for _, c := range nulls {
		if row[c.col] == nil {
			continue
		}
		c.dst.Valid = true
		if c.dst.Int64, err = asInt64(row[c.col]); err != nil {
			return Finding{}, fmt.Errorf("column %d: %w", c.col, err)
		}
	}
	needs, err := asInt64(row[19])
	if err != nil {
		return Finding{}, fmt.Errorf("column 19: %w", err)
	}
	fr.needsHuman = needs != 0
	return fr.finding()
}

// finding builds the Finding of a row.
func (fr *findingRow) finding() (Finding, error) {
	fd := Finding{ID: fr.id, Zone: fr.zone, Bucket: fr.bucket, QName: fr.qname, Port: uint16(fr.port), Count: fr.count,
		Reason: fr.reason, Rounds: int(fr.rounds), Contact: fr.contact, NeedsHuman: fr.needsHuman, Weight: int(fr.weight)}
	var err error
	if fd.Server, err = netip.ParseAddr(fr.server); err != nil {
		return Finding{}, fmt.Errorf("finding %d: server: %w", fd.ID, err)
	}
	if fd.Status, err = ParseStatus(fr.status); err != nil {
		return Finding{}, fmt.Errorf("finding %d: %w", fd.ID, err)
	}
	if fr.source != "" {
		if fd.ContactSource, err = ParseContactSource(fr.source); err != nil {
			return Finding{}, fmt.Errorf("finding %d: %w", fd.ID, err)
		}
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
	fd.LastProbed = fromNullUnixNano(fr.probed)
	fd.ConfirmedAt = fromNullUnixNano(fr.confirmed)
	fd.LastNotified = fromNullUnixNano(fr.notified)
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
// only. An error from fn stops the scan and is returned as it is. The
// findings' Weight is 0: computing it costs a query per finding, and only
// DueFindings's order needs it.
func (db *DB) ScanFindings(ctx context.Context, f Filter, fn func(*Finding) error) error {
	where, args, err := f.where()
	if err == nil && f.After != nil {
		err = errors.New("after: only for due findings")
	}
	if err != nil {
		return fmt.Errorf("store: findings: %w", err)
	}
	q := "SELECT " + findingColumnsNoWeight + " FROM findings" + where + orderSQL
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, int64(f.Limit))
	}
	if err := db.eachFinding(ctx, q, args, fn); err != nil {
		if fe, ok := err.(*fnError); ok {
			return fe.err
		}
		return fmt.Errorf("store: findings %s: %w", db.path, err)
	}
	return nil
}

// EachFinding calls fn with every finding that matches f, in no particular
// order, without holding them all: the *Finding is valid only during the
// call. An error of fn ends the walk and is returned as it is. Limit does
// not apply.
func (db *DB) EachFinding(ctx context.Context, f Filter, fn func(*Finding) error) error {
	where, args, err := f.where()
	if err != nil {
		return fmt.Errorf("store: each finding: %w", err)
	}
	if err := db.eachFinding(ctx, "SELECT "+findingColumns+" FROM findings"+where, args, fn); err != nil {
		if fe, ok := err.(*fnError); ok {
			return fe.err
		}
		return fmt.Errorf("store: each finding %s: %w", db.path, err)
	}
	return nil
}

// fnError is an error of the function given to eachFinding, which the
// callers return as it is.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// eachFinding runs the query q, which selects findingColumns (or
// findingColumnsNoWeight), and calls fn with each finding. It runs on the
// driver's connection (rawconn.go): through database/sql, converting every
// column of a million rows doubles the time of a report. An error of fn is
// returned as a *fnError.
func (db *DB) eachFinding(ctx context.Context, q string, args []any, fn func(*Finding) error) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
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
				return &fnError{err}
			}
			return nil
		}, vals...)
	})
}

// DueFindings returns the findings that match f in verification order
// (docs/verification.md, section 5): by the time each has been waiting
// since its last probe (or, never probed, since it was first seen), moved
// earlier by its Weight in days; ties by ID. With a Limit SQLite keeps only
// that many rows while it orders them; f.After continues from an earlier
// page.
func (db *DB) DueFindings(ctx context.Context, f Filter) ([]Finding, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, fmt.Errorf("store: due findings: %w", err)
	}
	q := "SELECT " + findingColumns + " FROM findings" + where + " ORDER BY " + dueKeySQL + ", id"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return queryAll(ctx, db, "due findings", scanFinding, q, args...)
}

// CountFindings returns how many findings match f, its Limit aside.
func (db *DB) CountFindings(ctx context.Context, f Filter) (int, error) {
	where, args, err := f.where()
	if err != nil {
		return 0, fmt.Errorf("store: count findings: %w", err)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM findings"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count findings %s: %w", db.path, err)
	}
	return n, nil
}

// LossyCandidates returns the zones known for a server address and port —
// of its zoned findings, and those its zone-less findings were attributed
// to (Attribute) — that hold a character other than a-z, 0-9, '.', '*',
// '_' and '-': an escape (we\.ird.lab.) or another octet Unbound prints as
// '?' (docs/verification.md, section 1). They come in byte order, without
// duplicates, from an index of such zones only (migration 0003).
func (db *DB) LossyCandidates(ctx context.Context, server netip.Addr, port uint16) ([]string, error) {
	// The GLOB is the partial index's condition, word for word.
	rows, err := db.db.QueryContext(ctx, `SELECT zone FROM findings
		WHERE server = ?1 AND port = ?2 AND zone GLOB '*[^a-z0-9.*_-]*'
		UNION SELECT zone FROM attributions WHERE server = ?1 AND port = ?2 AND zone GLOB '*[^a-z0-9.*_-]*'
		ORDER BY 1`, server.String(), int(port))
	if err != nil {
		return nil, fmt.Errorf("store: lossy candidates for %s#%d %s: %w", server, port, db.path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return nil, fmt.Errorf("store: lossy candidates for %s#%d %s: %w", server, port, db.path, err)
		}
		out = append(out, z)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lossy candidates for %s#%d %s: %w", server, port, db.path, err)
	}
	return out, nil
}

// UnprintableFindings returns at most limit findings whose zone holds a
// character Unbound would print as '?' — Unbound's lossy names among them
// — and whose status and reason are these, oldest first. It reads the
// partial index of migration 0003, not the findings table: verification
// asks it every run for the lossy names it could not merge yet.
func (db *DB) UnprintableFindings(ctx context.Context, status Status, reason string, limit int) ([]Finding, error) {
	if !valid(statusNames[:], status) || limit <= 0 {
		return nil, fmt.Errorf("store: unprintable findings: status %v, limit %d", status, limit)
	}
	// The GLOB is the partial index's condition, word for word.
	q := "SELECT " + findingColumnsNoWeight + ` FROM findings INDEXED BY findings_unprintable
		WHERE zone GLOB '*[^a-z0-9.*_-]*' AND status = ? AND reason = ? ORDER BY id LIMIT ?`
	var fs []Finding
	err := db.eachFinding(ctx, q, []any{status.String(), reason, int64(limit)}, func(f *Finding) error {
		fs = append(fs, *f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: unprintable findings %s: %w", db.path, err)
	}
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
// moves last_probed forward to at. A finding that becomes lame or
// unresponsive is confirmed at at (and stays confirmed since then while it
// remains either); one that becomes anything else is no longer confirmed
// and no longer needs a human. A status that changes records at as its
// status_at (the digest's "became fixed in the period").
func updateFinding(ctx context.Context, tx *sql.Tx, id int64, at time.Time, u FindingUpdate, rounds int) error {
	confirmed := u.Status == StatusLame || u.Status == StatusUnresponsive
	// The right-hand sides read the row as it was before the update.
	res, err := tx.ExecContext(ctx, `UPDATE findings SET status = ?1, reason = ?2, server_names = ?3,
		rounds = rounds + ?4, last_probed = max(coalesce(last_probed, 0), ?5),
		confirmed_at = CASE WHEN ?6 THEN coalesce(confirmed_at, ?5) END,
		needs_human = CASE WHEN ?6 THEN needs_human ELSE 0 END,
		status_at = CASE WHEN status = ?1 THEN status_at ELSE ?5 END
		WHERE id = ?7`,
		u.Status.String(), u.Reason, jsonSet(sortedSet(u.ServerNames)), rounds, at.UnixNano(), confirmed, id)
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
