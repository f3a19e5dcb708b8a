package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The findings upsert (Commit step 2) is the hot path of ingest: a batch can
// carry 50,000 counts. Each finding costs one INSERT … ON CONFLICT DO UPDATE
// statement that merges the totals and the evidence sets in SQL (plus, for a
// zone-less finding, an existence check for the cap). The daily rows are
// upserted dailyChunk at a time, joined to their findings by key, so no
// finding ID travels back to Go. (Measured: RETURNING, or a SELECT per
// finding, makes a batch 2–5 times slower through database/sql.)

// dailyChunk is the number of daily rows per multi-row INSERT.
const dailyChunk = 64

// mergeSetSQL merges the JSON set in column col of the stored row with the
// one being inserted: a sorted union, computed only when they differ.
func mergeSetSQL(col string) string {
	return col + ` = CASE WHEN ` + col + ` = excluded.` + col + ` THEN ` + col + ` ELSE
		(SELECT json_group_array(value) FROM
			(SELECT value FROM json_each(findings.` + col + `) UNION SELECT value FROM json_each(excluded.` + col + `) ORDER BY 1))
		END`
}

// upsertFindingSQL adds one aggregate to its finding, creating it if need be.
func upsertFindingSQL() string {
	return `INSERT INTO findings (zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (zone, bucket, server, port) DO UPDATE SET
		qname = CASE WHEN qname = '' THEN excluded.qname ELSE qname END,
		count = count + excluded.count,
		first_seen = min(first_seen, excluded.first_seen),
		last_seen = max(last_seen, excluded.last_seen),
		` + mergeSetSQL("sources") + `,
		` + mergeSetSQL("observed")
}

const (
	existsSQL = `SELECT 1 FROM findings WHERE zone = '' AND bucket = ? AND server = ? AND port = ?`
	// The planner would otherwise walk the unique (zone, …) index over every
	// zone-less finding (measured: 45 % of a large scan's CPU).
	countZonelessSQL = `SELECT count(*) FROM findings INDEXED BY findings_zoneless WHERE server = ? AND zone = '' AND bucket <> '*'`
	// routeSQL finds the zone a bucket was attributed to (attributions_route).
	routeSQL = `SELECT zone FROM attributions WHERE server = ? AND port = ? AND bucket = ? AND bucket <> '*'`
)

// dailySQL returns the multi-row daily_counts upsert for rows rows; each row
// is (zone, bucket, server, port, day, source, evidence, n).
func dailySQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO daily_counts (finding_id, day, source, evidence, n)
		SELECT f.id, v.column5, v.column6, v.column7, v.column8 FROM (VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	b.WriteString(`) AS v JOIN findings AS f
			ON f.zone = v.column1 AND f.bucket = v.column2 AND f.server = v.column3 AND f.port = v.column4
		WHERE true
		ON CONFLICT (finding_id, day, source, evidence) DO UPDATE SET n = n + excluded.n`)
	return b.String()
}

// findingTx is one Commit's findings upsert.
type findingTx struct {
	ctx                      context.Context
	tx                       *sql.Tx
	upsert, exists, zoneless *sql.Stmt
	route                    *sql.Stmt
	zonelessN                map[netip.Addr]int // named zone-less findings per server, loaded lazily
	touched                  map[findingKey]bool
}

// upsertFindings is Commit step 2.
func upsertFindings(ctx context.Context, tx *sql.Tx, aggs []*agg, daily []dailyRow) (CommitResult, error) {
	if len(aggs) == 0 {
		return CommitResult{}, nil
	}
	// Statements run without ctx's cancellation: go-sqlite3 starts a
	// goroutine per statement to watch a cancellable context. Cancellation
	// is checked between findings instead (and rolls the transaction back).
	f := &findingTx{
		ctx:       context.WithoutCancel(ctx),
		tx:        tx,
		zonelessN: make(map[netip.Addr]int),
		touched:   make(map[findingKey]bool),
	}
	// Finding IDs only grow (AUTOINCREMENT) and no one else writes during
	// this transaction: the new findings are those above the current maximum.
	var maxBefore int64
	if err := tx.QueryRowContext(f.ctx, "SELECT coalesce(max(id), 0) FROM findings").Scan(&maxBefore); err != nil {
		return CommitResult{}, fmt.Errorf("read findings: %w", err)
	}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&f.upsert, upsertFindingSQL()},
		{&f.exists, existsSQL},
		{&f.zoneless, countZonelessSQL},
		{&f.route, routeSQL},
	} {
		s, err := tx.PrepareContext(f.ctx, p.query)
		if err != nil {
			return CommitResult{}, fmt.Errorf("prepare: %w", err)
		}
		defer s.Close()
		*p.dst = s
	}
	for i, a := range aggs {
		if i%1024 == 0 && ctx.Err() != nil {
			return CommitResult{}, ctx.Err()
		}
		if err := f.upsertOne(a); err != nil {
			return CommitResult{}, err
		}
	}
	if err := f.insertDaily(daily); err != nil {
		return CommitResult{}, err
	}
	var created int
	if err := tx.QueryRowContext(f.ctx, "SELECT count(*) FROM findings WHERE id > ?", maxBefore).Scan(&created); err != nil {
		return CommitResult{}, fmt.Errorf("count new findings: %w", err)
	}
	return CommitResult{NewFindings: created, UpdatedFindings: len(f.touched) - created}, nil
}

// upsertOne merges a into its finding. A zone-less aggregate without a
// finding of its own goes to the zoned finding its bucket was attributed to
// (Attribute), or else, when its server is at the cap, to the server's
// overflow finding; a.key then becomes that finding's key.
func (f *findingTx) upsertOne(a *agg) error {
	k := &a.key
	server := k.server.String()
	if k.zone == "" && k.bucket != OverflowBucket {
		err := f.exists.QueryRowContext(f.ctx, k.bucket, server, int(k.port)).Scan(new(int))
		if errors.Is(err, sql.ErrNoRows) {
			err = f.redirect(k, server)
		}
		if err != nil {
			return fmt.Errorf("read finding %s: %w", findingName(*k), err)
		}
	}
	if _, err := f.upsert.ExecContext(f.ctx, k.zone, k.bucket, server, int(k.port), a.qname,
		jsonSet(a.sources), jsonSet(a.observed), a.n, unixNano(a.first), unixNano(a.last)); err != nil {
		return fmt.Errorf("upsert finding %s: %w", findingName(*k), err)
	}
	f.touched[*k] = true
	return nil
}

// redirect handles a zone-less key that has no finding yet: an attributed
// bucket goes to its zone; otherwise the key keeps its bucket while the
// server has fewer than MaxZonelessPerServer unattributed zone-less
// findings, and goes to the overflow bucket past that.
func (f *findingTx) redirect(k *findingKey, server string) error {
	var zone string
	err := f.route.QueryRowContext(f.ctx, server, int(k.port), k.bucket).Scan(&zone)
	switch {
	case err == nil:
		k.zone, k.bucket = zone, ""
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read attribution: %w", err)
	}
	n, ok := f.zonelessN[k.server]
	if !ok {
		if err := f.zoneless.QueryRowContext(f.ctx, server).Scan(&n); err != nil {
			return fmt.Errorf("count zone-less findings of %s: %w", server, err)
		}
	}
	if n >= MaxZonelessPerServer {
		k.bucket = OverflowBucket
	} else {
		n++
	}
	f.zonelessN[k.server] = n
	return nil
}

// insertDaily upserts the daily rows, dailyChunk per statement. Rows of the
// same finding, day, source and evidence (possible after overflow
// redirection) add up like rows already stored.
func (f *findingTx) insertDaily(rows []dailyRow) error {
	var full, rest *sql.Stmt
	args := make([]any, 0, 8*dailyChunk)
	for chunk := range slices.Chunk(rows, dailyChunk) {
		stmt := full
		if len(chunk) < dailyChunk {
			stmt = rest
		}
		if stmt == nil {
			s, err := f.tx.PrepareContext(f.ctx, dailySQL(len(chunk)))
			if err != nil {
				return fmt.Errorf("prepare daily counts: %w", err)
			}
			defer s.Close()
			stmt = s
			if len(chunk) == dailyChunk {
				full = s
			} else {
				rest = s
			}
		}
		args = args[:0]
		for _, r := range chunk {
			k := r.agg.key
			args = append(args, k.zone, k.bucket, k.server.String(), int(k.port), r.day, r.source, r.evidence, r.n)
		}
		r, err := stmt.ExecContext(f.ctx, args...)
		if err != nil {
			return fmt.Errorf("daily counts: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("daily counts: %d of %d rows written (%v)", n, len(chunk), err)
		}
	}
	return nil
}

// mergeJSONSet adds add (sorted) to the JSON set stored and returns it
// encoded.
func mergeJSONSet(stored string, add []string) (string, error) {
	var set []string
	if err := json.Unmarshal([]byte(stored), &set); err != nil {
		return "", err
	}
	for _, s := range add {
		set = addToSet(set, s)
	}
	return jsonSet(set), nil
}

// jsonSet encodes a sorted set as a JSON array ("[]" for none).
func jsonSet(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	// The format of SQLite's json_group_array: no HTML escaping, no spaces,
	// so that unchanged sets compare equal as text.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // cannot happen for []string
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func findingName(k findingKey) string {
	if k.zone != "" {
		return fmt.Sprintf("zone %s %s#%d", k.zone, k.server, k.port)
	}
	return fmt.Sprintf("bucket %q %s#%d", k.bucket, k.server, k.port)
}
