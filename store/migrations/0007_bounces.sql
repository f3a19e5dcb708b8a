-- 0007_bounces: every returned message `lamers bounce` was given
-- (docs/notify.md, section 7), stored once, with what it did.
--
-- Times are INTEGER unix nanoseconds, UTC.

-- bounces: one row per distinct message (sha256 of all its bytes, a
-- leading mbox "From " line left out): the same message given twice is
-- stored and applied once. raw keeps its first 256 KiB, size its whole
-- length. token is the token found in it ('' when none), outbox_id the
-- message it answers (NULL: unmatched, for a person to look at). recipient,
-- status, action and diagnostic are those of its most severe recipient.
-- effect is what storing it did, in the same transaction: none, counted
-- (a soft or policy mark), dead (the recipient is dead for the message's
-- findings: a hard bounce, or the soft or policy mark that reached the
-- limit), suppressed (a complaint or an unsubscription); marks is the
-- number of contact marks it added.
CREATE TABLE bounces (
	id            INTEGER PRIMARY KEY,
	received_at   INTEGER NOT NULL,
	source        TEXT    NOT NULL CHECK (source IN ('pipe', 'maildir', 'mbox')),
	sha256        TEXT    NOT NULL UNIQUE CHECK (length(sha256) = 64),
	size          INTEGER NOT NULL CHECK (size >= 0),
	raw           BLOB    NOT NULL CHECK (length(raw) <= 262144),
	format        TEXT    NOT NULL,
	class         TEXT    NOT NULL
		CHECK (class IN ('unknown', 'hard', 'soft', 'policy', 'delay', 'autoreply', 'complaint', 'unsubscribe')),
	token         TEXT    NOT NULL DEFAULT '',
	token_source  TEXT    NOT NULL DEFAULT '',
	outbox_id     INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
	recipient     TEXT    NOT NULL DEFAULT '',
	status        TEXT    NOT NULL DEFAULT '',
	action        TEXT    NOT NULL DEFAULT '',
	diagnostic    TEXT    NOT NULL DEFAULT '',
	sender        TEXT    NOT NULL DEFAULT '',
	subject       TEXT    NOT NULL DEFAULT '',
	problem       TEXT    NOT NULL DEFAULT '',
	effect        TEXT    NOT NULL CHECK (effect IN ('none', 'counted', 'dead', 'suppressed')),
	marks         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bounces_received ON bounces (received_at);
CREATE INDEX bounces_outbox ON bounces (outbox_id);

-- Soft and policy marks are counted per address over every finding
-- (contact_marks.go: BounceWindow and the limits).
CREATE INDEX contact_marks_events ON contact_marks (mark, lower(address), at) WHERE mark IN ('soft', 'policy');
