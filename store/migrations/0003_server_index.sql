-- 0003_server_index: findings and attributions by server address and port.
--
-- Verification looks up the zones known for one server and port
-- (ZonesOf: is an Unbound lossy name, we?ird.lab., the spelling of exactly
-- one of them?). Without an index that is a scan of every finding for
-- each lossy name, and anyone who can make a resolver log a name can make
-- many of them. The index costs ingest one more entry per new finding;
-- updates of existing findings do not touch server or port.
CREATE INDEX findings_server ON findings (server, port);
CREATE INDEX attributions_server ON attributions (server, port);
