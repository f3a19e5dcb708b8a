package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/lamers-dev/lamers/store"
)

func TestReportCommand(t *testing.T) {
	tests := []struct {
		cmd     reportCommand
		stdout  string // exact
		wantErr string // exact
	}{
		{reportCommand{format: "table"}, "no findings\n", ""},
		{reportCommand{format: "csv"}, "zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed,contact,contact_source,last_notified,needs_human,overflow\n", ""},
		{reportCommand{format: "json", zone: "UPREF.lab"}, "[]\n", ""},
		{reportCommand{format: "xml"}, "", `report: --format: "xml" is not one of table, json, csv`},
		{reportCommand{format: "table", since: "yesterday"}, "", `report: --since: "yesterday" is not a date, an RFC 3339 time or a duration`},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		createDB(t, a.cfg.DB)
		err := a.runCmd(&tt.cmd)
		if got := errString(err); got != tt.wantErr {
			t.Errorf("%+v: error %q, want %q", tt.cmd, got, tt.wantErr)
		}
		if a.out.String() != tt.stdout {
			t.Errorf("%+v: stdout %q, want %q", tt.cmd, a.out, tt.stdout)
		}
	}
}

// createDB creates an empty database at path, as a first scan would.
func createDB(t *testing.T, path string) {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// report writes nothing, so it creates no database: a wrong --db is an
// error, not an empty report.
func TestReportMissingDatabase(t *testing.T) {
	a := newTestApp(t, "")
	err := a.runCmd(&reportCommand{format: "table"})
	if want := "store: open " + a.cfg.DB + ": no such database (lamers scan creates it)"; errString(err) != want {
		t.Errorf("error %q, want %q", errString(err), want)
	}
	if _, err := os.Stat(a.cfg.DB); err == nil {
		t.Error("report created the database")
	}
}

// Attacker-influenced text never reaches the terminal raw.
func TestReportTableEscapes(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "evil.log")
	line := "lame server resolving 'www.evil\\027lab' (in 'evil\\027lab'?): 192.0.2.1#53\n" +
		"lame server \x1b[31mresolving garbage\n"
	if err := os.WriteFile(log, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	r := lamers(t, env, nil, "scan", log)
	if r.code != 0 || strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("scan: exit %d, want 0 and no raw escape: %q %q", r.code, r.stdout, r.stderr)
	}
	// The unrecognised line is shown as a sample, escaped.
	if want := `lame server \x1b[31mresolving garbage`; !strings.Contains(r.stdout, want) {
		t.Errorf("scan output lacks the escaped sample %q: %q", want, r.stdout)
	}
	// The parser keeps BIND's escapes, so no log line stores a raw control
	// character; a finding committed to the store directly does, and the
	// table must escape it too.
	db, err := store.Open(context.Background(), env["LAMERS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 22, 2, 1, 50, 0, time.UTC)
	_, err = db.Commit(context.Background(), store.Batch{
		Base: store.Checkpoint{Fingerprint: []byte("report_test")},
		Next: store.Checkpoint{Offset: 1, Lines: 1, Path: "forged"},
		Counts: []store.Count{{Zone: "raw\x1b[2J.example.", QName: "www\a.raw\x1b[2J.example.",
			Server: netip.MustParseAddr("192.0.2.2"), Port: 53, Source: "bind", Evidence: "lame_referral",
			Day: store.DayOf(ts), N: 1, First: ts, Last: ts}},
	})
	if err := errors.Join(err, db.Close(context.Background())); err != nil {
		t.Fatal(err)
	}
	r = lamers(t, env, nil, "report")
	if r.code != 0 || strings.ContainsRune(r.stdout+r.stderr, 0x1b) {
		t.Fatalf("report: exit %d, want 0 and no raw escape: %q %q", r.code, r.stdout, r.stderr)
	}
	// The zone keeps BIND's escape of the ESC octet; the stored raw one is
	// escaped on output.
	for _, want := range []string{`evil\027lab.`, `raw\x1b[2J.example.`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks the zone %q: %q", want, r.stdout)
		}
	}
}

// report as a user who may read the database but not write it, nor its
// directory (issue 15 item 4: it failed with "attempt to write a readonly
// database"): while a daemon holds the database open (its -wal and -shm
// files exist, root's), and when nothing does (they do not exist and
// cannot be made). Tests run as root, who may write anything, so report
// runs in a subprocess as nobody.
func TestReportAsAnotherUser(t *testing.T) {
	bin, dir := binaryForNobody(t)
	env := testEnv(t)
	env["LAMERS_DB"] = filepath.Join(dir, "lamers.db")
	log := copyFixture(t, t.TempDir(), "bind9.log")
	if r := lamers(t, env, nil, "scan", log); r.code != 0 {
		t.Fatalf("scan: exit %d\n%s", r.code, r.stderr)
	}
	report := func(what string) {
		t.Helper()
		for _, format := range []string{"table", "json", "csv"} {
			cmd := exec.Command(bin, "report", "--format", format)
			cmd.Env = append(os.Environ(), envExec+"=1")
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil || stderr.Len() > 0 || !strings.Contains(stdout.String(), "upref.lab.") {
				t.Errorf("%s: report --format %s as nobody: %v\nstdout: %s\nstderr: %s", what, format, err, stdout.String(), stderr.String())
			}
		}
	}
	report("no other process")
	daemon, err := store.Open(context.Background(), env["LAMERS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close(context.Background())
	if _, err := daemon.Findings(context.Background(), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	report("a daemon holds the database open")
}

// nobody is the user ID tests drop to.
const nobody = 65534

// binaryForNobody copies the test binary where nobody may run it, and
// returns it and a directory, root's, that nobody may read but not write.
// It needs root; without it the test is skipped, and under CI=true fails.
func binaryForNobody(t *testing.T) (bin, dir string) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: this test must run as root (it drops privileges to nobody)")
		}
		t.Skip("needs root to drop privileges to nobody: run go test as root (sudo -E go test ./cmd/lamers/)")
	}
	dir = t.TempDir()
	for d := dir; d != "/" && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil {
			os.Chmod(d, fi.Mode().Perm()|0o755)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "lamers.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// sliceSource is a findingSource over findings in memory.
type sliceSource []store.Finding

func (s sliceSource) ScanFindings(_ context.Context, _ store.Filter, fn func(*store.Finding) error) error {
	for i := range s {
		if err := fn(&s[i]); err != nil {
			return err
		}
	}
	return nil
}

// reportFindings are findings whose cells differ in width, with runes of
// more than one byte, escapes, the overflow finding and other ports.
func reportFindings() sliceSource {
	t0 := time.Date(2026, 11, 22, 2, 1, 50, 0, time.UTC)
	return sliceSource{
		{Zone: "upref.lab.", QName: "www.upref.lab.", Server: netip.MustParseAddr("127.53.4.1"), Port: 53,
			ServerNames: []string{"ns1.upref.lab."}, Sources: []string{"bind"}, Observed: []string{"lame_referral"},
			Count: 18, FirstSeen: t0, LastSeen: t0, Status: store.StatusLame, Reason: "upward_referral", Rounds: 2, LastProbed: t0},
		{Zone: "bücher.example.", QName: "www.bücher.example.", Server: netip.MustParseAddr("2001:db8::53"), Port: 5353,
			Sources: []string{"bind", "unbound"}, Observed: []string{"refused", "servfail"}, Count: 1234567,
			FirstSeen: t0, LastSeen: t0, Status: store.StatusNew},
		{Zone: "evil\\027lab.", QName: "x\x1b[31m.evil.", Server: netip.MustParseAddr("192.0.2.1"), Port: 53,
			Sources: []string{"bind"}, Observed: []string{"lame_referral"}, Count: 1, FirstSeen: t0, LastSeen: t0, Status: store.StatusNew},
		{Bucket: "refused.lab.", QName: "ns1.refused.lab.", Server: netip.MustParseAddr("127.53.3.1"), Port: 53,
			Sources: []string{"bind"}, Observed: []string{"refused"}, Count: 24, FirstSeen: t0, LastSeen: t0, Status: store.StatusNew},
		{Bucket: store.OverflowBucket, QName: "q9999.victim.example.", Server: netip.MustParseAddr("192.0.2.53"), Port: 53,
			Sources: []string{"bind"}, Observed: []string{"timeout"}, Count: 70000, FirstSeen: t0, LastSeen: t0, Status: store.StatusNew},
	}
}

// The streamed table aligns its columns as text/tabwriter (which it
// replaced) did over all rows at once.
func TestReportTableAlignsAsTabwriter(t *testing.T) {
	src := reportFindings()
	var want strings.Builder
	tw := tabwriter.NewWriter(&want, 0, 0, tablePadding, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader[:], "\t"))
	var r tableRow
	for i := range src {
		tableCells(&src[i], &r)
		fmt.Fprintln(tw, strings.Join(r[:], "\t"))
	}
	tw.Flush()
	var got bytes.Buffer
	if err := writeTable(context.Background(), &got, src, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("table:\n%s\nwant (tabwriter):\n%s", got.String(), want.String())
	}
	if strings.ContainsRune(got.String(), 0x1b) {
		t.Error("raw escape in the table")
	}
	if !strings.Contains(got.String(), "? (overflow: q9999.victim.example., …)") {
		t.Errorf("the overflow finding is not marked:\n%s", got.String())
	}
}

// The streamed JSON array is the one json.Encoder wrote for the whole
// slice; the overflow finding, and only it, has "overflow": true.
func TestReportJSONStreamed(t *testing.T) {
	src := reportFindings()
	all := make([]jsonFinding, len(src))
	for i := range src {
		all[i] = toJSON(&src[i])
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(all); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeJSON(context.Background(), &got, src, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("JSON:\n%s\nwant:\n%s", got.String(), want.String())
	}
	if n := strings.Count(got.String(), `"overflow": true`); n != 1 || strings.Contains(got.String(), `"overflow": false`) {
		t.Errorf("%d findings marked as overflow, want 1:\n%s", n, got.String())
	}
	var csvOut bytes.Buffer
	if err := writeCSV(context.Background(), &csvOut, src, store.Filter{}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(csvOut.String(), ",true\n") != 1 || !strings.Contains(csvOut.String(), ",q9999.victim.example.,192.0.2.53,53,,bind,timeout,70000,2026-11-22T02:01:50Z,2026-11-22T02:01:50Z,new,,0,,,,,false,true\n") {
		t.Errorf("CSV does not mark the overflow finding:\n%s", csvOut.String())
	}
}

// The pipelined source gives every finding in order, and a writer's error
// (a closed pipe) stops the reading and is what it returns.
func TestReportPipelined(t *testing.T) {
	var src sliceSource
	for i := range 3*pipeBatch + 7 {
		src = append(src, store.Finding{ID: int64(i + 1)})
	}
	var got []int64
	if err := (pipelined{src}).ScanFindings(context.Background(), store.Filter{}, func(fd *store.Finding) error {
		got = append(got, fd.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("finding %d has ID %d: out of order", i, id)
		}
	}
	if len(got) != len(src) {
		t.Errorf("%d findings, want %d", len(got), len(src))
	}
	closed := errors.New("write |1: broken pipe")
	n := 0
	err := (pipelined{src}).ScanFindings(context.Background(), store.Filter{}, func(*store.Finding) error {
		if n++; n == 300 {
			return closed
		}
		return nil
	})
	if err != closed || n != 300 {
		t.Errorf("after a writer error: %v, %d calls; want the error after 300", err, n)
	}
}
