package store

// The enums of notification (docs/notify.md), built like those of enums.go.

// ContactSource is where a contact address came from: a step of the
// contact chain (docs/notify.md, section 2). The zero value means "no
// contact".
type ContactSource uint8

// The contact sources, in the order of the chain.
const (
	SourceRNAME      ContactSource = iota + 1 // the zone's SOA RNAME
	SourceHostmaster                          // hostmaster@ the zone (RFC 2142)
	SourcePostmaster                          // postmaster@ the NS host's registered domain
	SourceOverride                            // [[notify.override]]
)

var contactSourceNames = [...]string{
	SourceRNAME:      "rname",
	SourceHostmaster: "hostmaster",
	SourcePostmaster: "postmaster",
	SourceOverride:   "override",
}

var contactSourceByName = reverse[ContactSource](contactSourceNames[:])

// String returns the name of s ("rname").
func (s ContactSource) String() string { return name("ContactSource", contactSourceNames[:], s) }

// ParseContactSource returns the contact source named s.
func ParseContactSource(s string) (ContactSource, error) {
	return parse("contact source", contactSourceByName, s)
}

// OutboxState is the state of one message in the outbox (docs/notify.md,
// section 5).
type OutboxState uint8

// The outbox states.
const (
	OutboxPending  OutboxState = iota + 1 // recorded, being handed to the relay
	OutboxSent                            // the relay accepted it
	OutboxDeferred                        // a 4xx or no relay: planned again next run
	OutboxRejected                        // a 5xx for the recipient: the address is dead for its findings
	OutboxUnknown                         // a pending message found by a later run: never re-sent automatically
)

var outboxStateNames = [...]string{
	OutboxPending:  "pending",
	OutboxSent:     "sent",
	OutboxDeferred: "deferred",
	OutboxRejected: "rejected",
	OutboxUnknown:  "unknown",
}

var outboxStateByName = reverse[OutboxState](outboxStateNames[:])

// String returns the name of s ("sent").
func (s OutboxState) String() string { return name("OutboxState", outboxStateNames[:], s) }

// ParseOutboxState returns the outbox state named s.
func ParseOutboxState(s string) (OutboxState, error) {
	return parse("outbox state", outboxStateByName, s)
}

// OutboxStates returns every outbox state, in the order of the table above.
func OutboxStates() []OutboxState { return values[OutboxState](outboxStateNames[:]) }

// Mark is why a candidate of a finding's contact chain was passed over.
type Mark uint8

// The marks. MarkRejected and MarkBounced make an address dead for the
// finding for good; MarkSoft and MarkPolicy are events counted over a
// window; the others are what the last notify run found and are replaced by
// the next run's.
const (
	MarkUndeliverable Mark = iota + 1 // no usable mail exchange for the domain
	MarkInvalid                       // the name does not make a valid address
	MarkRejected                      // a 5xx at SMTP time
	MarkBounced                       // a hard bounce
	MarkSoft                          // a soft bounce
	MarkPolicy                        // a policy bounce (5.7.x that is not "user unknown")
	MarkSuppressed                    // the address, its domain or the zone is suppressed
)

var markNames = [...]string{
	MarkUndeliverable: "undeliverable",
	MarkInvalid:       "invalid",
	MarkRejected:      "rejected",
	MarkBounced:       "bounced",
	MarkSoft:          "soft",
	MarkPolicy:        "policy",
	MarkSuppressed:    "suppressed",
}

var markByName = reverse[Mark](markNames[:])

// String returns the name of m ("bounced").
func (m Mark) String() string { return name("Mark", markNames[:], m) }

// ParseMark returns the mark named s.
func ParseMark(s string) (Mark, error) { return parse("mark", markByName, s) }

// PerRun reports whether m is found again by every notify run
// (undeliverable, invalid, suppressed) rather than kept as history.
func (m Mark) PerRun() bool {
	return m == MarkUndeliverable || m == MarkInvalid || m == MarkSuppressed
}

// SuppressionKind is what a suppression matches.
type SuppressionKind uint8

// The suppression kinds.
const (
	SuppressAddress SuppressionKind = iota + 1 // one address
	SuppressDomain                             // every address at a domain or below it ("@example.com")
	SuppressZone                               // every finding of a zone or below it ("example.com.")
)

var suppressionKindNames = [...]string{
	SuppressAddress: "address",
	SuppressDomain:  "domain",
	SuppressZone:    "zone",
}

var suppressionKindByName = reverse[SuppressionKind](suppressionKindNames[:])

// String returns the name of k ("domain").
func (k SuppressionKind) String() string {
	return name("SuppressionKind", suppressionKindNames[:], k)
}

// ParseSuppressionKind returns the suppression kind named s.
func ParseSuppressionKind(s string) (SuppressionKind, error) {
	return parse("suppression kind", suppressionKindByName, s)
}

// SuppressionSource is who asked for a suppression.
type SuppressionSource uint8

// The suppression sources.
const (
	SuppressedManually    SuppressionSource = iota + 1 // lamers suppress
	SuppressedComplaint                                // an RFC 5965 complaint
	SuppressedUnsubscribe                              // a message to the List-Unsubscribe address
)

var suppressionSourceNames = [...]string{
	SuppressedManually:    "manual",
	SuppressedComplaint:   "complaint",
	SuppressedUnsubscribe: "unsubscribe",
}

var suppressionSourceByName = reverse[SuppressionSource](suppressionSourceNames[:])

// String returns the name of s ("manual").
func (s SuppressionSource) String() string {
	return name("SuppressionSource", suppressionSourceNames[:], s)
}

// ParseSuppressionSource returns the suppression source named s.
func ParseSuppressionSource(s string) (SuppressionSource, error) {
	return parse("suppression source", suppressionSourceByName, s)
}

// BounceSource is how a returned message reached lamers bounce.
type BounceSource uint8

// The bounce sources.
const (
	BouncePipe    BounceSource = iota + 1 // one message on standard input (an MTA's pipe)
	BounceMaildir                         // a Maildir's new/ (bounce --maildir)
	BounceMbox                            // an mbox file (bounce --mbox)
)

var bounceSourceNames = [...]string{
	BouncePipe:    "pipe",
	BounceMaildir: "maildir",
	BounceMbox:    "mbox",
}

var bounceSourceByName = reverse[BounceSource](bounceSourceNames[:])

// String returns the name of s ("maildir").
func (s BounceSource) String() string { return name("BounceSource", bounceSourceNames[:], s) }

// ParseBounceSource returns the bounce source named s.
func ParseBounceSource(s string) (BounceSource, error) {
	return parse("bounce source", bounceSourceByName, s)
}

// BounceClass is what a returned message says of its recipient, the
// classes of package notify/bounce under the same names.
type BounceClass uint8

// The bounce classes (docs/notify.md, section 7).
const (
	BounceUnknown     BounceClass = iota + 1 // not understood: kept for a person, no effect
	BounceHard                               // the address does not exist: dead for the message's findings
	BounceSoft                               // a temporary failure: counted
	BouncePolicy                             // refused for who sent it or what it held: counted
	BounceDelay                              // not delivered yet: no effect
	BounceAutoReply                          // an automatic reply: no effect
	BounceComplaint                          // an abuse report: the recipient is suppressed
	BounceUnsubscribe                        // a request to stop: the recipient is suppressed
)

var bounceClassNames = [...]string{
	BounceUnknown:     "unknown",
	BounceHard:        "hard",
	BounceSoft:        "soft",
	BouncePolicy:      "policy",
	BounceDelay:       "delay",
	BounceAutoReply:   "autoreply",
	BounceComplaint:   "complaint",
	BounceUnsubscribe: "unsubscribe",
}

var bounceClassByName = reverse[BounceClass](bounceClassNames[:])

// String returns the name of c ("hard").
func (c BounceClass) String() string { return name("BounceClass", bounceClassNames[:], c) }

// ParseBounceClass returns the bounce class named s.
func ParseBounceClass(s string) (BounceClass, error) {
	return parse("bounce class", bounceClassByName, s)
}

// BounceClasses returns every bounce class, in the order of the table
// above.
func BounceClasses() []BounceClass { return values[BounceClass](bounceClassNames[:]) }

// BounceEffect is what storing a returned message did.
type BounceEffect uint8

// The bounce effects.
const (
	EffectNone       BounceEffect = iota + 1 // nothing: unmatched, or a class without effect
	EffectCounted                            // a soft or policy mark, below its limit
	EffectDead                               // the recipient is dead for the message's findings
	EffectSuppressed                         // the recipient is suppressed
)

var bounceEffectNames = [...]string{
	EffectNone:       "none",
	EffectCounted:    "counted",
	EffectDead:       "dead",
	EffectSuppressed: "suppressed",
}

var bounceEffectByName = reverse[BounceEffect](bounceEffectNames[:])

// String returns the name of e ("dead").
func (e BounceEffect) String() string { return name("BounceEffect", bounceEffectNames[:], e) }

// ParseBounceEffect returns the bounce effect named s.
func ParseBounceEffect(s string) (BounceEffect, error) {
	return parse("bounce effect", bounceEffectByName, s)
}
