package parser

import (
	"strings"
	"testing"
	"time"
)

// TestTransientQName parses every lab log with and without
// Options.TransientQName and wants the same observations line by line;
// query names kept with strings.Clone must stay intact after the
// transient Parser has gone on to later lines.
func TestTransientQName(t *testing.T) {
	total := 0
	for _, l := range labLogs(t) {
		plain := New(Options{Format: l.format, Location: time.UTC, Reference: labReference})
		transient := New(Options{Format: l.format, Location: time.UTC, Reference: labReference, TransientQName: true})
		var kept, want []string
		qnames := 0
		for _, line := range l.lines {
			w, wres := plain.Parse(line, nil)
			g, gres := transient.Parse(line, nil)
			if gres != wres || len(g) != len(w) {
				t.Fatalf("%s: %q: transient %v %v, plain %v %v", l.name, line, gres, g, wres, w)
			}
			for i := range g {
				if g[i] != w[i] {
					t.Errorf("%s: %q: transient %+v, plain %+v", l.name, line, g[i], w[i])
				}
				if g[i].QName != "" {
					qnames++
				}
				kept = append(kept, strings.Clone(g[i].QName))
				want = append(want, w[i].QName)
			}
		}
		for i := range kept {
			if kept[i] != want[i] {
				t.Fatalf("%s: kept query name %d = %q, want %q", l.name, i, kept[i], want[i])
			}
		}
		t.Logf("%s: %d observations, %d with a query name", l.name, len(kept), qnames)
		total += qnames
	}
	if total == 0 {
		t.Fatal("no lab log gave an observation with a query name: nothing was compared")
	}
}

// TestTransientQNameGrows parses a line whose query names outgrow the
// Parser's buffer and wants the earlier ones of the same call intact.
func TestTransientQNameGrows(t *testing.T) {
	p := New(Options{Location: time.UTC, Reference: testReference, TransientQName: true})
	var names []string
	for i := range 40 {
		// Each call starts over at the buffer's beginning; within one call
		// the names accumulate, so build several in one call by hand.
		n, ok := p.qname([]byte(strings.Repeat("a", 60) + "." + strings.Repeat("B", i+1) + ".example"))
		if !ok {
			t.Fatalf("qname %d not ok", i)
		}
		names = append(names, n)
	}
	for i, n := range names {
		want := strings.Repeat("a", 60) + "." + strings.Repeat("b", i+1) + ".example."
		if n != want {
			t.Fatalf("name %d = %q, want %q", i, n, want)
		}
	}
	if _, ok := p.qname([]byte("bad..name")); ok {
		t.Fatal(`qname("bad..name") ok`)
	}
	if n, ok := p.qname([]byte("after.bad")); !ok || n != "after.bad." {
		t.Fatalf(`qname("after.bad") = %q, %v`, n, ok)
	}
}
