package parser

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// parseAll feeds lines to p and returns all observations and the results.
func parseAll(p *Parser, lines []string) ([]Observation, []Result) {
	var out []Observation
	var res []Result
	for _, l := range lines {
		var r Result
		out, r = p.Parse([]byte(l), out)
		res = append(res, r)
	}
	return out, res
}

// TestParseUnboundGroups covers Unbound's three-line groups (U1 response
// for, U2 reply from, U3 query response …) in every envelope.
func TestParseUnboundGroups(t *testing.T) {
	tEpoch := time.Unix(1795312911, 0).UTC()
	tAscii := at("2026-11-22T02:01:53Z")
	tISO := at("2026-11-22T02:01:53.679Z")
	tRFC := at("2026-11-22T02:01:53.679523Z")
	R := Recognised
	for _, tc := range []struct {
		name  string
		lines []string
		want  []Observation
		res   []Result
	}{
		{
			// Unbound 1.17.1 lab unbound.log (logfile, hex tid)
			"logfile-lame",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.upref.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`[1795312911] unbound[19034:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tEpoch, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound 1.17.1 lab unbound.log: lossy name, IPv6
			"logfile-v6-lossy",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.we?ird.lab. AAAA IN`,
				`[1795312911] unbound[19034:0] info: reply from <we?ird.lab.> ::1#53`,
				`[1795312911] unbound[19034:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tEpoch, LameReferral, "we?ird.lab.", "www.we?ird.lab.", "AAAA", "::1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound 1.17.1 lab unbound.log: REC_LAME and its second line
			"logfile-rec-lame",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.recursive.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <recursive.lab.> 127.53.5.1#53`,
				`[1795312911] unbound[19034:0] info: query response REC_LAME: recursive but not authoritative server`,
				`[1795312911] unbound[19034:0] info: mark as REC_LAME`,
			},
			[]Observation{unboundObs(tEpoch, RecLame, "recursive.lab.", "www.recursive.lab.", "A", "127.53.5.1", 53)},
			[]Result{R, R, R, R},
		},
		{
			// Unbound 1.17.1 lab unbound.log: THROWAWAY
			"logfile-throwaway",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53`,
				`[1795312911] unbound[19034:0] info: query response was THROWAWAY`,
			},
			[]Observation{unboundObs(tEpoch, Throwaway, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53)},
			[]Result{R, R, R},
		},
		{
			// iterator.c: DNSSEC LAME (needs validation, not in the lab)
			"logfile-dnssec-lame",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.example.com. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <example.com.> 192.0.2.1#53`,
				`[1795312911] unbound[19034:0] info: query response was DNSSEC LAME`,
			},
			[]Observation{unboundObs(tEpoch, DNSSECLame, "example.com.", "www.example.com.", "A", "192.0.2.1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound ≥ 1.25 iterator.c wording (commit 5c7a26b), decimal tid,
			// log-identity "resolver1"
			"1.25-categorized",
			[]string{
				`[1795312911] resolver1[19034:12] info: response for www.example.com. A IN`,
				`[1795312911] resolver1[19034:12] info: reply from <example.com.> 192.0.2.1#53`,
				`[1795312911] resolver1[19034:12] info: query response was categorized as LAME`,
				`[1795312911] resolver1[19034:12] info: response for www.example.com. MX IN`,
				`[1795312911] resolver1[19034:12] info: reply from <example.com.> 192.0.2.2#53`,
				`[1795312911] resolver1[19034:12] info: query response was categorized as DNSSEC LAME`,
				`[1795312911] resolver1[19034:12] info: response for www.example.com. NS IN`,
				`[1795312911] resolver1[19034:12] info: reply from <example.com.> 192.0.2.3#5300`,
				`[1795312911] resolver1[19034:12] info: query response was categorized as THROWAWAY`,
			},
			[]Observation{
				unboundObs(tEpoch, LameReferral, "example.com.", "www.example.com.", "A", "192.0.2.1", 53),
				unboundObs(tEpoch, DNSSECLame, "example.com.", "www.example.com.", "MX", "192.0.2.2", 53),
				unboundObs(tEpoch, Throwaway, "example.com.", "www.example.com.", "NS", "192.0.2.3", 5300),
			},
			[]Result{R, R, R, R, R, R, R, R, R},
		},
		{
			// util/log.c log-time-ascii
			"log-time-ascii",
			[]string{
				`Nov 22 02:01:53 unbound[19034:0] info: response for www.upref.lab. A IN`,
				`Nov 22 02:01:53 unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`Nov 22 02:01:53 unbound[19034:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tAscii, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// util/log.c log-time-iso (≥ 1.22)
			"log-time-iso",
			[]string{
				`2026-11-22T02:01:53.679+00:00 unbound[19034:0] info: response for www.upref.lab. A IN`,
				`2026-11-22T02:01:53.679+00:00 unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`2026-11-22T02:01:53.679+00:00 unbound[19034:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tISO, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound 1.17.1 lab syslog-rfc3164.log (no LOG_PID)
			"rfc3164",
			[]string{
				`Nov 22 02:01:53 dnslab unbound: [19033:0] info: response for www.upref.lab. A IN`,
				`Nov 22 02:01:53 dnslab unbound: [19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`Nov 22 02:01:53 dnslab unbound: [19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tAscii, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound 1.17.1 lab syslog-rfc5424.log (PROCID "-")
			"rfc5424",
			[]string{
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound - - -  [19033:0] info: response for www.upref.lab. A IN`,
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound - - -  [19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound - - -  [19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tRFC, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// journald fills the PID (systemd 252), RFC 3339 (rsyslog)
			"journald-rfc3339",
			[]string{
				`2026-11-22T02:01:53.679523+00:00 dnslab unbound[19033]: [19033:0] info: response for www.upref.lab. A IN`,
				`2026-11-22T02:01:53.679523+00:00 dnslab unbound[19033]: [19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`2026-11-22T02:01:53.679523+00:00 dnslab unbound[19033]: [19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tRFC, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// Unbound's stderr captured by journald (contrib/unbound.service:
			// "unbound -d -p", logfile ""): util/log.c log_vmsg() writes its
			// logfile frame "[epoch] ident[pid:tid] level: " to stderr,
			// journald adds its own; journalctl -o short
			"journald-stderr",
			[]string{
				`Nov 22 02:01:53 dnslab unbound[19033]: [1795312913] unbound[19033:0] info: response for www.upref.lab. A IN`,
				`Nov 22 02:01:53 dnslab unbound[19033]: [1795312913] unbound[19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`Nov 22 02:01:53 dnslab unbound[19033]: [1795312913] unbound[19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(time.Unix(1795312913, 0).UTC(), LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// the same through rsyslog (RFC 5424), with log-time-ascii
			// (util/log.c "%b %d %H:%M:%S ident[pid:tid] level: ")
			"syslog-stderr-ascii",
			[]string{
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound 19033 - -  Nov 22 02:01:53 unbound[19033:0] info: response for www.upref.lab. A IN`,
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound 19033 - -  Nov 22 02:01:53 unbound[19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`<30>1 2026-11-22T02:01:53.679523+00:00 dnslab unbound 19033 - -  Nov 22 02:01:53 unbound[19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(tAscii, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// journalctl -o short-iso, log-servfail line of stderr
			"journald-stderr-servfail",
			[]string{
				`2026-11-22T02:01:51+0000 dnslab unbound[19034]: [1795312911] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`,
			},
			[]Observation{unboundObs(tEpoch, Refused, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53)},
			[]Result{R},
		},
		{
			// journalctl -o cat: "[pid:tid] level: msg"
			"journal-cat",
			[]string{
				`[19033:0] info: response for www.upref.lab. A IN`,
				`[19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`[19033:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(testReference, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53)},
			[]Result{R, R, R},
		},
		{
			// two Unbound instances (hosts a and b, same pid:tid) and two
			// threads of one instance, interleaved in one syslog file
			"interleaved",
			[]string{
				`Nov 22 02:01:53 a unbound: [100:0] info: response for www.upref.lab. A IN`,
				`Nov 22 02:01:53 b unbound: [100:0] info: response for www.refused.lab. A IN`,
				`Nov 22 02:01:53 a unbound: [100:1] info: response for www.v6.lab. A IN`,
				`Nov 22 02:01:53 b unbound: [100:0] info: reply from <refused.lab.> 127.53.3.1#53`,
				`Nov 22 02:01:53 a unbound: [100:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`Nov 22 02:01:53 a unbound: [100:1] info: reply from <v6.lab.> ::1#53`,
				`Nov 22 02:01:53 a unbound: [100:0] info: query response was LAME`,
				`Nov 22 02:01:53 b unbound: [100:0] info: query response was THROWAWAY`,
				`Nov 22 02:01:53 a unbound: [100:1] info: query response was ANSWER`,
			},
			[]Observation{
				unboundObs(tAscii, LameReferral, "upref.lab.", "www.upref.lab.", "A", "127.53.4.1", 53),
				unboundObs(tAscii, Throwaway, "refused.lab.", "www.refused.lab.", "A", "127.53.3.1", 53),
			},
			[]Result{R, R, R, R, R, R, R, R, Ignored},
		},
		{
			// a group without "response for": no qname
			"no-query",
			[]string{
				`[1795312913] unbound[19034:0] info: reply from <v6.lab.> ::1#53`,
				`[1795312913] unbound[19034:0] info: query response was LAME`,
			},
			[]Observation{unboundObs(time.Unix(1795312913, 0).UTC(), LameReferral, "v6.lab.", "", "", "::1", 53)},
			[]Result{R, R},
		},
		{
			// a verdict ends the group: a second verdict has nothing
			"group-ends",
			[]string{
				`[1795312911] unbound[19034:0] info: response for www.upref.lab. A IN`,
				`[1795312911] unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
				`[1795312911] unbound[19034:0] info: query response was REFERRAL`,
				`[1795312911] unbound[19034:0] info: query response was LAME`,
			},
			nil,
			[]Result{R, R, Ignored, R},
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
			for k, g := range p.pending {
				if g.hasQuery || g.hasReply {
					t.Errorf("group %q still pending after complete groups", k)
				}
			}
		})
	}
}

// TestStateRestore splits Unbound groups across a checkpoint at every
// possible line and checks that a new Parser restored from State gives the
// same observations as one Parser reading everything.
func TestStateRestore(t *testing.T) {
	lines := []string{
		// Unbound 1.17.1 lab syslog-rfc3164.log, two threads interleaved
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: response for www.upref.lab. A IN`,
		`Nov 22 02:01:53 dnslab unbound: [19033:1] info: response for www.recursive.lab. A IN`,
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: reply from <upref.lab.> 127.53.4.1#53`,
		`Nov 22 02:01:53 dnslab unbound: [19033:1] info: reply from <recursive.lab.> 127.53.5.1#53`,
		`Nov 22 02:01:53 dnslab unbound: [19033:0] info: query response was LAME`,
		`Nov 22 02:01:53 dnslab unbound: [19033:1] info: query response REC_LAME: recursive but not authoritative server`,
		`Nov 22 02:01:53 dnslab unbound: [19033:1] info: mark as REC_LAME`,
	}
	opts := Options{Location: time.UTC, Reference: testReference}
	want, wantRes := parseAll(New(opts), lines)
	if len(want) != 2 {
		t.Fatalf("got %d observations, want 2", len(want))
	}
	for split := 0; split <= len(lines); split++ {
		p1 := New(opts)
		got, res1 := parseAll(p1, lines[:split])
		st := p1.State()
		if !bytes.Equal(st, p1.State()) {
			t.Fatalf("split %d: State not deterministic", split)
		}
		p2 := New(opts)
		if err := p2.Restore(st); err != nil {
			t.Fatalf("split %d: Restore: %v", split, err)
		}
		if !bytes.Equal(p2.State(), st) {
			t.Errorf("split %d: State after Restore differs:\n%q\n%q", split, p2.State(), st)
		}
		more, res2 := parseAll(p2, lines[split:])
		got = append(got, more...)
		if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
			t.Errorf("split %d: observations (-want +got):\n%s", split, diff)
		}
		if diff := cmp.Diff(wantRes, append(res1, res2...)); diff != "" {
			t.Errorf("split %d: results (-want +got):\n%s", split, diff)
		}
	}
}

// TestRestoreBad checks that malformed state blobs are errors, not panics,
// and leave the state alone.
func TestRestoreBad(t *testing.T) {
	p := New(Options{Reference: testReference})
	p.Parse([]byte(`[1795312911] unbound[19034:0] info: response for www.upref.lab. A IN`), nil)
	good := p.State()
	if len(good) == 0 {
		t.Fatal("no state after a response line")
	}
	bad := [][]byte{
		[]byte("garbage"),
		[]byte(stateMagic),
		good[:len(good)-1],
		append(append([]byte(nil), good...), 0),
		[]byte(stateMagic + "\x01\x00\x01"),
		[]byte(stateMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
		// version 2: nothing at all, a zero hash, a notice flag, a port
		// past 65535, a count past the bound
		[]byte(stateMagic + "\x00\x00\x00"),
		[]byte(stateMagic + "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x02\x00"),
		[]byte(stateMagic + "\x00\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x02\x02\x00"),
		[]byte(stateMagic + "\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x80\x80\x04"),
		[]byte(stateMagic + "\x00\x11"),
	}
	for _, b := range bad {
		q := New(Options{Reference: testReference})
		if err := q.Restore(good); err != nil {
			t.Fatal(err)
		}
		if err := q.Restore(b); err == nil {
			t.Errorf("Restore(%q) succeeded", b)
		}
		if !bytes.Equal(q.State(), good) {
			t.Errorf("Restore(%q) changed the state", b)
		}
	}
	if err := p.Restore(nil); err != nil || len(p.State()) != 0 {
		t.Errorf("Restore(nil) = %v, state %q", err, p.State())
	}
}

// TestPendingBound checks that pending groups are bounded and that the
// least recently touched group is dropped first.
func TestPendingBound(t *testing.T) {
	p := New(Options{Reference: testReference})
	for i := 0; i < maxPending+10; i++ {
		p.Parse([]byte(fmt.Sprintf(`[1795312911] unbound[%d:0] info: reply from <upref.lab.> 127.53.4.1#53`, i)), nil)
	}
	if len(p.pending) != maxPending {
		t.Fatalf("%d pending groups, want %d", len(p.pending), maxPending)
	}
	out, _ := p.Parse([]byte(`[1795312911] unbound[0:0] info: query response was LAME`), nil)
	if len(out) != 0 {
		t.Errorf("the oldest group survived: %v", out)
	}
	out, _ = p.Parse([]byte(fmt.Sprintf(`[1795312911] unbound[%d:0] info: query response was LAME`, maxPending+9)), nil)
	if len(out) != 1 {
		t.Errorf("the newest group was dropped")
	}
}
