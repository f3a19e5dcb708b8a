// Package ingest moves log content into the store exactly once.
//
// A log file is read as a content stream: its identity is the fingerprint
// of its first line (at most 4096 bytes), verified against the hash of the
// bytes just before a checkpoint's offset. The same content renamed
// (named.log → named.log.0), copied or compressed (named.log.1.gz) is
// recognised and resumed from its checkpoint; appended content is read from
// where the last run stopped; a copytruncated or recreated file, whose bytes
// differ, is a new stream. A file shorter than a checkpoint that matches
// one of its prefix marks is a prefix of content already read and adds
// nothing (prefix.go).
//
// Every batch of aggregated evidence is committed in the same SQLite
// transaction as the checkpoint it advances, with a compare-and-swap on the
// checkpoint version: a crash at any instant, a concurrent scan of the same
// file, or a tailer racing a cron scan can neither lose nor double-count a
// line. On a conflict the reader goes back to the stored checkpoint and
// carries on from there.
//
// A scan is a pipeline: one goroutine reads lines and drops the ones the
// parser's prefilter rejects, several workers parse the rest into the
// batch's aggregate, whose shards (by key) they lock in turn, and one
// goroutine commits, the store reading the batch's rows as it merges them.
// Lines that may touch the parser's state (Unbound's multi-line groups,
// BIND's "DNS format error" notices) and the lines closely after them
// (parser.ContextLines) all go to the same worker in order; other lines go
// to any worker. Every observation is
// numbered by the position of its line, so the batch is the one a single
// worker would have built (the same finding order, sample names and
// counts).
//
// Only complete lines are consumed from plain files (a writer may still be
// finishing the last one). Compressed files and standard input are final:
// a last line without a newline is consumed too. A compressed stream that
// ends before its end marker (a .gz cut by a full disk or copied while
// gzip wrote it) is an error for that file: its complete lines are
// committed, the cut line after them is never parsed, and the checkpoint
// stops before it, so the whole file read later adds exactly that line and
// the rest.
//
// docs/exactly-once.md gives the whole argument, for scan and for tail.
package ingest
