-- 0003_server_index: the zones an Unbound lossy name can stand for, by
-- server address and port.
--
-- Unbound prints every octet of a name outside a-z, A-Z, 0-9, '-', '_' and
-- '*' as '?' (we\.ird.lab. becomes we?ird.lab.). Verification looks for the
-- one zone known for the same server and port that such a name can spell
-- (LossyCandidates); only zones holding another character can, and they
-- are rare, so the index on findings is partial: ingest pays for it only
-- on the odd new finding whose zone has an escape or a '?' (a full index
-- on (server, port) cost each new finding as much as the unique key). The
-- query repeats the condition word for word, which is how SQLite knows the
-- index applies. Without an index every lossy name, which anyone who can
-- make a resolver log a name can make, would scan every finding.
CREATE INDEX findings_unprintable ON findings (server, port) WHERE zone GLOB '*[^a-z0-9.*_-]*';
CREATE INDEX attributions_server ON attributions (server, port);
