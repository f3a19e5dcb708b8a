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
)

// The findings upsert (Commit step 2) is the hot path of ingest: a batch can
// carry 50,000 counts. Each finding costs one INSERT … ON CONFLICT DO UPDATE
// statement that merges the totals and the evidence sets in SQL (plus, for a
// zone-less finding, an existence check for the cap). The daily rows are
// upserted dailyChunk at a time by finding id: the ids of new findings come
// back in one range scan, those of existing ones by key. (Measured: daily
// rows joined to findings by their text key cost 8 µs each, by id 2 µs;
// RETURNING on the upsert was slower than the range scan.)

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
	// lookupSQL tells, in one round trip, whether a zone-less finding has
	// its row, and the zone its bucket was attributed to ("" if none; the
	// index attributions_route).
	lookupSQL = `SELECT EXISTS (SELECT 1 FROM findings WHERE zone = '' AND bucket = ?1 AND server = ?2 AND port = ?3),
		coalesce((SELECT zone FROM attributions WHERE server = ?2 AND port = ?3 AND bucket = ?1 AND bucket <> '*'), '')`
	// The planner would otherwise walk the unique (zone, …) index over every
	// zone-less finding (measured: 45 % of a large scan's CPU).
	countZonelessSQL = `SELECT count(*) FROM findings INDEXED BY findings_zoneless WHERE server = ? AND zone = '' AND bucket <> '*'`
	idSQL            = `SELECT id FROM findings WHERE zone = ? AND bucket = ? AND server = ? AND port = ?`
)

// dailySQL returns the multi-row daily_counts upsert for rows rows; each row
// is (finding_id, day, source, evidence, n).
func dailySQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO daily_counts (finding_id, day, source, evidence, n) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (finding_id, day, source, evidence) DO UPDATE SET n = n + excluded.n`)
	return b.String()
}

// findingTx is one Commit's findings upsert.
type findingTx struct {
	ctx                      context.Context
	tx                       *sql.Tx
	upsert, lookup, zoneless *sql.Stmt
	id                       *sql.Stmt
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
		{&f.lookup, lookupSQL},
		{&f.zoneless, countZonelessSQL},
		{&f.id, idSQL},
	} {
		s, err := tx.PrepareContext(f.ctx, p.query)
		if err != nil {
			return CommitResult{}, fmt.Errorf("prepare: %w", err)
		}
		defer s.Close()
		*p.dst = s
	}
	// Findings are written in the batch's order (which zone-less buckets
	// still fit under the cap depends on it, and ids follow first
	// appearance).
	for i, a := range aggs {
		if i%1024 == 0 && ctx.Err() != nil {
			return CommitResult{}, ctx.Err()
		}
		if err := f.resolveKey(a); err != nil {
			return CommitResult{}, err
		}
		if err := f.upsertOne(a); err != nil {
			return CommitResult{}, err
		}
	}
	ids, created, err := f.findingIDs(aggs, maxBefore)
	if err != nil {
		return CommitResult{}, err
	}
	// Daily rows go in primary-key order: B-tree inserts in order are
	// cheaper than in the order of first appearance.
	for i := range daily {
		id, ok := ids[daily[i].agg.key]
		if !ok {
			return CommitResult{}, fmt.Errorf("daily counts: no id for finding %s", findingName(daily[i].agg.key))
		}
		daily[i].id = id
	}
	slices.SortFunc(daily, func(a, b dailyRow) int {
		return cmp.Or(cmp.Compare(a.id, b.id), strings.Compare(a.day, b.day),
			strings.Compare(a.source, b.source), strings.Compare(a.evidence, b.evidence))
	})
	if err := f.insertDaily(daily); err != nil {
		return CommitResult{}, err
	}
	return CommitResult{NewFindings: created, UpdatedFindings: len(f.touched) - created}, nil
}

// findingIDs returns the row id of every finding the batch touched, and how
// many of them it created: the new ones in one scan of the ids above
// maxBefore, the others by key. (Daily rows keyed by id are four times
// cheaper to write than rows joined to their finding by its text key.)
func (f *findingTx) findingIDs(aggs []*agg, maxBefore int64) (map[findingKey]int64, int, error) {
	ids := make(map[findingKey]int64, len(aggs))
	rows, err := f.tx.QueryContext(f.ctx, `SELECT id, zone, bucket, server, port FROM findings WHERE id > ?`, maxBefore)
	if err != nil {
		return nil, 0, fmt.Errorf("read new findings: %w", err)
	}
	created := 0
	for rows.Next() {
		var (
			id                   int64
			zone, bucket, server string
			port                 int
		)
		if err := rows.Scan(&id, &zone, &bucket, &server, &port); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("read new findings: %w", err)
		}
		a, err := netip.ParseAddr(server)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("read new findings: server %q: %w", server, err)
		}
		ids[findingKey{zone: zone, bucket: bucket, server: a, port: uint16(port)}] = id
		created++
	}
	if err := rows.Close(); err != nil {
		return nil, 0, fmt.Errorf("read new findings: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read new findings: %w", err)
	}
	for _, a := range aggs {
		k := a.key
		if _, ok := ids[k]; ok {
			continue
		}
		var id int64
		if err := f.id.QueryRowContext(f.ctx, k.zone, k.bucket, k.server.String(), int(k.port)).Scan(&id); err != nil {
			return nil, 0, fmt.Errorf("read finding %s: %w", findingName(k), err)
		}
		ids[k] = id
	}
	return ids, created, nil
}

// resolveKey settles which finding a goes to. A zone-less aggregate
// without a finding of its own goes to the zoned finding its bucket was
// attributed to (Attribute), or else, when its server is at the cap, to the
// server's overflow finding; a.key then becomes that finding's key.
func (f *findingTx) resolveKey(a *agg) error {
	k := &a.key
	if k.zone == "" && k.bucket != OverflowBucket {
		server := k.server.String()
		var exists bool
		var zone string
		if err := f.lookup.QueryRowContext(f.ctx, k.bucket, server, int(k.port)).Scan(&exists, &zone); err != nil {
			return fmt.Errorf("read finding %s: %w", findingName(*k), err)
		}
		switch {
		case exists:
		case zone != "":
			k.zone, k.bucket = zone, ""
		default:
			if err := f.capped(k, server); err != nil {
				return fmt.Errorf("read finding %s: %w", findingName(*k), err)
			}
		}
	}
	f.touched[*k] = true
	return nil
}

// upsertOne merges a into its finding.
func (f *findingTx) upsertOne(a *agg) error {
	k := &a.key
	if _, err := f.upsert.ExecContext(f.ctx, k.zone, k.bucket, k.server.String(), int(k.port), a.qname,
		jsonSet(a.sources), jsonSet(a.observed), a.n, unixNano(a.first), unixNano(a.last)); err != nil {
		return fmt.Errorf("upsert finding %s: %w", findingName(*k), err)
	}
	return nil
}

// capped handles a new zone-less key whose bucket has no attribution: it
// keeps its bucket while the server has fewer than MaxZonelessPerServer
// unattributed zone-less findings, and goes to the overflow bucket past
// that.
func (f *findingTx) capped(k *findingKey, server string) error {
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
	args := make([]any, 0, 5*dailyChunk)
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
			args = append(args, r.id, r.day, r.source, r.evidence, r.n)
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
