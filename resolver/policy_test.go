package resolver

import (
	"testing"
	"time"
)

func TestPolicyStatus(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	at := func(d time.Duration, reason string) Round {
		return Round{At: t0.Add(d), Verdict: VerdictOf(reason), Reason: reason, Class: ClassOf(reason)}
	}
	const (
		auth  = ReasonAuthoritative
		upref = ReasonUpwardReferral
		tmo   = ReasonUnresponsive
		icmp  = ReasonNoDNSService
		sf    = ReasonServfail
		vant  = ReasonVantageError
	)
	h := time.Hour
	tests := []struct {
		name        string
		prev        string
		rounds      []Round
		status, why string
	}{
		{"never probed", "", nil, StatusNew, ""},
		{"lame once", StatusNew, []Round{at(0, upref)}, StatusSuspect, upref},
		{"lame twice, too close together", StatusSuspect, []Round{at(0, upref), at(10*time.Minute, upref)}, StatusSuspect, upref},
		{"lame twice, 30 minutes apart", StatusSuspect, []Round{at(0, upref), at(30*time.Minute, ReasonRefused)}, StatusLame, ReasonRefused},
		{"rounds given out of order", StatusSuspect, []Round{at(30*time.Minute, upref), at(0, upref)}, StatusLame, upref},
		{"suspect, then authoritative", StatusSuspect, []Round{at(0, upref), at(h, auth)}, StatusOK, auth},
		{"authoritative first", StatusNew, []Round{at(0, auth)}, StatusOK, auth},
		{"lame, then fixed", StatusLame, []Round{at(0, upref), at(h, upref), at(2*h, auth)}, StatusFixed, auth},
		{"fixed known from the rounds alone", "", []Round{at(0, upref), at(h, upref), at(2*h, auth)}, StatusFixed, auth},
		{"fixed stays fixed", StatusFixed, []Round{at(0, upref), at(h, upref), at(2*h, auth), at(3*h, auth)}, StatusFixed, auth},
		{"lame again after ok", StatusOK, []Round{at(0, auth), at(h, upref)}, StatusSuspect, upref},
		{"lame again after ok, confirmed", StatusOK, []Round{at(0, auth), at(h, upref), at(2*h, upref)}, StatusLame, upref},
		{"timeouts within a day", StatusSuspect, []Round{at(0, tmo), at(8*h, tmo), at(16*h, icmp)}, StatusSuspect, icmp},
		{"timeouts over a day", StatusSuspect, []Round{at(0, tmo), at(12*h, tmo), at(24*h, tmo)}, StatusUnresponsive, tmo},
		{"two timeouts over two days", StatusSuspect, []Round{at(0, tmo), at(48*h, tmo)}, StatusSuspect, tmo},
		{"unresponsive, then answers", StatusUnresponsive, []Round{at(0, tmo), at(12*h, tmo), at(24*h, tmo), at(25*h, auth)}, StatusFixed, auth},
		{"lame and silent mixed", StatusSuspect, []Round{at(0, upref), at(h, tmo)}, StatusInconclusive, tmo},
		{"only vantage errors", StatusNew, []Round{at(0, vant), at(h, vant)}, StatusInconclusive, vant},
		{"mostly not counted: hold", StatusNew, []Round{at(0, vant), at(h, ReasonMismatchedReply), at(2*h, upref)}, StatusInconclusive, upref},
		{"vantage error does not reset a confirmation", StatusLame, []Round{at(0, upref), at(h, upref), at(2*h, vant)}, StatusLame, upref},
		{"pruned history keeps lame", StatusLame, []Round{at(0, vant)}, StatusLame, vant},
		{"steady SERVFAIL", StatusSuspect, []Round{at(0, sf), at(h, sf)}, StatusLame, sf},
		{"SERVFAIL in only some rounds", StatusSuspect, []Round{at(0, sf), at(h, tmo), at(2*h, sf)}, StatusInconclusive, ReasonIntermittentServfail},
		{"SERVFAIL next to intermittent", StatusSuspect, []Round{at(0, sf), at(h, ReasonIntermittentServfail), at(2*h, sf)}, StatusInconclusive, ReasonIntermittentServfail},
		{"ns name gone", StatusNew, []Round{at(0, ReasonNSNameNXDomain), at(h, ReasonNSNameNXDomain)}, StatusLame, ReasonNSNameNXDomain},
		{"zero Class taken from the reason", StatusNew, []Round{{At: t0, Reason: upref}, {At: t0.Add(h), Reason: upref}}, StatusLame, upref},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, why := p.Status(tt.prev, tt.rounds)
			if status != tt.status || why != tt.why {
				t.Errorf("Status(%q, …) = %s/%s, want %s/%s", tt.prev, status, why, tt.status, tt.why)
			}
		})
	}
}

func TestPolicyDue(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		last, now time.Time
		due       bool
	}{
		{time.Time{}, t0, true},
		{t0, t0.Add(29 * time.Minute), false},
		{t0, t0.Add(30 * time.Minute), true},
	} {
		if got := p.Due(tt.last, tt.now); got != tt.due {
			t.Errorf("Due(%v, %v) = %v", tt.last, tt.now, got)
		}
	}
}

func TestRoundOf(t *testing.T) {
	p := Probe{At: time.Unix(5, 0), Verdict: VerdictInconclusive, Reason: ReasonUnresponsive}
	if r := RoundOf(p); r.Class != Soft || r.Reason != ReasonUnresponsive || !r.At.Equal(p.At) {
		t.Errorf("RoundOf = %+v", r)
	}
}
