package resolver

import (
	"slices"
	"time"
)

// Finding statuses (DESIGN §2 `status`, §5 step 4). StatusStale is never
// returned by Policy.Status: the caller decides it from a Delegation (the
// zone is not Delegated, or Delegation.Lists is false for the finding's
// address) before or instead of probing, and records it as the status.
const (
	StatusNew          = "new"
	StatusSuspect      = "suspect"
	StatusLame         = "lame"
	StatusUnresponsive = "unresponsive"
	StatusOK           = "ok"
	StatusFixed        = "fixed"
	StatusStale        = "stale"
	StatusInconclusive = "inconclusive"
)

// Policy is the confirmation policy: how many probe rounds, over how long,
// turn a finding into a confirmed one. It is a pure function of the rounds.
type Policy struct {
	LameRounds         int           // hard-lame rounds needed for "lame", 2
	LameSpan           time.Duration // first to last of them at least, 30m
	UnresponsiveRounds int           // soft rounds needed for "unresponsive", 3
	UnresponsiveSpan   time.Duration // first to last of them at least, 24h
	MinInterval        time.Duration // between rounds of one (zone, address), 30m (RFC 4697)
}

// DefaultPolicy returns DESIGN §5 step 4's defaults.
func DefaultPolicy() Policy {
	return Policy{
		LameRounds:         2,
		LameSpan:           30 * time.Minute,
		UnresponsiveRounds: 3,
		UnresponsiveSpan:   24 * time.Hour,
		MinInterval:        30 * time.Minute,
	}
}

// Round is one recorded probe round of a finding.
type Round struct {
	At      time.Time
	Verdict Verdict
	Reason  string
	Class   RoundClass // Probe.Class(); ClassOf(Reason)
}

// RoundOf turns a probe into the Round to record.
func RoundOf(p Probe) Round {
	return Round{At: p.At, Verdict: p.Verdict, Reason: p.Reason, Class: p.Class()}
}

// Status decides a finding's status from all its rounds (in any order) and
// the status it had before, and returns the reason to show with it.
//
//   - no rounds: new.
//   - the latest round authoritative: ok, or fixed when the finding had been
//     confirmed (prevStatus lame, unresponsive or fixed, or the rounds before
//     it confirm lame/unresponsive). Reason "authoritative".
//   - otherwise only the rounds after the last authoritative one count:
//     lame when at least LameRounds hard rounds span at least LameSpan;
//     unresponsive when at least UnresponsiveRounds soft rounds span at least
//     UnresponsiveSpan. SERVFAIL rounds are hard only while SERVFAIL is
//     steady: next to soft or intermittent_servfail rounds they do not count
//     (lame-verification.md §6 rows 12-13).
//   - a confirmed prevStatus (lame, unresponsive) stays while no
//     authoritative round has come, even if older rounds were pruned.
//   - not confirmed: suspect when the counted rounds are all hard or all
//     soft and no more than half of the rounds are not counted;
//     inconclusive when hard and soft rounds mix, when only not-counted
//     rounds exist, or when they are more than half ("hold").
func (p Policy) Status(prevStatus string, rounds []Round) (status, reason string) {
	if len(rounds) == 0 {
		return StatusNew, ""
	}
	rs := slices.Clone(rounds)
	slices.SortStableFunc(rs, func(a, b Round) int { return a.At.Compare(b.At) })
	for i := range rs {
		if rs[i].Class == NotCounted && rs[i].Reason != "" {
			// Trust the reason over a zero-valued Class.
			rs[i].Class = ClassOf(rs[i].Reason)
		}
	}
	last := rs[len(rs)-1]
	lastAuth := -1
	for i, r := range rs {
		if r.Class == Authoritative {
			lastAuth = i
		}
	}
	if lastAuth == len(rs)-1 {
		if confirmed(prevStatus) {
			return StatusFixed, ReasonAuthoritative
		}
		if before, _ := p.Status("", rs[:lastAuth]); confirmed(before) {
			return StatusFixed, ReasonAuthoritative
		}
		return StatusOK, ReasonAuthoritative
	}
	window := rs[lastAuth+1:]

	var hard, soft []Round
	notCounted := 0
	servfailShaky := false
	for _, r := range window {
		switch r.Class {
		case Hard:
			hard = append(hard, r)
		case Soft:
			soft = append(soft, r)
			servfailShaky = true
		default:
			notCounted++
			if r.Reason == ReasonIntermittentServfail {
				servfailShaky = true
			}
		}
	}
	droppedServfail := false
	if servfailShaky {
		n := len(hard)
		hard = slices.DeleteFunc(hard, func(r Round) bool { return r.Reason == ReasonServfail })
		droppedServfail = len(hard) < n
		notCounted += n - len(hard)
	}
	if len(hard) >= max(p.LameRounds, 1) && hard[len(hard)-1].At.Sub(hard[0].At) >= p.LameSpan {
		return StatusLame, hard[len(hard)-1].Reason
	}
	if len(soft) >= max(p.UnresponsiveRounds, 1) && soft[len(soft)-1].At.Sub(soft[0].At) >= p.UnresponsiveSpan {
		return StatusUnresponsive, soft[len(soft)-1].Reason
	}
	// A confirmed status stays until an authoritative answer; with no
	// authoritative round at all, older rounds may have been pruned.
	if lastAuth < 0 && (prevStatus == StatusLame || prevStatus == StatusUnresponsive) {
		return prevStatus, last.Reason
	}
	switch {
	case droppedServfail:
		return StatusInconclusive, ReasonIntermittentServfail
	case len(hard)+len(soft) == 0, len(hard) > 0 && len(soft) > 0, 2*notCounted > len(window):
		return StatusInconclusive, last.Reason
	case len(hard) > 0:
		return StatusSuspect, hard[len(hard)-1].Reason
	default:
		return StatusSuspect, soft[len(soft)-1].Reason
	}
}

func confirmed(status string) bool {
	return status == StatusLame || status == StatusUnresponsive || status == StatusFixed
}

// Due reports whether a finding whose last round was at lastRound may be
// probed again at now (MinInterval, RFC 4697 §2.2). A zero lastRound is
// always due.
func (p Policy) Due(lastRound, now time.Time) bool {
	return lastRound.IsZero() || now.Sub(lastRound) >= p.MinInterval
}
