package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/store"
)

// sentBefore puts a message to addr about the findings ids on record, age
// ago, in the given state.
func sentBefore(t *testing.T, db *store.DB, addr string, ids []int64, state store.OutboxState, age time.Duration) {
	t.Helper()
	ctx := context.Background()
	var seed [32]byte
	copy(seed[:], fmt.Sprint(addr, ids, state, age))
	token, err := bounce.NewToken(rand.NewChaCha8(seed))
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-age)
	if _, err := db.AddOutbox(ctx, store.OutboxEntry{Token: token, Recipient: addr, Source: store.SourceRNAME, State: store.OutboxPending,
		Transport: "smtp", CreatedAt: at, FindingIDs: ids}); err != nil {
		t.Fatal(err)
	}
	if state == store.OutboxUnknown {
		if _, err := db.RecoverPending(ctx, at); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: state}, at); err != nil {
		t.Fatal(err)
	}
}

const day = 24 * time.Hour

func TestLimits(t *testing.T) {
	// Four zones: a and b name dns@ops.example as their RNAME, c and d
	// have none (hostmaster). a was confirmed first, then b, c, d.
	findings := []spec{
		{zone: "a.example.", server: "192.0.2.1", confirmed: 40 * day},
		{zone: "b.example.", server: "192.0.2.1", confirmed: 30 * day},
		{zone: "c.example.", server: "192.0.2.2", confirmed: 20 * day},
		{zone: "d.example.", server: "192.0.2.2", confirmed: 20 * day},
	}
	rnames := map[string]string{"a.example.": "dns.ops.example.", "b.example.": "DNS.ops.example."}
	// everyone is the plan when no limit holds anything back.
	everyone := []string{
		"dns@ops.example (rname) [a.example. b.example.] dry-run",
		"hostmaster@c.example (hostmaster) [c.example.] dry-run",
		"hostmaster@d.example (hostmaster) [d.example.] dry-run",
	}
	tests := []struct {
		name    string
		history func(t *testing.T, db *store.DB, ids []int64)
		config  func(c *Config)
		opts    Options
		want    []string
		resting int
		later   int
	}{
		{name: "one message per recipient, oldest confirmed first",
			want: everyone},
		{name: "mailed 3 days ago: resting for recipient_interval",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "DNS@ops.example", ids[:1], store.OutboxSent, 3*day)
			},
			want: []string{
				"hostmaster@c.example (hostmaster) [c.example.] dry-run",
				"hostmaster@d.example (hostmaster) [d.example.] dry-run",
			},
			resting: 2},
		{name: "a message of unknown fate counts like a sent one",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "hostmaster@c.example", ids[2:3], store.OutboxUnknown, 3*day)
			},
			want: []string{
				"dns@ops.example (rname) [a.example. b.example.] dry-run",
				"hostmaster@d.example (hostmaster) [d.example.] dry-run",
			},
			resting: 1},
		{name: "a deferred message does not count",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "hostmaster@c.example", ids[2:3], store.OutboxDeferred, time.Hour)
			},
			want: everyone},
		{name: "mailed about a 10 days ago: b alone, within finding_interval",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "dns@ops.example", ids[:1], store.OutboxSent, 10*day)
			},
			want: []string{
				"DNS@ops.example (rname) [b.example.] dry-run", // as b's RNAME writes it
				"hostmaster@c.example (hostmaster) [c.example.] dry-run",
				"hostmaster@d.example (hostmaster) [d.example.] dry-run",
			},
			resting: 1},
		{name: "mailed about a 31 days ago: both again",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "dns@ops.example", ids[:1], store.OutboxSent, 31*day)
			},
			want: everyone},
		{name: "rejected once for a: its hostmaster instead; b still to the RNAME",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "dns@ops.example", ids[:1], store.OutboxRejected, 50*day)
			},
			want: []string{
				"hostmaster@a.example (hostmaster) [a.example.] dry-run",
				"DNS@ops.example (rname) [b.example.] dry-run",
				"hostmaster@c.example (hostmaster) [c.example.] dry-run",
				"hostmaster@d.example (hostmaster) [d.example.] dry-run",
			}},
		{name: "max_per_run: the oldest first, the rest later",
			config: func(c *Config) { c.MaxPerRun = 2 },
			want: []string{
				"dns@ops.example (rname) [a.example. b.example.] dry-run",
				"hostmaster@c.example (hostmaster) [c.example.] dry-run",
			},
			later: 1},
		{name: "--limit replaces max_per_run",
			opts:  Options{Limit: 1},
			want:  []string{"dns@ops.example (rname) [a.example. b.example.] dry-run"},
			later: 2},
		{name: "--zone",
			opts: Options{Zone: "b.example."},
			want: []string{"DNS@ops.example (rname) [b.example.] dry-run"}},
		{name: "recipient_interval of an hour: mailed 3 days ago is long enough",
			history: func(t *testing.T, db *store.DB, ids []int64) {
				sentBefore(t, db, "hostmaster@c.example", ids[3:4], store.OutboxSent, 3*day)
			},
			config: func(c *Config) { c.RecipientInterval = time.Hour },
			want:   everyone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			ids := seed(t, tn.db, findings...)
			tn.lookup.rnames = rnames
			if tt.history != nil {
				tt.history(t, tn.db, ids)
			}
			if tt.config != nil {
				tt.config(&tn.Config)
			}
			rep := tn.run(t, tt.opts)
			if diff := cmp.Diff(tt.want, summary(rep)); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if rep.Resting != tt.resting || rep.Later != tt.later {
				t.Errorf("resting %d, later %d; want %d, %d", rep.Resting, rep.Later, tt.resting, tt.later)
			}
		})
	}
}

// Stale verdicts are probed again before they are mailed, once; a finding
// fixed meanwhile is never mentioned, one whose round could not be had is
// not mailed in this run; fresh ones and findings not mailed this run are
// not probed.
func TestReprobe(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db,
		spec{zone: "fresh.example.", server: "192.0.2.1", confirmed: 9 * day, probed: 5 * time.Hour},
		spec{zone: "old.example.", server: "192.0.2.1", confirmed: 8 * day, probed: 7 * time.Hour},
		spec{zone: "fixed.example.", server: "192.0.2.1", confirmed: 7 * day, probed: 2 * day},
		spec{zone: "silent.example.", server: "192.0.2.1", confirmed: 6 * day, probed: 2 * day},
		spec{zone: "beyond-the-cap.example.", server: "192.0.2.1", confirmed: 5 * day, probed: 2 * day},
	)
	tn.reprober.outcome = map[string]store.Status{"fixed.example.": store.StatusFixed, "silent.example.": 0}
	tn.Config.MaxPerRun = 3
	rep := tn.run(t, Options{})
	want := []string{
		"hostmaster@fresh.example (hostmaster) [fresh.example.] dry-run",
		"hostmaster@old.example (hostmaster) [old.example.] dry-run",
		"hostmaster@beyond-the-cap.example (hostmaster) [beyond-the-cap.example.] dry-run",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	// The first three messages were refreshed together, the fourth when
	// two had dropped out.
	wantProbed := []string{"old.example.", "fixed.example.", "silent.example.", "beyond-the-cap.example."}
	if diff := cmp.Diff(wantProbed, tn.reprober.probed); diff != "" {
		t.Errorf("re-probed (-want +got):\n%s", diff)
	}
	if rep.Reprobed != 4 || rep.Cleared != 1 || rep.Unrefreshed != 1 {
		t.Errorf("reprobed %d, cleared %d, unrefreshed %d; want 4, 1, 1", rep.Reprobed, rep.Cleared, rep.Unrefreshed)
	}
}
