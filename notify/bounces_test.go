package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lamers-dev/lamers/notify/bounce"
	"github.com/lamers-dev/lamers/notify/mailbox"
	"github.com/lamers-dev/lamers/store"
	"github.com/lamers-dev/lamers/store/storetest"
)

// samplesDir holds the real returned messages of package bounce's tests
// (testdata/bounces/SOURCES.md says where each comes from).
const samplesDir = "../testdata/bounces"

// pipeToken is the token of the message a sample without a token of its
// own answers in these tests: the pipe hands it over in the envelope.
const pipeToken = "mztwq2lknnwg23tpobyx"

// intakeWorld is a database with two lame findings and one message, sent
// to dns@example.com about both, whose token is token; and an Intake
// storing into it at t0.
func intakeWorld(t *testing.T, token string) (*store.DB, *Intake, []int64) {
	t.Helper()
	db := storetest.Open(t)
	ids := seed(t, db, spec{zone: "example.com.", server: "192.0.2.1"}, spec{zone: "example.org.", server: "192.0.2.1"})
	sendTo(t, db, token, "dns@example.com", ids...)
	in := NewIntake(db)
	in.Now = func() time.Time { return t0 }
	return db, in, ids
}

// sendTo records a message to rcpt about the findings, accepted by the
// relay an hour before t0.
func sendTo(t *testing.T, db *store.DB, token, rcpt string, ids ...int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.AddOutbox(ctx, store.OutboxEntry{Token: token, Recipient: rcpt, Source: store.SourceRNAME,
		Subject: "Lame delegations", MessageID: "<lamers." + token + "@resolver.example.net>", State: store.OutboxPending,
		Transport: "smtp", CreatedAt: t0.Add(-time.Hour), FindingIDs: ids}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOutbox(ctx, token, store.OutboxOutcome{State: store.OutboxSent, Code: 250}, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// effectOf is what storing a bounce did, as "effect marks suppression":
// the marks as "mark×n", the suppressions as "value/source".
func effectOf(t *testing.T, db *store.DB, rec Received) string {
	t.Helper()
	ctx := context.Background()
	ms, err := db.ContactMarks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := db.Suppressions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := rec.Effect.String()
	count := map[store.Mark]int{}
	for _, m := range ms {
		count[m.Mark]++
	}
	for _, m := range []store.Mark{store.MarkBounced, store.MarkSoft, store.MarkPolicy} {
		if count[m] > 0 {
			out += fmt.Sprintf(" %s×%d", m, count[m])
		}
	}
	for _, s := range ss {
		out += " " + s.Value + "/" + s.Source.String()
	}
	return out
}

// Every real sample, taken in as the answer to a message about two
// findings: the token and where it was found, the recipient, status and
// class stored, and what it did (docs/notify.md §7). A sample that carries
// no token of its own gets pipeToken in the envelope, as Postfix's pipe
// would hand it over.
func TestIntakeSamples(t *testing.T) {
	tests := []struct {
		file, token, source, rcpt, status string
		class                             store.BounceClass
		effect                            string
	}{
		// Postfix 3.7.11 of the e2e suite, as its pipe hands them over
		{"postfix-lab-bounce.eml", "abcdefghijklmnopqrst", "delivered-to", "gone@nic.lab", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"postfix-lab-bounce-smtputf8.eml", "smtputfbounceabcdefg", "delivered-to", "gone@nic.lab", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"postfix-lab-delay.eml", "delayabcdefghijklmno", "delivered-to", "slow@nic.lab", "4.2.1", store.BounceDelay, "none"},
		// Postfix 3.7.11 of the research lab
		{"postfix37-classic.eml", "cejbgfavcylrqgi2dmob", "delivered-to", "gone@lamers.test", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"postfix37-smtputf8.eml", "eirsijjge4ucskrlfqws", "returned-message-id", "gone@lamers.test", "5.1.1", store.BounceHard, "dead bounced×2"},
		// sisimai/set-of-emails, some with a token put in (SOURCES.md)
		{"qmail.eml", "gm2dknrxha4tuoz4hu7d", "quoted-message-id", "kijitora@example.ne.jp", "5.5.0", store.BounceHard, "dead bounced×2"},
		{"gmail-dsn-delay.eml", "ircumr2ijffewtcnjzhv", "in-reply-to", "sotoneko@nora.nyaan.jp", "4.4.1", store.BounceDelay, "none"},
		{"autoreply-auto-submitted.eml", "kvlfowczljnvyxk6l5qg", "envelope-to", "", "", store.BounceAutoReply, "none"},
		{"exim-user-unknown.eml", "", "", "kijitora@example.jp", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"postfix-two-recipients.eml", "", "", "filtered@example.co.jp", "5.2.1", store.BounceHard, "dead bounced×2"},
		{"postfix-5.0.0-unknown-user.eml", "", "", "kijitora@example.net", "5.0.0", store.BounceHard, "dead bounced×2"},
		{"postfix-expired-4.4.1.eml", "", "", "kijitora@example.com", "4.4.1", store.BounceSoft, "counted soft×2"},
		{"postfix-mailbox-full.eml", "", "", "kijitora@example.jp", "5.2.1", store.BounceHard, "dead bounced×2"},
		{"exim-mail-from-rejected.eml", "", "", "kijitora@example.ed.jp", "5.7.0", store.BouncePolicy, "counted policy×2"},
		{"exim-delay.eml", "", "", "kijitora@example.co.jp", "", store.BounceDelay, "none"},
		{"sendmail-dsn.eml", "", "", "userunknown@bouncehammer.jp", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"sendmail-v5-text.eml", "", "", "kijitora@example.com", "", store.BounceSoft, "counted soft×2"},
		{"exchange2003-text.eml", "", "", "kijitora@example.jp", "", store.BounceHard, "dead bounced×2"},
		{"exchange2007-iso-8859-1.eml", "", "", "transports@agglo-saumur.fr", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"office365-dsn-qp-windows-1252.eml", "", "", "kijitora@example.com", "5.1.10", store.BounceHard, "dead bounced×2"},
		{"office365-dsn-iso-2022-jp.eml", "", "", "kijitora-nyaan@neko.kyoto.example.jp", "5.1.10", store.BounceHard, "dead bounced×2"},
		{"office365-dsn-spf-5.1.0.eml", "", "", "kijitora@example.com", "5.1.0", store.BouncePolicy, "counted policy×2"},
		{"office365-text.eml", "", "", "kijitora@example.onmicrosoft.com", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"gmail-text-user-unknown.eml", "", "", "userunknown@example.jp", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"gmail-text-connect-failed.eml", "", "", "kijitora@6jo.example.co.jp", "", store.BounceSoft, "counted soft×2"},
		{"gmail-dsn-spf-5.7.26.eml", "", "", "kijitora@google.example.com", "5.7.26", store.BouncePolicy, "counted policy×2"},
		{"yahoo-text.eml", "", "", "kijitora@example.org", "5.1.1", store.BounceHard, "dead bounced×2"},
		{"yahoo-dsn-policy.eml", "", "", "kijitora@aol.example.jp", "5.7.9", store.BouncePolicy, "counted policy×2"},
		{"yahoo-dsn-windows-1251.eml", "", "", "this-local-part-does-not-exist@yahoo.com", "5.0.0", store.BounceHard, "dead bounced×2"},
		{"hotmail-delay-4.4.7.eml", "", "", "kijitora@example.com", "4.4.7", store.BounceDelay, "none"},
		// A complaint or an opt-out suppresses the message's recipient,
		// not the address the report names.
		{"arf-abuse.eml", "", "", "redacted@example.net", "", store.BounceComplaint, "suppressed dns@example.com/complaint"},
		{"arf-abuse-yahoo.eml", "", "", "this-local-part-does-not-exist-on-yahoo@yahoo.com", "", store.BounceComplaint, "suppressed dns@example.com/complaint"},
		{"arf-opt-out.eml", "", "", "user@example.com", "", store.BounceUnsubscribe, "suppressed dns@example.com/unsubscribe"},
		{"autoreply-windows-1252-qp.eml", "", "", "", "", store.BounceAutoReply, "none"},
		{"barracuda-base64-policy.eml", "", "", "kijitora@example.org", "5.7.1", store.BouncePolicy, "counted policy×2"},
		{"domino-base64-iso-8859-1.eml", "", "", "jane.doe@some-domain.net", "5.0.0", store.BounceHard, "dead bounced×2"},
		// Not understood: stored, matched, nothing changed.
		{"not-a-bounce.eml", "", "", "", "", store.BounceUnknown, "none"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			token, source, env := tt.token, tt.source, bounce.Options{}
			if token == "" {
				token, source = pipeToken, "original-recipient"
				env.OriginalRecipient = "lamers-bounces+" + pipeToken + "@resolver.example.net"
			}
			db, in, _ := intakeWorld(t, token)
			raw, err := os.ReadFile(filepath.Join(samplesDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := in.Take(context.Background(), bytes.NewReader(raw), store.BouncePipe, env)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s from %s, %s %s %s", rec.Token, rec.TokenSource, rec.Recipient, rec.Status, rec.Class)
			want := fmt.Sprintf("%s from %s, %s %s %s", token, source, tt.rcpt, tt.status, tt.class)
			if got != want || !rec.New || !rec.Matched() || rec.To != "dns@example.com" {
				t.Errorf("Take = %s (new %v, to %q); want %s, new, to dns@example.com", got, rec.New, rec.To, want)
			}
			if got := effectOf(t, db, rec); got != tt.effect {
				t.Errorf("effect %q, want %q", got, tt.effect)
			}
			// Some samples start with the mbox line of the collection they
			// come from, which is not part of the message.
			if bytes.HasPrefix(raw, []byte("From ")) {
				raw = raw[bytes.IndexByte(raw, '\n')+1:]
			}
			if rec.Size != int64(len(raw)) || !bytes.Equal(rec.Raw, raw) {
				t.Errorf("size %d, %d bytes kept; want all %d", rec.Size, len(rec.Raw), len(raw))
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("sample %s has no row in the table", filepath.Base(f))
		}
	}
}

// The class names of package bounce are those of the store, one for one.
func TestBounceClassNames(t *testing.T) {
	for c := bounce.Unknown; c <= bounce.Unsubscribe; c++ {
		if _, err := store.ParseBounceClass(c.String()); err != nil {
			t.Errorf("bounce class %s: %v", c, err)
		}
	}
	if n, m := int(bounce.Unsubscribe)+1, len(store.BounceClasses()); n != m {
		t.Errorf("%d bounce classes in package bounce, %d in the store", n, m)
	}
}

// A message given twice — an MTA retrying after 75, with a new "From "
// line — is stored and applied once; the From line is not part of the
// message.
func TestIntakeOnce(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir, "postfix-expired-4.4.1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	db, in, _ := intakeWorld(t, pipeToken)
	env := bounce.Options{OriginalRecipient: "lamers-bounces+" + pipeToken + "@resolver.example.net"}
	var ids []int64
	for i, from := range []string{"From MAILER-DAEMON  Fri Dec  4 20:09:11 2026\n", "From MAILER-DAEMON  Fri Dec  4 20:09:12 2026\n", ""} {
		rec, err := in.Take(context.Background(), strings.NewReader(from+string(raw)), store.BouncePipe, env)
		if err != nil {
			t.Fatal(err)
		}
		if rec.New != (i == 0) || rec.Size != int64(len(raw)) {
			t.Errorf("take %d: new %v, size %d", i, rec.New, rec.Size)
		}
		ids = append(ids, rec.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("ids %v, want one", ids)
	}
	if got := effectOf(t, db, Received{Bounce: store.Bounce{Effect: store.EffectCounted}}); got != "counted soft×2" {
		t.Errorf("marks after three takes: %s, want those of one", got)
	}
}

// A token of no message, or none at all: stored unmatched, no effect.
func TestIntakeUnmatched(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir, "postfix-lab-bounce.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, text, token string
	}{
		// the lab's DSN, for a token lamers never sent (the outbox has
		// pipeToken only)
		{"never sent", string(raw), "abcdefghijklmnopqrst"},
		// its tokens cut to 8 characters: malformed, no token
		{"malformed", strings.ReplaceAll(string(raw), "abcdefghijklmnopqrst", "abcdefgh"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, in, _ := intakeWorld(t, pipeToken)
			rec, err := in.Take(context.Background(), strings.NewReader(tt.text), store.BouncePipe, bounce.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Matched() || rec.Token != tt.token || rec.Class != store.BounceHard {
				t.Errorf("Take = matched %v, token %q, class %v; want unmatched, %q, hard", rec.Matched(), rec.Token, rec.Class, tt.token)
			}
			if got := effectOf(t, db, rec); got != "none" {
				t.Errorf("effect %q, want none", got)
			}
		})
	}
}

// A reader that fails stores nothing: the MTA gives the message again.
func TestIntakeReadError(t *testing.T) {
	db, in, _ := intakeWorld(t, pipeToken)
	broken := errors.New("pipe broken")
	_, err := in.Take(context.Background(), io.MultiReader(strings.NewReader("Subject: x\n\n"), iotest.ErrReader(broken)),
		store.BouncePipe, bounce.Options{})
	if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), "notify: bounce: read message: ") {
		t.Errorf("Take = %v, want the read error", err)
	}
	if bs, _ := db.Bounces(context.Background(), store.BounceFilter{}); len(bs) != 0 {
		t.Errorf("%d bounces stored", len(bs))
	}
}

// failingStore is a database that cannot be written.
type failingStore struct{ err error }

func (f failingStore) AddBounce(context.Context, store.Bounce) (store.Bounce, bool, error) {
	return store.Bounce{}, false, f.err
}

// TakeMaildir moves each stored message to cur/; one it cannot open stays
// in new/ and the others are taken; a store that fails stops it with
// every message left where it was.
func TestTakeMaildir(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(samplesDir, "postfix-lab-bounce.eml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"new", "cur", "tmp"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, "new", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1.a", string(raw))
	write("2.b", "\x00\xff garbage")
	// a dangling symbolic link is no regular file: not listed
	os.Symlink("nowhere", filepath.Join(dir, "new", "3.c"))
	md, err := mailbox.OpenMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}

	failing := &Intake{Store: failingStore{errors.New("store: add bounce: disk I/O error")}, Now: time.Now}
	var calls int
	err = failing.TakeMaildir(context.Background(), md, func(MaildirResult) { calls++ })
	if err == nil || !strings.Contains(err.Error(), "disk I/O error") || calls != 1 {
		t.Errorf("TakeMaildir with a failing store = %v after %d messages; want the error after 1", err, calls)
	}
	if names, _ := md.New(); len(names) != 2 {
		t.Errorf("new/ holds %q, want both messages still", names)
	}

	db, in, _ := intakeWorld(t, "abcdefghijklmnopqrst")
	var got []string
	each := func(r MaildirResult) {
		got = append(got, fmt.Sprintf("%s %s new=%v %v", r.Name, r.Received.Class, r.Received.New, r.Err))
	}
	if err := in.TakeMaildir(context.Background(), md, each); err != nil {
		t.Fatal(err)
	}
	want := []string{"1.a hard new=true <nil>", "2.b unknown new=true <nil>"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, name := range []string{"1.a:2,S", "2.b:2,S"} {
		if _, err := os.Stat(filepath.Join(dir, "cur", name)); err != nil {
			t.Errorf("cur/%s: %v", name, err)
		}
	}
	// Again: nothing left in new/. The same message delivered again
	// under another name is moved without being stored twice.
	write("4.d", string(raw))
	got = nil
	if err := in.TakeMaildir(context.Background(), md, each); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"4.d hard new=false <nil>"}, got); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	if bs, _ := db.Bounces(context.Background(), store.BounceFilter{}); len(bs) != 2 {
		t.Errorf("%d bounces stored, want 2", len(bs))
	}
}

// TakeMbox stores each message of an mbox once: reading the file again
// adds nothing.
func TestTakeMbox(t *testing.T) {
	var mbox bytes.Buffer
	for _, f := range []string{"postfix-lab-bounce.eml", "postfix-lab-delay.eml", "not-a-bounce.eml"} {
		raw, err := os.ReadFile(filepath.Join(samplesDir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&mbox, "From MAILER-DAEMON Fri Dec  4 20:09:10 2026\n%s\n", raw)
	}
	db, in, _ := intakeWorld(t, "abcdefghijklmnopqrst")
	for round, wantNew := range []bool{true, false} {
		var got []string
		err := in.TakeMbox(context.Background(), bytes.NewReader(mbox.Bytes()), func(n int, rec Received) {
			got = append(got, fmt.Sprintf("%d %s new=%v matched=%v", n, rec.Class, rec.New, rec.Matched()))
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			fmt.Sprintf("1 hard new=%v matched=true", wantNew),
			fmt.Sprintf("2 delay new=%v matched=false", wantNew), // its token is not in the outbox
			fmt.Sprintf("3 unknown new=%v matched=false", wantNew),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("read %d (-want +got):\n%s", round+1, diff)
		}
	}
	if bs, _ := db.Bounces(context.Background(), store.BounceFilter{}); len(bs) != 3 {
		t.Errorf("%d bounces stored, want 3", len(bs))
	}
}
