-- 0002_verification: probe rounds, zone attributions of zone-less findings,
-- and finding IDs that are never reused.
--
-- findings is rebuilt with AUTOINCREMENT. Attribute deletes zone-less
-- findings, and without AUTOINCREMENT SQLite gives the highest deleted ID
-- to the next new finding: an ID held by a verify run, a repeated Attribute
-- or a notification record would come to name another finding.
-- daily_counts is rebuilt with it so that its foreign key points at the new
-- table: dropping a parent table while foreign keys are on deletes its
-- children first (the migration runs in a transaction, where PRAGMA
-- foreign_keys cannot be switched off). RENAME rewrites the REFERENCES
-- clause (SQLite 3.26+).
CREATE TABLE findings_v2 (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
	-- verification: the latest verdict (rounds hold the history)
	server_names  TEXT    NOT NULL DEFAULT '[]',
	status        TEXT    NOT NULL DEFAULT 'new',
	reason        TEXT    NOT NULL DEFAULT '',
	rounds        INTEGER NOT NULL DEFAULT 0, -- rounds ever recorded; survives Prune
	last_probed   INTEGER, -- NULL: never probed
	UNIQUE (zone, bucket, server, port),
	CHECK (zone = '' OR bucket = '')
);
INSERT INTO findings_v2 (id, zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen,
		server_names, status, reason, rounds, last_probed)
	SELECT id, zone, bucket, server, port, qname, sources, observed, count, first_seen, last_seen,
		server_names, status, reason, rounds, last_probed FROM findings;

CREATE TABLE daily_counts_v2 (
	finding_id  INTEGER NOT NULL REFERENCES findings_v2 (id) ON DELETE CASCADE,
	day         TEXT    NOT NULL, -- 2006-01-02, UTC
	source      TEXT    NOT NULL,
	evidence    TEXT    NOT NULL,
	n           INTEGER NOT NULL CHECK (n >= 0),
	PRIMARY KEY (finding_id, day, source, evidence)
) WITHOUT ROWID;
INSERT INTO daily_counts_v2 (finding_id, day, source, evidence, n)
	SELECT finding_id, day, source, evidence, n FROM daily_counts;

DROP TABLE daily_counts;
DROP TABLE findings;
ALTER TABLE findings_v2 RENAME TO findings;
ALTER TABLE daily_counts_v2 RENAME TO daily_counts;
-- For the zone-less cap (as in 0001). Reports and DueFindings scan the
-- table: more indexes would slow every ingest commit.
CREATE INDEX findings_zoneless ON findings (server) WHERE zone = '';

-- rounds: one probe round of one finding's server (docs/verification.md). Prune keeps
-- the newest 10 per finding past the retention day.
CREATE TABLE rounds (
	id          INTEGER PRIMARY KEY,
	finding_id  INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	zone        TEXT    NOT NULL, -- the zone probed
	server      TEXT    NOT NULL,
	port        INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	verdict     TEXT    NOT NULL CHECK (verdict IN ('authoritative', 'lame', 'inconclusive')),
	reason      TEXT    NOT NULL,
	class       TEXT    NOT NULL CHECK (class IN ('hard', 'soft', 'authoritative', 'none')),
	rcode       TEXT    NOT NULL DEFAULT '',
	flags       TEXT    NOT NULL DEFAULT '[]', -- sorted JSON set
	rtt         INTEGER NOT NULL DEFAULT 0 CHECK (rtt >= 0), -- nanoseconds
	packets     INTEGER NOT NULL DEFAULT 0 CHECK (packets >= 0)
);
CREATE INDEX rounds_finding ON rounds (finding_id, at);

-- attributions: zone-less findings that verification attributed to a zone,
-- one row per deleted zone-less finding (finding_id: its former ID, never
-- reused). For a named bucket the row also routes: Commit sends later
-- zone-less counts of (server, port, bucket) to the finding (zone, '',
-- server, port) instead of re-creating the zone-less one. The overflow
-- bucket '*' mixes unrelated names and never routes.
CREATE TABLE attributions (
	finding_id  INTEGER PRIMARY KEY,
	server      TEXT    NOT NULL,
	port        INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	bucket      TEXT    NOT NULL,
	zone        TEXT    NOT NULL CHECK (zone <> ''),
	at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX attributions_route ON attributions (server, port, bucket) WHERE bucket <> '*';
