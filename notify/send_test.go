package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/store"
)

// outbox lists the outbox as "recipient state [finding IDs]".
func outbox(t *testing.T, db *store.DB) []string {
	t.Helper()
	es, err := db.Outbox(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %v", e.Recipient, e.State, e.FindingIDs))
	}
	return out
}

// reply is a transport's answer to letters to one recipient.
func reply(to string, d Delivery) func(l *Letter) Delivery {
	return func(l *Letter) Delivery {
		if l.To == to {
			return d
		}
		return Delivery{Result: ResultSent, Code: 250, Enhanced: "2.0.0", Detail: "Ok"}
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	tn := newTestNotifier(t, nil)
	ids := seed(t, tn.db,
		spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
		spec{zone: "b.example.", server: "192.0.2.1", confirmed: 8 * day},
		spec{zone: "c.example.", server: "192.0.2.2", confirmed: 7 * day})
	tn.lookup.rnames = map[string]string{"a.example.": "dns.ops.example.", "b.example.": "dns.ops.example."}
	rep := tn.run(t, Options{Send: true})
	want := []string{
		"dns@ops.example (rname) [a.example. b.example.] sent",
		"hostmaster@c.example (hostmaster) [c.example.] sent",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	wantOutbox := []string{fmt.Sprintf("dns@ops.example sent %v", ids[:2]), fmt.Sprintf("hostmaster@c.example sent %v", ids[2:])}
	if diff := cmp.Diff(wantOutbox, outbox(t, tn.db)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	// What was handed over carries the outbox token.
	es, _ := tn.db.Outbox(ctx, store.OutboxFilter{})
	if tn.transport.sent[0].Token != es[0].Token || tn.transport.sent[0].MessageID != es[0].MessageID || tn.transport.opens != 1 || tn.transport.closes != 1 {
		t.Errorf("letter %+v, outbox %+v, opens %d, closes %d", tn.transport.sent[0], es[0], tn.transport.opens, tn.transport.closes)
	}
	for i, id := range ids {
		f, _ := tn.db.Finding(ctx, id)
		wantTo := []string{"dns@ops.example", "dns@ops.example", "hostmaster@c.example"}[i]
		if !f.LastNotified.Equal(t0) || f.Contact != wantTo || f.NeedsHuman {
			t.Errorf("finding %s: last notified %v, contact %q, needs human %v", f.Zone, f.LastNotified, f.Contact, f.NeedsHuman)
		}
	}
	// At once again: every recipient rests.
	tn.transport.sent = nil
	if rep := tn.run(t, Options{Send: true}); len(rep.Messages) != 0 || rep.Resting != 3 || len(tn.transport.sent) != 0 {
		t.Errorf("second run: %v, resting %d, handed over %d", summary(rep), rep.Resting, len(tn.transport.sent))
	}
	if _, err := tn.db.Lease(ctx, leaseName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease after the run: %v, want none", err)
	}
}

// A 5xx for the RNAME: the address is dead for both findings of the
// message, and their next candidate is mailed in the same run — unless it
// has had its message of the run.
func TestRejectedNextContactSameRun(t *testing.T) {
	ctx := context.Background()
	tn := newTestNotifier(t, nil)
	ids := seed(t, tn.db,
		spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
		spec{zone: "b.example.", server: "192.0.2.1", confirmed: 8 * day, names: []string{"ns.ops.example."}},
		spec{zone: "c.example.", server: "192.0.2.2", confirmed: 10 * day, names: []string{"ns.ops.example."}})
	tn.lookup.rnames = map[string]string{"a.example.": "dns.ops.example.", "b.example.": "dns.ops.example."}
	// b's hostmaster has no mail: its next candidate is postmaster@ops.example,
	// who had c's message first.
	tn.lookup.mail["b.example"] = undeliverable("b.example")
	tn.lookup.mail["c.example"] = undeliverable("c.example")
	tn.transport.result = reply("dns@ops.example", Delivery{Result: ResultRejected, Code: 550, Enhanced: "5.1.1", Detail: "user unknown"})
	rep := tn.run(t, Options{Send: true})
	want := []string{
		"postmaster@ops.example (postmaster) [c.example.] sent",
		"dns@ops.example (rname) [a.example. b.example.] rejected",
		"hostmaster@a.example (hostmaster) [a.example.] sent",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if rep.Resting != 1 {
		t.Errorf("resting %d, want 1 (b: its postmaster was mailed in this run)", rep.Resting)
	}
	if d := rep.Messages[1].Delivery; d.Code != 550 || d.Enhanced != "5.1.1" {
		t.Errorf("delivery %+v", d)
	}
	marks, _ := tn.db.ContactMarks(ctx, ids[1])
	var got []string
	for _, m := range marks {
		got = append(got, m.Mark.String()+" "+m.Address+" "+m.Reason)
	}
	wantMarks := []string{"rejected dns@ops.example 550 5.1.1 user unknown", "undeliverable hostmaster@b.example no mail exchange of b.example has a usable address (no server of b.example. answers authoritatively)"}
	if diff := cmp.Diff(wantMarks, got); diff != "" {
		t.Errorf("marks of b (-want +got):\n%s", diff)
	}
	if f, _ := tn.db.Finding(ctx, ids[1]); f.Contact != "postmaster@ops.example" || f.ContactSource != store.SourcePostmaster {
		t.Errorf("b's contact %q (%v), want its postmaster", f.Contact, f.ContactSource)
	}
	// Eight days later the postmaster may be mailed again: about b only, c
	// was its subject within finding_interval.
	tn.Clock = func() time.Time { return t0.Add(8 * day) }
	tn.transport.sent = nil
	rep = tn.run(t, Options{Send: true})
	if diff := cmp.Diff([]string{"postmaster@ops.example (postmaster) [b.example.] sent"}, summary(rep)); diff != "" {
		t.Errorf("eight days later (-want +got):\n%s", diff)
	}
}

// A 4xx is retried next run with a new message; unknown is never sent
// again on its own, only with RetryUnknown, under its token.
func TestDeferredAndUnknown(t *testing.T) {
	tn := newTestNotifier(t, nil)
	ids := seed(t, tn.db,
		spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
		spec{zone: "b.example.", server: "192.0.2.1", confirmed: 8 * day})
	tn.transport.result = func(l *Letter) Delivery {
		if l.To == "hostmaster@a.example" {
			return Delivery{Result: ResultDeferred, Code: 451, Enhanced: "4.3.0", Detail: "try again later"}
		}
		return Delivery{Result: ResultUnknown, Detail: "timeout after DATA"}
	}
	rep := tn.run(t, Options{Send: true})
	want := []string{
		"hostmaster@a.example (hostmaster) [a.example.] deferred",
		"hostmaster@b.example (hostmaster) [b.example.] unknown",
	}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	tn.transport.result = nil
	tn.transport.sent = nil
	rep = tn.run(t, Options{Send: true})
	if diff := cmp.Diff([]string{"hostmaster@a.example (hostmaster) [a.example.] sent"}, summary(rep)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	unknownToken := tn.transport.sent[0].Token
	es, _ := tn.db.Outbox(context.Background(), store.OutboxFilter{States: []store.OutboxState{store.OutboxUnknown}})
	if len(es) != 1 || es[0].Token == unknownToken {
		t.Fatalf("unknown messages %+v", es)
	}
	unknownToken = es[0].Token
	tn.transport.sent = nil
	rep = tn.run(t, Options{Send: true, RetryUnknown: true})
	if diff := cmp.Diff([]string{"hostmaster@b.example (hostmaster) [b.example.] sent"}, summary(rep)); diff != "" || !rep.Messages[0].Retry {
		t.Errorf("retry run (-want +got):\n%s", diff)
	}
	if len(tn.transport.sent) != 1 || tn.transport.sent[0].Token != unknownToken {
		t.Errorf("retried letter %+v, want the token %s", tn.transport.sent, unknownToken)
	}
	wantOutbox := []string{
		fmt.Sprintf("hostmaster@a.example deferred %v", ids[:1]),
		fmt.Sprintf("hostmaster@b.example sent %v", ids[1:]),
		fmt.Sprintf("hostmaster@a.example sent %v", ids[:1]),
	}
	if diff := cmp.Diff(wantOutbox, outbox(t, tn.db)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
}

// A relay that cannot be reached defers every message of the run; one that
// does not offer the mandatory STARTTLS ends the run before anything is
// recorded.
func TestRelayFailures(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"}, spec{zone: "b.example.", server: "192.0.2.1"})
	tn.transport.openErr = errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
	rep := tn.run(t, Options{Send: true})
	for _, m := range rep.Messages {
		if m.State != store.OutboxDeferred || !strings.Contains(m.Delivery.Detail, "connection refused") {
			t.Errorf("message %+v, want deferred naming the refusal", m)
		}
	}
	if len(rep.Messages) != 2 || len(tn.transport.sent) != 0 || tn.transport.opens != 1 {
		t.Errorf("%d messages, %d handed over, %d opens", len(rep.Messages), len(tn.transport.sent), tn.transport.opens)
	}

	tn = newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"})
	tn.transport.openErr = fmt.Errorf("smtp: 127.0.0.1:25: %w", ErrTLSUnavailable)
	if _, err := tn.Run(context.Background(), Options{Send: true}); !errors.Is(err, ErrTLSUnavailable) {
		t.Errorf("Run = %v, want ErrTLSUnavailable", err)
	}
	if got := outbox(t, tn.db); len(got) != 0 {
		t.Errorf("outbox %v, want nothing", got)
	}
	if _, err := tn.db.Lease(context.Background(), leaseName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease after a failed run: %v, want none", err)
	}
}

// Refused credentials end the run like a missing STARTTLS: nothing is
// recorded, the run says why.
func TestRelayRefusesCredentials(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"})
	tn.transport.openErr = fmt.Errorf("notify: smtp 127.0.0.1:587: %w: 535 5.7.8 authentication failed", ErrAuthFailed)
	if _, err := tn.Run(context.Background(), Options{Send: true}); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("Run = %v, want ErrAuthFailed", err)
	}
	if got := outbox(t, tn.db); len(got) != 0 {
		t.Errorf("outbox %v, want nothing", got)
	}
}

// A transport that can send nothing more (Delivery.Err) gets no more
// letters in the run: the later messages are recorded deferred without
// being handed over. A refused envelope sender also ends the run with the
// error, after recording what was handed over.
func TestTransportGivesUp(t *testing.T) {
	lost := errors.New("notify: smtp 127.0.0.1:25: connection lost")
	for _, tt := range []struct {
		name    string
		err     error
		wantErr error
	}{
		{"connection lost", lost, nil},
		{"sender refused", fmt.Errorf("notify: smtp 127.0.0.1:25: 550 5.7.1 not our customer: %w", ErrSenderRejected), ErrSenderRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNotifier(t, nil)
			ids := seed(t, tn.db,
				spec{zone: "a.example.", server: "192.0.2.1", confirmed: 9 * day},
				spec{zone: "b.example.", server: "192.0.2.2", confirmed: 8 * day},
				spec{zone: "c.example.", server: "192.0.2.3", confirmed: 7 * day})
			tn.transport.result = func(*Letter) Delivery {
				return Delivery{Result: ResultDeferred, Code: 550, Detail: "gave up", Err: tt.err}
			}
			rep, err := tn.Run(context.Background(), Options{Send: true})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if len(tn.transport.sent) != 1 {
				t.Errorf("handed over %d letters, want 1", len(tn.transport.sent))
			}
			want := []string{fmt.Sprintf("hostmaster@a.example deferred %v", ids[:1])}
			if tt.wantErr == nil {
				want = append(want, fmt.Sprintf("hostmaster@b.example deferred %v", ids[1:2]), fmt.Sprintf("hostmaster@c.example deferred %v", ids[2:]))
			}
			if diff := cmp.Diff(want, outbox(t, tn.db)); diff != "" {
				t.Errorf("outbox (-want +got):\n%s", diff)
			}
			if tt.wantErr == nil && len(rep.Messages) == 3 && !strings.Contains(rep.Messages[2].Delivery.Detail, "connection lost") {
				t.Errorf("last message %+v, want deferred naming the lost connection", rep.Messages[2])
			}
		})
	}
}

// A template that fails stops the run before anything is handed over.
func TestComposeFails(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"})
	tn.composer.err = errors.New(`template: message.txt:3: executing "message.txt" at <.Nope>: can't evaluate field Nope`)
	if _, err := tn.Run(context.Background(), Options{Send: true}); err == nil || !strings.Contains(err.Error(), "compose the message to hostmaster@a.example") {
		t.Errorf("Run = %v", err)
	}
	if len(tn.transport.sent) != 0 || len(outbox(t, tn.db)) != 0 {
		t.Errorf("handed over %d, outbox %v", len(tn.transport.sent), outbox(t, tn.db))
	}
}

// badRecipient composes with a LetterWriter a message to an address it
// refuses: the recipient with a final dot.
type badRecipient struct{ w *LetterWriter }

func (b badRecipient) Compose(d MessageData) (Letter, error) {
	d.To += "."
	return b.w.Compose(d)
}

// LetterWriter's error names the message once, not twice.
func TestComposeErrorSaysItOnce(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"})
	tn.Composer = badRecipient{w: newTestWriter(t, "", testSettings)}
	_, err := tn.Run(context.Background(), Options{Send: true})
	want := `notify: compose the message to "hostmaster@a.example.": recipient: not written as sent: "hostmaster@a.example"`
	if err == nil || err.Error() != want {
		t.Errorf("Run = %v, want %s", err, want)
	}
}

// The first stop signal: the message in flight finishes under Hold's
// context and is recorded; no other is started.
func TestGracefulStop(t *testing.T) {
	tn := newTestNotifier(t, nil)
	seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1", confirmed: 2 * day}, spec{zone: "b.example.", server: "192.0.2.1"})
	ctx, stop := context.WithCancel(context.Background())
	held, released := 0, 0
	tn.Hold = func() (context.Context, func()) {
		held++
		return context.Background(), func() { released++ }
	}
	tn.transport.result = func(l *Letter) Delivery {
		stop() // the signal arrives while the first message is handed over
		return Delivery{Result: ResultSent, Code: 250}
	}
	rep, err := tn.Run(ctx, Options{Send: true})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"hostmaster@a.example (hostmaster) [a.example.] sent"}, summary(rep)); diff != "" || held != 1 || released != 1 {
		t.Errorf("messages (-want +got):\n%s\nheld %d, released %d", diff, held, released)
	}
	if got := outbox(t, tn.db); len(got) != 1 || !strings.Contains(got[0], " sent ") {
		t.Errorf("outbox %v", got)
	}
}

// A stop while contacts are looked up ends the run without deciding on a
// half-done lookup: no finding is stored as needing a human.
func TestStopDuringLookups(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	tn := newTestNotifier(t, nil)
	ids := seed(t, tn.db, spec{zone: "a.example.", server: "192.0.2.1"})
	tn.Lookup = cancellingLookup{fakeLookup: tn.lookup, stop: stop}
	if _, err := tn.Run(ctx, Options{Send: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if f, _ := tn.db.Finding(context.Background(), ids[0]); f.NeedsHuman || f.Contact != "" {
		t.Errorf("finding after the stop: contact %q, needs human %v", f.Contact, f.NeedsHuman)
	}
	if marks, _ := tn.db.ContactMarks(context.Background(), 0); len(marks) != 0 {
		t.Errorf("marks after the stop: %+v", marks)
	}
}

// cancellingLookup is a stop signal arriving during a mail-host lookup,
// which then fails as the resolver's does.
type cancellingLookup struct {
	*fakeLookup
	stop func()
}

func (l cancellingLookup) MailHosts(ctx context.Context, domain string) (resolver.MailHosts, error) {
	l.stop()
	return resolver.MailHosts{}, fmt.Errorf("resolver: mail hosts %s: %w", domain, ctx.Err())
}

// Answer writes the relay's reply as the commands print it.
func TestDeliveryAnswer(t *testing.T) {
	for _, c := range []struct {
		d    Delivery
		want string
	}{
		{Delivery{Code: 550, Enhanced: "5.1.1", Detail: "user unknown"}, "550 5.1.1 user unknown"},
		{Delivery{Code: 451, Detail: "try later"}, "451 try later"},
		{Delivery{Detail: "sendmail: exit status 75"}, "sendmail: exit status 75"},
		{Delivery{}, "no answer"},
	} {
		if got := c.d.Answer(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.d, got, c.want)
		}
	}
	for res, want := range map[Result]store.OutboxState{ResultSent: store.OutboxSent, ResultDeferred: store.OutboxDeferred,
		ResultRejected: store.OutboxRejected, ResultUnknown: store.OutboxUnknown, 0: store.OutboxUnknown} {
		if got := res.State(); got != want {
			t.Errorf("%v.State() = %v, want %v", res, got, want)
		}
	}
}
