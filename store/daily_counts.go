package store

import (
	"context"
	"fmt"
	"time"
)

// The daily_counts table: a finding's events per UTC day, source and
// evidence kind. Commit writes it (commit_upsert.go), Attribute moves a
// zone-less finding's rows, Prune drops old days.

// dayLayout is the format of the day column (and of Day.String).
const dayLayout = "2006-01-02"

// Day is a UTC calendar day, counted from 1970-01-01 (day 0), the unit of
// the per-day counts. Day 0 and earlier days are not valid in a Count: the
// zero value of a Count's Day is refused, not stored as 1970-01-01.
type Day int32

// secondsPerDay is the length of a UTC day (Unix time has no leap seconds).
const secondsPerDay = 86400

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	s := t.Unix()
	d := s / secondsPerDay
	if s < 0 && s%secondsPerDay != 0 {
		d-- // round towards the past, not towards 1970
	}
	return Day(d)
}

// Time returns the first instant of d, in UTC.
func (d Day) Time() time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// String returns d as YYYY-MM-DD, the form the database stores.
func (d Day) String() string { return d.Time().Format(dayLayout) }

// maxDay bounds the days a Count may carry (9999-12-31): the parser keeps
// log times within a window of the present, so anything later is a bug.
const maxDay = Day(2932896)

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
