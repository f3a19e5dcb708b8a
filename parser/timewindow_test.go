package parser

import (
	"testing"
	"time"
)

// TestParseTimeWindow checks that a time outside the window (2000-01-01 or
// ten years before the reference, whichever is later, to a day after the
// reference) is replaced by the reference and counted: a forged or broken
// timestamp must not wrap in the store nor move a finding's first or last
// sighting by decades.
func TestParseTimeWindow(t *testing.T) {
	ref := testReference // 2026-11-22T03:00:00Z
	lame := `lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`
	for _, tc := range []struct {
		name     string
		line     string
		want     time.Time
		replaced bool
	}{
		// BIND print-time (lib/isc/log.c) with a forged year
		{"bind-9999", `22-Nov-9999 02:01:50.284 lame-servers: info: ` + lame, ref, true},
		// Unbound logfile epoch (util/log.c "[%lld]") far ahead: year 2264
		{"unbound-far-future", `[9300000000] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`, ref, true},
		// the epoch itself
		{"unbound-epoch-0", `[0] unbound[19034:0] error: SERVFAIL <www.refused.lab. A IN>: all servers for this domain failed, at zone refused.lab. from 127.53.3.1 got REFUSED`, ref, true},
		// RFC 3339 (rsyslog) before 2000
		{"rfc3339-1999", `1999-12-31T23:59:59.000000+00:00 dnslab named[19030]: ` + lame, ref, true},
		// more than ten years before the reference
		{"iso-2016", `2016-11-22T02:59:59Z ` + lame, ref, true},
		// more than a day after it
		{"iso-tomorrow-plus", `2026-11-23T03:00:01Z ` + lame, ref, true},
		// the edges of the window are inside it
		{"iso-ten-years", `2016-11-22T03:00:00Z ` + lame, at("2016-11-22T03:00:00Z"), false},
		{"iso-a-day", `2026-11-23T03:00:00Z ` + lame, at("2026-11-23T03:00:00Z"), false},
		// the lab's own line, unchanged
		{"lab", `22-Nov-2026 02:01:50.284 lame-servers: info: ` + lame, tLab, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Location: time.UTC, Reference: ref})
			out, res := p.Parse([]byte(tc.line), nil)
			if res != Recognised || len(out) != 1 {
				t.Fatalf("Parse(%q) = %v, %v", tc.line, out, res)
			}
			if !out[0].Time.Equal(tc.want) {
				t.Errorf("time %v, want %v", out[0].Time, tc.want)
			}
			var want int64
			if tc.replaced {
				want = 1
			}
			if got := p.Counts().TimeReplaced; got != want {
				t.Errorf("Counts().TimeReplaced = %d, want %d", got, want)
			}
		})
	}
}

// TestParseTimeWindowGroup checks that an Unbound group is timed by its
// verdict line, and that lines without observations are not counted.
func TestParseTimeWindowGroup(t *testing.T) {
	p := New(Options{Location: time.UTC, Reference: testReference})
	out, _ := parseAll(p, []string{
		// Unbound 1.17.1 lab unbound.log lines, the first two with a forged epoch
		`[99999999999] unbound[19034:0] info: response for www.upref.lab. A IN`,
		`[1] unbound[19034:0] info: reply from <upref.lab.> 127.53.4.1#53`,
		`[1795312911] unbound[19034:0] info: query response was LAME`,
	})
	if len(out) != 1 || !out[0].Time.Equal(time.Unix(1795312911, 0)) {
		t.Fatalf("observations %v", out)
	}
	if n := p.Counts().TimeReplaced; n != 0 {
		t.Errorf("Counts().TimeReplaced = %d, want 0", n)
	}
}

// TestReferenceBeforeWindow checks that a reference before 2000 (a file
// whose modification time was never set) is not used as "now".
func TestReferenceBeforeWindow(t *testing.T) {
	before := time.Now()
	p := New(Options{Location: time.UTC, Reference: time.Unix(0, 0)})
	out, _ := p.Parse([]byte(`lame server resolving 'www.upref.lab' (in 'upref.lab'?): 127.53.4.1#53`), nil)
	if len(out) != 1 || out[0].Time.Before(before) {
		t.Fatalf("observations %v, want one at the current time", out)
	}
}
