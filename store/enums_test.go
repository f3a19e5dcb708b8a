package store

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every name parses back to its value; names that are not in a table, in
// another case or of the zero value do not.
func TestEnumNames(t *testing.T) {
	for _, s := range Statuses() {
		if got, err := ParseStatus(s.String()); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s.String(), got, err)
		}
	}
	for _, v := range []Verdict{VerdictAuthoritative, VerdictLame, VerdictInconclusive} {
		if got, err := ParseVerdict(v.String()); err != nil || got != v {
			t.Errorf("ParseVerdict(%q) = %v, %v", v.String(), got, err)
		}
	}
	for _, c := range []RoundClass{ClassAuthoritative, ClassHard, ClassSoft, ClassNone} {
		if got, err := ParseRoundClass(c.String()); err != nil || got != c {
			t.Errorf("ParseRoundClass(%q) = %v, %v", c.String(), got, err)
		}
	}
	for _, bad := range []struct {
		parse func(string) error
		name  string
		want  string
	}{
		{func(s string) error { _, err := ParseStatus(s); return err }, "confirmed", `store: unknown status "confirmed"`},
		{func(s string) error { _, err := ParseStatus(s); return err }, "Lame", `store: unknown status "Lame"`},
		{func(s string) error { _, err := ParseStatus(s); return err }, "", `store: unknown status ""`},
		{func(s string) error { _, err := ParseVerdict(s); return err }, "LAME", `store: unknown verdict "LAME"`},
		// The resolver once named ClassNone "not_counted": only one name is stored.
		{func(s string) error { _, err := ParseRoundClass(s); return err }, "not_counted", `store: unknown round class "not_counted"`},
		{func(s string) error { _, err := ParseRoundClass(s); return err }, "Hard", `store: unknown round class "Hard"`},
	} {
		if err := bad.parse(bad.name); err == nil || err.Error() != bad.want {
			t.Errorf("parse %q: error %v, want %s", bad.name, err, bad.want)
		}
	}
	if s := Status(0).String(); s != "Status(0)" {
		t.Errorf("Status(0) = %q", s)
	}
}

// The statuses are report's `status` values, in the order the command line
// lists them.
func TestStatusNames(t *testing.T) {
	var names []string
	for _, s := range Statuses() {
		names = append(names, s.String())
	}
	want := "new suspect lame unresponsive ok fixed stale inconclusive"
	if diff := cmp.Diff(want, strings.Join(names, " ")); diff != "" {
		t.Errorf("status names (-want +got):\n%s", diff)
	}
}

// Every verdict and class name passes the CHECK constraints of the rounds
// table, and every status name is stored and read back.
func TestEnumsStored(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustCommit(t, db, firstBatch(fpNamed, 100, 1, zoned("example.com.", srvA, "bind", "lame_referral", 1, at(1, 0), at(1, 0))))
	id := findingID(t, db, "example.com.", "")
	n := 0
	for _, v := range []Verdict{VerdictAuthoritative, VerdictLame, VerdictInconclusive} {
		for _, c := range []RoundClass{ClassAuthoritative, ClassHard, ClassSoft, ClassNone} {
			r := lameRound(id, at(2, n))
			r.Verdict, r.Class = v, c
			if _, err := db.RecordRound(ctx, r, FindingUpdate{Status: StatusSuspect}); err != nil {
				t.Errorf("RecordRound of a %v %v round: %v", v, c, err)
			}
			n++
		}
	}
	rs, err := db.Rounds(ctx, id, 0)
	if err != nil || len(rs) != n {
		t.Fatalf("Rounds = %d rounds, %v; want %d", len(rs), err, n)
	}
	for _, s := range Statuses() {
		if err := db.SetStatus(ctx, id, at(3, 0), FindingUpdate{Status: s}); err != nil {
			t.Fatal(err)
		}
		if fd, err := db.Finding(ctx, id); err != nil || fd.Status != s {
			t.Errorf("status %v read back as %v (%v)", s, fd.Status, err)
		}
	}
}
