package verify

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// The overflow finding of a server (zone-less evidence past
// store.MaxZonelessPerServer groups) mixes unrelated query names; its
// sample name is one of them. Verification attributes the server's named
// groups but never credits the overflow's counts to the sample name's
// zone (issue 15 item 7): the overflow stays zone-less with its counts.
func TestVerifyNeverAttributesOverflow(t *testing.T) {
	cfg := newVerifyLab(t)
	ctx := context.Background()
	db := storetest.Open(t)
	refuser := netip.MustParseAddr("127.53.3.1") // refused.lab.'s server in the lab tree
	at := time.Date(2026, 11, 22, 2, 1, 50, 0, time.UTC)
	count := func(bucket, qname string, n int64) store.Count {
		return store.Count{Bucket: bucket, QName: qname, Server: refuser, Port: 53, Source: "bind", Evidence: "refused",
			Day: store.DayOf(at), N: n, First: at, Last: at}
	}
	if _, err := db.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte("fp")}, Next: store.Checkpoint{Offset: 1, Lines: 1},
		Counts: []store.Count{
			// BIND 9.18: "REFUSED unexpected RCODE resolving 'www.refused.lab/A/IN': 127.53.3.1#53"
			count("refused.lab.", "www.refused.lab.", 3),
			// The overflow, whose sample happens to lie under refused.lab.
			count(store.OverflowBucket, "q1.refused.lab.", 500),
		}}); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Resolver: newResolver(t, cfg), Store: db, Concurrency: 2, Policy: DefaultPolicy()}
	vs, err := v.Run(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Attributed != 1 {
		t.Errorf("attributed %d, want 1 (the named group only)", vs.Attributed)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range fs {
		got[f.Zone+"|"+f.Bucket] = f.Count
	}
	if got["refused.lab.|"] != 3 || got["|*"] != 500 || len(got) != 2 {
		t.Errorf("findings (zone|bucket: count) %v, want refused.lab. with 3 and the overflow with 500", got)
	}
}
