-- 0008_digest: what `lamers digest` reads (notify/digest): when each
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
