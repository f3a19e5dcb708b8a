package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// countEvents sums the counts of every finding in the database at dbPath.
func countEvents(dbPath string) (int64, error) {
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		return 0, err
	}
	defer db.Close(context.Background())
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range fs {
		n += f.Count
	}
	return n, nil
}

// storedEvents is countEvents for the test's own goroutine.
func storedEvents(t *testing.T, dbPath string) int64 {
	t.Helper()
	n, err := countEvents(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitEvents waits until the database holds want events. The tailer is
// another process: the database is the only thing to watch. On failure it
// shows the end of logs and, when logDir is not "", the checkpoints of
// every file in it.
func waitEvents(t *testing.T, dbPath string, want int64, within time.Duration, logs fmt.Stringer, logDir string) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got int64
	for time.Now().Before(deadline) {
		if got = storedEvents(t, dbPath); got == want {
			return
		}
		if got > want {
			t.Fatalf("%d events stored, more than the %d lines written", got, want)
		}
		time.Sleep(20 * time.Millisecond) // polling another process's commits
	}
	if logDir != "" {
		t.Log(checkpointsIn(t, dbPath, logDir))
	}
	l := logs.String()
	if len(l) > 6000 {
		l = l[len(l)-6000:]
	}
	t.Fatalf("%d events stored after %v, want %d\n%s", got, within, want, l)
}

// checkpointsIn lists each file of dir with its size, inode and the
// checkpoints the database at dbPath holds for that inode.
func checkpointsIn(t *testing.T, dbPath, dir string) string {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		return err.Error()
	}
	defer db.Close(context.Background())
	ents, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		cps, err := db.CheckpointsByInode(context.Background(), st.Dev, st.Ino)
		fmt.Fprintf(&b, "%s size %d inode %d checkpoints %+v %v\n", e.Name(), fi.Size(), st.Ino, cps, err)
	}
	return b.String()
}

// crashWriter writes distinct lame-server lines through an O_APPEND
// descriptor, as named does, and rotates the file in the ways logrotate and
// BIND do.
type crashWriter struct {
	t    *testing.T
	path string
	f    *os.File
	n    int
	// written is n for other goroutines.
	written atomic.Int64
}

func (w *crashWriter) open() {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f = f
}

func (w *crashWriter) write(n int) {
	var b bytes.Buffer
	for i := w.n; i < w.n+n; i++ {
		fmt.Fprintf(&b, "22-Nov-2026 %02d:%02d:%02d.%03d lame-servers: info: lame server resolving 'q%d.z%d.crash.example' (in 'z%d.crash.example'?): 198.51.100.%d#53\n",
			(i/3600)%24, (i/60)%60, i%60, i%1000, i, i%211, i%211, 1+i%23)
	}
	if _, err := w.f.Write(b.Bytes()); err != nil {
		w.t.Fatal(err)
	}
	w.n += n
	w.written.Store(int64(w.n))
}

func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(src)
}

// A writer appends 100,000 distinct lines across five rotations of every
// kind while `lamers tail` is killed with SIGKILL at random moments and
// restarted. Afterwards the stored counts equal the lines written, and
// still do after `lamers scan` of every rotated file.
func TestTailSurvivesSIGKILL(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("subprocess crash test (about 5 s): run without -short")
	}
	const total = 100_000
	env := testEnv(t)
	dbPath := env["LAMERS_DB"]
	dir := t.TempDir()
	log := filepath.Join(dir, "lame.log")
	w := &crashWriter{t: t, path: log}
	w.open()
	defer w.f.Close()
	var stderr lockedBuffer

	// The killer: start tail, let it run a random while, SIGKILL it. While
	// hold is locked it lets the running tailer live (see the delete and
	// recreate rotation below). Every tailer must die by the kill, not
	// before (a tailer that fails at once would leave all the work to the
	// last one), and at least one must be killed with work done and work
	// left: events stored, fewer than the lines written.
	stop := make(chan struct{})
	var hold sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	type kill struct {
		err             error // how the tailer ended, or why it did not start
		signalled       bool  // by SIGKILL
		stored, written int64 // events stored and lines written after its death
	}
	var kills []kill
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(2026, 11))
		for {
			cmd, err := startLamers(env, &stderr, "tail", "--from-start", log)
			if err != nil {
				kills = append(kills, kill{err: err})
				return
			}
			select {
			case <-stop:
				cmd.Process.Kill()
				cmd.Wait()
				return
			case <-time.After(time.Duration(50+rng.IntN(600)) * time.Millisecond): // the kill moment, not a synchronisation
			}
			hold.Lock()
			cmd.Process.Kill()
			k := kill{err: cmd.Wait()}
			hold.Unlock()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			k.signalled = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
			k.written = w.written.Load()
			if k.stored, err = countEvents(dbPath); err != nil {
				k.err = err
			}
			kills = append(kills, k)
		}
	}()

	rotations := []func(){
		func() { // logrotate create, the daemon reopens late
			os.Rename(log, log+".r1")
			old := w.f
			w.f = nil
			w.open()
			nw := w.f
			w.f = old
			w.write(700) // still to the renamed file
			old.Close()
			w.f = nw
		},
		func() { // copytruncate
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(log+".c2", data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(log, 0); err != nil {
				t.Fatal(err)
			}
		},
		func() { // BIND versions: file → file.0 → file.1
			if _, err := os.Stat(log + ".0"); err == nil {
				os.Rename(log+".0", log+".1")
			}
			os.Rename(log, log+".0")
			w.open()
		},
		func() { // compress delaycompress: yesterday's file is compressed now
			gzipFile(t, log+".r1", log+".r1.gz")
			os.Rename(log, log+".d4")
			w.open()
		},
		func() { // delete and recreate (once the tailer has read it: deleted
			// unread lines are gone for everyone). The killer holds off
			// meanwhile: a tailer killed every few hundred milliseconds on
			// a loaded machine may never get there.
			hold.Lock()
			waitEvents(t, dbPath, int64(w.n), 60*time.Second, &stderr, dir)
			hold.Unlock()
			os.Remove(log)
			w.open()
		},
	}
	per := total / (len(rotations) + 1)
	for r := 0; r <= len(rotations); r++ {
		for w.n < min((r+1)*per, total) {
			if r == len(rotations) && w.n >= total {
				break
			}
			w.write(min(100, (r+1)*per-w.n))
			time.Sleep(4 * time.Millisecond) // ~25,000 lines/s: a busy resolver, not a synchronisation
		}
		if r < len(rotations) {
			rotations[r]()
		}
	}
	if w.n < total {
		w.write(total - w.n)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d lines written, tail killed %d times", w.n, len(kills))
	interrupted := 0
	for i, k := range kills {
		if !k.signalled {
			t.Fatalf("tailer %d did not die by SIGKILL: %v\n%s", i, k.err, stderr.String())
		}
		if k.stored > 0 && k.stored < k.written {
			interrupted++
		}
	}
	if interrupted == 0 {
		t.Fatalf("no kill interrupted a tailer with lines stored and lines left (kills: %+v)", kills)
	}

	// A last tailer catches up, then exits 0 on SIGTERM.
	final := lamersProc(t, env, &stderr, "tail", "--from-start", log)
	waitEvents(t, dbPath, total, 60*time.Second, &stderr, dir)
	final.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(final, 10*time.Second); err != nil {
		t.Fatalf("tail after SIGTERM: %v\n%s", err, stderr.String())
	}

	// The nightly scan over every generation adds nothing.
	ents, _ := os.ReadDir(dir)
	var files []string
	for _, e := range ents {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	res := lamers(t, env, nil, append([]string{"scan", "--no-progress"}, files...)...)
	if res.code != 0 {
		t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
	if got := storedEvents(t, dbPath); got != total {
		t.Fatalf("after scan: %d events stored, want %d\n%s", got, total, res.stdout)
	}
	if !strings.Contains(res.stdout, "lines read: 0\n") {
		t.Errorf("scan read lines again:\n%s", res.stdout)
	}
}

// waitLog waits until a subprocess has logged s.
func waitLog(t *testing.T, logs *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q logged:\n%s", s, logs)
		}
		time.Sleep(10 * time.Millisecond) // polling another process's output
	}
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		return fmt.Errorf("did not exit within %v", d)
	}
}

// lockedBuffer collects the stderr of several processes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SIGHUP rereads [[sources]]: a source added to the configuration is
// followed without a restart.
func TestTailSIGHUPReloadsSources(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	cfg := filepath.Join(dir, "lamers.toml")
	writeCfg := func(paths ...string) {
		var s strings.Builder
		for _, p := range paths {
			fmt.Fprintf(&s, "[[sources]]\npath = %q\n", p)
		}
		if err := os.WriteFile(cfg, []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(a)
	env["LAMERS_CONFIG"] = cfg
	wa := &crashWriter{t: t, path: a}
	wa.open()
	defer wa.f.Close()
	var stderr lockedBuffer
	cmd := lamersProc(t, env, &stderr, "tail")
	defer cmd.Process.Kill()
	waitLog(t, &stderr, "tail: started")
	wa.write(10)
	waitEvents(t, env["LAMERS_DB"], 10, 20*time.Second, &stderr, dir)

	wb := &crashWriter{t: t, path: b, n: 1000}
	wb.open()
	defer wb.f.Close()
	wb.write(5) // before the reload: a new source is read from its end
	writeCfg(a, b)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &stderr, "b.log")
	wb.write(7)
	waitEvents(t, env["LAMERS_DB"], 17, 20*time.Second, &stderr, dir)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(cmd, 10*time.Second); err != nil {
		t.Fatalf("tail after SIGTERM: %v\n%s", err, stderr.String())
	}
}
