package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Round is one probe round of one finding's server (docs/verification.md).
type Round struct {
	ID        int64
	FindingID int64
	At        time.Time
	// Zone is the zone probed (the finding's zone at the time); RecordRound
	// fills in the finding's zone when it is "".
	Zone string
	// Server and Port are the address probed, an IPv6 scope kept;
	// RecordRound fills in the finding's when Server is the zero Addr.
	Server  netip.Addr
	Port    uint16
	Verdict Verdict
	// Reason is the verdict reason, e.g. upward_referral, refused,
	// unresponsive, vantage_error.
	Reason string
	Class  RoundClass // how the confirmation policy counts the round
	Rcode  string
	// Flags are stored as a sorted set: open_recursor, edns_noncompliant.
	Flags   []string
	RTT     time.Duration
	Packets int
	// SOA is the zone's SOA from an authoritative round's answer (zero
	// otherwise). RecordRound stores it as the server's latest SOA for the
	// zone (ZoneSOAs); Rounds does not read it back.
	SOA SOA
}

// RecordRound inserts the round and updates its finding in one
// transaction: rounds+1, last_probed = r.At (never moving backwards: a
// round recorded late by a slower process does not make the finding look
// less recently probed), status, reason and server_names from u; an
// authoritative round's SOA is stored as its server's SOA for the zone in
// the same transaction (see ZoneSOAs). It returns
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
		r.FindingID, r.At.UnixNano(), r.Zone, r.Server.String(), int(r.Port), r.Verdict.String(), r.Reason,
		r.Class.String(), r.Rcode, jsonSet(r.Flags), int64(r.RTT), r.Packets)
	if err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if err := updateFinding(ctx, tx, r.FindingID, r.At, u, 1); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	if r.Verdict == VerdictAuthoritative && r.SOA != (SOA{}) {
		soa := ZoneSOA{SOA: r.SOA, Zone: r.Zone, Server: r.Server, At: r.At}
		if err := soa.validate(); err != nil {
			return Round{}, fmt.Errorf("store: record round of finding %d: soa: %w", r.FindingID, err)
		}
		if err := upsertZoneSOA(ctx, tx, soa); err != nil {
			return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Round{}, fmt.Errorf("store: record round of finding %d %s: %w", r.FindingID, db.path, err)
	}
	return r, nil
}

// validRound checks r and normalises At (UTC), Server and Flags.
func validRound(r *Round) error {
	switch {
	case !valid(classNames[:], r.Class):
		return fmt.Errorf("unknown round class %v", r.Class)
	case r.At.IsZero():
		return errors.New("round without a time")
	case !valid(verdictNames[:], r.Verdict):
		return fmt.Errorf("unknown verdict %v", r.Verdict)
	case r.RTT < 0:
		return fmt.Errorf("negative RTT %v", r.RTT)
	case r.Packets < 0:
		return fmt.Errorf("negative packet count %d", r.Packets)
	}
	r.At = r.At.UTC()
	r.Flags = sortedSet(r.Flags)
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
	return queryAll(ctx, db, fmt.Sprintf("rounds of finding %d", findingID), scanRound, q, args...)
}

// scanRound reads one row of roundColumns.
func scanRound(row rowScanner) (Round, error) {
	var (
		r                             Round
		at, rtt                       int64
		server, flags, verdict, class string
		port                          int
	)
	if err := row.Scan(&r.ID, &r.FindingID, &at, &r.Zone, &server, &port, &verdict, &r.Reason, &class,
		&r.Rcode, &flags, &rtt, &r.Packets); err != nil {
		return Round{}, err
	}
	var err error
	if r.Server, err = netip.ParseAddr(server); err != nil {
		return Round{}, fmt.Errorf("round %d: server: %w", r.ID, err)
	}
	if r.Verdict, err = ParseVerdict(verdict); err != nil {
		return Round{}, fmt.Errorf("round %d: %w", r.ID, err)
	}
	if r.Class, err = ParseRoundClass(class); err != nil {
		return Round{}, fmt.Errorf("round %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(flags), &r.Flags); err != nil {
		return Round{}, fmt.Errorf("round %d: flags: %w", r.ID, err)
	}
	r.At, r.Port, r.RTT = fromUnixNano(at), uint16(port), time.Duration(rtt)
	return r, nil
}
