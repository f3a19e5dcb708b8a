package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// A BIND 9.18 lame-servers line (testdata/lab/bind9.log at the module root).
const bindLine = "22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53\n"

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)} }

// testOptions are the options of a monitor stepped by hand.
func testOptions(c *clock, sources ...string) Options {
	o := DefaultOptions()
	o.Interval = 0
	o.Sources = sources
	o.Now = c.Now
	return o
}

// commitAt stores a checkpoint at offset for the file at path, as the
// tailer does after reading to there.
func commitAt(t testing.TB, db *store.DB, path string, base store.Checkpoint, offset int64) store.Checkpoint {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if base.ID == 0 {
		base.Fingerprint = fingerprintOf(t, path)
	}
	r, err := db.Commit(context.Background(), store.Batch{Base: base,
		Next: store.Checkpoint{Offset: offset, Dev: uint64(st.Dev), Inode: st.Ino, Path: path, TailHash: []byte("tail")}})
	if err != nil {
		t.Fatal(err)
	}
	return r.Checkpoint
}

// fingerprintOf returns the fingerprint of the content of the file at
// path, as the tailer computes it.
func fingerprintOf(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fp, ok, err := ingest.Fingerprint(f, false)
	if err != nil || !ok {
		t.Fatalf("fingerprint of %s: %v, %v", path, ok, err)
	}
	return fp
}

func appendTo(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// healthOf returns the status code and body of GET /healthz.
func healthOf(t *testing.T, mon *Monitor) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	mon.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	return rec.Code, rec.Body.String()
}

func wantHealth(t *testing.T, mon *Monitor, code int, first string) {
	t.Helper()
	got, body := healthOf(t, mon)
	if line, _, _ := strings.Cut(body, "\n"); got != code || line != first {
		t.Errorf("/healthz = %d %q, want %d and first line %q", got, body, code, first)
	}
}

// The health of the sources: followed and caught up is healthy; a file
// that is missing or not a regular file is not; complete lines waiting
// after an unmoving checkpoint make the source stuck once StuckAfter has
// passed, and a moving checkpoint or a last line without its newline do
// not.
func TestHealthSources(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	dir := t.TempDir()
	named, unbound := filepath.Join(dir, "named.log"), filepath.Join(dir, "unbound.log")
	appendTo(t, named, bindLine)
	cp := commitAt(t, db, named, store.Checkpoint{}, int64(len(bindLine)))
	c := newClock()
	mon := New(db, testOptions(c, named))

	wantHealth(t, mon, 503, "unhealthy: starting: not sampled yet")
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")
	if _, body := healthOf(t, mon); !strings.Contains(body, "source "+named+": following, lag 0s\ndatabase: writable, last write 0s ago\n") {
		t.Errorf("body:\n%s", body)
	}

	// A line the tailer has not committed: waiting, not stuck yet.
	appendTo(t, named, bindLine)
	mon.Sample(ctx)
	c.add(time.Minute)
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")
	if got := testutil.ToFloat64(mon.m.tailLag.WithLabelValues(named)); got != 60 {
		t.Errorf("lag %v, want 60 s", got)
	}
	if got := testutil.ToFloat64(mon.m.tailBehind.WithLabelValues(named)); got != float64(len(bindLine)) {
		t.Errorf("behind %v, want %d bytes", got, len(bindLine))
	}
	// The checkpoint moved, but another line waits: the lag starts again.
	appendTo(t, named, bindLine)
	cp = commitAt(t, db, named, cp, int64(2*len(bindLine)))
	c.add(time.Minute)
	mon.Sample(ctx)
	c.add(time.Minute + 59*time.Second)
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")
	c.add(time.Second)
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: source "+named+": stuck: lines have waited 2m0s after the checkpoint")

	// Caught up, then a line being written without its newline yet.
	cp = commitAt(t, db, named, cp, int64(3*len(bindLine)))
	appendTo(t, named, strings.TrimSuffix(bindLine, "\n"))
	c.add(10 * time.Minute)
	mon.Sample(ctx)
	c.add(10 * time.Minute)
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")

	// A second source that does not exist yet, then is a directory. Its
	// series exist from the start, at 0.
	mon.SetSources([]string{named, unbound})
	if n := testutil.CollectAndCount(mon.m.linesRead); n != 2 {
		t.Errorf("%s has %d series for 2 sources", nameLinesRead, n)
	}
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: source "+unbound+": missing")
	if got := testutil.ToFloat64(mon.m.sourceUp.WithLabelValues(unbound)); got != 0 {
		t.Errorf("%s up = %v, want 0", nameSourceUp, got)
	}
	if err := os.Mkdir(unbound, 0o755); err != nil {
		t.Fatal(err)
	}
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: source "+unbound+": unreadable: not a regular file")
	if err := os.Remove(unbound); err != nil {
		t.Fatal(err)
	}
	// A file never committed, with lines: waiting since first seen so.
	appendTo(t, unbound, "[1763776910] unbound[4321:0] info: reply from <upref.lab.> 127.53.4.1#53\n")
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")
	c.add(2 * time.Minute)
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: source "+unbound+": stuck: lines have waited 2m0s after the checkpoint")

	// Dropped (SIGHUP): its series and its health go.
	mon.SetSources([]string{named})
	if n := testutil.CollectAndCount(mon.m.tailLag); n != 1 {
		t.Errorf("%s has %d series for 1 source", nameTailLag, n)
	}
	wantHealth(t, mon, 200, "ok")
}

// After copytruncate (or an inode reused) the file holds new content whose
// lines wait: the checkpoint of the content it held before, further than
// the file is long or not, is not its checkpoint. The lines wait from the
// start of the file, and the source is stuck once StuckAfter has passed.
func TestHealthCopytruncate(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	named := filepath.Join(t.TempDir(), "named.log")
	// Yesterday's content, read to its end: three lines.
	appendTo(t, named, bindLine+bindLine+bindLine)
	commitAt(t, db, named, store.Checkpoint{}, int64(3*len(bindLine)))
	// logrotate's copytruncate: the same inode, emptied, and named writes
	// on. A BIND 9.18 line of the lab's log (testdata/lab/bind9.log).
	const next = "22-Nov-2026 02:01:50.288 lame-servers: info: lame server resolving 'www.otherauth.lab' (in 'otherauth.lab'?): 127.53.0.1#53\n"
	if err := os.Truncate(named, 0); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	mon := New(db, testOptions(c, named))
	for _, w := range []struct {
		name   string
		write  string
		behind int64
	}{
		{"shorter than yesterday's checkpoint", next, int64(len(next))},
		{"longer than yesterday's checkpoint", next + next + next, int64(4 * len(next))},
	} {
		appendTo(t, named, w.write)
		mon.Sample(ctx)
		if got := testutil.ToFloat64(mon.m.tailBehind.WithLabelValues(named)); got != float64(w.behind) {
			t.Errorf("%s: behind %v, want %d bytes", w.name, got, w.behind)
		}
	}
	c.add(2 * time.Minute)
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: source "+named+": stuck: lines have waited 2m0s after the checkpoint")
	if got := testutil.ToFloat64(mon.m.tailLag.WithLabelValues(named)); got != 120 {
		t.Errorf("lag %v, want 120 s", got)
	}
	// The tailer reads the new content: caught up.
	commitAt(t, db, named, store.Checkpoint{}, int64(4*len(next)))
	mon.Sample(ctx)
	wantHealth(t, mon, 200, "ok")
}

// blockingStore is a database whose heartbeat waits until released, as a
// write waits behind another process's long transaction.
type blockingStore struct {
	*store.DB
	entered, release chan struct{}
}

func (b *blockingStore) Heartbeat(ctx context.Context, name string, at time.Time) error {
	close(b.entered)
	<-b.release
	return b.DB.Heartbeat(ctx, name, at)
}

// The health of the database: a write that has waited StuckAfter, and a
// database that refuses writes, are unhealthy.
func TestHealthDatabase(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	bs := &blockingStore{DB: storetest.Open(t), entered: make(chan struct{}), release: make(chan struct{})}
	mon := New(bs, testOptions(c))
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Sample(ctx)
	}()
	<-bs.entered
	mon.mu.Lock()
	mon.sampled = true // a first sample before this one
	mon.mu.Unlock()
	c.add(119 * time.Second)
	wantHealth(t, mon, 200, "ok")
	c.add(time.Second)
	wantHealth(t, mon, 503, "unhealthy: database: a write has waited 2m0s")
	close(bs.release)
	<-done
	wantHealth(t, mon, 200, "ok")

	db := storetest.Open(t)
	mon = New(db, testOptions(c))
	db.Close(ctx)
	mon.Sample(ctx)
	wantHealth(t, mon, 503, "unhealthy: database: not writable: store: heartbeat "+db.Path()+": sql: database is closed")
	if got := testutil.ToFloat64(mon.m.dbWritable); got != 0 {
		t.Errorf("%s = %v, want 0", nameDatabaseWritable, got)
	}
}

// seed stores n findings of one lame server, the first two confirmed lame
// (one round each) and the second needing a human, and one message.
func seed(t testing.TB, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	base := store.Checkpoint{Fingerprint: []byte("seed")}
	for done := 0; done < n; {
		k := min(n-done, 50_000)
		counts := make([]store.Count, k)
		for i := range counts {
			// lame-servers: info: lame server resolving 'www.zN.example' (in 'zN.example'?): 192.0.2.53#53
			counts[i] = store.Count{Zone: fmt.Sprintf("z%d.example.", done+i), Server: netip.MustParseAddr("192.0.2.53"), Port: 53,
				Source: "bind", Evidence: "lame_referral", Day: store.DayOf(day), N: 1, First: day, Last: day}
		}
		done += k
		r, err := db.Commit(ctx, store.Batch{Base: base, Next: store.Checkpoint{Offset: int64(done), Lines: int64(done), Path: "named.log"}, Counts: counts})
		if err != nil {
			t.Fatal(err)
		}
		base = r.Checkpoint
	}
	fs, err := db.Findings(ctx, store.Filter{Zone: "z0.example."})
	if err != nil || len(fs) != 1 {
		t.Fatalf("finding z0.example.: %v, %v", fs, err)
	}
	a := fs[0].ID
	for id := a; id < a+2; id++ {
		r := store.Round{FindingID: id, At: day.Add(time.Hour), Verdict: store.VerdictLame, Reason: "upward_referral", Class: store.ClassHard}
		if _, err := db.RecordRound(ctx, r, store.FindingUpdate{Status: store.StatusLame, Reason: "upward_referral"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetContacts(ctx, []store.ContactDecision{{FindingID: a + 1, NeedsHuman: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddOutbox(ctx, store.OutboxEntry{Token: "abcdefghijklmnopqrst", Recipient: "hostmaster@z0.example", Source: store.SourceHostmaster,
		Subject: "Lame delegation of z0.example.", MessageID: "<lamers.abcdefghijklmnopqrst@resolver.example.net>",
		State: store.OutboxPending, Transport: "smtp", CreatedAt: day.Add(2 * time.Hour), FindingIDs: []int64{a}}); err != nil {
		t.Fatal(err)
	}
}

// The metrics: tail counters per source (a rotated file's commit counts
// for its source), findings by status and messages by result from the
// tables, rounds and bounces recorded since the start by reason and class,
// steps; every name passes promlint.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	seed(t, db, 3)
	dir := t.TempDir()
	named := filepath.Join(dir, "named.log")
	appendTo(t, named, bindLine)
	commitAt(t, db, named, store.Checkpoint{}, int64(len(bindLine)))
	c := newClock()
	mon := New(db, testOptions(c, named))
	mon.Sample(ctx)
	mon.TailCommitted(named, 188, 156, 1, 2)
	mon.TailCommitted(named+".1", 12, 10, 0, 0)
	// One more round, recorded after the first summary, and a step.
	fs, err := db.Findings(ctx, store.Filter{Zone: "z2.example."})
	if err != nil {
		t.Fatal(err)
	}
	r := store.Round{FindingID: fs[0].ID, At: c.Now(), Verdict: store.VerdictLame, Reason: "refused", Class: store.ClassHard}
	if _, err := db.RecordRound(ctx, r, store.FindingUpdate{Status: store.StatusSuspect, Reason: "refused"}); err != nil {
		t.Fatal(err)
	}
	// A hard bounce of the seeded message, returned by Postfix.
	raw := []byte("Subject: Undelivered Mail Returned to Sender\r\n\r\n<hostmaster@z0.example>: host mx.z0.example said: 550 5.1.1 User unknown\r\n")
	sum := sha256.Sum256(raw)
	if _, _, err := db.AddBounce(ctx, store.Bounce{ReceivedAt: c.Now(), Source: store.BouncePipe, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(raw)), Raw: raw, Format: "rfc3464", Class: store.BounceHard, Token: "abcdefghijklmnopqrst"}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := db.ClaimStep(ctx, "verify", "h:1", c.Now(), time.Hour, nil); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	if err := db.FinishStep(ctx, "verify", c.Now(), c.Now().Add(1500*time.Millisecond), ""); err != nil {
		t.Fatal(err)
	}
	mon.StepFinished("verify", "ok", c.Now(), 1500*time.Millisecond)
	mon.StepFinished("notify", "failed", c.Now(), 3*time.Second)
	want := fmt.Sprintf(`
# HELP lamers_tail_lines_read_total Log lines read and committed by the tailer since the process started.
# TYPE lamers_tail_lines_read_total counter
lamers_tail_lines_read_total{source=%[1]q} 200
# HELP lamers_tail_lines_recognised_total Log lines the parser recognised as lame-server evidence since the process started.
# TYPE lamers_tail_lines_recognised_total counter
lamers_tail_lines_recognised_total{source=%[1]q} 166
# HELP lamers_findings Findings in the database by status.
# TYPE lamers_findings gauge
lamers_findings{status="fixed"} 0
lamers_findings{status="inconclusive"} 0
lamers_findings{status="lame"} 2
lamers_findings{status="new"} 3
lamers_findings{status="ok"} 0
lamers_findings{status="stale"} 0
lamers_findings{status="suspect"} 0
lamers_findings{status="unresponsive"} 0
`, named)
	names := []string{nameLinesRead, nameLinesRecognised, nameFindings}
	// Before the next sample the new findings of the commit count as new.
	if err := testutil.GatherAndCompare(mon.m.reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	mon.Sample(ctx) // a step finished: the summary is read again
	want = strings.Replace(want, `{status="new"} 3`, `{status="new"} 0`, 1)
	want = strings.Replace(want, `{status="suspect"} 0`, `{status="suspect"} 1`, 1)
	want += `
# HELP lamers_findings_needs_human Findings whose contact chain is exhausted: they need a human.
# TYPE lamers_findings_needs_human gauge
lamers_findings_needs_human 1
# HELP lamers_verify_probe_rounds_total Probe rounds recorded in the database since the process started, by verdict reason.
# TYPE lamers_verify_probe_rounds_total counter
lamers_verify_probe_rounds_total{reason="refused"} 1
# HELP lamers_notify_messages Messages in the outbox by result.
# TYPE lamers_notify_messages gauge
lamers_notify_messages{result="deferred"} 0
lamers_notify_messages{result="pending"} 1
lamers_notify_messages{result="rejected"} 0
lamers_notify_messages{result="sent"} 0
lamers_notify_messages{result="unknown"} 0
# HELP lamers_bounces_total Returned messages stored in the database since the process started, by class.
# TYPE lamers_bounces_total counter
lamers_bounces_total{class="autoreply"} 0
lamers_bounces_total{class="complaint"} 0
lamers_bounces_total{class="delay"} 0
lamers_bounces_total{class="hard"} 1
lamers_bounces_total{class="policy"} 0
lamers_bounces_total{class="soft"} 0
lamers_bounces_total{class="unknown"} 0
lamers_bounces_total{class="unsubscribe"} 0
# HELP lamers_step_runs_total Runs of each scheduled step by this process, by result (ok, failed, abandoned).
# TYPE lamers_step_runs_total counter
lamers_step_runs_total{result="failed",step="notify"} 1
lamers_step_runs_total{result="ok",step="verify"} 1
# HELP lamers_step_last_success_timestamp_seconds Unix time the last successful run of each step ended, by any process on the database.
# TYPE lamers_step_last_success_timestamp_seconds gauge
lamers_step_last_success_timestamp_seconds{step="verify"} 1.7953164015e+09
`
	names = append(names, nameNeedsHuman, nameProbeRounds, nameMessages, nameBounces, nameStepRuns, nameStepLastSuccess)
	if err := testutil.GatherAndCompare(mon.m.reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(mon.m.stepDuration); n != 2 {
		t.Errorf("%s has %d series, want 2", nameStepDuration, n)
	}
	problems, err := testutil.GatherAndLint(mon.m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// The server answers on a loopback port; an address in use fails Start.
func TestServe(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	opts := DefaultOptions()
	opts.Listen = "127.0.0.1:0"
	mon := New(db, opts)
	if err := mon.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "lamers_findings{status=\"new\"} 0\n"} {
		resp, err := http.Get("http://" + mon.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d:\n%s\nwant 200 with %q", path, resp.StatusCode, body, want)
		}
	}
	resp, err := http.Post("http://"+mon.Addr()+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
	opts.Listen = mon.Addr()
	if err := New(db, opts).Start(ctx); err == nil || !strings.Contains(err.Error(), "monitor: listen tcp "+mon.Addr()) {
		t.Errorf("a second Start on %s = %v, want the address in use", mon.Addr(), err)
	}
	if err := mon.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + mon.Addr() + "/healthz"); err == nil {
		t.Error("still serving after Close")
	}
}
