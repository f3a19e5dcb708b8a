-- 0009_digest: what `lamers digest` reads (notify/digest): when each
-- finding's status last changed, and indexes that let the digest of a
-- million findings read its lists and its worst servers without a scan.
--
-- Times are INTEGER unix nanoseconds, UTC.

-- status_at: when the finding's status last changed (the round or the
-- check that changed it); NULL while it is still "new". The digest's
-- "fixed" and "stale" are the findings that became so in its period.
-- Findings written before this migration get an estimate from what is
-- on record: lame and unresponsive ones their confirmation; ok and fixed
-- ones the first authoritative round after their last lame or silent one;
-- the others their last probe.
ALTER TABLE findings ADD COLUMN status_at INTEGER;
UPDATE findings SET status_at = CASE
	WHEN status IN ('lame', 'unresponsive') THEN coalesce(confirmed_at, last_probed)
	WHEN status IN ('ok', 'fixed') THEN coalesce(
		(SELECT min(r.at) FROM rounds r WHERE r.finding_id = findings.id AND r.class = 'authoritative'
			AND r.at > coalesce((SELECT max(a.at) FROM rounds a WHERE a.finding_id = findings.id
				AND a.class IN ('hard', 'soft')), 0)),
		last_probed)
	ELSE last_probed END
	WHERE status <> 'new';

-- The indexes are partial: a new finding (status "new", never confirmed,
-- no human needed) is in none of them, so ingest's inserts do not pay for
-- them; only verification's and notify's changes of a finding do.
--
-- Confirmed findings (lame or unresponsive: confirmed_at is set exactly
-- then) by the time they were confirmed: the newly confirmed of a period
-- and those still lame from before it.
CREATE INDEX findings_confirmed ON findings (confirmed_at) WHERE confirmed_at IS NOT NULL;
-- The zones of each server among the confirmed findings: the worst
-- servers, read from the index alone.
CREATE INDEX findings_confirmed_servers ON findings (server, zone) WHERE confirmed_at IS NOT NULL;
-- Fixed and stale findings by when they became so.
CREATE INDEX findings_changed ON findings (status, status_at) WHERE status IN ('fixed', 'stale');
-- The findings that need a human, oldest confirmation first.
CREATE INDEX findings_needs_human ON findings (confirmed_at) WHERE needs_human = 1;

-- digests: every digest `lamers digest --send` and the digest step of
-- `lamers run` handed to the relay, recorded pending before the handover
-- and marked after, like the outbox (docs/digest.md). The end of the last
-- one sent (until) is where the next digest's period starts by default. A
-- row a crash left pending is made unknown by the next digest; a digest is
-- never handed over again on its own (the next one covers its period).
CREATE TABLE digests (
	id             INTEGER PRIMARY KEY,
	token          TEXT    NOT NULL UNIQUE CHECK (length(token) = 20),
	recipient      TEXT    NOT NULL,
	since          INTEGER NOT NULL,
	until          INTEGER NOT NULL CHECK (until >= since),
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
-- The digests sent, by the end of their period: the last one.
CREATE INDEX digests_sent ON digests (until) WHERE state = 'sent';
