// Command genfindings fills a lamers database with N findings, quickly,
// for bench/report.sh: it commits them through store.Commit, as a scan
// would, in batches of 100,000, without a log to parse. The findings are
// deterministic: zones z<i>.example. (one in ten with BIND escapes or
// non-ASCII octets) and zone-less buckets, servers from 198.18.0.0/15 and
// 2001:db8::/32 (one in four IPv6), ports 53 and a few others, one to
// three evidence kinds, two sources, times over 28 days.
//
// With -verdicts (for bench/digest.sh) one finding in 200 names one of ten
// decommissioned servers (192.0.2.1 to 192.0.2.10, 500 zones each in a
// million), and the findings then get what verify, notify and bounce
// would have given them, through the same store calls (verdicts.go).
//
//	go run ./bench/genfindings -db /tmp/report.db -n 1000000
//	go run ./bench/genfindings -db /tmp/digest.db -n 1000000 -verdicts
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/lamers-dev/lamers/store"
)

func main() {
	path := flag.String("db", "", "database `file` to create (must not exist)")
	n := flag.Int("n", 1_000_000, "number of findings")
	verdicts := flag.Bool("verdicts", false, "decommissioned servers, and verdicts, contacts, messages and bounces as the digest reads them")
	flag.Parse()
	if err := run(*path, *n, *verdicts); err != nil {
		fmt.Fprintf(os.Stderr, "genfindings: %v\n", err)
		os.Exit(1)
	}
}

const batch = 100_000

var kinds = []string{"lame_referral", "refused", "servfail", "timeout", "connection_refused", "formerr", "rcode_notimp"}

func run(path string, n int, verdicts bool) error {
	if path == "" {
		return fmt.Errorf("-db is required")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists", path)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	base := store.Checkpoint{Fingerprint: []byte("genfindings")}
	t0 := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += batch {
		var counts []store.Count
		for i := start; i < min(start+batch, n); i++ {
			counts = append(counts, finding(i, t0, verdicts)...)
		}
		res, err := db.Commit(ctx, store.Batch{Base: base, Next: store.Checkpoint{Offset: int64(start + 1), Lines: int64(start + 1)}, Counts: counts})
		if err != nil {
			return err
		}
		base = res.Checkpoint
	}
	if verdicts {
		return giveVerdicts(ctx, db, t0)
	}
	return nil
}

// finding returns the counts of the i-th finding; with worst, one in 200
// names a decommissioned server.
func finding(i int, t0 time.Time, worst bool) []store.Count {
	var server netip.Addr
	if i%4 == 3 {
		server = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	} else {
		server = netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
	}
	if worst && i%200 == 1 {
		server = decommissioned(i / 200)
	}
	zone := fmt.Sprintf("z%d.example.", i)
	switch i % 10 {
	case 7:
		zone = fmt.Sprintf("we\\.ird%d.example.", i)
	case 8:
		zone = fmt.Sprintf("b\\195\\188cher%d.example.", i)
	}
	port := uint16(53)
	if i%50 == 0 {
		port = uint16(5300 + i%7)
	}
	c := store.Count{Zone: zone, QName: "www." + zone, Server: server, Port: port, Source: "bind"}
	if i%5 == 4 {
		c.Zone, c.Bucket = "", fmt.Sprintf("b%d.test.", i)
	}
	if i%9 == 0 {
		c.Source = "unbound"
	}
	at := t0.Add(time.Duration(i%(28*24*60)) * time.Minute)
	c.Day, c.First, c.Last = store.DayOf(at), at, at.Add(time.Hour)
	var out []store.Count
	for k := range 1 + i%3 {
		c.Evidence, c.N = kinds[(i+k)%len(kinds)], int64(1+i%17)
		out = append(out, c)
	}
	return out
}
