package parser

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary lines (seeded with real lab lines under
// testdata/fuzz/FuzzParse) through a Parser, also across a State/Restore
// round trip, and checks the invariants other packages rely on: no panic,
// canonical names, a valid server and a non-zero port.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`))
	f.Add([]byte(`[1795312911] unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`))
	// the lab's two-line events (bind9.log lines 34–35, unbound.log)
	f.Add([]byte("22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral\n" +
		"22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53"))
	f.Add([]byte("[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN\n" +
		"[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53\n" +
		"[1795312911] unbound[19034:0] info: query response was THROWAWAY\n" +
		"[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED"))
	opts := Options{Location: time.UTC, Reference: testReference}
	p := New(opts)
	topts := opts
	topts.TransientQName = true
	tp := New(topts)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Parse each line of data with a shared Parser so that groups form,
		// then the whole input as one line. A Parser with transient query
		// names must give the same observations.
		var out, tout []Observation
		start := 0
		for i := 0; i <= len(data); i++ {
			if i == len(data) || data[i] == '\n' {
				n := len(out)
				out, _ = p.Parse(data[start:i], out)
				tout, _ = tp.Parse(data[start:i], tout[:0])
				if !slices.Equal(out[n:], tout) {
					t.Fatalf("line %q: transient %+v, plain %+v", data[start:i], tout, out[n:])
				}
				start = i + 1
			}
		}
		n := len(out)
		out, _ = p.Parse(data, out)
		if tout, _ = tp.Parse(data, tout[:0]); !slices.Equal(out[n:], tout) {
			t.Fatalf("input as one line: transient %+v, plain %+v", tout, out[n:])
		}
		for _, f := range []Format{BIND, Unbound, UnboundInfra} {
			out, _ = New(Options{Format: f, Reference: testReference}).Parse(data, out)
		}
		for _, o := range out {
			checkObservation(t, o)
		}
		q := New(opts)
		if err := q.Restore(p.State()); err != nil {
			t.Fatalf("Restore(State()): %v", err)
		}
		if err := q.Restore(data); err == nil {
			// a blob that decodes must be re-encoded identically (a
			// version-1 blob as the same state in version 2)
			st := q.State()
			if bytes.HasPrefix(data, []byte(stateMagic)) && string(st) != string(data) {
				t.Fatalf("State after Restore(%q) = %q", data, st)
			}
			r := New(opts)
			if err := r.Restore(st); err != nil || string(r.State()) != string(st) {
				t.Fatalf("State after Restore(State()) = %q, %v; want %q", r.State(), err, st)
			}
		}
	})
}

func checkObservation(t *testing.T, o Observation) {
	t.Helper()
	if !o.Server.IsValid() || o.Port == 0 {
		t.Fatalf("observation without a server: %+v", o)
	}
	for _, n := range []string{o.Zone, o.QName} {
		if n == "" {
			continue
		}
		if c, err := CanonicalName(n); err != nil || c != n {
			t.Fatalf("non-canonical name %q in %+v (canonical %q, %v)", n, o, c, err)
		}
	}
	if o.Evidence == "" || (o.Source != SourceBIND && o.Source != SourceUnbound) {
		t.Fatalf("bad evidence or source: %+v", o)
	}
}

// FuzzCanonicalName checks that CanonicalName never panics and is
// idempotent.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{`www.upref.lab`, `we\.ird.lab`, `sp\032ace.refused.lab`, `we?ird.lab.`, `.`, `a\256`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalName(s)
		if err != nil {
			return
		}
		c2, err := CanonicalName(c)
		if err != nil || c2 != c {
			t.Fatalf("CanonicalName(%q) = %q; CanonicalName of that = %q, %v", s, c, c2, err)
		}
		p := New(Options{Reference: testReference})
		if n, ok := p.name([]byte(s)); !ok || n != c {
			t.Fatalf("cached name(%q) = %q, %v; want %q", s, n, ok, c)
		}
	})
}

// FuzzServer checks that the Parser's address path (fastServer4, then the
// cache) agrees with parseServer in every syntax, on a miss and on a hit.
// Its committed seeds (testdata/fuzz/FuzzServer) are the address
// spellings of BIND 9, BIND 8 and Unbound.
func FuzzServer(f *testing.F) {
	for _, s := range []string{`127.53.4.1#53`, `[127.53.4.1].53`, `127.53.4.1`, `2001:db8::53@5353`, `fe80::1%2#53`,
		`::ffff:127.53.4.1#53`, `01.2.3.4#53`, `1.2.3.4#053`, `1.2.3.4#0`, `1.2.3.4#53#53`, `1.2.3.4@`, `256.1.1.1#53`} {
		f.Add(s)
	}
	p := New(Options{Reference: testReference})
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		for _, syntax := range []byte{addrHash, addrAt, addrPlain, addrBracket} {
			want, wantOK := parseServer(b, syntax)
			if len(b) == 0 || len(b) > 80 {
				want, wantOK = server{}, false
			}
			for range 2 {
				got, ok := p.server(b, syntax)
				if ok != wantOK || ok && got != want {
					t.Fatalf("server(%q, %q) = %v, %v; want %v, %v", b, syntax, got, ok, want, wantOK)
				}
			}
		}
	})
}
