package verify

import (
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

func TestPolicyStatus(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	at := func(d time.Duration, reason string) store.Round {
		return store.Round{At: t0.Add(d), Verdict: VerdictOf(resolver.VerdictOf(reason)), Reason: reason, Class: ClassOf(reason)}
	}
	const (
		auth  = resolver.ReasonAuthoritative
		upref = resolver.ReasonUpwardReferral
		tmo   = resolver.ReasonUnresponsive
		icmp  = resolver.ReasonNoDNSService
		sf    = resolver.ReasonServfail
		vant  = resolver.ReasonVantageError
	)
	h := time.Hour
	tests := []struct {
		name   string
		prev   store.Status
		rounds []store.Round
		status store.Status
		why    string
	}{
		{"never probed", 0, nil, store.StatusNew, ""},
		{"lame once", store.StatusNew, []store.Round{at(0, upref)}, store.StatusSuspect, upref},
		{"lame twice, too close together", store.StatusSuspect, []store.Round{at(0, upref), at(10*time.Minute, upref)}, store.StatusSuspect, upref},
		{"lame twice, 30 minutes apart", store.StatusSuspect, []store.Round{at(0, upref), at(30*time.Minute, resolver.ReasonRefused)}, store.StatusLame, resolver.ReasonRefused},
		{"rounds given out of order", store.StatusSuspect, []store.Round{at(30*time.Minute, upref), at(0, upref)}, store.StatusLame, upref},
		{"suspect, then authoritative", store.StatusSuspect, []store.Round{at(0, upref), at(h, auth)}, store.StatusOK, auth},
		{"authoritative first", store.StatusNew, []store.Round{at(0, auth)}, store.StatusOK, auth},
		{"lame, then fixed", store.StatusLame, []store.Round{at(0, upref), at(h, upref), at(2*h, auth)}, store.StatusFixed, auth},
		{"fixed known from the rounds alone", 0, []store.Round{at(0, upref), at(h, upref), at(2*h, auth)}, store.StatusFixed, auth},
		{"fixed stays fixed", store.StatusFixed, []store.Round{at(0, upref), at(h, upref), at(2*h, auth), at(3*h, auth)}, store.StatusFixed, auth},
		{"lame again after ok", store.StatusOK, []store.Round{at(0, auth), at(h, upref)}, store.StatusSuspect, upref},
		{"lame again after ok, confirmed", store.StatusOK, []store.Round{at(0, auth), at(h, upref), at(2*h, upref)}, store.StatusLame, upref},
		{"timeouts within a day", store.StatusSuspect, []store.Round{at(0, tmo), at(8*h, tmo), at(16*h, icmp)}, store.StatusSuspect, icmp},
		{"timeouts over a day", store.StatusSuspect, []store.Round{at(0, tmo), at(12*h, tmo), at(24*h, tmo)}, store.StatusUnresponsive, tmo},
		{"two timeouts over two days", store.StatusSuspect, []store.Round{at(0, tmo), at(48*h, tmo)}, store.StatusSuspect, tmo},
		{"unresponsive, then answers", store.StatusUnresponsive, []store.Round{at(0, tmo), at(12*h, tmo), at(24*h, tmo), at(25*h, auth)}, store.StatusFixed, auth},
		{"lame and silent mixed", store.StatusSuspect, []store.Round{at(0, upref), at(h, tmo)}, store.StatusInconclusive, tmo},
		{"only vantage errors", store.StatusNew, []store.Round{at(0, vant), at(h, vant)}, store.StatusInconclusive, vant},
		{"mostly not counted: hold", store.StatusNew, []store.Round{at(0, vant), at(h, resolver.ReasonMismatchedReply), at(2*h, upref)}, store.StatusInconclusive, upref},
		{"vantage error does not reset a confirmation", store.StatusLame, []store.Round{at(0, upref), at(h, upref), at(2*h, vant)}, store.StatusLame, upref},
		{"pruned history keeps lame", store.StatusLame, []store.Round{at(0, vant)}, store.StatusLame, vant},
		{"steady SERVFAIL", store.StatusSuspect, []store.Round{at(0, sf), at(h, sf)}, store.StatusLame, sf},
		{"SERVFAIL in only some rounds", store.StatusSuspect, []store.Round{at(0, sf), at(h, tmo), at(2*h, sf)}, store.StatusInconclusive, resolver.ReasonIntermittentServfail},
		{"SERVFAIL next to intermittent", store.StatusSuspect, []store.Round{at(0, sf), at(h, resolver.ReasonIntermittentServfail), at(2*h, sf)}, store.StatusInconclusive, resolver.ReasonIntermittentServfail},
		{"ns name gone", store.StatusNew, []store.Round{at(0, resolver.ReasonNSNameNXDomain), at(h, resolver.ReasonNSNameNXDomain)}, store.StatusLame, resolver.ReasonNSNameNXDomain},
		{"zero Class taken from the reason", store.StatusNew, []store.Round{{At: t0, Reason: upref}, {At: t0.Add(h), Reason: upref}}, store.StatusLame, upref},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, why := p.Status(tt.prev, tt.rounds)
			if status != tt.status || why != tt.why {
				t.Errorf("Status(%v, …) = %v/%s, want %v/%s", tt.prev, status, why, tt.status, tt.why)
			}
		})
	}
}

func TestRoundOf(t *testing.T) {
	p := resolver.Probe{At: time.Unix(5, 0), Zone: "example.com.", Verdict: resolver.VerdictInconclusive, Reason: resolver.ReasonUnresponsive,
		Flags: []string{}, Packets: 3}
	r := RoundOf(p)
	if r.Class != store.ClassSoft || r.Verdict != store.VerdictInconclusive || r.Reason != resolver.ReasonUnresponsive ||
		!r.At.Equal(p.At) || r.Zone != p.Zone || r.Packets != 3 {
		t.Errorf("RoundOf = %+v", r)
	}
}

// TestClassOf: every reason the resolver gives counts as the confirmation
// classes of docs/verification.md say.
func TestClassOf(t *testing.T) {
	for reason, want := range map[string]store.RoundClass{
		resolver.ReasonAuthoritative:            store.ClassAuthoritative,
		resolver.ReasonUpwardReferral:           store.ClassHard,
		resolver.ReasonRefused:                  store.ClassHard,
		resolver.ReasonServfail:                 store.ClassHard,
		resolver.ReasonNSNameNXDomain:           store.ClassHard,
		"rcode_notauth":                         store.ClassHard,
		"rcode_12":                              store.ClassHard,
		resolver.ReasonUnresponsive:             store.ClassSoft,
		resolver.ReasonNoDNSService:             store.ClassSoft,
		resolver.ReasonIntermittentServfail:     store.ClassNone,
		resolver.ReasonTCPFailedAfterTruncation: store.ClassNone,
		resolver.ReasonVantageError:             store.ClassNone,
		resolver.ReasonMismatchedReply:          store.ClassNone,
		resolver.ReasonNSLookupFailed:           store.ClassNone,
		resolver.ReasonParentUnreachable:        store.ClassNone,
		// RFC 7873 §5.3: resend with the server's cookie; never lame by itself.
		"rcode_badcookie": store.ClassNone,
		"":                store.ClassNone,
		"no_such_reason":  store.ClassNone,
	} {
		if got := ClassOf(reason); got != want {
			t.Errorf("ClassOf(%q) = %v, want %v", reason, got, want)
		}
	}
}

// TestVerdictOf: the resolver's verdicts have stored forms of the same name,
// so that check's JSON and the database say the same word.
func TestVerdictOf(t *testing.T) {
	for _, v := range []resolver.Verdict{resolver.VerdictAuthoritative, resolver.VerdictLame, resolver.VerdictInconclusive} {
		if got := VerdictOf(v); got.String() != string(v) {
			t.Errorf("VerdictOf(%s) = %v", v, got)
		}
	}
}
