package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Generations returns the rotated generations of the live log file path:
// the regular files in its directory whose names start with its name
// (lame.log.0, lame.log.1.gz, lame.log-20261122), sorted by name. This is
// where the tailer looks for lines a rotation took away, and what
// ScanSource reads.
func Generations(path string) []string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); generationName(base, n) && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out
}

// IsGeneration reports whether path names a rotated generation of the live
// log file live, by Generations' rule: in the same directory, a name that
// starts with live's and is longer. The file need not exist.
func IsGeneration(live, path string) bool {
	dir, base := filepath.Split(filepath.Clean(live))
	pdir, name := filepath.Split(filepath.Clean(path))
	return pdir == dir && generationName(base, name)
}

// generationName reports whether the file name is a rotated generation's
// of the live file named base.
func generationName(base, name string) bool {
	return name != base && strings.HasPrefix(name, base)
}

// ScanSource ingests what a followed source holds that no scan or tail has
// ingested yet, as `lamers run --once` does from cron: its rotated
// generations, then the live file, each from its checkpoint with ScanFile's
// guarantees. A compressed generation already ingested to its end is
// skipped without being decompressed: the length in its gzip trailer
// (modulo 2^32) is the offset of the furthest checkpoint of its
// fingerprint. A file that cannot be read does not stop the others; the
// errors are returned together.
func (s *Scanner) ScanSource(ctx context.Context, path string, st *Stats) error {
	var errs []error
	for _, p := range append(Generations(path), path) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if done, err := s.ingested(ctx, p); err != nil || done {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, s.ScanFile(ctx, p, st))
	}
	return errors.Join(errs...)
}

// ingested reports whether p is a gzip file whose whole content has been
// ingested.
func (s *Scanner) ingested(ctx context.Context, p string) (bool, error) {
	c, err := openContent(p)
	if err != nil || !c.gzip {
		return false, nil // ScanFile reports what cannot be opened
	}
	fp, ok, err := c.fingerprint()
	if err != nil || !ok {
		return false, nil
	}
	cps, err := s.sink.CheckpointsByFingerprint(ctx, fp)
	if err != nil || len(cps) == 0 {
		return false, err
	}
	isize, ok := gzipISize(p)
	return ok && isize == uint32(cps[0].Offset), nil // furthest first
}
