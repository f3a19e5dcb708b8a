package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lamers-dev/lamers/resolver/resolvertest"
)

// A TLD server that never answers is down for its zone after two timeouts
// in a row: the lookups after them fail at once, without a packet, until
// the mark expires (five minutes after the last timeout); then it is asked
// again, and a reply puts it back in use. One that has answered takes
// eight timeouts in a row.
func TestSilentParentIsDown(t *testing.T) {
	var (
		root    = netip.MustParseAddr("127.65.0.1")
		tld     = netip.MustParseAddr("127.65.0.2")
		answers atomic.Bool
	)
	rootZone := `
.             86400 IN SOA a.root.lab. hostmaster.root.lab. 1 1800 900 604800 86400
.             86400 IN NS  a.root.lab.
a.root.lab.   86400 IN A   127.65.0.1
test.         86400 IN NS  ns.nic.test.
ns.nic.test.  86400 IN A   127.65.0.2
`
	tldZone := `
test.         3600 IN SOA ns.nic.test. hostmaster.nic.test. 1 1800 900 604800 300
test.         3600 IN NS  ns.nic.test.
ns.nic.test.  3600 IN A   127.65.0.2
z.test.       3600 IN NS  ns.z.test.
ns.z.test.    3600 IN A   127.65.0.3
`
	serveTLD := authHandler(t, tldZone)
	n, err := resolvertest.Listen(map[netip.Addr]dns.Handler{
		root: authHandler(t, rootZone),
		tld: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
			if answers.Load() {
				serveTLD.ServeDNS(w, req)
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newTestResolver(t, Config{RootHints: []netip.Addr{root}, Port: n.Port, QPS: -1,
		Timeouts: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, TCPTimeout: time.Second, Clock: clock})
	ctx := context.Background()
	packets := func() int64 { return r.Stats().PerAddress[tld].Packets }

	// Ten lookups below the silent TLD, four at a time.
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = r.Delegation(ctx, fmt.Sprintf("z%d.test.", i))
		})
		if i%4 == 3 {
			wg.Wait()
		}
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrParentUnreachable) {
			t.Errorf("z%d.test.: error %v, want parent unreachable", i, err)
		}
	}
	if !strings.Contains(errs[9].Error(), "server down") {
		t.Errorf("the last lookup's error %q does not say the server is down", errs[9])
	}
	if got := packets(); got != downAfter {
		t.Errorf("%d queries to the silent TLD server, want %d", got, downAfter)
	}

	// Four minutes later it is still down; five minutes after its last
	// timeout it is asked again, and answers.
	answers.Store(true)
	mu.Lock()
	now = now.Add(4 * time.Minute)
	mu.Unlock()
	if _, err := r.Delegation(ctx, "z.test."); !errors.Is(err, ErrParentUnreachable) || packets() != downAfter {
		t.Errorf("4 minutes later: %v after %d queries, want parent unreachable without a query", err, packets())
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if d, err := r.Delegation(ctx, "z.test."); err != nil || !d.Delegated || packets() != downAfter+1 {
		t.Errorf("5 minutes later: %+v, %v after %d queries; want the delegation from one more", d, err, packets())
	}
	// It has answered now: four lookups of two timeouts each go out before
	// it is down again; odd names that a server drops do not take it out
	// of use at once.
	answers.Store(false)
	for i := range downAfterAnswered / 2 {
		if _, err := r.Delegation(ctx, fmt.Sprintf("y%d.test.", i)); !errors.Is(err, ErrParentUnreachable) {
			t.Errorf("silent again, y%d.test.: %v, want parent unreachable", i, err)
		}
	}
	if _, err := r.Delegation(ctx, "x.test."); !errors.Is(err, ErrParentUnreachable) || packets() != downAfter+1+downAfterAnswered {
		t.Errorf("silent again: %v after %d queries, want parent unreachable after %d", err, packets(), downAfter+1+downAfterAnswered)
	}
}
