package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// describe renders what aggregate made of a batch.
func describe(aggs []*agg, daily []dailyRow) []string {
	var out []string
	for _, a := range aggs {
		out = append(out, fmt.Sprintf("%s qname=%s sources=%v observed=%v n=%d first=%s last=%s",
			findingName(a.key), a.qname, a.sources.items, a.observed.items, a.n, a.first, a.last))
	}
	var rows []string
	for _, r := range daily {
		rows = append(rows, fmt.Sprintf("%s %s %s %s %d", findingName(r.agg.target().key), r.kind.day, r.kind.source, r.kind.evidence, r.n))
	}
	slices.Sort(rows) // the order of daily rows does not matter
	return append(out, rows...)
}

func TestAggregateAnyOrder(t *testing.T) {
	later := zoned("example.com.", srvA, "bind", "lame_referral", 1, at(7, 0), at(7, 0))
	for _, tt := range []struct {
		name            string
		grouped, counts []Count
	}{
		{"interleaved", mixedCounts(), interleave(mixedCounts())},
		{
			"a finding's last count at the end",
			slices.Insert(mixedCounts(), 3, later), // after the first finding's three
			append(mixedCounts(), later),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			aggs, daily, err := aggregate(seqOf(tt.grouped))
			if err != nil {
				t.Fatal(err)
			}
			want := describe(aggs, daily)
			// five findings, and none.example.'s count without an event
			// (its kind only: write creates no finding for it)
			if len(aggs) != 6 {
				t.Errorf("grouped: %d aggregates, want 6:\n%s", len(aggs), strings.Join(want, "\n"))
			}
			if aggs, daily, err = aggregate(seqOf(tt.counts)); err != nil {
				t.Fatal(err)
			}
			for _, a := range aggs {
				if a.into != nil {
					t.Errorf("aggregate %s was merged into another but is listed", findingName(a.key))
				}
			}
			if diff := cmp.Diff(want, describe(aggs, daily)); diff != "" {
				t.Errorf("aggregate (-grouped +other order):\n%s", diff)
			}
		})
	}
}

func TestJSONSet(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"bind"},
		{"lame_referral", "refused", "servfail"},
		{`we"ird`},
		{`back\slash`, "tab\t"},
		{"<html>&amp;"},
		{"Müller", "\u2028"},
		{"\x7f", "\x00"},
		{"bad\xffutf8"},
	} {
		var want string
		if set == nil {
			want = "[]"
		} else {
			want = jsonSetEncoded(set)
		}
		if got := jsonSet(set); got != want {
			t.Errorf("jsonSet(%q) = %s, want %s", set, got, want)
		}
		var back []string
		if err := json.Unmarshal([]byte(jsonSet(set)), &back); err != nil {
			t.Errorf("jsonSet(%q) is not JSON: %v", set, err)
		}
	}
}

func TestStringSetAdd(t *testing.T) {
	empty := newStringSet(nil)
	ab := empty.add("b").add("a").add("b")
	if !slices.Equal(ab.items, []string{"a", "b"}) || ab.json != `["a","b"]` {
		t.Errorf("set = %q %v, want [a b]", ab.items, ab.json)
	}
	if again := empty.add("b").add("a"); again != ab {
		t.Errorf("the same additions gave another set")
	}
	if ba := empty.add("a").add("b"); !slices.Equal(ba.items, ab.items) || ba.json != ab.json {
		t.Errorf("a then b = %q, b then a = %q", ba.items, ab.items)
	}
	if b := empty.add("b"); !slices.Equal(b.items, []string{"b"}) {
		t.Errorf("adding to a set changed the set before: %q", b.items)
	}
}
