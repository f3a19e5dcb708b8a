-- 0005_checkpoint_marks: prefix marks of a checkpoint's content.
--
-- marks holds, for the first line end at or after 1 KiB, 2 KiB, every
-- 4 KiB up to 64 KiB and every power of two above, up to the checkpoint's
-- offset: that offset, the lines before it and the hash of the 4096 bytes
-- before it (store.Mark; 32 bytes each, at most 64 of them). A file shorter than the checkpoint whose bytes match at its
-- last mark is a prefix of content already ingested and adds nothing
-- (docs/exactly-once.md). Checkpoints written before have none: a shorter
-- file is new content for them, as before.
ALTER TABLE checkpoints ADD COLUMN marks BLOB NOT NULL DEFAULT x'';
