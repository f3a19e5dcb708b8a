package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SOA is what a server gave for a zone's SOA record in an authoritative
// answer (RFC 1035 §3.3.13): names in presentation form, escapes kept.
type SOA struct {
	MName, RName string
	Serial       uint32
}

// ZoneSOA is the latest SOA one server gave for a zone in an authoritative
// round (zone_soas).
type ZoneSOA struct {
	SOA
	Zone   string
	Server netip.Addr
	At     time.Time
	// ServerStatus is the status of the finding (Zone, Server) on any
	// port, when one exists (0: none): an SOA from a server that has since
	// become lame for the zone is not to be trusted (docs/notify.md,
	// section 2). Set by ZoneSOAs; ignored by RecordZoneSOA.
	ServerStatus Status
}

// validate checks s and normalises At.
func (s *ZoneSOA) validate() error {
	switch {
	case s.Zone == "" || !strings.HasSuffix(s.Zone, "."):
		return fmt.Errorf("zone %q is not an absolute name", s.Zone)
	case !s.Server.IsValid():
		return errors.New("no server")
	case s.RName == "" || s.MName == "":
		return errors.New("no mname or rname")
	case s.At.IsZero():
		return errors.New("no time")
	}
	s.At = s.At.UTC()
	return nil
}

// RecordZoneSOA stores s as the SOA its server gave for its zone, unless a
// later one of the same (zone, server) is stored already.
func (db *DB) RecordZoneSOA(ctx context.Context, s ZoneSOA) error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("store: record soa of %s: %w", s.Zone, err)
	}
	return db.write(ctx, "record soa of "+s.Zone, func(tx *sql.Tx) error {
		return upsertZoneSOA(ctx, tx, s)
	})
}

// upsertZoneSOA writes a validated s.
func upsertZoneSOA(ctx context.Context, tx *sql.Tx, s ZoneSOA) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO zone_soas (zone, server, mname, rname, serial, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (zone, server) DO UPDATE SET mname = excluded.mname, rname = excluded.rname,
			serial = excluded.serial, at = excluded.at WHERE excluded.at >= at`,
		s.Zone, s.Server.String(), s.MName, s.RName, int64(s.Serial), s.At.UnixNano())
	if err != nil {
		return fmt.Errorf("record soa: %w", err)
	}
	return nil
}

// ZoneSOAs returns the SOAs stored for zone ("" for every zone), newest
// first, each with the status of its server's finding for the zone.
func (db *DB) ZoneSOAs(ctx context.Context, zone string) ([]ZoneSOA, error) {
	q := `SELECT s.zone, s.server, s.mname, s.rname, s.serial, s.at,
		(SELECT f.status FROM findings f WHERE f.zone = s.zone AND f.bucket = '' AND f.server = s.server
			ORDER BY f.last_probed DESC LIMIT 1)
		FROM zone_soas s`
	var args []any
	if zone != "" {
		q, args = q+" WHERE s.zone = ?", []any{zone}
	}
	q += " ORDER BY s.at DESC, s.zone, s.server"
	return queryAll(ctx, db, "zone soas", scanZoneSOA, q, args...)
}

func scanZoneSOA(r rowScanner) (ZoneSOA, error) {
	var (
		s      ZoneSOA
		server string
		serial int64
		at     int64
		status sql.NullString
	)
	if err := r.Scan(&s.Zone, &server, &s.MName, &s.RName, &serial, &at, &status); err != nil {
		return ZoneSOA{}, err
	}
	var err error
	if s.Server, err = netip.ParseAddr(server); err != nil {
		return ZoneSOA{}, fmt.Errorf("soa of %s: server: %w", s.Zone, err)
	}
	if status.Valid {
		if s.ServerStatus, err = ParseStatus(status.String); err != nil {
			return ZoneSOA{}, fmt.Errorf("soa of %s: %w", s.Zone, err)
		}
	}
	s.Serial, s.At = uint32(serial), fromUnixNano(at)
	return s, nil
}
