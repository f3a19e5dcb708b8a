package notify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/store"
)

// A dry run plans what a sending run would send and changes nothing: no
// outbox row, no contact or mark, no lease, no SOA recorded — the whole
// database is the same before and after, with every table in use.
func TestDryRunChangesNothing(t *testing.T) {
	tn := newTestNotifier(t, nil)
	ids := seed(t, tn.db,
		spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
		spec{zone: "b.example.", server: "192.0.2.1", confirmed: 8 * day},
		spec{zone: "alllame.example.", server: "192.0.2.2", confirmed: 7 * day},
		spec{zone: "c.example.", server: "192.0.2.3", confirmed: 6 * day})
	tn.lookup.rnames = map[string]string{"a.example.": "dns.ops.example.", "b.example.": "bad\\@ops.example."}
	tn.lookup.mail["alllame.example"] = undeliverable("alllame.example")
	addSuppression(t, tn.db, "@c.example")
	sentBefore(t, tn.db, "hostmaster@b.example", ids[1:2], store.OutboxRejected, 20*day)
	sentBefore(t, tn.db, "dns@ops.example", ids[:1], store.OutboxSent, 31*day)
	before := dump(t, tn.db.Path())

	rep := tn.run(t, Options{})
	want := []string{
		"dns@ops.example (rname) [a.example.] dry-run",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if len(rep.NeedsHuman) != 3 || tn.lookup.soaCalls != 4 {
		t.Errorf("needs a human: %d findings, %d SOA lookups; want 3 and 4", len(rep.NeedsHuman), tn.lookup.soaCalls)
	}
	if len(tn.composer.data) != 1 || len(tn.transport.sent) != 0 || tn.transport.opens != 0 {
		t.Errorf("composed %d, handed over %d, opened %d; want 1, 0, 0", len(tn.composer.data), len(tn.transport.sent), tn.transport.opens)
	}
	if diff := cmp.Diff(before, dump(t, tn.db.Path())); diff != "" {
		t.Errorf("the dry run changed the database (-before +after):\n%s", diff)
	}
	// The same run sending records the contacts, the marks and the SOA.
	tn.run(t, Options{Send: true})
	after := dump(t, tn.db.Path())
	for _, table := range []string{"outbox", "contact_marks", "zone_soas", "findings"} {
		if cmp.Equal(before[table], after[table]) {
			t.Errorf("sending changed nothing in %s", table)
		}
	}
}

// A dry run probes stale verdicts again and records those rounds, as
// verify would; nothing else changes.
func TestDryRunRecordsReprobes(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1", probed: 7 * time.Hour})
	before := dump(t, tn.db.Path())
	rep := tn.run(t, Options{})
	if rep.Reprobed != 1 || len(rep.Messages) != 1 {
		t.Errorf("reprobed %d, messages %v", rep.Reprobed, summary(rep))
	}
	after := dump(t, tn.db.Path())
	for table := range after {
		changed := !cmp.Equal(before[table], after[table])
		if want := table == "rounds" || table == "findings"; changed != want {
			t.Errorf("table %s changed: %v, want %v", table, changed, want)
		}
	}
}
