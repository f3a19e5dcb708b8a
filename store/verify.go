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
	"time"
)

// Finding statuses (DESIGN §2 `status`, §5 step 4).
var statuses = []string{"new", "suspect", "lame", "unresponsive", "ok", "fixed", "stale", "inconclusive"}

// Round is one probe round of one finding's server (DESIGN §5).
type Round struct {
	ID        int64
	FindingID int64
	At        time.Time
	// Zone is the zone probed (the finding's zone at the time); RecordRound
	// fills in the finding's zone when it is "".
	Zone string
	// Server and Port are the address probed; RecordRound fills in the
	// finding's when Server is the zero Addr.
	Server  netip.Addr
	Port    uint16
	Verdict string // authoritative | lame | inconclusive
	// Reason is the verdict reason, e.g. upward_referral, refused,
	// unresponsive, vantage_error.
	Reason string
	// Class is how the confirmation policy counts the round: hard | soft |
	// authoritative | none. RecordRound also accepts "not_counted"
	// (resolver.RoundClass's name for none) and stores it as "none".
	Class string
	Rcode string
	// Flags are stored as a sorted set: open_recursor, edns_noncompliant.
	Flags   []string
	RTT     time.Duration
	Packets int
}

// FindingUpdate is the result of applying the confirmation policy after a
// round.
type FindingUpdate struct {
	Status string // new suspect lame unresponsive ok fixed stale inconclusive
	Reason string
	// ServerNames are the NS names pointing at the server in the current
	// delegation, canonical as the resolver gives them; stored sorted and
	// without duplicates.
	ServerNames []string
}

func (u FindingUpdate) validate() error {
	if !slices.Contains(statuses, u.Status) {
		return fmt.Errorf("unknown status %q", u.Status)
	}
	return nil
}

// sortedSet returns s sorted, without duplicates or empty strings.
func sortedSet(s []string) []string {
	s = slices.DeleteFunc(slices.Clone(s), func(v string) bool { return v == "" })
	slices.Sort(s)
	return slices.Compact(s)
}

// RecordRound inserts the round and updates its finding in one
// transaction: rounds+1, last_probed = r.At (never moving backwards: a
// round recorded late by a slower process does not make the finding look
// less recently probed), status, reason and server_names from u. It returns
// the round as stored (ID, Zone, Server, Port filled in, At in UTC). The
// finding must exist (ErrNotFound).
func (db *DB) RecordRound(ctx context.Context, r Round, u FindingUpdate) (Round, error) {
	if err := validRound(&r); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d: %w", r.FindingID, err)
	}
	if err := u.validate(); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d: %w", r.FindingID, err)
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	defer tx.Rollback()
	fd, err := findingByID(ctx, tx, db.path, r.FindingID)
	if err != nil {
		return Round{}, fmt.Errorf("store: record round: %w", err)
	}
	if r.Zone == "" {
		r.Zone = fd.Zone
	}
	if !r.Server.IsValid() {
		r.Server, r.Port = fd.Server, fd.Port
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO rounds
		(finding_id, at, zone, server, port, verdict, reason, class, rcode, flags, rtt, packets)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.FindingID, r.At.UnixNano(), r.Zone, r.Server.String(), int(r.Port), r.Verdict, r.Reason, r.Class,
		r.Rcode, jsonSet(r.Flags), int64(r.RTT), r.Packets)
	if err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if err := updateFinding(ctx, tx, r.FindingID, r.At, u, 1); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	return r, nil
}

// validRound checks r and normalises At (UTC), Class and Flags.
func validRound(r *Round) error {
	switch r.Class {
	case "not_counted":
		r.Class = "none"
	case "hard", "soft", "authoritative", "none":
	default:
		return fmt.Errorf("unknown round class %q", r.Class)
	}
	switch {
	case r.At.IsZero():
		return errors.New("round without a time")
	case r.Verdict != "authoritative" && r.Verdict != "lame" && r.Verdict != "inconclusive":
		return fmt.Errorf("unknown verdict %q", r.Verdict)
	case r.RTT < 0:
		return fmt.Errorf("negative RTT %v", r.RTT)
	case r.Packets < 0:
		return fmt.Errorf("negative packet count %d", r.Packets)
	}
	r.At = r.At.UTC()
	r.Server = r.Server.WithZone("")
	r.Flags = sortedSet(r.Flags)
	return nil
}

// updateFinding sets a finding's verdict, adds rounds to its round count and
// moves last_probed forward to at.
func updateFinding(ctx context.Context, tx *sql.Tx, id int64, at time.Time, u FindingUpdate, rounds int) error {
	res, err := tx.ExecContext(ctx, `UPDATE findings SET status = ?, reason = ?, server_names = ?,
		rounds = rounds + ?, last_probed = max(coalesce(last_probed, 0), ?) WHERE id = ?`,
		u.Status, u.Reason, jsonSet(sortedSet(u.ServerNames)), rounds, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("update finding: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("update finding: %d rows changed (%v)", n, err)
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

const roundColumns = `id, finding_id, at, zone, server, port, verdict, reason, class, rcode, flags, rtt, packets`

// Rounds returns a finding's rounds, oldest first (ties by ID). With limit
// > 0 only the newest limit rounds, still oldest first. A finding without
// rounds, or that does not exist, has none.
func (db *DB) Rounds(ctx context.Context, findingID int64, limit int) ([]Round, error) {
	q := "SELECT " + roundColumns + " FROM rounds WHERE finding_id = ? ORDER BY at, id"
	args := []any{findingID}
	if limit > 0 {
		q = "SELECT * FROM (SELECT " + roundColumns + " FROM rounds WHERE finding_id = ? ORDER BY at DESC, id DESC LIMIT ?) ORDER BY at, id"
		args = append(args, limit)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: rounds of finding %d %s: %w", findingID, db.path, err)
	}
	defer rows.Close()
	var rs []Round
	for rows.Next() {
		var (
			r            Round
			at, rtt      int64
			server, flgs string
			port         int
		)
		if err := rows.Scan(&r.ID, &r.FindingID, &at, &r.Zone, &server, &port, &r.Verdict, &r.Reason, &r.Class,
			&r.Rcode, &flgs, &rtt, &r.Packets); err != nil {
			return nil, fmt.Errorf("store: rounds of finding %d %s: %w", findingID, db.path, err)
		}
		if r.Server, err = netip.ParseAddr(server); err != nil {
			return nil, fmt.Errorf("store: round %d: server: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(flgs), &r.Flags); err != nil {
			return nil, fmt.Errorf("store: round %d: flags: %w", r.ID, err)
		}
		r.At, r.Port, r.RTT = fromUnixNano(at), uint16(port), time.Duration(rtt)
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rounds of finding %d %s: %w", findingID, db.path, err)
	}
	return rs, nil
}

// DueFilter selects findings to verify; zero fields do not filter.
type DueFilter struct {
	Zone         string    // only this zone
	Statuses     []string  // only these statuses (empty: any)
	ProbedBefore time.Time // never probed, or last probed before this
	ZoneLess     *bool     // true: only zone-less findings; false: only zoned ones
	Limit        int       // at most this many
}

// DueFindings returns the findings to probe: never-probed ones first, then
// by oldest last_probed; ties by ID.
func (db *DB) DueFindings(ctx context.Context, f DueFilter) ([]Finding, error) {
	var where []string
	var args []any
	if f.Zone != "" {
		where, args = append(where, "zone = ?"), append(args, f.Zone)
	}
	if len(f.Statuses) > 0 {
		cond, a := inList("status", f.Statuses)
		where, args = append(where, cond), append(args, a...)
	}
	if !f.ProbedBefore.IsZero() {
		where, args = append(where, "(last_probed IS NULL OR last_probed < ?)"), append(args, f.ProbedBefore.UnixNano())
	}
	if f.ZoneLess != nil {
		if *f.ZoneLess {
			where = append(where, "zone = ''")
		} else {
			where = append(where, "zone <> ''")
		}
	}
	q := "SELECT " + findingColumns + " FROM findings"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY last_probed IS NOT NULL, last_probed, id"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return db.queryFindings(ctx, "due findings", q, args...)
}
