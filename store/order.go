package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
)

// serverKey is the server_key column of a finding of server: bytes whose
// order (memcmp, SQLite's BLOB order) is netip.Addr.Compare's: IPv4 before
// IPv6 (0x04 < 0x06), addresses numerically, an address without zone
// before the same one with a zone, zones as strings.
func serverKey(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return []byte{4, b[0], b[1], b[2], b[3]}
	}
	b := a.As16()
	return append(append([]byte{6}, b[:]...), a.Zone()...)
}

// orderSQL is the report order of findings (Findings, ScanFindings).
const orderSQL = " ORDER BY zone, server_key, port, bucket"

// backfillChunk is how many findings backfillServerKeys reads at a time.
const backfillChunk = 10_000

// backfillServerKeys fills server_key in the findings written before
// migration 0006 (its Go step).
func backfillServerKeys(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		id     int64
		server string
	}
	for last := int64(0); ; {
		rows, err := tx.QueryContext(ctx, "SELECT id, server FROM findings WHERE id > ? ORDER BY id LIMIT ?", last, backfillChunk)
		if err != nil {
			return fmt.Errorf("read servers: %w", err)
		}
		var chunk []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.server); err != nil {
				rows.Close()
				return fmt.Errorf("read servers: %w", err)
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read servers: %w", err)
		}
		if len(chunk) == 0 {
			return nil
		}
		for _, r := range chunk {
			a, err := netip.ParseAddr(r.server)
			if err != nil {
				return fmt.Errorf("finding %d: server %q: %w", r.id, r.server, err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE findings SET server_key = ? WHERE id = ?", serverKey(a), r.id); err != nil {
				return fmt.Errorf("finding %d: %w", r.id, err)
			}
		}
		last = chunk[len(chunk)-1].id
	}
}
