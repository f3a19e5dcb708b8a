package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{reportCommand{format: "csv"}, "zone,qname,server,port,server_names,sources,observed,count,first_seen,last_seen,status,reason,rounds,last_probed,contact,contact_source,last_notified,needs_human\n", ""},
		{reportCommand{format: "json", zone: "UPREF.lab"}, "[]\n", ""},
		{reportCommand{format: "xml"}, "", `report: --format: "xml" is not one of table, json, csv`},
		{reportCommand{format: "table", since: "yesterday"}, "", `report: --since: "yesterday" is not a date, an RFC 3339 time or a duration`},
	}
	for _, tt := range tests {
		a := newTestApp(t, "")
		err := a.runCmd(&tt.cmd)
		if got := errString(err); got != tt.wantErr {
			t.Errorf("%+v: error %q, want %q", tt.cmd, got, tt.wantErr)
		}
		if a.out.String() != tt.stdout {
			t.Errorf("%+v: stdout %q, want %q", tt.cmd, a.out, tt.stdout)
		}
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
			Day: "2026-11-22", N: 1, First: ts, Last: ts}},
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
