package verify

import (
	"slices"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

// Policy is the confirmation policy (docs/verification.md, "Confirmation"):
// how many probe rounds, over how long, turn a finding into a confirmed one.
// Its Status is a pure function of the rounds.
type Policy struct {
	LameRounds         int           // hard-lame rounds needed for "lame", 2
	LameSpan           time.Duration // first to last of them at least, 30m
	UnresponsiveRounds int           // soft rounds needed for "unresponsive", 3
	UnresponsiveSpan   time.Duration // first to last of them at least, 24h
	MinInterval        time.Duration // between rounds of one (zone, address), 30m (RFC 4697 §2.2)
}

// DefaultPolicy returns the defaults of docs/verification.md.
func DefaultPolicy() Policy {
	return Policy{
		LameRounds:         2,
		LameSpan:           30 * time.Minute,
		UnresponsiveRounds: 3,
		UnresponsiveSpan:   24 * time.Hour,
		MinInterval:        30 * time.Minute,
	}
}

// ClassOf returns how a round with this verdict reason counts for the
// policy: authoritative; hard for every reason whose verdict is lame; soft
// for the two kinds of silence (unresponsive, no_dns_service), which are
// inconclusive one round at a time (RFC 4697 §2.2 calls them potentially
// transient) but make a finding unresponsive over time; none for the rest,
// unknown reasons included.
func ClassOf(reason string) store.RoundClass {
	if reason == resolver.ReasonUnresponsive || reason == resolver.ReasonNoDNSService {
		return store.ClassSoft
	}
	switch resolver.VerdictOf(reason) {
	case resolver.VerdictAuthoritative:
		return store.ClassAuthoritative
	case resolver.VerdictLame:
		return store.ClassHard
	default:
		return store.ClassNone
	}
}

// VerdictOf returns the stored form of a probe's verdict.
func VerdictOf(v resolver.Verdict) store.Verdict {
	switch v {
	case resolver.VerdictAuthoritative:
		return store.VerdictAuthoritative
	case resolver.VerdictLame:
		return store.VerdictLame
	default:
		return store.VerdictInconclusive
	}
}

// RoundOf turns a probe into the round to record, with the zone's SOA when
// the probe was authoritative; the caller sets FindingID, Server and Port.
func RoundOf(p resolver.Probe) store.Round {
	r := store.Round{
		At: p.At, Zone: p.Zone, Verdict: VerdictOf(p.Verdict), Reason: p.Reason, Class: ClassOf(p.Reason),
		Rcode: p.Rcode, Flags: p.Flags, RTT: p.RTT, Packets: p.Packets,
	}
	if p.Verdict == resolver.VerdictAuthoritative {
		r.SOA = store.SOA{MName: p.SOA.MName, RName: p.SOA.RName, Serial: p.SOA.Serial}
	}
	return r
}

// Status decides a finding's status from all its rounds (in any order) and
// the status it had before (0: none), and returns the reason to show with
// it. Only At, Reason and Class of the rounds are read; a round without a
// Class counts by its Reason.
//
//   - no rounds: new.
//   - the latest round authoritative: ok, or fixed when the finding had been
//     confirmed (prevStatus lame, unresponsive or fixed, or the rounds before
//     it confirm lame/unresponsive). Reason "authoritative".
//   - otherwise only the rounds after the last authoritative one count:
//     lame when at least LameRounds hard rounds span at least LameSpan;
//     unresponsive when at least UnresponsiveRounds soft rounds span at least
//     UnresponsiveSpan. SERVFAIL rounds are hard only while SERVFAIL is
//     steady: next to soft or intermittent_servfail rounds they do not count.
//   - a confirmed prevStatus (lame, unresponsive) stays while no
//     authoritative round has come, even if older rounds were pruned.
//   - not confirmed: suspect when the counted rounds are all hard or all
//     soft and no more than half of the rounds are not counted;
//     inconclusive when hard and soft rounds mix, when only not-counted
//     rounds exist, or when they are more than half ("hold").
//
// Stale is never returned: the verifier decides it from the delegation,
// before or instead of probing.
func (p Policy) Status(prevStatus store.Status, rounds []store.Round) (status store.Status, reason string) {
	if len(rounds) == 0 {
		return store.StatusNew, ""
	}
	rs := slices.Clone(rounds)
	slices.SortStableFunc(rs, func(a, b store.Round) int { return a.At.Compare(b.At) })
	for i := range rs {
		if rs[i].Class == 0 {
			rs[i].Class = ClassOf(rs[i].Reason)
		}
	}
	last := rs[len(rs)-1]
	lastAuth := -1
	for i, r := range rs {
		if r.Class == store.ClassAuthoritative {
			lastAuth = i
		}
	}
	if lastAuth == len(rs)-1 {
		if confirmed(prevStatus) {
			return store.StatusFixed, resolver.ReasonAuthoritative
		}
		if before, _ := p.Status(0, rs[:lastAuth]); confirmed(before) {
			return store.StatusFixed, resolver.ReasonAuthoritative
		}
		return store.StatusOK, resolver.ReasonAuthoritative
	}
	window := rs[lastAuth+1:]

	var hard, soft []store.Round
	notCounted := 0
	servfailShaky := false
	for _, r := range window {
		switch r.Class {
		case store.ClassHard:
			hard = append(hard, r)
		case store.ClassSoft:
			soft = append(soft, r)
			servfailShaky = true
		default:
			notCounted++
			if r.Reason == resolver.ReasonIntermittentServfail {
				servfailShaky = true
			}
		}
	}
	droppedServfail := false
	if servfailShaky {
		n := len(hard)
		hard = slices.DeleteFunc(hard, func(r store.Round) bool { return r.Reason == resolver.ReasonServfail })
		droppedServfail = len(hard) < n
		notCounted += n - len(hard)
	}
	if len(hard) >= max(p.LameRounds, 1) && hard[len(hard)-1].At.Sub(hard[0].At) >= p.LameSpan {
		return store.StatusLame, hard[len(hard)-1].Reason
	}
	if len(soft) >= max(p.UnresponsiveRounds, 1) && soft[len(soft)-1].At.Sub(soft[0].At) >= p.UnresponsiveSpan {
		return store.StatusUnresponsive, soft[len(soft)-1].Reason
	}
	// A confirmed status stays until an authoritative answer; with no
	// authoritative round at all, older rounds may have been pruned.
	if lastAuth < 0 && (prevStatus == store.StatusLame || prevStatus == store.StatusUnresponsive) {
		return prevStatus, last.Reason
	}
	switch {
	case droppedServfail:
		return store.StatusInconclusive, resolver.ReasonIntermittentServfail
	case len(hard)+len(soft) == 0, len(hard) > 0 && len(soft) > 0, 2*notCounted > len(window):
		return store.StatusInconclusive, last.Reason
	case len(hard) > 0:
		return store.StatusSuspect, hard[len(hard)-1].Reason
	default:
		return store.StatusSuspect, soft[len(soft)-1].Reason
	}
}

func confirmed(status store.Status) bool {
	return status == store.StatusLame || status == store.StatusUnresponsive || status == store.StatusFixed
}
