package notify

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/verify"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// t0 is the time of every test run.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// spec is a finding to store: a BIND 9 "lame server resolving" line about
// zone and server, then rounds that confirmed it.
type spec struct {
	zone, server string
	names        []string      // NS names pointing at server
	status       store.Status  // lame when 0
	confirmed    time.Duration // before t0; 48h when 0
	probed       time.Duration // age of the last round; 1h when 0
}

// seed stores the findings and returns their IDs in the order given.
func seed(t testing.TB, db *store.DB, specs ...spec) []int64 {
	t.Helper()
	ctx := context.Background()
	var counts []store.Count
	var zones []string
	for _, s := range specs {
		zones = append(zones, s.zone+s.server)
		seen := t0.Add(-72 * time.Hour)
		// 19-Nov-2026 12:00:00.000 lame-servers: info: lame server resolving 'www.ZONE' (in 'ZONE'?): SERVER#53
		counts = append(counts, store.Count{Zone: s.zone, QName: "www." + s.zone, Server: netip.MustParseAddr(s.server), Port: 53,
			Source: "bind", Evidence: "lame_referral", Day: store.DayOf(seen), N: 3, First: seen, Last: seen})
	}
	_, err := db.Commit(ctx, store.Batch{Base: store.Checkpoint{Fingerprint: []byte(strings.Join(zones, " "))},
		Next: store.Checkpoint{Offset: 100, Lines: int64(len(specs)), Path: "named.log"}, Counts: counts})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.Findings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(specs))
	for i, s := range specs {
		j := slices.IndexFunc(fs, func(f store.Finding) bool { return f.Zone == s.zone && f.Server.String() == s.server })
		ids[i] = fs[j].ID
		status, confirmed, probed := cmpOr(s.status, store.StatusLame), cmpOr(s.confirmed, 48*time.Hour), cmpOr(s.probed, time.Hour)
		for _, at := range []time.Time{t0.Add(-confirmed), t0.Add(-probed)} {
			r := store.Round{FindingID: ids[i], At: at, Verdict: store.VerdictLame, Reason: "refused", Class: store.ClassHard}
			if _, err := db.RecordRound(ctx, r, store.FindingUpdate{Status: status, Reason: "refused", ServerNames: s.names}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// fakeLookup answers SOA and MailHosts from tables: a zone without an
// RNAME has no server that answers authoritatively; a domain not in mail
// has one usable mail exchange.
type fakeLookup struct {
	mu        sync.Mutex
	rnames    map[string]string
	mail      map[string]resolver.MailHosts
	soaCalls  int
	mailCalls map[string]int
}

func (l *fakeLookup) SOA(ctx context.Context, zone string) (resolver.ZoneSOA, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.soaCalls++
	rname, ok := l.rnames[zone]
	if !ok {
		return resolver.ZoneSOA{}, fmt.Errorf("resolver: soa %s: %w", zone, resolver.ErrNoAuthoritative)
	}
	return resolver.ZoneSOA{SOA: resolver.SOA{MName: "ns1." + zone, RName: rname, Serial: 2026112201}, Zone: zone,
		ServerName: "ns1." + zone, Server: netip.MustParseAddrPort("192.0.2.200:53"), At: t0}, nil
}

func (l *fakeLookup) MailHosts(ctx context.Context, domain string) (resolver.MailHosts, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mailCalls == nil {
		l.mailCalls = map[string]int{}
	}
	l.mailCalls[domain]++
	if m, ok := l.mail[domain]; ok {
		return m, nil
	}
	return resolver.MailHosts{Domain: domain + ".", Exchanges: []resolver.MailExchange{
		{Name: "mx." + domain + ".", Preference: 10, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.25")}}}}, nil
}

// undeliverable is what MailHosts finds for a zone whose every server is
// lame.
func undeliverable(domain string) resolver.MailHosts {
	return resolver.MailHosts{Domain: domain + ".", Implicit: true, Exchanges: []resolver.MailExchange{
		{Name: domain + ".", Err: fmt.Errorf("resolver: %w", resolver.ErrNoAuthoritative)}}}
}

// fakeComposer composes a letter that names its findings' zones.
type fakeComposer struct {
	mu   sync.Mutex
	data []MessageData
	err  error
}

func (c *fakeComposer) Compose(d MessageData) (Letter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return Letter{}, c.err
	}
	c.data = append(c.data, d)
	var zones []string
	for _, f := range d.Findings {
		zones = append(zones, f.Zone)
	}
	return Letter{Token: d.Token, To: d.To, From: "DNS health <dns-health@resolver.example.net>",
		EnvelopeFrom: "lamers-bounces+" + d.Token + "@resolver.example.net",
		Subject:      "Lame delegation: " + strings.Join(zones, ", "), MessageID: "<lamers." + d.Token + "@resolver.example.net>",
		Date: t0, Text: "…"}, nil
}

// fakeTransport records what it is handed and answers with result (sent
// when nil).
type fakeTransport struct {
	mu      sync.Mutex
	openErr error
	result  func(l *Letter) Delivery
	sent    []Letter
	opens   int
	closes  int
}

func (tr *fakeTransport) Open(ctx context.Context) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.opens++
	return tr.openErr
}

func (tr *fakeTransport) Send(ctx context.Context, l *Letter) Delivery {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent = append(tr.sent, *l)
	if tr.result != nil {
		return tr.result(l)
	}
	return Delivery{Result: ResultSent, Code: 250, Enhanced: "2.0.0", Detail: "Ok: queued as 4QxYz"}
}

func (tr *fakeTransport) Close(ctx context.Context) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.closes++
	return nil
}

// recipients lists the recipients of the letters handed over.
func (tr *fakeTransport) recipients() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, l := range tr.sent {
		out = append(out, l.To)
	}
	return out
}

// fakeReprober records a round for every finding it is given: lame, or
// the status its zone has in outcome.
type fakeReprober struct {
	db      *store.DB
	clock   func() time.Time
	outcome map[string]store.Status
	probed  []string
}

func (p *fakeReprober) Recheck(ctx context.Context, fs []store.Finding) (verify.Stats, error) {
	st := verify.Stats{Statuses: map[store.Status]int{}}
	for _, f := range fs {
		p.probed = append(p.probed, f.Zone)
		status, ok := p.outcome[f.Zone]
		if !ok {
			status = store.StatusLame
		}
		if status == 0 {
			st.Skipped++ // no round could be had
			continue
		}
		r := store.Round{FindingID: f.ID, At: p.clock(), Verdict: store.VerdictLame, Reason: "refused", Class: store.ClassHard}
		if status == store.StatusFixed {
			r.Verdict, r.Reason, r.Class = store.VerdictAuthoritative, "authoritative", store.ClassAuthoritative
		}
		if _, err := p.db.RecordRound(ctx, r, store.FindingUpdate{Status: status, Reason: r.Reason, ServerNames: f.ServerNames}); err != nil {
			return st, err
		}
		st.Probed++
		st.Statuses[status]++
	}
	return st, nil
}

// testNotifier is a Notifier on a scratch database with fakes all round.
type testNotifier struct {
	*Notifier
	db        *store.DB
	lookup    *fakeLookup
	composer  *fakeComposer
	transport *fakeTransport
	reprober  *fakeReprober
}

func newTestNotifier(t testing.TB, db *store.DB) *testNotifier {
	t.Helper()
	if db == nil {
		db = storetest.Open(t)
	}
	return fakeNotifier(db)
}

// fakeNotifier is newTestNotifier on db, for a test's child process too.
func fakeNotifier(db *store.DB) *testNotifier {
	tn := &testNotifier{db: db, lookup: &fakeLookup{rnames: map[string]string{}, mail: map[string]resolver.MailHosts{}},
		composer: &fakeComposer{}, transport: &fakeTransport{}}
	n := New(db, tn.lookup)
	n.Clock = func() time.Time { return t0 }
	n.Rand = rand.NewChaCha8([32]byte{'l', 'a', 'm', 'e', 'r', 's'})
	n.Composer, n.Transport, n.TransportName = tn.composer, tn.transport, "smtp"
	n.Config.LeaseWait = 0
	tn.reprober = &fakeReprober{db: db, clock: func() time.Time { return n.Clock() }}
	n.Reprober = tn.reprober
	tn.Notifier = n
	return tn
}

// run runs once and fails the test on an error.
func (tn *testNotifier) run(t testing.TB, opts Options) Report {
	t.Helper()
	rep, err := tn.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run(%+v): %v", opts, err)
	}
	return rep
}

// summary writes the messages of a report as "to (source) [zones] state".
func summary(rep Report) []string {
	var out []string
	for _, m := range rep.Messages {
		var zones []string
		for _, f := range m.Findings {
			zones = append(zones, f.Zone)
		}
		state := "dry-run"
		if m.State != 0 {
			state = m.State.String()
		}
		out = append(out, fmt.Sprintf("%s (%s) %v %s", m.To, m.Source, zones, state))
	}
	return out
}

// dump returns every row of every table of the database at path, as text.
func dump(t testing.TB, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var tables []string
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprintf("%v", vals))
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}
