// Package digest builds the periodic report for the operator
// (docs/digest.md): the totals of a period, the worst servers, the new lame
// delegations, those still lame, the fixed and stale ones and those that
// need a human; renders it as plain text, HTML (the templates of package
// templates) and JSON; and mails it, text and HTML as
// multipart/alternative, through the letters and transports of package
// notify, recorded before the handover and marked after (send.go).
//
// A period is [Since, Until). Findings, statuses and contacts are read as
// they are when the digest is built; what happened in the period comes
// from the times the store keeps (first seen, confirmed, status changed,
// messages and bounces recorded) and the events from the per-day counts,
// whose days are UTC days: the days from the one Since falls on to the one
// of the period's last instant, both counted whole (store.DigestDays). A
// period that starts mid-day therefore counts that day's earlier events
// too; a count per day has no finer time.
//
// DNS data is attacker-influenced: zone and NS names reach the report as
// the store keeps them (presentation form), and any byte outside printable
// ASCII that one might still hold is written as a \DDD escape (RFC 1035
// §5.1) before it reaches a template, JSON or a terminal. The Subject
// holds no DNS data at all.
package digest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/store"
)

// The lengths of the lists when Options leave them 0: enough to act on,
// short enough to read; each list says how many more there are.
const (
	DefaultListLimit  = 20
	DefaultWorstLimit = 10
)

// Store is what a digest reads (package store satisfies it); each call is
// one read of the period [since, until) and fails only with the database.
type Store interface {
	DigestTotals(ctx context.Context, since, until time.Time) (store.DigestTotals, error)
	DigestFindings(ctx context.Context, list store.DigestList, since, until time.Time, limit int) ([]store.DigestFinding, error)
	WorstServers(ctx context.Context, since, until time.Time, limit int) ([]store.WorstServer, int64, error)
	DigestMessages(ctx context.Context, since, until time.Time) (store.DigestMessages, error)
	BounceCounts(ctx context.Context, since, until time.Time) ([]store.BounceCount, error)
}

var _ Store = (*store.DB)(nil)

// Options say which period a digest covers and how long its lists are.
type Options struct {
	// Since and Until bound the period; Until must not be before Since.
	Since, Until time.Time
	// ListLimit bounds each list of findings and WorstLimit the worst
	// servers; 0 is DefaultListLimit or DefaultWorstLimit.
	ListLimit, WorstLimit int
}

// Report is one digest: what the templates and the JSON see.
type Report struct {
	// Since and Until bound the period, in UTC, to the second.
	Since, Until time.Time
	Totals       Totals
	Messages     Messages
	// Bounces are the bounces of the period that say a message failed, by
	// class (hard, soft, policy); Returned the other mail that came back
	// (unknown, delay, autoreply, complaint, unsubscribe). Only the
	// classes with one message at least, in that order (store.BounceClasses).
	Bounces, Returned []ClassCount
	// Worst are the server addresses lame or unresponsive for the most
	// zones now, most zones first.
	Worst Servers
	// NewLame are the findings confirmed lame or unresponsive in the
	// period, StillLame those confirmed before it and still so; Fixed and
	// Stale became so in the period; NeedsHuman have no contact left.
	NewLame, StillLame, Fixed, Stale, NeedsHuman List
}

// ReturnedTotal counts the mail of Returned.
func (r *Report) ReturnedTotal() int64 {
	var n int64
	for _, c := range r.Returned {
		n += c.N
	}
	return n
}

// Totals are the counts of a digest (the JSON's "totals").
type Totals struct {
	// Findings is every finding on record; New those first seen in the
	// period.
	Findings, New int64
	// Lame, Unresponsive and Inconclusive count the findings of that
	// status now; Confirmed those of them (lame or unresponsive) confirmed
	// in the period, StillLame confirmed before it.
	Lame, Unresponsive, Inconclusive, Confirmed, StillLame int64
	// Fixed and Stale count the findings that became so in the period and
	// still are.
	Fixed, Stale int64
	// Notified counts the messages to contacts the relay accepted in the
	// period; Bounced the returned messages of the period that say a
	// message failed (hard, soft and policy bounces).
	Notified, Bounced int64
	// NeedsHuman counts the findings whose contact chain is exhausted.
	NeedsHuman int64
	// Events are the events the resolvers logged on the period's days.
	Events int64
}

// Messages are the messages to contacts recorded in the period, by what
// became of them, and whom the sent ones reached.
type Messages struct {
	Sent, Deferred, Rejected, Unknown, Pending int64
	// Recipients and Findings count the distinct recipients and findings
	// of the messages sent.
	Recipients, Findings int64
}

// ClassCount is the number of returned messages of one class.
type ClassCount struct {
	Class string
	N     int64
}

// List is one bounded list of findings.
type List struct {
	Findings []Finding
	// More counts the findings of the list left out.
	More int64
}

// Total is the length of the whole list.
func (l List) Total() int64 { return int64(len(l.Findings)) + l.More }

// Finding is a finding as a digest lists it.
type Finding struct {
	// Zone is the zone in presentation form, absolute ("" while a finding
	// has no zone).
	Zone string
	// Server is the server's address, Port its port.
	Server string
	Port   uint16
	// ServerNames are the NS names pointing at Server, presentation form.
	ServerNames []string
	// Status and Reason are its status now and its last verdict's reason.
	Status, Reason string
	// ConfirmedAt is when it became lame or unresponsive (zero if it is
	// neither), StatusAt when its status last changed (zero if never).
	ConfirmedAt, StatusAt time.Time
	// Events are its events on the period's days.
	Events int64
}

// Servers are the worst servers.
type Servers struct {
	Servers []Server
	// More counts the addresses lame or unresponsive for a zone at least
	// that are left out.
	More int64
}

// Server is a server address lame or unresponsive for zones.
type Server struct {
	Server string
	// Zones counts the zones it is lame or unresponsive for now,
	// Findings its findings so (a zone on two ports counts twice).
	Zones, Findings int64
	// Events are those findings' events on the period's days.
	Events int64
	// Since is its earliest confirmation among them.
	Since time.Time
	// Names are NS names pointing at it, sorted, at most
	// store.MaxWorstNames; MoreNames counts the others.
	Names     []string
	MoreNames int
}

// OtherNames counts the NS names of s after its first one.
func (s Server) OtherNames() int { return max(0, len(s.Names)-1) + s.MoreNames }

// Build reads the digest of o's period from s.
func Build(ctx context.Context, s Store, o Options) (*Report, error) {
	if o.Since.IsZero() || o.Until.Before(o.Since) {
		return nil, fmt.Errorf("digest: period %s to %s: no start, or an end before it", o.Since, o.Until)
	}
	if o.ListLimit <= 0 {
		o.ListLimit = DefaultListLimit
	}
	if o.WorstLimit <= 0 {
		o.WorstLimit = DefaultWorstLimit
	}
	// The period is read as it is recorded, to the second, so that one
	// digest ends where the next one starts (at the stored Until): no
	// event falls into both.
	o.Since, o.Until = o.Since.UTC().Truncate(time.Second), o.Until.UTC().Truncate(time.Second)
	r := &Report{Since: o.Since, Until: o.Until}
	t, err := s.DigestTotals(ctx, o.Since, o.Until)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	r.Totals = Totals{Findings: t.Findings, New: t.New, Lame: t.Lame, Unresponsive: t.Unresponsive,
		Inconclusive: t.Inconclusive, Confirmed: t.Confirmed, StillLame: t.StillLame, Fixed: t.Fixed, Stale: t.Stale,
		NeedsHuman: t.NeedsHuman, Events: t.Events}
	if err := r.readMail(ctx, s, o); err != nil {
		return nil, err
	}
	if err := r.readWorst(ctx, s, o); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		list  store.DigestList
		dst   *List
		total int64
	}{
		{store.ListConfirmed, &r.NewLame, t.Confirmed}, {store.ListStillLame, &r.StillLame, t.StillLame},
		{store.ListFixed, &r.Fixed, t.Fixed}, {store.ListStale, &r.Stale, t.Stale},
		{store.ListNeedsHuman, &r.NeedsHuman, t.NeedsHuman},
	} {
		fs, err := s.DigestFindings(ctx, l.list, o.Since, o.Until, o.ListLimit)
		if err != nil {
			return nil, fmt.Errorf("digest: %w", err)
		}
		*l.dst = List{Findings: findings(fs), More: max(0, l.total-int64(len(fs)))}
	}
	return r, nil
}

// readMail reads the messages and bounces of the period.
func (r *Report) readMail(ctx context.Context, s Store, o Options) error {
	m, err := s.DigestMessages(ctx, o.Since, o.Until)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	r.Messages = Messages{Sent: m.States[store.OutboxSent], Deferred: m.States[store.OutboxDeferred],
		Rejected: m.States[store.OutboxRejected], Unknown: m.States[store.OutboxUnknown],
		Pending: m.States[store.OutboxPending], Recipients: m.Recipients, Findings: m.Findings}
	r.Totals.Notified = r.Messages.Sent
	bs, err := s.BounceCounts(ctx, o.Since, o.Until)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	for _, b := range bs {
		if b.Total == 0 {
			continue
		}
		c := ClassCount{Class: b.Class.String(), N: int64(b.Total)}
		switch b.Class {
		case store.BounceHard, store.BounceSoft, store.BouncePolicy:
			r.Bounces = append(r.Bounces, c)
			r.Totals.Bounced += c.N
		default:
			r.Returned = append(r.Returned, c)
		}
	}
	return nil
}

// readWorst reads the worst servers.
func (r *Report) readWorst(ctx context.Context, s Store, o Options) error {
	ws, total, err := s.WorstServers(ctx, o.Since, o.Until, o.WorstLimit)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	r.Worst.More = max(0, total-int64(len(ws)))
	for _, w := range ws {
		names := make([]string, len(w.Names))
		for i, n := range w.Names {
			names[i] = clean(n)
		}
		r.Worst.Servers = append(r.Worst.Servers, Server{Server: w.Server.String(), Zones: w.Zones, Findings: w.Findings,
			Events: w.Events, Since: w.Since.UTC(), Names: names, MoreNames: w.MoreNames})
	}
	return nil
}

// findings turns the store's findings into the report's.
func findings(fs []store.DigestFinding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		names := make([]string, len(f.ServerNames))
		for k, n := range f.ServerNames {
			names[k] = clean(n)
		}
		out[i] = Finding{Zone: clean(f.Zone), Server: f.Server.String(), Port: f.Port, ServerNames: names,
			Status: f.Status.String(), Reason: clean(f.Reason), ConfirmedAt: utc(f.ConfirmedAt), StatusAt: utc(f.StatusAt),
			Events: f.Events}
	}
	return out
}

// utc is t in UTC, the zero time kept zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// clean writes every byte of s outside printable ASCII (and the space)
// as a \DDD escape, the presentation form's own (RFC 1035 §5.1): a name
// as the store keeps it is unchanged.
func clean(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			var b strings.Builder
			for k := 0; k < len(s); k++ {
				if c := s[k]; c <= ' ' || c >= 0x7f {
					fmt.Fprintf(&b, `\%03d`, c)
				} else {
					b.WriteByte(c)
				}
			}
			return b.String()
		}
	}
	return s
}
