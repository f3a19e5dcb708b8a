package store

import (
	"context"
	"fmt"
	"time"
)

// The daily_counts table: a finding's events per UTC day, source and
// evidence kind. Commit writes it (commit_upsert.go), Attribute moves a
// zone-less finding's rows, Prune drops old days.

// dayLayout is the format of Count.Day and of the day column.
const dayLayout = "2006-01-02"

// DailyCounts returns the events of one finding per UTC day (all sources and
// evidence kinds together), keyed by the day's first instant in UTC, for the
// days that end after since (the zero time: all days).
func (db *DB) DailyCounts(ctx context.Context, findingID int64, since time.Time) (map[time.Time]int64, error) {
	from := ""
	if !since.IsZero() {
		from = since.UTC().Format(dayLayout)
	}
	rows, err := db.db.QueryContext(ctx,
		"SELECT day, sum(n) FROM daily_counts WHERE finding_id = ? AND day >= ? GROUP BY day", findingID, from)
	if err != nil {
		return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
	}
	defer rows.Close()
	m := make(map[time.Time]int64)
	for rows.Next() {
		var day string
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
		}
		t, err := time.Parse(dayLayout, day)
		if err != nil {
			return nil, fmt.Errorf("store: daily counts of finding %d %s: day %q: %w", findingID, db.path, day, err)
		}
		m[t] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: daily counts of finding %d %s: %w", findingID, db.path, err)
	}
	return m, nil
}
