package notify

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/lamers-dev/lamers/resolver"
	"github.com/lamers-dev/lamers/resolver/verify"
	"github.com/lamers-dev/lamers/store"
)

// Store is what a notify run needs from the database (package store
// satisfies it). Every write is one transaction; any error of the Store
// ends the run that met it, and what was committed before stays.
type Store interface {
	EachFinding(ctx context.Context, f store.Filter, fn func(*store.Finding) error) error
	Finding(ctx context.Context, id int64) (store.Finding, error)
	ZoneSOAs(ctx context.Context, zone string) ([]store.ZoneSOA, error)
	RecordZoneSOA(ctx context.Context, s store.ZoneSOA) error
	ContactMarks(ctx context.Context, findingID int64) ([]store.ContactMark, error)
	Suppressions(ctx context.Context) ([]store.Suppression, error)
	SetContacts(ctx context.Context, ds []store.ContactDecision) error
	Outbox(ctx context.Context, f store.OutboxFilter) ([]store.OutboxEntry, error)
	AddOutbox(ctx context.Context, e store.OutboxEntry) (store.OutboxEntry, error)
	FinishOutbox(ctx context.Context, token string, o store.OutboxOutcome, at time.Time) error
	RetryOutbox(ctx context.Context, e store.OutboxEntry) error
	RecoverPending(ctx context.Context, at time.Time) (int, error)
	AcquireLease(ctx context.Context, name string, pid int, host string, now time.Time, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, l store.Lease, now time.Time, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease) error
}

var _ Store = (*store.DB)(nil)

// Lookup is the DNS a run needs (package resolver's Resolver satisfies
// it): a zone's SOA from a server that answers authoritatively, and where
// mail for a domain goes (RFC 5321 §5.1). Errors of either make the
// candidate concerned unusable for this run, never end it.
type Lookup interface {
	SOA(ctx context.Context, zone string) (resolver.ZoneSOA, error)
	MailHosts(ctx context.Context, domain string) (resolver.MailHosts, error)
}

var _ Lookup = (*resolver.Resolver)(nil)

// Reprober probes findings again and records the rounds, with verify's
// politeness (package verify's Verifier satisfies it). Its error ends the
// run: the database failed.
type Reprober interface {
	Recheck(ctx context.Context, fs []store.Finding) (verify.Stats, error)
}

var _ Reprober = (*verify.Verifier)(nil)

// Composer writes the letter of one message (templates, headers, VERP).
// Its error ends the run before anything more is sent: a template that
// fails on real data would fail on every message. LetterWriter's error
// names the message; another's is prefixed with it.
type Composer interface {
	Compose(data MessageData) (Letter, error)
}

// Override is a [[notify.override]]: the operator's last-resort address
// for a zone and the zones below it.
type Override struct {
	Zone string // canonical, absolute
	To   string
}

// Config is the policy of notify runs (docs/notify.md, sections 2 and 3).
type Config struct {
	MaxPerRun         int           // messages per run at most
	RecipientInterval time.Duration // one message per recipient per interval
	FindingInterval   time.Duration // one message per (recipient, finding) per interval
	// MaxVerdictAge is how old a finding's last round may be for it to be
	// mailed without a new round; MinInterval is verify's least time
	// between two rounds, so a verdict younger than it is fresh too.
	MaxVerdictAge, MinInterval time.Duration
	CheckDeliverability        bool
	Overrides                  []Override
	// LeaseTTL is how long a sending run's lease lasts unless renewed
	// (it is renewed before every message, and every LeaseTTL/4 while one
	// is handed over); LeaseWait how long a run
	// waits for another one's lease before it gives up.
	LeaseTTL, LeaseWait time.Duration
}

// DefaultConfig returns the defaults of docs/notify.md.
func DefaultConfig() Config {
	return Config{
		MaxPerRun:           100,
		RecipientInterval:   7 * 24 * time.Hour,
		FindingInterval:     30 * 24 * time.Hour,
		MaxVerdictAge:       6 * time.Hour,
		MinInterval:         30 * time.Minute,
		CheckDeliverability: true,
		LeaseTTL:            5 * time.Minute,
		LeaseWait:           10 * time.Second,
	}
}

// Notifier plans and sends the messages of notify runs. Create it with
// New and set Reprober, Composer and (to send) Transport; its fields are
// not to be changed while Run runs.
type Notifier struct {
	Config    Config
	Store     Store
	Lookup    Lookup
	Reprober  Reprober
	Composer  Composer
	Transport Transport
	// TransportName is what the outbox records as the transport: "smtp",
	// "sendmail".
	TransportName string
	// Hold returns the context of a hand-over to the relay and the
	// function to call after it: a command's second stop stage, so that
	// the first signal lets the message in flight finish. Nil: the run's
	// context.
	Hold func() (context.Context, func())
	// PID and Host name the holder of a sending run's lease.
	PID  int
	Host string

	Clock func() time.Time
	Rand  io.Reader // tokens: crypto/rand by default
	Log   *slog.Logger
}

// New returns a Notifier with the default configuration on st and lookup,
// this process as the lease holder, the system clock and crypto/rand.
func New(st Store, lookup Lookup) *Notifier {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return &Notifier{
		Config: DefaultConfig(), Store: st, Lookup: lookup,
		PID: os.Getpid(), Host: host,
		Clock: time.Now, Rand: rand.Reader, Log: slog.New(slog.DiscardHandler),
	}
}

// Options selects what one run does.
type Options struct {
	// Send hands the messages to the transport; without it the run is a
	// dry run that changes nothing (docs/notify.md, section 6).
	Send bool
	// Zone limits the run to one zone's findings (canonical).
	Zone string
	// Limit replaces Config.MaxPerRun when above 0.
	Limit int
	// RetryUnknown hands the messages whose fate is unknown to the relay
	// again (a person checked the relay's log).
	RetryUnknown bool
}

// Message is one message of a run: planned (a dry run) or handed over.
type Message struct {
	To      string
	Source  store.ContactSource
	Subject string
	Token   string
	// Findings are the findings the message lists, oldest confirmed
	// first.
	Findings []store.Finding
	// State is the message's outbox state after the run: sent, deferred,
	// rejected or unknown; 0 in a dry run.
	State store.OutboxState
	// Delivery is the relay's answer when the message was handed over.
	Delivery Delivery
	// Retry marks a message whose fate was unknown, sent again.
	Retry bool
}

// FindingRef names a finding.
type FindingRef struct {
	ID     int64
	Zone   string
	Server netip.Addr
	Port   uint16
}

// Report is what a run did.
type Report struct {
	Messages []Message
	// NeedsHuman are the findings whose every candidate was passed over.
	NeedsHuman []FindingRef
	// Resting counts findings not mailed because their contact was mailed
	// within recipient_interval, or was mailed about them within
	// finding_interval.
	Resting int
	// Later counts the messages left for later runs by the cap on
	// messages per run.
	Later int
	// Reprobed counts findings probed again because their verdict was
	// old; Cleared those of them that are no longer lame or unresponsive,
	// Unrefreshed those whose new round could not be had (not mailed).
	Reprobed, Cleared, Unrefreshed int
	// Recovered counts messages a crashed run left pending, now unknown.
	Recovered int
}

// errorf prefixes a run's errors with the package.
func errorf(format string, args ...any) error {
	return fmt.Errorf("notify: "+format, args...)
}
