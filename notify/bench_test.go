package notify

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

const (
	benchZones      = 50_000 // two lame servers each: 100,000 findings
	benchRecipients = 20_000
)

// BenchmarkPlanDryRun plans a dry run over 100,000 confirmed findings (50,000
// zones, two lame servers each) whose RNAMEs name 20,000 recipients, with
// lookups answered from memory: the cost of loading, walking every chain,
// grouping, limiting and composing the first max_per_run messages.
// "peak-RSS-MB" is the process's peak resident memory during the runs
// (Linux), the seeding excluded.
func BenchmarkPlanDryRun(b *testing.B) {
	db := storetest.Open(b)
	seedBench(b, db)
	tn := fakeNotifier(db)
	for j := range benchZones {
		tn.lookup.rnames[fmt.Sprintf("z%05d.example.", j)] = fmt.Sprintf("dns.r%05d.example.", j%benchRecipients)
	}
	debug.FreeOSMemory()
	resetPeakRSS(b)
	for b.Loop() {
		tn.lookup.soaCalls = 0
		rep, err := tn.Run(b.Context(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Messages) != 100 || rep.Later != benchRecipients-100 {
			b.Fatalf("%d messages, %d later; want 100, %d", len(rep.Messages), rep.Later, benchRecipients-100)
		}
	}
	if mb := peakRSSMB(b); mb > 0 {
		b.ReportMetric(mb, "peak-RSS-MB")
	}
}

// seedBench stores the benchmark's findings: one ingest batch, then their
// verdicts set in one statement (a verify run would take hours to record
// 200,000 rounds, and the planner reads only the findings).
func seedBench(b *testing.B, db *store.DB) {
	b.Helper()
	seen := t0.Add(-30 * day)
	counts := make([]store.Count, 0, 2*benchZones)
	for j := range benchZones {
		for k := range 2 {
			counts = append(counts, store.Count{Zone: fmt.Sprintf("z%05d.example.", j), QName: fmt.Sprintf("www.z%05d.example.", j),
				Server: netip.AddrFrom4([4]byte{10, byte(k), byte(j / 256), byte(j % 256)}), Port: 53, Source: "bind",
				Evidence: "lame_referral", Day: store.DayOf(seen), N: 5, First: seen, Last: seen})
		}
	}
	if _, err := db.Commit(context.Background(), store.Batch{Base: store.Checkpoint{Fingerprint: []byte("bench")},
		Next: store.Checkpoint{Offset: 1, Lines: 1, Path: "named.log"}, Counts: counts}); err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+db.Path())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE findings SET status = 'lame', reason = 'refused', rounds = 2,
		server_names = '["ns' || (id % 2) || '.hoster' || (id % 500) || '.example."]',
		confirmed_at = ? - id * 1000000000, last_probed = ?`, t0.Add(-20*day).UnixNano(), t0.Add(-time.Hour).UnixNano()); err != nil {
		b.Fatal(err)
	}
}

// resetPeakRSS resets the kernel's high-water mark of the process's
// resident memory (Linux 4.0+, proc(5) clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not measured: %v", err)
	}
}

// peakRSSMB reads VmHWM from /proc/self/status, in MB; 0 when unknown.
func peakRSSMB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				return 0
			}
			return float64(kb) / 1024
		}
	}
	return 0
}
