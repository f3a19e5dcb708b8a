package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// decommissioned is the k-th of the ten servers that -verdicts makes lame
// for hundreds of zones each: 192.0.2.1 to 192.0.2.10.
func decommissioned(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + k%10)})
}

// verdict is what giveVerdicts does to one zoned finding.
type verdict struct {
	status store.Status
	reason string
	class  store.RoundClass
}

// verdictOf picks the verdict of the finding with ID id and server: every
// finding of a decommissioned server is lame; of the others (by id mod
// 100) 20 % lame, 5 % unresponsive, 5 % suspect, 5 % ok, 3 % fixed, 3 %
// stale, 2 % inconclusive, the rest never probed.
func verdictOf(id int64, server netip.Addr) (verdict, bool) {
	if server.Is4() && server.As4()[0] == 192 {
		return verdict{store.StatusLame, "refused", store.ClassHard}, true
	}
	switch k := id % 100; {
	case k < 20:
		return verdict{store.StatusLame, "upward_referral", store.ClassHard}, true
	case k < 25:
		return verdict{store.StatusUnresponsive, "unresponsive", store.ClassSoft}, true
	case k < 30:
		return verdict{store.StatusSuspect, "not_authoritative", store.ClassHard}, true
	case k < 35:
		return verdict{store.StatusOK, "", store.ClassAuthoritative}, true
	case k < 38:
		return verdict{store.StatusFixed, "", store.ClassAuthoritative}, true
	case k < 41:
		return verdict{store.StatusStale, "not_in_delegation", store.ClassNone}, true
	case k < 43:
		return verdict{store.StatusInconclusive, "intermittent_servfail", store.ClassNone}, true
	}
	return verdict{}, false
}

// giveVerdicts records, for the zoned findings, the rounds and statuses of
// verdictOf at times spread over the 28 days after t0 (fixed ones lame
// first, fixed two days later); one lame finding in ten needs a human;
// 2,000 messages of three lame findings each (90 % sent, 5 % rejected,
// 5 % deferred); 300 bounces of those messages, of every class.
func giveVerdicts(ctx context.Context, db *store.DB, t0 time.Time) error {
	type target struct {
		id     int64
		server netip.Addr
		names  []string
	}
	var targets []target
	err := db.EachFinding(ctx, store.Filter{Zoning: store.Zoned}, func(f *store.Finding) error {
		names := []string{fmt.Sprintf("ns%d.hoster%d.example.", f.ID%2+1, f.ID%5000)}
		if f.Server.Is4() && f.Server.As4()[0] == 192 {
			names = []string{fmt.Sprintf("ns%d.old-hoster.example.", f.Server.As4()[3])}
		}
		targets = append(targets, target{f.ID, f.Server, names})
		return nil
	})
	if err != nil {
		return err
	}
	var lame []int64
	var human []store.ContactDecision
	for _, t := range targets {
		v, ok := verdictOf(t.id, t.server)
		if !ok {
			continue
		}
		at := t0.Add(time.Duration(t.id%(26*24*60)) * time.Minute)
		u := store.FindingUpdate{Status: v.status, Reason: v.reason, ServerNames: t.names}
		switch v.status {
		case store.StatusStale:
			err = db.SetStatus(ctx, t.id, at, u)
		case store.StatusFixed:
			lameU := store.FindingUpdate{Status: store.StatusLame, Reason: "refused", ServerNames: t.names}
			if err = round(ctx, db, t.id, at, store.VerdictLame, store.ClassHard, lameU); err == nil {
				err = round(ctx, db, t.id, at.Add(48*time.Hour), store.VerdictAuthoritative, v.class, u)
			}
		default:
			vd := store.VerdictLame
			switch v.class {
			case store.ClassAuthoritative:
				vd = store.VerdictAuthoritative
			case store.ClassNone:
				vd = store.VerdictInconclusive
			}
			err = round(ctx, db, t.id, at, vd, v.class, u)
		}
		if err != nil {
			return err
		}
		if v.status == store.StatusLame {
			lame = append(lame, t.id)
			if t.id%10 == 3 {
				human = append(human, store.ContactDecision{FindingID: t.id, NeedsHuman: true})
			}
		}
	}
	if err := db.SetContacts(ctx, human); err != nil {
		return err
	}
	return messages(ctx, db, lame, t0)
}

// round records one probe round of finding id and its verdict u.
func round(ctx context.Context, db *store.DB, id int64, at time.Time, vd store.Verdict, class store.RoundClass, u store.FindingUpdate) error {
	_, err := db.RecordRound(ctx, store.Round{FindingID: id, At: at, Verdict: vd, Reason: u.Reason, Class: class}, u)
	return err
}

// messages records the outbox of giveVerdicts and its bounces.
func messages(ctx context.Context, db *store.DB, lame []int64, t0 time.Time) error {
	const n = 2000
	tokens := make([]string, 0, n)
	for i := 0; i < n && 3*i+2 < len(lame); i++ {
		at := t0.Add(time.Duration(i) * 28 * 24 * time.Hour / n)
		e := store.OutboxEntry{Token: tokenOf(i), Recipient: fmt.Sprintf("hostmaster@z%d.example", i), Source: store.SourceHostmaster,
			Subject: "Lame delegation", MessageID: "<lamers." + tokenOf(i) + "@resolver.example.net>", State: store.OutboxPending,
			Transport: "smtp", CreatedAt: at, FindingIDs: lame[3*i : 3*i+3]}
		if _, err := db.AddOutbox(ctx, e); err != nil {
			return err
		}
		o := store.OutboxOutcome{State: store.OutboxSent, Code: 250}
		switch i % 20 {
		case 0:
			o = store.OutboxOutcome{State: store.OutboxRejected, Code: 550, Enhanced: "5.1.1", Detail: "user unknown"}
		case 1:
			o = store.OutboxOutcome{State: store.OutboxDeferred, Code: 451, Enhanced: "4.3.0", Detail: "try later"}
		}
		if err := db.FinishOutbox(ctx, e.Token, o, at.Add(time.Second)); err != nil {
			return err
		}
		tokens = append(tokens, e.Token)
	}
	classes := []store.BounceClass{store.BounceHard, store.BounceSoft, store.BouncePolicy, store.BounceDelay, store.BounceAutoReply}
	for i := 0; i < 300 && i < len(tokens); i++ {
		sum := sha256.Sum256([]byte(tokens[i]))
		at := t0.Add(time.Duration(i)*28*24*time.Hour/300 + time.Hour)
		b := store.Bounce{ReceivedAt: at, Source: store.BouncePipe, SHA256: hex.EncodeToString(sum[:]), Size: 1,
			Raw: []byte("x"), Format: "rfc3464", Class: classes[i%len(classes)], Token: tokens[i], TokenSource: "recipient"}
		if _, _, err := db.AddBounce(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// tokenOf is the i-th message's token: 20 characters of a-z.
func tokenOf(i int) string {
	b := []byte("digestbenchaaaaaaaaa")
	for k := len(b) - 1; i > 0; k-- {
		b[k] = byte('a' + i%26)
		i /= 26
	}
	return string(b)
}
