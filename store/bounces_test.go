package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// day returns noon of the n-th day after 2026-11-22 (UTC): bounces come
// after twoLameFindings' rounds.
func day(n int) time.Time {
	return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).AddDate(0, 0, n)
}

// sentMessage records a message to rcpt about the findings, handed over at
// day(0), and returns its token.
func sentMessage(t *testing.T, db *DB, token, rcpt string, findings ...int64) string {
	t.Helper()
	ctx := context.Background()
	e := OutboxEntry{Token: token, Recipient: rcpt, Source: SourceRNAME, Subject: "Lame delegation",
		MessageID: "<lamers." + token + "@resolver.example.net>", State: OutboxPending, Transport: "smtp",
		CreatedAt: day(0), FindingIDs: findings}
	if _, err := db.AddOutbox(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishOutbox(ctx, token, OutboxOutcome{State: OutboxSent, Code: 250}, day(0)); err != nil {
		t.Fatal(err)
	}
	return token
}

// returned is a bounce of the given class carrying token, whose message
// is text (its SHA-256 identifies it).
func returned(text, token string, class BounceClass, at time.Time) Bounce {
	sum := sha256.Sum256([]byte(text))
	return Bounce{ReceivedAt: at, Source: BouncePipe, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(text)),
		Raw: []byte(text), Format: "rfc3464", Class: class, Token: token, TokenSource: "original-recipient",
		Recipient: "j.doe@example.com", Status: "5.1.1", Action: "failed", Diagnostic: "user unknown"}
}

// marksOf lists the contact marks as "finding mark address".
func marksOf(t *testing.T, db *DB) []string {
	t.Helper()
	ms, err := db.ContactMarks(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d %s %s", m.FindingID, m.Mark, m.Address))
	}
	return out
}

// Each class does what docs/notify.md §7 says to the recipient of the
// message it answers, in the transaction that stores it; unmatched ones do
// nothing.
func TestAddBounceEffects(t *testing.T) {
	tests := []struct {
		class    BounceClass
		token    string // default: the message's
		effect   BounceEffect
		nMarks   int
		marks    []string // as "finding mark address"; a, b are 1, 2
		suppress string   // "value source"
	}{
		{class: BounceHard, effect: EffectDead, nMarks: 2, marks: []string{"1 bounced J.Doe@example.com", "2 bounced J.Doe@example.com"}},
		{class: BounceSoft, effect: EffectCounted, nMarks: 2, marks: []string{"1 soft J.Doe@example.com", "2 soft J.Doe@example.com"}},
		{class: BouncePolicy, effect: EffectCounted, nMarks: 2, marks: []string{"1 policy J.Doe@example.com", "2 policy J.Doe@example.com"}},
		{class: BounceComplaint, effect: EffectSuppressed, suppress: "j.doe@example.com complaint"},
		{class: BounceUnsubscribe, effect: EffectSuppressed, suppress: "j.doe@example.com unsubscribe"},
		{class: BounceDelay, effect: EffectNone},
		{class: BounceAutoReply, effect: EffectNone},
		{class: BounceUnknown, effect: EffectNone},
		// A token of no message: unmatched, kept, no effect.
		{class: BounceHard, token: "zzzzzzzzzzzzzzzzzzzz", effect: EffectNone},
		// No token at all.
		{class: BounceComplaint, token: "-", effect: EffectNone},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s", tt.class, tt.token), func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			a, b := twoLameFindings(t, db)
			token := sentMessage(t, db, tokenA, "J.Doe@example.com", a, b)
			switch tt.token {
			case "-":
				token = ""
			case "":
			default:
				token = tt.token
			}
			got, added, err := db.AddBounce(ctx, returned("a bounce", token, tt.class, day(1)))
			if err != nil || !added {
				t.Fatalf("AddBounce = %v, %v", added, err)
			}
			matched := token == tokenA
			if got.ID == 0 || got.Matched() != matched || got.Effect != tt.effect || got.Marks != tt.nMarks {
				t.Errorf("AddBounce = id %d matched %v effect %v marks %d; want matched %v, %v, %d",
					got.ID, got.Matched(), got.Effect, got.Marks, matched, tt.effect, tt.nMarks)
			}
			if diff := cmp.Diff(tt.marks, marksOf(t, db)); diff != "" {
				t.Errorf("marks (-want +got):\n%s", diff)
			}
			ss, err := db.Suppressions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var sup string
			for _, s := range ss {
				sup = s.Value + " " + s.Source.String()
				if want := fmt.Sprintf("bounce %d, %s about message <lamers.%s@resolver.example.net>", got.ID, tt.class, tokenA); s.Reason != want {
					t.Errorf("suppression reason %q, want %q", s.Reason, want)
				}
			}
			if sup != tt.suppress || len(ss) > 1 {
				t.Errorf("suppressions %v, want %q", ss, tt.suppress)
			}
			list, err := db.Bounces(ctx, BounceFilter{WithRaw: true})
			if err != nil || len(list) != 1 {
				t.Fatalf("Bounces = %v, %v", list, err)
			}
			want := got
			if matched {
				want.To = "J.Doe@example.com"
			}
			if diff := cmp.Diff(want, list[0]); diff != "" {
				t.Errorf("stored bounce (-AddBounce +Bounces):\n%s", diff)
			}
		})
	}
}

// The same message twice is stored and applied once: the second time
// returns the first's row. A soft bounce counted twice would count double.
func TestAddBounceOnce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, _ := twoLameFindings(t, db)
	sentMessage(t, db, tokenA, "j.doe@example.com", a)
	first, added, err := db.AddBounce(ctx, returned("mailbox full", tokenA, BounceSoft, day(1)))
	if err != nil || !added {
		t.Fatalf("AddBounce = %v, %v", added, err)
	}
	for i := range 2 {
		again, added, err := db.AddBounce(ctx, returned("mailbox full", tokenA, BounceSoft, day(2+i)))
		if err != nil || added {
			t.Fatalf("AddBounce again = %v, %v; want not added", added, err)
		}
		again.Raw = first.Raw // not read back
		if diff := cmp.Diff(first, again, cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })); diff != "" {
			t.Errorf("the duplicate's answer (-first +again):\n%s", diff)
		}
	}
	if got := marksOf(t, db); len(got) != 1 {
		t.Errorf("marks %v, want one", got)
	}
	if bs, _ := db.Bounces(ctx, BounceFilter{}); len(bs) != 1 {
		t.Errorf("%d bounces stored, want 1", len(bs))
	}
}

// Soft bounces make an address dead after SoftBounceLimit within
// BounceWindow, policy ones after PolicyBounceLimit; they count per
// address over all findings (compared without regard to case), and the
// dead marks go to the findings of the message that reached the limit.
func TestBounceEscalation(t *testing.T) {
	tests := []struct {
		name   string
		class  BounceClass
		days   []int // one message and bounce per day, in this order
		rcpts  []string
		effect []BounceEffect
		marks  []string
	}{
		{"three soft in 14 days", BounceSoft, []int{0, 5, 13}, nil,
			[]BounceEffect{EffectCounted, EffectCounted, EffectDead},
			[]string{"1 soft a@example.com", "1 soft a@example.com", "1 soft a@example.com", "1 bounced a@example.com"}},
		{"three soft in 15 days", BounceSoft, []int{0, 5, 15}, nil,
			[]BounceEffect{EffectCounted, EffectCounted, EffectCounted},
			[]string{"1 soft a@example.com", "1 soft a@example.com", "1 soft a@example.com"}},
		// Exactly 14 days apart is not within 14 days.
		{"first and third 14 days apart", BounceSoft, []int{0, 7, 14}, nil,
			[]BounceEffect{EffectCounted, EffectCounted, EffectCounted},
			[]string{"1 soft a@example.com", "1 soft a@example.com", "1 soft a@example.com"}},
		// A bounce read late (an old mbox) counts where it falls.
		{"out of order", BounceSoft, []int{10, 0, 5}, nil,
			[]BounceEffect{EffectCounted, EffectCounted, EffectDead},
			[]string{"1 soft a@example.com", "1 soft a@example.com", "1 soft a@example.com", "1 bounced a@example.com"}},
		{"two policy in 14 days", BouncePolicy, []int{0, 13}, nil,
			[]BounceEffect{EffectCounted, EffectDead},
			[]string{"1 policy a@example.com", "1 policy a@example.com", "1 bounced a@example.com"}},
		{"two policy in 20 days", BouncePolicy, []int{0, 20}, nil,
			[]BounceEffect{EffectCounted, EffectCounted},
			[]string{"1 policy a@example.com", "1 policy a@example.com"}},
		// The third soft bounce is of a message about the other finding,
		// to the same mailbox in another case: that finding's contact dies.
		{"over findings", BounceSoft, []int{0, 1, 2}, []string{"a@example.com", "a@example.com", "A@Example.com"},
			[]BounceEffect{EffectCounted, EffectCounted, EffectDead},
			[]string{"1 soft a@example.com", "1 soft a@example.com", "2 soft A@Example.com", "2 bounced A@Example.com"}},
		// Soft and policy bounces do not add up.
		{"soft and policy apart", 0, []int{0, 1, 2}, nil,
			[]BounceEffect{EffectCounted, EffectCounted, EffectCounted},
			[]string{"1 soft a@example.com", "1 policy a@example.com", "1 soft a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			a, b := twoLameFindings(t, db)
			for i, d := range tt.days {
				token := strings.Repeat(string(rune('a'+i)), 20)
				rcpt, finding := "a@example.com", a
				if tt.rcpts != nil {
					rcpt = tt.rcpts[i]
					if i == 2 {
						finding = b
					}
				}
				sentMessage(t, db, token, rcpt, finding)
				class := tt.class
				if class == 0 {
					class = []BounceClass{BounceSoft, BouncePolicy, BounceSoft}[i]
				}
				got, _, err := db.AddBounce(ctx, returned(fmt.Sprint("bounce ", i), token, class, day(d)))
				if err != nil {
					t.Fatal(err)
				}
				if got.Effect != tt.effect[i] {
					t.Errorf("bounce %d (day %d): effect %v, want %v", i, d, got.Effect, tt.effect[i])
				}
			}
			got := marksOf(t, db)
			if diff := cmp.Diff(tt.marks, sortedMarks(got, tt.marks)); diff != "" {
				t.Errorf("marks (-want +got):\n%s", diff)
			}
		})
	}
}

// sortedMarks returns got in want's order when it holds the same marks
// (ContactMarks orders by finding and time, which the out-of-order case
// shuffles), else got unchanged.
func sortedMarks(got, want []string) []string {
	if len(got) != len(want) {
		return got
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		if count[w]--; count[w] < 0 {
			return got
		}
	}
	return want
}

// MarkMessage applies the same rule: notify's tests mark messages with it.
func TestMarkMessageEscalates(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, _ := twoLameFindings(t, db)
	for i, d := range []int{0, 1, 2} {
		token := sentMessage(t, db, strings.Repeat(string(rune('a'+i)), 20), "a@example.com", a)
		n, err := db.MarkMessage(ctx, token, MarkSoft, "4.2.2 mailbox full", day(d))
		if want := []int{1, 1, 2}[i]; err != nil || n != want {
			t.Errorf("MarkMessage %d = %d, %v; want %d", i, n, err, want)
		}
	}
	ms, err := db.ContactMarks(ctx, a)
	if err != nil || len(ms) != 4 {
		t.Fatalf("marks %v, %v", ms, err)
	}
	if m := ms[3]; m.Mark != MarkBounced || m.Reason != "3 soft bounces within 14 days, the last: 4.2.2 mailbox full" {
		t.Errorf("escalation mark %+v", m)
	}
}

func TestWithinWindow(t *testing.T) {
	tests := []struct {
		ts    []int64
		t     int64
		limit int
		want  bool
	}{
		{[]int64{0, 5, 9}, 9, 3, true},
		{[]int64{0, 5, 10}, 10, 3, false}, // [0, 10) does not hold 10
		{[]int64{0, 5, 10}, 0, 3, false},
		{[]int64{0, 5, 10, 12}, 12, 3, true}, // [5, 15)
		{[]int64{0, 5, 10, 12}, 0, 3, false},
		{[]int64{3}, 3, 1, true},
		{[]int64{3, 30}, 30, 2, false},
		{nil, 3, 1, false},
	}
	for _, tt := range tests {
		if got := withinWindow(tt.ts, tt.t, 10, tt.limit); got != tt.want {
			t.Errorf("withinWindow(%v, %d, 10, %d) = %v, want %v", tt.ts, tt.t, tt.limit, got, tt.want)
		}
	}
}

// A bounce whose effect cannot be applied is not stored either: one
// transaction. (An outbox recipient that is no address cannot be
// suppressed.)
func TestAddBounceAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, _ := twoLameFindings(t, db)
	sentMessage(t, db, tokenA, "not-an-address", a)
	if _, _, err := db.AddBounce(ctx, returned("abuse", tokenA, BounceComplaint, day(1))); err == nil ||
		!strings.Contains(err.Error(), `suppress "not-an-address"`) {
		t.Fatalf("AddBounce = %v, want the suppression's error", err)
	}
	if bs, err := db.Bounces(ctx, BounceFilter{}); err != nil || len(bs) != 0 {
		t.Errorf("Bounces = %v, %v; want none", bs, err)
	}
}

func TestAddBounceInvalid(t *testing.T) {
	ok := returned("x", "", BounceUnknown, day(1))
	for _, tt := range []struct {
		change func(*Bounce)
		want   string
	}{
		{func(b *Bounce) { b.ReceivedAt = time.Time{} }, "no time"},
		{func(b *Bounce) { b.Source = 0 }, "unknown bounce source"},
		{func(b *Bounce) { b.Class = 9 }, "unknown bounce class"},
		{func(b *Bounce) { b.SHA256 = strings.ToUpper(b.SHA256) }, "is not 64 lowercase hex digits"},
		{func(b *Bounce) { b.Size = 0 }, "size 0 is less than the 1 bytes kept"},
		{func(b *Bounce) { b.Raw = make([]byte, MaxBounceRaw+1); b.Size = MaxBounceRaw + 1 }, "more than 262144"},
		{func(b *Bounce) { b.Format = "" }, "no format"},
	} {
		b := ok
		tt.change(&b)
		if _, _, err := openTest(t).AddBounce(context.Background(), b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("AddBounce = %v, want %q", err, tt.want)
		}
	}
}

// Bounces filters by time and matching; BounceCounts counts a period by
// class, every class listed.
func TestBouncesAndCounts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, _ := twoLameFindings(t, db)
	sentMessage(t, db, tokenA, "a@example.com", a)
	for i, b := range []Bounce{
		returned("1", tokenA, BounceHard, day(1)),
		returned("2", "", BounceUnknown, day(2)),
		returned("3", tokenA, BounceDelay, day(3)),
		returned("4", "zzzzzzzzzzzzzzzzzzzz", BounceHard, day(4)),
	} {
		if _, _, err := db.AddBounce(ctx, b); err != nil {
			t.Fatalf("bounce %d: %v", i, err)
		}
	}
	ids := func(f BounceFilter) string {
		bs, err := db.Bounces(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, b := range bs {
			s = append(s, fmt.Sprint(b.ID))
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		f    BounceFilter
		want string
	}{
		{BounceFilter{}, "1 2 3 4"},
		{BounceFilter{Since: day(2)}, "2 3 4"},
		{BounceFilter{Unmatched: true}, "2 4"},
		{BounceFilter{Since: day(3), Unmatched: true}, "4"},
	} {
		if got := ids(tt.f); got != tt.want {
			t.Errorf("Bounces(%+v) = %s, want %s", tt.f, got, tt.want)
		}
	}
	counts, err := db.BounceCounts(ctx, day(1), day(4))
	if err != nil {
		t.Fatal(err)
	}
	want := []BounceCount{{BounceUnknown, 1, 0}, {BounceHard, 1, 1}, {BounceSoft, 0, 0}, {BouncePolicy, 0, 0},
		{BounceDelay, 1, 1}, {BounceAutoReply, 0, 0}, {BounceComplaint, 0, 0}, {BounceUnsubscribe, 0, 0}}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("BounceCounts (-want +got):\n%s", diff)
	}
}

// The bounce enums pass the CHECK constraints of the bounces table (the
// other tests store every class and effect; this one every source).
func TestBounceSourcesStored(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for i, s := range []BounceSource{BouncePipe, BounceMaildir, BounceMbox} {
		b := returned(fmt.Sprint(i), "", BounceUnknown, day(1))
		b.Source = s
		if got, _, err := db.AddBounce(ctx, b); err != nil || got.Source != s {
			t.Errorf("AddBounce from %v = %v, %v", s, got.Source, err)
		}
	}
	for _, c := range BounceClasses() {
		if got, err := ParseBounceClass(c.String()); err != nil || got != c {
			t.Errorf("ParseBounceClass(%q) = %v, %v", c, got, err)
		}
	}
}

// WithCacheSize sets the page cache of the connections Open makes.
func TestWithCacheSize(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		opts []OpenOption
		want int
	}{
		{nil, -defaultCacheKiB},
		{[]OpenOption{WithCacheSize(8 << 10)}, -8192},
		{[]OpenOption{WithCacheSize(0)}, -1},
	} {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "lamers.db"), tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := db.db.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got); err != nil || got != tt.want {
			t.Errorf("cache_size %d, %v; want %d", got, err, tt.want)
		}
		db.Close(ctx)
	}
}
