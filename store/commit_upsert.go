package store

import (
	"cmp"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The findings upsert (Commit step 2) is the hot path of ingest: a batch can
// carry 200,000 counts of 80,000 findings. The keys are settled and the
// existing findings found first, with a few queries per batch (resolve.go).
// Then an existing finding costs one UPDATE by id that merges the totals
// and the evidence sets in SQL; new findings get the ids SQLite would have
// given them and go in through a staging table (see insertNew). The daily
// rows are upserted by finding id, dailyChunk at a time. All of these
// statements run on the driver's connection (rawconn.go). (Measured: daily
// rows joined to findings by their text key cost 8 µs each, by id 2 µs;
// RETURNING id costs 1.6 µs more per finding than knowing the id.)

// dailyChunk is the number of daily rows per multi-row INSERT.
const dailyChunk = 256

// mergeSetSQL merges the JSON set in column col of the stored row with the
// one in parameter param: a sorted union, computed only when they differ.
func mergeSetSQL(col, param string) string {
	return col + ` = CASE WHEN ` + col + ` = ` + param + ` THEN ` + col + ` ELSE
		(SELECT json_group_array(value) FROM
			(SELECT value FROM json_each(findings.` + col + `) UNION SELECT value FROM json_each(` + param + `) ORDER BY 1))
		END`
}

// startSQL returns the id SQLite would give the next finding (one more
// than the largest ever used: AUTOINCREMENT does not reuse the ids of
// deleted findings), whether the findings table is empty, and whether any
// bucket was attributed.
const startSQL = `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'findings'), 0),
		coalesce((SELECT max(id) FROM findings), 0)) + 1,
	NOT EXISTS (SELECT 1 FROM findings), EXISTS (SELECT 1 FROM attributions)`

// New findings are staged in a temporary table, stageRows per multi-row
// INSERT, and moved into findings stageChunk at a time by one INSERT …
// SELECT each. (Measured on 84,000 new findings: 4 to 4.5 µs each with
// one INSERT per finding, 3 µs staged; a multi-row INSERT straight into
// findings costs twice as much as one row per statement.)
const (
	stageRows  = 64
	stageChunk = 8192
)

// findingColumnsNew are the columns of a new finding, as staged.
const findingColumnsNew = `id, zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen, server_key`

const (
	createStageSQL = `CREATE TEMP TABLE IF NOT EXISTS findings_new (id INTEGER PRIMARY KEY, zone TEXT, bucket TEXT,
		server TEXT, port INTEGER, qname TEXT, sources TEXT, observed TEXT, count INTEGER, first_seen INTEGER, last_seen INTEGER,
		server_key BLOB)`
	moveStagedSQL  = `INSERT INTO findings (` + findingColumnsNew + `) SELECT ` + findingColumnsNew + ` FROM temp.findings_new ORDER BY id`
	clearStagedSQL = `DELETE FROM temp.findings_new`
	dropStageSQL   = `DROP TABLE temp.findings_new`
)

// stageSQL returns the INSERT of rows new findings into the staging table.
func stageSQL(rows int) string {
	return `INSERT INTO temp.findings_new (` + findingColumnsNew + `) VALUES ` + placeholders(rows, 12)
}

// updateSQL returns the statement that adds an aggregate (qname ?1,
// sources ?2, observed ?3, count ?4, first ?5, last ?6) to the finding with
// id ?7, setting observed to the expression given.
func updateSQL(observed string) string {
	return `UPDATE findings SET
		qname = CASE WHEN qname = '' THEN ?1 ELSE qname END,
		count = count + ?4,
		first_seen = min(first_seen, ?5),
		last_seen = max(last_seen, ?6),
		` + mergeSetSQL("sources", "?2") + `,
		` + observed + `
	WHERE id = ?7`
}

var (
	// updateFindingSQL merges the evidence sets.
	updateFindingSQL = updateSQL(mergeSetSQL("observed", "?3"))
	// updateKeptSQL stores the set capKinds settled.
	updateKeptSQL = updateSQL("observed = ?3")
)

// dailySQL returns the multi-row daily_counts upsert for rows rows; each row
// is (finding_id, day, source, evidence, n).
func dailySQL(rows int) string {
	return `INSERT INTO daily_counts (finding_id, day, source, evidence, n) VALUES ` + placeholders(rows, 5) +
		` ON CONFLICT (finding_id, day, source, evidence) DO UPDATE SET n = n + excluded.n`
}

// stored is what the upsert reads of an existing finding: its id and the
// number of evidence kinds it holds.
type stored struct {
	id, kinds int64
}

// findingTx is one Commit's findings upsert.
type findingTx struct {
	conn driverConn
	// What the database holds for the servers of the batch's zone-less
	// aggregates (see loadServers): the ids of their zone-less findings
	// (zone ""), the number of unattributed named ones per server, and the
	// zones their buckets were attributed to (zone "").
	zoneless map[findingKey]stored
	named    map[netip.Addr]int
	routes   map[findingKey]string
}

// upsertFindings is Commit step 2, on the connection of Commit's
// transaction. It checks ctx between findings.
func upsertFindings(ctx context.Context, conn driverConn, aggs []*agg, daily []dailyRow) (CommitResult, error) {
	if len(aggs) == 0 {
		return CommitResult{}, nil
	}
	f := &findingTx{
		conn:     conn,
		zoneless: make(map[findingKey]stored),
		named:    make(map[netip.Addr]int),
		routes:   make(map[findingKey]string),
	}
	// No one else writes during this transaction: new findings get
	// nextID, nextID+1, … in the order they are written. A first scan of a
	// log writes into an empty table: nothing to look up.
	var (
		nextID                 int64
		empty, anyAttributions bool
	)
	err := queryRaw(conn, startSQL, func(row []driver.Value) error {
		var (
			v   [3]int64
			err error
		)
		for i := range v {
			if v[i], err = asInt64(row[i]); err != nil {
				return err
			}
		}
		nextID, empty, anyAttributions = v[0], v[1] != 0, v[2] != 0
		return nil
	})
	if err != nil {
		return CommitResult{}, fmt.Errorf("read findings: %w", err)
	}
	if err := f.loadServers(aggs, empty, anyAttributions); err != nil {
		return CommitResult{}, err
	}
	// Findings are written in the batch's order (which zone-less buckets
	// still fit under the cap depends on it, and ids follow first
	// appearance).
	targets := f.resolve(aggs)
	if !empty {
		if err := f.loadIDs(targets); err != nil {
			return CommitResult{}, err
		}
	}
	res, err := f.write(ctx, targets, nextID)
	if err != nil {
		return CommitResult{}, err
	}
	res.Findings = make([]int64, 0, len(targets))
	for _, a := range targets {
		if a.id != 0 {
			res.Findings = append(res.Findings, a.id)
		}
	}
	slices.Sort(res.Findings)
	for i := range daily {
		daily[i].agg = daily[i].agg.target()
	}
	daily, res.CappedEvents = dropCapped(daily)
	// Daily rows go in primary-key order: B-tree inserts in order are
	// cheaper than in the order of first appearance. Rows that come grouped
	// by finding, findings in order of creation, need no sort: the order
	// within one finding does not matter to the B-tree.
	if !slices.IsSortedFunc(daily, func(a, b dailyRow) int { return cmp.Compare(a.agg.id, b.agg.id) }) {
		slices.SortFunc(daily, func(a, b dailyRow) int {
			return cmp.Or(cmp.Compare(a.agg.id, b.agg.id), a.kind.compare(b.kind))
		})
	}
	if err := f.insertDaily(daily); err != nil {
		return CommitResult{}, err
	}
	return res, nil
}

// write creates the findings of targets that have no id, with ids from
// nextID on in their order (setting them), and adds the others to theirs.
func (f *findingTx) write(ctx context.Context, targets []*agg, nextID int64) (CommitResult, error) {
	var (
		res   CommitResult
		fresh []*agg
		// the two updates (see updateSQL), prepared when first needed
		merge, keep *rawStmt
	)
	defer func() {
		for _, s := range []*rawStmt{merge, keep} {
			if s != nil {
				s.close()
			}
		}
	}()
	for i, a := range targets {
		if i%1024 == 0 && ctx.Err() != nil {
			return res, ctx.Err()
		}
		if a.id == 0 && a.n == 0 {
			continue // evidence kinds without an event never create a finding
		}
		if err := f.capKinds(a); err != nil {
			return res, err
		}
		if a.id == 0 {
			a.id = nextID
			nextID++
			fresh = append(fresh, a)
			continue
		}
		update, query := &merge, updateFindingSQL
		if a.kept != nil {
			update, query = &keep, updateKeptSQL
		}
		if *update == nil {
			var err error
			if *update, err = prepareRaw(f.conn, query); err != nil {
				return res, err
			}
		}
		(*update).bind(a.qname, a.sources.json, a.observedJSON(), a.n, unixNano(a.first), unixNano(a.last), a.id)
		r, err := (*update).exec()
		if err != nil {
			return res, fmt.Errorf("update finding %d %s: %w", a.id, findingName(a.key), err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return res, fmt.Errorf("update finding %d %s: %w", a.id, findingName(a.key), err)
		} else if n != 1 {
			return res, fmt.Errorf("update finding %d %s: %d rows changed", a.id, findingName(a.key), n)
		}
		res.UpdatedFindings++
	}
	if err := f.insertNew(ctx, fresh); err != nil {
		return res, err
	}
	res.NewFindings = len(fresh)
	return res, nil
}

// insertNew creates the findings of fresh, whose ids are set, through the
// staging table.
func (f *findingTx) insertNew(ctx context.Context, fresh []*agg) error {
	if len(fresh) == 0 {
		return nil
	}
	if err := queryRaw(f.conn, createStageSQL, nil); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	if err := f.moveStaged(ctx, fresh); err != nil {
		return err
	}
	// After moveStaged closed its statements on the table.
	if err := queryRaw(f.conn, dropStageSQL, nil); err != nil {
		return fmt.Errorf("drop staging table: %w", err)
	}
	return nil
}

// moveStaged stages fresh and moves it into findings, stageChunk at a
// time.
func (f *findingTx) moveStaged(ctx context.Context, fresh []*agg) error {
	stage := &chunkStmt{conn: f.conn, sqlFor: stageSQL, per: 12, chunk: stageRows}
	defer stage.close()
	move, err := prepareRaw(f.conn, moveStagedSQL)
	if err != nil {
		return err
	}
	defer move.close()
	truncate, err := prepareRaw(f.conn, clearStagedSQL)
	if err != nil {
		return err
	}
	defer truncate.close()
	args := make([]driver.Value, 0, 12*min(len(fresh), stageChunk))
	for chunk := range slices.Chunk(fresh, stageChunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		args = args[:0]
		for _, a := range chunk {
			k := &a.key
			args = append(args, a.id, k.zone, k.bucket, a.server, int64(k.port), a.qname,
				a.sources.json, a.observedJSON(), a.n, unixNano(a.first), unixNano(a.last), serverKey(k.server))
		}
		if err := stage.run(args, nil); err != nil {
			return fmt.Errorf("stage new findings: %w", err)
		}
		first, last := chunk[0].id, chunk[len(chunk)-1].id
		r, err := move.exec()
		if err != nil {
			return fmt.Errorf("insert findings %d to %d: %w", first, last, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return fmt.Errorf("insert findings %d to %d: %w", first, last, err)
		} else if n != int64(len(chunk)) {
			return fmt.Errorf("insert findings %d to %d: %d of %d rows written", first, last, n, len(chunk))
		}
		if _, err := truncate.exec(); err != nil {
			return fmt.Errorf("clear staging table: %w", err)
		}
	}
	return nil
}

// insertDaily upserts the daily rows, dailyChunk per statement. Rows of the
// same finding, day, source and evidence (possible after overflow
// redirection) add up like rows already stored.
func (f *findingTx) insertDaily(rows []dailyRow) error {
	stmt := &chunkStmt{conn: f.conn, sqlFor: dailySQL, per: 5, chunk: dailyChunk}
	defer stmt.close()
	var (
		args = make([]driver.Value, 0, 5*dailyChunk)
		last *agg
		id   driver.Value // last.id, boxed once for its rows
	)
	for chunk := range slices.Chunk(rows, dailyChunk) {
		args = args[:0]
		for _, r := range chunk {
			if r.agg != last {
				last, id = r.agg, r.agg.id
			}
			args = append(args, id, r.kind.values[0], r.kind.values[1], r.kind.values[2], r.n)
		}
		if err := stmt.run(args, nil); err != nil {
			return fmt.Errorf("daily counts: %w", err)
		}
	}
	return nil
}

// jsonSet encodes a sorted set as a JSON array ("[]" for none).
func jsonSet(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	// The format of SQLite's json_group_array: no HTML escaping, no spaces,
	// so that unchanged sets compare equal as text. Printable ASCII other
	// than '"' and '\\' stands for itself (all evidence kinds and sources);
	// encoding/json takes care of the rest.
	n := 1 + len(s)
	for _, e := range s {
		for i := 0; i < len(e); i++ {
			if c := e[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return jsonSetEncoded(s)
			}
		}
		n += len(e) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for i, e := range s {
		if i == 0 {
			b.WriteByte('[')
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(e)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// jsonSetEncoded is jsonSet through encoding/json.
func jsonSetEncoded(s []string) string {
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
