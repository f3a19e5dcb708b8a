package verify

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/resolvertest"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// errDisk is what the failing store answers, as SQLite does when the disk
// goes away.
var errDisk = errors.New("disk I/O error")

// failingStore is a real database of which one call fails: "DueFindings
// zoned", "DueFindings zone-less", "CountFindings", "Rounds",
// "RecordRound", "SetStatus", "Attribute", "UnprintableFindings",
// "LossyCandidates" or "MergeZone". It counts the calls that reached it.
type failingStore struct {
	db   *store.DB
	fail string

	mu    sync.Mutex
	calls map[string]int
}

var _ Store = (*failingStore)(nil)

// call counts a call of method and tells whether it fails.
func (s *failingStore) call(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if method == s.fail {
		return fmt.Errorf("store: %s: %w", method, errDisk)
	}
	return nil
}

func (s *failingStore) DueFindings(ctx context.Context, f store.Filter) ([]store.Finding, error) {
	method := "DueFindings zoned"
	if f.Zoning != store.Zoned {
		method = "DueFindings zone-less"
	}
	if err := s.call(method); err != nil {
		return nil, err
	}
	return s.db.DueFindings(ctx, f)
}

func (s *failingStore) CountFindings(ctx context.Context, f store.Filter) (int, error) {
	if err := s.call("CountFindings"); err != nil {
		return 0, err
	}
	return s.db.CountFindings(ctx, f)
}

func (s *failingStore) Rounds(ctx context.Context, id int64, limit int) ([]store.Round, error) {
	if err := s.call("Rounds"); err != nil {
		return nil, err
	}
	return s.db.Rounds(ctx, id, limit)
}

func (s *failingStore) RecordRound(ctx context.Context, r store.Round, u store.FindingUpdate) (store.Round, error) {
	if err := s.call("RecordRound"); err != nil {
		return store.Round{}, err
	}
	return s.db.RecordRound(ctx, r, u)
}

func (s *failingStore) SetStatus(ctx context.Context, id int64, at time.Time, u store.FindingUpdate) error {
	if err := s.call("SetStatus"); err != nil {
		return err
	}
	return s.db.SetStatus(ctx, id, at, u)
}

func (s *failingStore) Attribute(ctx context.Context, id int64, zone string) (store.Finding, error) {
	if err := s.call("Attribute"); err != nil {
		return store.Finding{}, err
	}
	return s.db.Attribute(ctx, id, zone)
}

func (s *failingStore) MergeZone(ctx context.Context, id int64, zone string) (store.Finding, error) {
	if err := s.call("MergeZone"); err != nil {
		return store.Finding{}, err
	}
	return s.db.MergeZone(ctx, id, zone)
}

func (s *failingStore) LossyCandidates(ctx context.Context, server netip.Addr, port uint16) ([]string, error) {
	if err := s.call("LossyCandidates"); err != nil {
		return nil, err
	}
	return s.db.LossyCandidates(ctx, server, port)
}

func (s *failingStore) UnprintableFindings(ctx context.Context, status store.Status, reason string, limit int) ([]store.Finding, error) {
	if err := s.call("UnprintableFindings"); err != nil {
		return nil, err
	}
	return s.db.UnprintableFindings(ctx, status, reason, limit)
}

// storeFixture stores the findings of one small tree: three zoned findings
// on its authoritative server (z000, z002, z003), two for zones the TLD does
// not delegate (gone, we\.ird), a zone-less one whose query name lies in
// z001, and an Unbound lossy name that spells we\.ird.
func storeFixture(t *testing.T, tree *resolvertest.Tree) *store.DB {
	t.Helper()
	db := storetest.Open(t)
	server := tree.Servers[0].Addr
	ts := time.Date(2026, 11, 22, 2, 1, 50, 0, time.UTC)
	var counts []store.Count
	for _, zone := range []string{"z000.test.", "z002.test.", "z003.test.", "gone.test.", `we\.ird.test.`} {
		counts = append(counts, store.Count{Zone: zone, QName: "www." + zone, Server: server, Port: 53,
			Source: "bind", Evidence: "lame_referral", Day: store.DayOf(ts), N: 1, First: ts, Last: ts})
	}
	counts = append(counts, store.Count{Bucket: "z001.test.", QName: "www.z001.test.", Server: server, Port: 53,
		Source: "bind", Evidence: "refused", Day: store.DayOf(ts), N: 1, First: ts, Last: ts})
	counts = append(counts, store.Count{Zone: "we?ird.test.", Server: server, Port: 53,
		Source: "unbound", Evidence: "lame_referral", Day: store.DayOf(ts), N: 1, First: ts, Last: ts})
	_, err := db.Commit(context.Background(), store.Batch{
		Base:   store.Checkpoint{Fingerprint: []byte("store_test")},
		Next:   store.Checkpoint{Offset: 700, Lines: 7, Path: "named.log"},
		Counts: counts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Every store error ends the run with an error that wraps it, stops the
// work that would need the store, and leaves the database as the calls
// before it left it.
func TestVerifyStoreErrors(t *testing.T) {
	tree, err := resolvertest.Start(resolvertest.Config{Net: 63, Zones: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	tests := []struct {
		fail string
		// calls are the calls that must have reached the store, at most
		// (the failing one included).
		calls map[string]int
		// rounds is the number of rounds the database holds afterwards.
		rounds int
	}{
		// Nothing is attributed or probed.
		{"DueFindings zone-less", map[string]int{"DueFindings zone-less": 1}, 0},
		{"CountFindings", map[string]int{"DueFindings zone-less": 1, "CountFindings": 1}, 0},
		// The zone-less finding is attributed, nothing is probed.
		{"DueFindings zoned", map[string]int{"DueFindings zone-less": 1, "CountFindings": 1, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1}, 0},
		{"Attribute", map[string]int{"DueFindings zone-less": 1, "CountFindings": 1, "Attribute": 1}, 0},
		{"UnprintableFindings", map[string]int{"DueFindings zone-less": 1, "CountFindings": 1, "Attribute": 1, "UnprintableFindings": 1}, 0},
		// The first finding due (never probed, by id: z000) fails; no
		// other one is probed.
		{"Rounds", map[string]int{"DueFindings zone-less": 1, "CountFindings": 2, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1, "Rounds": 1}, 0},
		{"RecordRound", map[string]int{"DueFindings zone-less": 1, "CountFindings": 2, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1, "Rounds": 1, "RecordRound": 1}, 0},
		// gone.test. is found stale without a round; the findings before
		// it were probed.
		{"SetStatus", map[string]int{"DueFindings zone-less": 1, "CountFindings": 2, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1, "Rounds": 3, "RecordRound": 3, "SetStatus": 1}, 3},
		// After gone. and we\.ird. are stale, the lossy name is looked
		// up among the zones of its server, and merged into we\.ird.
		{"LossyCandidates", map[string]int{"DueFindings zone-less": 1, "CountFindings": 2, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1, "Rounds": 3, "RecordRound": 3, "SetStatus": 2, "LossyCandidates": 1}, 3},
		{"MergeZone", map[string]int{"DueFindings zone-less": 1, "CountFindings": 2, "Attribute": 1, "UnprintableFindings": 1, "DueFindings zoned": 1, "Rounds": 3, "RecordRound": 3, "SetStatus": 2, "LossyCandidates": 1, "MergeZone": 1}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.fail, func(t *testing.T) {
			db := storeFixture(t, tree)
			fs := &failingStore{db: db, fail: tt.fail, calls: map[string]int{}}
			r := newResolver(t, resolver.Config{
				RootHints: []netip.Addr{tree.Root}, Port: tree.Port, QPS: -1, SkipEDNSCheck: true,
				Timeouts: []time.Duration{time.Second, time.Second}, TCPTimeout: time.Second,
			})
			v := &Verifier{Resolver: r, Store: fs, Policy: DefaultPolicy(), Concurrency: 1, MaxRounds: 100}
			_, err := v.Run(context.Background(), Options{})
			if !errors.Is(err, errDisk) || !strings.HasPrefix(err.Error(), "verify: ") {
				t.Fatalf("Run error = %v, want a verify: error wrapping the store's", err)
			}
			for method, n := range fs.calls {
				if n > tt.calls[method] {
					t.Errorf("%s called %d times, want at most %d", method, n, tt.calls[method])
				}
			}
			if n := fs.calls[tt.fail]; n != 1 {
				t.Errorf("%s called %d times, want once", tt.fail, n)
			}
			all, err := db.Findings(context.Background(), store.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			rounds := 0
			for _, f := range all {
				rounds += f.Rounds
			}
			if rounds != tt.rounds {
				t.Errorf("%d rounds recorded, want %d", rounds, tt.rounds)
			}
		})
	}
}
