package parser

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStateless(t *testing.T) {
	tests := []struct {
		f    Format
		line string
		want bool
	}{
		// lab bind9.log (BIND 9.18 print-time, category, severity)
		{Auto, `22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`, true},
		// lab syslog-rfc3164.log: BIND through rsyslog ("named[pid]:" is no thread tag)
		{Auto, `Nov 22 02:01:53 dnslab named[19021]: lame-servers: info: REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53`, true},
		// lab unbound.log: every line of a group carries [pid:tid]
		{Auto, `[1795312911] unbound[19034:0] info: reply from <refused.lab.> 127.53.3.1#53`, false},
		{Auto, `[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`, false},
		// lab syslog-rfc3164.log: Unbound through rsyslog
		{Auto, `Nov 22 02:01:53 dnslab unbound: [19033:0] info: reply from <refused.lab.> 127.53.3.1#53`, false},
		// Unbound 1.22 and older print the thread id in hex
		{Auto, `Nov 22 02:01:53 host unbound[812:1a] info: response for www.refused.lab. A IN`, false},
		{Unbound, `[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`, false},
		// BIND never parses Unbound's frames, dump_infra lines are one-line
		{BIND, `[1795312911] unbound[19034:0] info: response for www.refused.lab. A IN`, true},
		{UnboundInfra, `127.53.3.1 refused.lab. expired rto 376 rtt 376 rttvar 94 tout 0 ednsknown 1 edns 0 delay 0 lame 1 dnssec 0 rec 0 A 0 other 0`, true},
		// lab bind9.log: BIND's "DNS format error" notice, whose FORMERR
		// line follows (pair.go); the FORMERR line itself is stateless
		{Auto, `22-Nov-2026 02:01:51.288 resolver: notice: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`, false},
		{BIND, `Nov 22 02:01:51 dnslab named[19030]: DNS format error from 127.53.5.1#53 resolving recursive.lab/NS for 127.53.100.1#39873: non-improving referral`, false},
		{Auto, `22-Nov-2026 02:01:51.288 lame-servers: info: FORMERR resolving 'recursive.lab/NS/IN': 127.53.5.1#53`, true},
		// a name that looks like a tag only costs parallelism
		{Auto, `22-Nov-2026 02:01:50.284 lame-servers: info: lame server resolving 'a[1:2].lab' (in 'lab'?): 127.53.4.1#53`, false},
		{Auto, `x [1:] y [:2] z [a:1]`, true},
		{Auto, `]`, true},
		{Auto, ``, true},
	}
	for _, tt := range tests {
		if got := tt.f.Stateless([]byte(tt.line)); got != tt.want {
			t.Errorf("%v.Stateless(%q) = %v, want %v", tt.f, tt.line, got, tt.want)
		}
	}
}

// TestStatelessLines parses every lab log in order and wants each line that
// Stateless calls stateless, and that is more than ContextLines after a
// stateful line, to give the same observations to a fresh Parser: such
// lines may be parsed by any worker.
func TestStatelessLines(t *testing.T) {
	compared := 0
	for _, l := range labLogs(t) {
		seq := New(Options{Format: l.format, Location: time.UTC, Reference: labReference})
		stateless, stateful, near := 0, 0, 0
		lastStateful := -ContextLines - 1
		for i, line := range l.lines {
			got, gres := seq.Parse(line, nil)
			if !l.format.Stateless(line) {
				stateful++
				lastStateful = i
				continue
			}
			if i-lastStateful <= ContextLines {
				near++
				continue
			}
			stateless++
			want, wres := New(Options{Format: l.format, Location: time.UTC, Reference: labReference}).Parse(line, nil)
			if gres != wres || !cmp.Equal(got, want, cmp.Comparer(func(a, b Observation) bool { return a == b })) {
				t.Errorf("%s: %q: in sequence %v %v, alone %v %v", l.name, line, gres, got, wres, want)
			}
		}
		t.Logf("%s: %d stateless, %d stateful lines, %d stateless lines after one", l.name, stateless, stateful, near)
		compared += stateless
	}
	if compared == 0 {
		t.Fatal("no lab line is stateless: nothing was compared")
	}
}
