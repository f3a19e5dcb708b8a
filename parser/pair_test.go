package parser

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// repeat marks o as the second line of an event.
func repeat(o Observation) Observation {
	o.Repeat = true
	return o
}

// TestParsePairs covers the events resolvers log in two lines: each is one
// event (the second line's observation is a Repeat), whose evidence kinds
// are those of both lines.
func TestParsePairs(t *testing.T) {
	tB4 := at("2026-11-22T02:01:51.288Z")
	tEpoch := time.Unix(1795312911, 0).UTC()
	R := Recognised
	for _, tc := range []struct {
		name  string
		lines []string
		want  []Observation
		res   []Result
	}{
		{
			// BIND 9.18 lab bind9.log lines 34–35: resolver.c rctx_referral()
			// log_formerr(), then add_bad() for the same reply
			"bind-non-improving",
			[]string{
				`22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`,
				`22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
			},
			[]Observation{
				bindObs(tB4, NonImprovingReferral, "", "recursive.lab.", "NS", "127.53.5.1", 53),
				repeat(bindObs(tB4, FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53)),
			},
			[]Result{R, R},
		},
		{
			// the same through rsyslog (lab syslog-rfc3164.log lines 177–178),
			// another thread's line in between
			"bind-syslog-interleaved",
			[]string{
				`Nov 22 02:01:51 dnslab named[19030]: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`,
				`Nov 22 02:01:51 dnslab named[19030]: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`,
				`Nov 22 02:01:51 dnslab named[19030]: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
			},
			[]Observation{
				bindObs(at("2026-11-22T02:01:51Z"), NonImprovingReferral, "", "recursive.lab.", "NS", "127.53.5.1", 53),
				bindObs(at("2026-11-22T02:01:51Z"), LameReferral, "upref.lab.", "www.upref.lab.", "", "127.53.4.1", 53),
				repeat(bindObs(at("2026-11-22T02:01:51Z"), FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53)),
			},
			[]Result{R, R, R},
		},
		{
			// resolver.c rctx_answer_none(): "server sent FORMERR", then
			// add_bad() with DNS_R_REMOTEFORMERR ("received FORMERR")
			"bind-server-sent-formerr",
			[]string{
				`DNS format error from 192.0.2.1#53 resolving www.example.com/A for <unknown>: server sent FORMERR`,
				`received FORMERR resolving 'www.example.com/A/IN': 192.0.2.1#53`,
			},
			[]Observation{
				bindObs(testReference, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53),
				repeat(bindObs(testReference, FormErr, "", "www.example.com.", "A", "192.0.2.1", 53)),
			},
			[]Result{R, R},
		},
		{
			// another server, another query, or a second FORMERR line: events
			// of their own
			"bind-no-pair",
			[]string{
				`22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`,
				`22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.2#53`,
				`22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/SOA/IN': 127.53.5.1#53`,
				`22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
				`22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
			},
			[]Observation{
				bindObs(tB4, NonImprovingReferral, "", "recursive.lab.", "NS", "127.53.5.1", 53),
				bindObs(tB4, FormErr, "", "recursive.lab.", "NS", "127.53.5.2", 53),
				bindObs(tB4, FormErr, "", "recursive.lab.", "SOA", "127.53.5.1", 53),
				repeat(bindObs(tB4, FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53)),
				bindObs(tB4, FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53),
			},
			[]Result{R, R, R, R, R},
		},
		{
			// a FORMERR line seconds after the notice is another reply
			"bind-later",
			[]string{
				`22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`,
				`22-Nov-2026 02:01:53.000 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`,
			},
			[]Observation{
				bindObs(tB4, NonImprovingReferral, "", "recursive.lab.", "NS", "127.53.5.1", 53),
				bindObs(at("2026-11-22T02:01:53Z"), FormErr, "", "recursive.lab.", "NS", "127.53.5.1", 53),
			},
			[]Result{R, R},
		},
		{
			// Unbound 1.17.1 lab unbound.log lines 78–80 and 164–167: the
			// verdict of a reply, other groups of the same thread, then the
			// log-servfail line of the query it failed (iterator.c
			// errinf_reply(), services/mesh.c)
			"unbound-servfail",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53`,
				`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
				`[1795312911] unbound[19034:0] info: response for ns1.refused.lab. AAAA IN`,
				`[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53`,
				`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
				`[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			},
			[]Observation{
				unboundObs(tEpoch, Throwaway, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53),
				unboundObs(tEpoch, Throwaway, "refused.lab.", "ns1.refused.lab.", "AAAA", "127.53.3.1", 53),
				repeat(unboundObs(tEpoch, Refused, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53)),
			},
			[]Result{R, R, R, R, R, R, R},
		},
		{
			// the log-servfail line has no port: the verdict's is the event's
			"unbound-servfail-port",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.example.com. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <example.com.> 192.0.2.1#5300`,
				`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
				`[1795312911] unbound[19034:0] error: SERVFAIL <www.example.com. A IN>: all servers for this domain failed, at zone example.com. from 192.0.2.1 got SERVFAIL`,
			},
			[]Observation{
				unboundObs(tEpoch, Throwaway, "example.com.", "www.example.com.", "A", "192.0.2.1", 5300),
				repeat(unboundObs(tEpoch, ServFail, "example.com.", "www.example.com.", "A", "192.0.2.1", 5300)),
			},
			[]Result{R, R, R, R},
		},
		{
			// another thread's failure, or a query without a verdict (Unbound
			// at verbosity 1): events of their own
			"unbound-no-pair",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53`,
				`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
				`[1795312911] unbound[19034:1] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
				`[1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. AAAA IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			},
			[]Observation{
				unboundObs(tEpoch, Throwaway, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53),
				unboundObs(tEpoch, Refused, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53),
				unboundObs(tEpoch, Refused, "refused.lab.", "www.refused.lab.", "AAAA", "127.53.3.1", 53),
			},
			[]Result{R, R, R, R, R},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Location: time.UTC, Reference: testReference})
			got, res := parseAll(p, tc.lines)
			if diff := cmp.Diff(tc.want, got, cmpAddr); diff != "" {
				t.Errorf("observations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.res, res); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			// The second line pairs the same way after a checkpoint.
			for split := 1; split < len(tc.lines); split++ {
				p1 := New(Options{Location: time.UTC, Reference: testReference})
				got1, _ := parseAll(p1, tc.lines[:split])
				p2 := New(Options{Location: time.UTC, Reference: testReference})
				if err := p2.Restore(p1.State()); err != nil {
					t.Fatalf("split %d: Restore: %v", split, err)
				}
				got2, _ := parseAll(p2, tc.lines[split:])
				if diff := cmp.Diff(tc.want, append(got1, got2...), cmpAddr); diff != "" {
					t.Errorf("split %d: observations (-want +got):\n%s", split, diff)
				}
			}
		})
	}
}

// TestParsePairDistance checks that a BIND FORMERR line pairs only with a
// notice at most pairLines lines before it (SetLine gives the lines'
// numbers, as ingest does when workers parse chunks out of order).
func TestParsePairDistance(t *testing.T) {
	b4 := []byte(`DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`)
	b2 := []byte(`FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`)
	for _, tc := range []struct {
		gap    int64
		repeat bool
	}{{1, true}, {pairLines, true}, {pairLines + 1, false}} {
		p := New(Options{Location: time.UTC, Reference: testReference})
		p.SetLine(100)
		p.Parse(b4, nil)
		p.SetLine(100 + tc.gap)
		out, _ := p.Parse(b2, nil)
		if len(out) != 1 || out[0].Repeat != tc.repeat {
			t.Errorf("gap %d: %+v, want Repeat %v", tc.gap, out, tc.repeat)
		}
	}
}

// TestPairMemoryBounded fills the memory of first lines and checks that
// State stays bounded.
func TestPairMemoryBounded(t *testing.T) {
	p := New(Options{Location: time.UTC, Reference: testReference})
	var b bytes.Buffer
	for i := range 100000 {
		b.Reset()
		b.WriteString(`[1795312911] unbound[19034:0] info: response for q`)
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`.example.com. A IN`)
		p.Parse(b.Bytes(), nil)
		p.Parse([]byte(`[1795312911] unbound[19034:0] info: reply from <example.com.> 192.0.2.1#53`), nil)
		p.Parse([]byte(`[1795312911] unbound[19034:0] info: query response was THROWAWAY`), nil)
		p.Parse([]byte(`DNS format error from 192.0.2.1#53 resolving www.example.com/A for <unknown>: server sent FORMERR`), nil)
	}
	if n := len(p.State()); n > 32<<10 {
		t.Errorf("State is %d bytes, want at most 32 KiB", n)
	}
}

// TestRestoreVersion1 restores a checkpoint written before pairs were
// remembered (state version 1: Unbound groups only).
func TestRestoreVersion1(t *testing.T) {
	// "lamers-parser-state-1\n", one group: key, flags 1 (query), qname,
	// qtype, zone, server
	v1 := []byte(stateMagicV1 + "\x01\x10unbound[19034:0]\x01\x0ewww.upref.lab.\x01A\x00\x00")
	p := New(Options{Location: time.UTC, Reference: testReference})
	if err := p.Restore(v1); err != nil {
		t.Fatal(err)
	}
	out, _ := parseAll(p, []string{
		// Unbound 1.17.1 lab unbound.log: the group's last two lines
		`[1795312911] unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
		`[1795312911] unbound[19034:0] info: query response was LAME`,
	})
	want := []Observation{unboundObs(time.Unix(1795312911, 0).UTC(), LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)}
	if diff := cmp.Diff(want, out, cmpAddr); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}
