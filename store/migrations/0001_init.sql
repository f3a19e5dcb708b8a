-- 0001_init: checkpoints, findings and their per-day counts.
--
-- Times are INTEGER unix nanoseconds, UTC. Sets (sources, observed,
-- server_names) are JSON arrays of strings, sorted, without duplicates.
-- dev and inode hold the uint64 values bit-cast to SQLite's signed integer.

-- checkpoints: the ingest position in one content stream (docs/exactly-once.md).
-- AUTOINCREMENT keeps ids monotonic even after deletions, which the
-- "no checkpoint with this fingerprint and id > SeenMaxID" check relies on.
CREATE TABLE checkpoints (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint  BLOB    NOT NULL,
	byte_offset  INTEGER NOT NULL CHECK (byte_offset >= 0),
	tail_hash    BLOB    NOT NULL DEFAULT x'',
	lines        INTEGER NOT NULL CHECK (lines >= 0),
	state        BLOB    NOT NULL DEFAULT x'',
	dev          INTEGER NOT NULL,
	inode        INTEGER NOT NULL,
	path         TEXT    NOT NULL,
	version      INTEGER NOT NULL CHECK (version > 0),
	updated_at   INTEGER NOT NULL
);
CREATE INDEX checkpoints_fingerprint ON checkpoints (fingerprint, byte_offset);
CREATE INDEX checkpoints_inode ON checkpoints (dev, inode);

-- findings: one (zone, bucket, server, port). Zone-less evidence has
-- zone = '' and a bucket computed by ingest; bucket '*' is the overflow
-- bucket of a server with 256 zone-less findings already.
CREATE TABLE findings (
	id            INTEGER PRIMARY KEY,
	zone          TEXT    NOT NULL,
	bucket        TEXT    NOT NULL,
	server        TEXT    NOT NULL, -- netip.Addr.String()
	port          INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	qname         TEXT    NOT NULL DEFAULT '',
	sources       TEXT    NOT NULL DEFAULT '[]',
	observed      TEXT    NOT NULL DEFAULT '[]',
	count         INTEGER NOT NULL DEFAULT 0,
	first_seen    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL,
	-- verification (filled by later work)
	server_names  TEXT    NOT NULL DEFAULT '[]',
	status        TEXT    NOT NULL DEFAULT 'new',
	reason        TEXT    NOT NULL DEFAULT '',
	rounds        INTEGER NOT NULL DEFAULT 0,
	last_probed   INTEGER, -- NULL: never probed
	UNIQUE (zone, bucket, server, port),
	CHECK (zone = '' OR bucket = '')
);
-- For the zone-less cap. Reports filter the (small) table by scanning it:
-- more indexes would slow every ingest commit.
CREATE INDEX findings_zoneless ON findings (server) WHERE zone = '';

-- daily_counts: events per finding, UTC day, source and evidence kind.
-- Pruned by day; the finding keeps its totals.
CREATE TABLE daily_counts (
	finding_id  INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
	day         TEXT    NOT NULL, -- 2006-01-02, UTC
	source      TEXT    NOT NULL,
	evidence    TEXT    NOT NULL,
	n           INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (finding_id, day, source, evidence)
) WITHOUT ROWID;
-- No index on day: Prune runs once a day and may scan.
