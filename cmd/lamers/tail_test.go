package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// storedEvents sums the counts of every finding.
func storedEvents(t *testing.T, dbPath string) int64 {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	fs, err := db.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range fs {
		n += f.Count
	}
	return n
}

// waitEvents waits until the database holds want events. The tailer is
// another process: the database is the only thing to watch.
func waitEvents(t *testing.T, dbPath string, want int64, within time.Duration, logs fmt.Stringer) {
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
	if dbg := os.Getenv("LAMERS_TAIL_DEBUG"); dbg != "" {
		db, _ := store.Open(context.Background(), dbPath)
		ents, _ := os.ReadDir(dbg)
		for _, e := range ents {
			fi, _ := e.Info()
			st := fi.Sys().(*syscall.Stat_t)
			cps, _ := db.CheckpointsByInode(context.Background(), st.Dev, st.Ino)
			t.Logf("%s size %d ino %d cps %+v", e.Name(), fi.Size(), st.Ino, cps)
		}
		db.Close(context.Background())
	}
	l := logs.String()
	if len(l) > 6000 {
		l = l[len(l)-6000:]
	}
	t.Fatalf("%d events stored after %v, want %d\n%s", got, within, want, l)
}

// crashWriter writes distinct lame-server lines through an O_APPEND
// descriptor, as named does, and rotates the file in the ways logrotate and
// BIND do.
type crashWriter struct {
	t    *testing.T
	path string
	f    *os.File
	n    int
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
	t.Setenv("LAMERS_TAIL_DEBUG", dir)
	log := filepath.Join(dir, "lame.log")
	w := &crashWriter{t: t, path: log}
	w.open()
	defer w.f.Close()
	var stderr lockedBuffer

	// The killer: start tail, let it run a random while, SIGKILL it, and
	// record how it died and where the checkpoint of the live file was. It
	// fails nothing itself (it is not the test's goroutine): the test reads
	// kills once it has stopped. While hold is locked it lets the running
	// tailer live (see the delete and recreate rotation below).
	stop := make(chan struct{})
	var hold sync.Mutex
	var wg sync.WaitGroup
	var kills []tailKill
	var killerErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(2026, 11))
		for {
			cmd, err := startLamers(env, &stderr, "tail", "--from-start", log)
			if err != nil {
				killerErr = err
				return
			}
			select {
			case <-stop:
				cmd.Process.Kill()
				cmd.Wait()
				return
			case <-time.After(time.Duration(50+rng.IntN(600)) * time.Millisecond): // a random moment
			}
			hold.Lock()
			k, err := killTail(cmd, dbPath, log)
			hold.Unlock()
			if err != nil {
				killerErr = err
				return
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
			waitEvents(t, dbPath, int64(w.n), 60*time.Second, &stderr)
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
	if killerErr != nil {
		t.Fatal(killerErr)
	}
	short := 0
	for i, k := range kills {
		ws, ok := k.state.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("kill %d: tail ended with %v, not by SIGKILL: it was not running when killed\n%s", i, k.state, stderr.String())
		}
		if k.offset < k.size {
			short++
		}
	}
	t.Logf("%d lines written, tail killed %d times, %d of them with lines of the live file not committed", w.n, len(kills), short)
	if len(kills) == 0 || short == 0 {
		t.Fatalf("no kill interrupted a tailer with lines left to commit (%d kills)", len(kills))
	}

	// A last tailer catches up, then exits 0 on SIGTERM.
	final := lamersProc(t, env, &stderr, "tail", "--from-start", log)
	waitEvents(t, dbPath, total, 60*time.Second, &stderr)
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

// tailKill is one SIGKILL of `lamers tail`: how the process ended, and the
// offset of the live file's checkpoint after the kill against the file's
// size just before it.
type tailKill struct {
	state        *os.ProcessState
	offset, size int64
}

// killTail kills the tailer cmd following log into the database dbPath
// and reports the kill. When log does not exist at that moment (between
// the delete and the recreate of a rotation) offset and size are 0.
func killTail(cmd *exec.Cmd, dbPath, log string) (tailKill, error) {
	fi, statErr := os.Stat(log)
	cmd.Process.Kill()
	cmd.Wait()
	k := tailKill{state: cmd.ProcessState}
	if errors.Is(statErr, fs.ErrNotExist) {
		return k, nil
	}
	if statErr != nil {
		return k, statErr
	}
	k.size = fi.Size()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return k, err
	}
	defer db.Close(ctx)
	st := fi.Sys().(*syscall.Stat_t)
	cps, err := db.CheckpointsByInode(ctx, uint64(st.Dev), st.Ino)
	if err != nil {
		return k, err
	}
	for _, cp := range cps {
		k.offset = max(k.offset, cp.Offset)
	}
	return k, nil
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
	waitEvents(t, env["LAMERS_DB"], 10, 20*time.Second, &stderr)

	wb := &crashWriter{t: t, path: b, n: 1000}
	wb.open()
	defer wb.f.Close()
	wb.write(5) // before the reload: a new source is read from its end
	writeCfg(a, b)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &stderr, `msg="tail: following" path=`+b)
	wb.write(7)
	waitEvents(t, env["LAMERS_DB"], 17, 20*time.Second, &stderr)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(cmd, 10*time.Second); err != nil {
		t.Fatalf("tail after SIGTERM: %v\n%s", err, stderr.String())
	}
}

// tail commits what it read and returns nil at the first signal.
func TestTailCommandGracefulStop(t *testing.T) {
	a := newTestApp(t, "")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	// The database exists before the test polls it: two first opens of a
	// new database at once can fail with "database is locked" (store/,
	// reported apart).
	storedEvents(t, a.cfg.DB)
	done := make(chan error, 1)
	go func() { done <- a.runCmd(&tailCommand{fromStart: true}, log) }()
	// bind9.log's 188 lines hold 156 events: the sum of the counts in
	// testdata/golden/scan/bind9.log.json.
	deadline := time.Now().Add(20 * time.Second)
	for storedEvents(t, a.cfg.DB) != 156 {
		select {
		case err := <-done:
			t.Fatalf("tail returned before the stop: %v\n%s", err, a.errb)
		case <-time.After(20 * time.Millisecond): // polling the tailer's commits
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored after 20s, want 156\n%s", storedEvents(t, a.cfg.DB), a.errb)
		}
	}
	a.stop.receive(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tail did not return within 20s of the graceful stop")
	}
	if got := storedEvents(t, a.cfg.DB); got != 156 {
		t.Errorf("%d events stored after the stop, want 156", got)
	}
	if !strings.Contains(a.errb.String(), `msg="tail: stopped" lines=188 `) {
		t.Errorf("no final log line:\n%s", a.errb)
	}
}
