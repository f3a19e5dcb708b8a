package resolver

import (
	"errors"
	"net/netip"
	"time"
)

// Servers that never answer. A zone whose servers are all silent — a dead
// parent, or a dead root in a private tree — would otherwise cost every
// lookup below it a timeout per server and pass: 8 to 16 s for each of a
// thousand findings. After downAfter timeouts in a row from an address for
// queries at one zone cut, with no reply in between, iteration treats the
// address as down for that zone and passes it by without a packet; when
// every server of the zone is down, the lookup fails at once (verification
// records parent_unreachable). Any reply puts the address back in use. The
// mark lasts downHold after the last timeout; then the address gets its
// tries again.
//
// An address that has answered at that zone (within downHold) needs
// downAfterAnswered timeouts in a row instead: the query names come from
// logs that anyone can fill, and a server that drops the queries for a few
// odd names must not be taken out of use for everyone else. Replies that
// failed the checks of the transport (a forged or garbled datagram) count
// neither way.
//
// Unbound keeps its server timeouts the same way, per address and zone
// (struct infra_key in services/cache/infra.h), and stops choosing a host
// that timed out until its entry expires. RFC 2308 §7.2 lets a resolver
// remember a dead server for at most five minutes; it keys the memory by
// query, lamers by zone cut, since the lookups it saves are for many names
// below one zone. Probes (Probe, ProbeSilent) do not consult it: a silent
// server under test gets its rounds (docs/verification.md, section 2).

const (
	downAfter         = 2               // timeouts in a row that put an address down for a zone
	downAfterAnswered = 8               // the same for an address that has answered there
	downHold          = 5 * time.Minute // how long after its last timeout (RFC 2308 §7.2)
)

// errServerDown: the address is down for the zone (no packet was sent).
var errServerDown = errors.New("server down: it did not answer the last queries")

// serverState is what iteration remembers of an address at a zone cut.
type serverState struct {
	timeouts int  // in a row
	answered bool // a reply came (since the entry was made)
}

func (s serverState) down() bool {
	if s.answered {
		return s.timeouts >= downAfterAnswered
	}
	return s.timeouts >= downAfter
}

// serverKey is the key of an address at a zone cut.
func serverKey(a netip.Addr, zone string) string { return a.String() + " " + zone }

// isDown reports whether a is down for queries at zone.
func (r *Resolver) isDown(a netip.Addr, zone string) bool {
	s, ok := r.servers.get(serverKey(a, zone))
	return ok && s.down()
}

// noteOutcome records how a query to a at zone ended: a timeout (without
// any datagram that failed the checks) counts towards down, a reply clears
// the count.
func (r *Resolver) noteOutcome(a netip.Addr, zone string, err error) {
	switch {
	case err == nil:
		r.servers.update(serverKey(a, zone), downHold, func(serverState, bool) serverState { return serverState{answered: true} })
	case errors.Is(err, errTimeout) && !errors.Is(err, errMismatched):
		r.servers.update(serverKey(a, zone), downHold, func(s serverState, _ bool) serverState { s.timeouts++; return s })
	}
}
