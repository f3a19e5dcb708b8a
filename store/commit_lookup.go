package store

import (
	"database/sql/driver"
	"fmt"
	"net/netip"
	"strings"
)

// Before writing, Commit settles which finding each aggregate goes to and
// whether that finding exists, with a few queries for the whole batch
// instead of one per aggregate (measured on a batch of 84,000 findings:
// 0.34 s of per-key lookups through database/sql):
//
//   - loadServers reads, for every server of the batch's zone-less
//     aggregates, its zone-less findings (existence, ids and the cap count)
//     and its attributed buckets, serverChunk servers per query;
//   - resolve then redirects zone-less aggregates in memory, in batch order;
//   - loadIDs looks up the zoned findings, lookupChunk keys per query,
//     unless the table was empty.

// serverChunk is the number of servers per loadServers query.
const serverChunk = 256

// lookupChunk is the number of keys per loadIDs query.
const lookupChunk = 128

// zonelessSQL lists the zone-less findings (overflow buckets included) of
// servers servers. The planner would otherwise walk the unique (zone, …)
// index over every zone-less finding (measured: 45 % of a large scan's CPU).
func zonelessSQL(servers int) string {
	return `SELECT server, bucket, port, id, json_array_length(observed) FROM findings INDEXED BY findings_zoneless
		WHERE zone = '' AND server IN (` + placeholders(servers, 1) + `)`
}

// routesSQL lists the attributed buckets of servers servers (index
// attributions_route; the overflow bucket never routes).
func routesSQL(servers int) string {
	return `SELECT server, port, bucket, zone FROM attributions INDEXED BY attributions_route
		WHERE bucket <> '*' AND server IN (` + placeholders(servers, 1) + `)`
}

// lookupSQL returns the index, id and number of evidence kinds of those of
// keys keys that have a finding; each key is (index, zone, bucket, server,
// port).
func lookupSQL(keys int) string {
	return `SELECT v.column1, f.id, json_array_length(f.observed) FROM (VALUES ` + placeholders(keys, 5) + `) AS v
		CROSS JOIN findings AS f ON f.zone = v.column2 AND f.bucket = v.column3
			AND f.server = v.column4 AND f.port = v.column5`
}

// placeholders returns n comma-separated groups of per parameters: "?" for
// per == 1, "(?,?)" for per == 2.
func placeholders(n, per int) string {
	group := "?"
	if per > 1 {
		group = "(" + strings.Repeat("?,", per-1) + "?)"
	}
	var b strings.Builder
	b.Grow(n * (len(group) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(group)
	}
	return b.String()
}

// loadServers fills f.zoneless, f.named and f.routes for the servers of
// the zone-less aggregates. It skips the findings when the table is empty,
// and the routes when no bucket was ever attributed.
func (f *findingTx) loadServers(aggs []*agg, empty, anyAttributions bool) error {
	if empty && !anyAttributions {
		return nil
	}
	var servers []driver.Value
	addrs := make(map[string]netip.Addr)
	for _, a := range aggs {
		if a.key.zone != "" {
			continue
		}
		if _, ok := addrs[a.server]; !ok {
			addrs[a.server] = a.key.server
			servers = append(servers, a.server)
		}
	}
	if len(servers) == 0 {
		return nil
	}
	// key reads the (server, port, bucket) of a result row.
	key := func(server, port, bucket driver.Value) (findingKey, error) {
		s, err := asString(server)
		if err != nil {
			return findingKey{}, fmt.Errorf("server: %w", err)
		}
		a, ok := addrs[s]
		if !ok {
			return findingKey{}, fmt.Errorf("server %q was not asked for", s)
		}
		p, err := asInt64(port)
		if err != nil {
			return findingKey{}, fmt.Errorf("port: %w", err)
		}
		b, err := asString(bucket)
		if err != nil {
			return findingKey{}, fmt.Errorf("bucket: %w", err)
		}
		return findingKey{bucket: b, server: a, port: uint16(p)}, nil
	}
	if !empty {
		err := queryChunks(f.conn, zonelessSQL, servers, 1, serverChunk, func(row []driver.Value) error {
			k, err := key(row[0], row[2], row[1])
			if err != nil {
				return err
			}
			var st stored
			if st.id, err = asInt64(row[3]); err != nil {
				return fmt.Errorf("id: %w", err)
			}
			if st.kinds, err = asInt64(row[4]); err != nil {
				return fmt.Errorf("kinds: %w", err)
			}
			f.zoneless[k] = st
			if k.bucket != OverflowBucket {
				f.named[k.server]++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read zone-less findings: %w", err)
		}
	}
	if !anyAttributions {
		return nil
	}
	err := queryChunks(f.conn, routesSQL, servers, 1, serverChunk, func(row []driver.Value) error {
		k, err := key(row[0], row[1], row[2])
		if err != nil {
			return err
		}
		if f.routes[k], err = asString(row[3]); err != nil {
			return fmt.Errorf("zone: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read attributions: %w", err)
	}
	return nil
}

// resolve settles, in batch order, which finding each aggregate goes to. A
// zone-less aggregate without a finding of its own goes to the zoned
// finding its bucket was attributed to (Attribute), or else, when its
// server is at the cap, to the server's overflow finding; its key then
// becomes that finding's key. Zone-less aggregates get the id of their
// finding if it exists. resolve returns the aggregates to write, one per
// finding: those that came to share a finding are merged into the first
// one.
func (f *findingTx) resolve(aggs []*agg) []*agg {
	moved := false
	for _, a := range aggs {
		k := &a.key
		if k.zone != "" {
			continue
		}
		if _, ok := f.zoneless[*k]; !ok && k.bucket != OverflowBucket {
			if zone, ok := f.routes[*k]; ok {
				k.zone, k.bucket = zone, ""
				moved = true
				continue
			}
			if a.n == 0 {
				continue // creates no finding (see write): takes no place under the cap
			}
			if n := f.named[k.server]; n < MaxZonelessPerServer {
				f.named[k.server] = n + 1
			} else {
				k.bucket = OverflowBucket
				moved = true
			}
		}
		st := f.zoneless[*k]
		a.id, a.kinds = st.id, st.kinds
	}
	if !moved {
		return aggs // the keys of aggregate are distinct
	}
	first := make(map[findingKey]*agg, len(aggs))
	targets := make([]*agg, 0, len(aggs))
	for _, a := range aggs {
		if t := first[a.key]; t != nil {
			t.absorb(a)
			continue
		}
		first[a.key] = a
		targets = append(targets, a)
	}
	return targets
}

// loadIDs sets the id of the zoned aggregates whose finding exists.
func (f *findingTx) loadIDs(targets []*agg) error {
	var (
		args  []driver.Value
		zoned []*agg
	)
	for _, a := range targets {
		if a.key.zone == "" {
			continue
		}
		args = append(args, int64(len(zoned)), a.key.zone, a.key.bucket, a.server, int64(a.key.port))
		zoned = append(zoned, a)
	}
	err := queryChunks(f.conn, lookupSQL, args, 5, lookupChunk, func(row []driver.Value) error {
		i, err := asInt64(row[0])
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(zoned)) {
			return fmt.Errorf("key %d was not asked for", i)
		}
		if zoned[i].id, err = asInt64(row[1]); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		if zoned[i].kinds, err = asInt64(row[2]); err != nil {
			return fmt.Errorf("kinds: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read findings: %w", err)
	}
	return nil
}
