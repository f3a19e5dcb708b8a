package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/lamers-dev/lamers/parser/ingest"
)

// source is what the sampler knows of one followed path.
type source struct {
	path    string
	problem string // "" when healthy
	// at is the checkpoint the lines waited after at the last sample
	// (zero: none waited), since when it was seen so.
	at    position
	since time.Time
	lag   time.Duration
}

// position identifies a committed position in one file.
type position struct {
	dev, ino   uint64
	checkpoint int64 // its ID, 0 when none was committed yet
	offset     int64
}

// waitScan bounds how far past the checkpoint the sampler looks for a
// newline: beyond it lines are waiting whatever the bytes are.
const waitScan = 64 << 10

// checkSource looks at one source: can its file be read, and do complete
// lines wait after its checkpoint, since when.
func (mon *Monitor) checkSource(ctx context.Context, s *source) {
	now := mon.opts.Now()
	problem, pos, behind, err := mon.look(ctx, s.path)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		mon.log.Warn("monitor: read the checkpoints of a source", logKeySource, s.path, logKeyErr, err)
	}
	mon.mu.Lock()
	defer mon.mu.Unlock()
	switch {
	case problem != "" || behind == 0:
		s.at, s.since, s.lag = position{}, time.Time{}, 0
	case s.since.IsZero() || s.at != pos:
		s.at, s.since, s.lag = pos, now, 0
	default:
		s.lag = now.Sub(s.since)
	}
	if problem == "" && s.lag >= mon.opts.StuckAfter {
		problem = fmt.Sprintf("stuck: lines have waited %v after the checkpoint", s.lag.Round(time.Second))
	}
	if problem != s.problem && problem != "" {
		mon.log.Warn("monitor: source unhealthy", logKeySource, s.path, logKeyErr, problem)
	}
	s.problem = problem
	up := 0.0
	if !strings.HasPrefix(problem, "missing") && !strings.HasPrefix(problem, "unreadable") {
		up = 1
	}
	mon.m.sourceUp.WithLabelValues(s.path).Set(up)
	mon.m.tailLag.WithLabelValues(s.path).Set(s.lag.Seconds())
	mon.m.tailBehind.WithLabelValues(s.path).Set(float64(behind))
}

// look opens path and compares it with the furthest checkpoint of the
// content it holds (its inode's, of its fingerprint): problem says why it
// cannot be followed; behind is the bytes after the checkpoint, or all of
// them when the content has none, when complete lines wait there, else 0.
func (mon *Monitor) look(ctx context.Context, path string) (problem string, pos position, behind int64, err error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing", pos, 0, nil
	case err != nil:
		return "unreadable: " + errText(err), pos, 0, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "unreadable: " + errText(err), pos, 0, nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok {
		return "unreadable: not a regular file", pos, 0, nil
	}
	pos.dev, pos.ino = uint64(st.Dev), st.Ino
	fp, ok, err := ingest.Fingerprint(io.NewSectionReader(f, 0, fi.Size()), false)
	if err != nil {
		return "unreadable: " + errText(err), pos, 0, nil
	}
	if ok {
		cps, err := mon.st.CheckpointsByInode(ctx, pos.dev, pos.ino)
		if err != nil {
			return "", pos, 0, err
		}
		for _, cp := range cps {
			// The checkpoint of what the file holds now: not of content it
			// held before (copytruncate, an inode reused), which may be
			// further, nor of content longer than the file is.
			if bytes.Equal(cp.Fingerprint, fp) && cp.Offset <= fi.Size() && cp.Offset >= pos.offset {
				pos.checkpoint, pos.offset = cp.ID, cp.Offset
			}
		}
	}
	if fi.Size() <= pos.offset {
		return "", pos, 0, nil
	}
	buf := make([]byte, min(fi.Size()-pos.offset, waitScan))
	n, rerr := f.ReadAt(buf, pos.offset)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return "unreadable: " + errText(rerr), pos, 0, nil
	}
	if int64(n) == waitScan || bytes.IndexByte(buf[:n], '\n') >= 0 {
		behind = fi.Size() - pos.offset
	}
	return "", pos, behind, nil
}

// errText is err's text without the path, which the health line names
// already.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// health returns the problems found by the last sample, one per line
// ("source PATH: missing"), and a line per source and for the database.
func (mon *Monitor) health() (problems, lines []string) {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	now := mon.opts.Now()
	if !mon.sampled {
		return []string{"starting: not sampled yet"}, nil
	}
	for _, s := range mon.sources {
		if s.problem != "" {
			problems = append(problems, fmt.Sprintf("source %s: %s", s.path, s.problem))
			lines = append(lines, fmt.Sprintf("source %s: %s", s.path, s.problem))
			continue
		}
		lines = append(lines, fmt.Sprintf("source %s: following, lag %v", s.path, s.lag.Round(time.Second)))
	}
	switch {
	case !mon.writeSince.IsZero() && now.Sub(mon.writeSince) >= mon.opts.StuckAfter:
		p := fmt.Sprintf("database: a write has waited %v", now.Sub(mon.writeSince).Round(time.Second))
		problems, lines = append(problems, p), append(lines, p)
	case mon.writeErr != nil:
		p := "database: not writable: " + mon.writeErr.Error()
		problems, lines = append(problems, p), append(lines, p)
	default:
		lines = append(lines, fmt.Sprintf("database: writable, last write %v ago", now.Sub(mon.lastWrite).Round(time.Second)))
	}
	return problems, lines
}

// serveHealth answers 200 "ok" or 503 "unhealthy: REASONS", then one line
// per source and for the database.
func (mon *Monitor) serveHealth(w http.ResponseWriter, r *http.Request) {
	problems, lines := mon.health()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %s\n", strings.Join(problems, "; "))
	} else {
		fmt.Fprintln(w, "ok")
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
