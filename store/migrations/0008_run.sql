-- 0008_run: the schedule of `lamers run`'s steps and its write probe.
--
-- Times are INTEGER unix nanoseconds, UTC; NULL where "never".

-- steps: the last run of each scheduled step (scan, verify, notify, digest).
-- started_at is the schedule's anchor: the step is due again at
-- started_at + its interval, whichever process ran it (a daemon and a cron
-- `run --once` share it). A run claims its row when it starts (holder,
-- started_at, finished_at NULL) and completes it when it ends; a run
-- abandoned at a stop puts the row back as it was; a row left with
-- finished_at NULL belongs to a process that died during the step.
CREATE TABLE steps (
	name          TEXT    PRIMARY KEY,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER,
	error         TEXT    NOT NULL DEFAULT '', -- '' when the run succeeded
	last_success  INTEGER,                     -- end of the last run that succeeded
	holder        TEXT    NOT NULL DEFAULT ''  -- host:pid of the process that ran it
) WITHOUT ROWID;

-- heartbeats: a row each daemon rewrites every few seconds; the write is
-- how /healthz knows the database takes writes.
CREATE TABLE heartbeats (
	name  TEXT    PRIMARY KEY,
	at    INTEGER NOT NULL
) WITHOUT ROWID;
