-- 0004_notify: what `lamers notify` needs (docs/notify.md): the SOAs of
-- authoritative rounds, each finding's contact and the marks on its
-- candidates, the outbox, suppressions and the lease of a notify run.
--
-- Times are INTEGER unix nanoseconds, UTC; NULL where "never".

-- findings: the contact the finding is mailed to now ('' and
-- contact_source '' when none: needs_human = 1 once the chain is
-- exhausted), when a message listing it was last accepted by the relay,
-- and when it was confirmed (lame or unresponsive), the notify order.
-- Findings confirmed before this migration take the first round after
-- their last authoritative one, the start of their lame episode.
ALTER TABLE findings ADD COLUMN contact TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN contact_source TEXT NOT NULL DEFAULT ''
	CHECK (contact_source IN ('', 'rname', 'hostmaster', 'postmaster', 'override'));
ALTER TABLE findings ADD COLUMN needs_human INTEGER NOT NULL DEFAULT 0 CHECK (needs_human IN (0, 1));
ALTER TABLE findings ADD COLUMN last_notified INTEGER;
ALTER TABLE findings ADD COLUMN confirmed_at INTEGER;
UPDATE findings SET confirmed_at = coalesce(
	(SELECT min(r.at) FROM rounds r WHERE r.finding_id = findings.id AND r.at > coalesce(
		(SELECT max(a.at) FROM rounds a WHERE a.finding_id = findings.id AND a.class = 'authoritative'), 0)),
	last_probed, first_seen)
	WHERE status IN ('lame', 'unresponsive');

-- zone_soas: the SOA a server gave in an authoritative round (AA, exactly
-- one SOA owned by the zone), the latest per (zone, server). The RNAME is
-- only ever read from here or from such an answer.
CREATE TABLE zone_soas (
	zone    TEXT    NOT NULL,
	server  TEXT    NOT NULL, -- netip.Addr.String()
	mname   TEXT    NOT NULL,
	rname   TEXT    NOT NULL, -- presentation form, escapes kept
	serial  INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
	at      INTEGER NOT NULL,
	PRIMARY KEY (zone, server)
) WITHOUT ROWID;

-- contact_marks: why a candidate of a finding's contact chain was passed
-- over. rejected and bounced make the address dead for the finding for
-- good (one row each); soft and policy rows are events, counted over 14
-- days; undeliverable, invalid and suppressed are the last notify run's
-- findings and are replaced by the next run's.
CREATE TABLE contact_marks (
	id          INTEGER PRIMARY KEY,
	finding_id  INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
	address     TEXT    NOT NULL, -- the candidate as given (an invalid RNAME as it was read)
	source      TEXT    NOT NULL CHECK (source IN ('rname', 'hostmaster', 'postmaster', 'override')),
	mark        TEXT    NOT NULL
		CHECK (mark IN ('undeliverable', 'invalid', 'rejected', 'bounced', 'soft', 'policy', 'suppressed')),
	reason      TEXT    NOT NULL DEFAULT '',
	at          INTEGER NOT NULL
);
CREATE INDEX contact_marks_finding ON contact_marks (finding_id, mark);
CREATE UNIQUE INDEX contact_marks_dead ON contact_marks (finding_id, address, mark)
	WHERE mark IN ('rejected', 'bounced');

-- outbox: every message, recorded before it is handed to the relay
-- (pending) and marked after (docs/notify.md, section 5).
CREATE TABLE outbox (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	token          TEXT    NOT NULL UNIQUE CHECK (length(token) = 20),
	recipient      TEXT    NOT NULL,
	source         TEXT    NOT NULL CHECK (source IN ('rname', 'hostmaster', 'postmaster', 'override')),
	subject        TEXT    NOT NULL,
	message_id     TEXT    NOT NULL,
	state          TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'deferred', 'rejected', 'unknown')),
	transport      TEXT    NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	smtp_code      INTEGER NOT NULL DEFAULT 0 CHECK (smtp_code BETWEEN 0 AND 999),
	smtp_enhanced  TEXT    NOT NULL DEFAULT '',
	smtp_detail    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_open ON outbox (state) WHERE state IN ('pending', 'unknown');

-- outbox_findings: the findings a message lists.
CREATE TABLE outbox_findings (
	outbox_id   INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
	finding_id  INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
	PRIMARY KEY (outbox_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX outbox_findings_finding ON outbox_findings (finding_id);

-- suppressions: never mail an address, a domain (value '@domain', its
-- subdomains too) or about a zone (value 'zone.', its subdomains too).
CREATE TABLE suppressions (
	value       TEXT    PRIMARY KEY,
	kind        TEXT    NOT NULL CHECK (kind IN ('address', 'domain', 'zone')),
	reason      TEXT    NOT NULL DEFAULT '',
	source      TEXT    NOT NULL CHECK (source IN ('manual', 'complaint', 'unsubscribe')),
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- leases: one holder at a time of a named run ('notify'); a lease past
-- expires_at may be taken over.
CREATE TABLE leases (
	name         TEXT    PRIMARY KEY,
	pid          INTEGER NOT NULL,
	host         TEXT    NOT NULL,
	acquired_at  INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
