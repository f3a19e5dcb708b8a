// Package notify tells a zone's contacts about its lame delegations
// (docs/notify.md): the Notifier takes the confirmed findings, probes stale
// verdicts again, walks each finding's contact chain (chain.go), plans one
// message per recipient within the limits (plan.go, run.go), composes each
// letter (compose.go, letter.go) and hands it over at most once through the
// outbox (send.go) to an SMTP relay or a local sendmail (smtp.go,
// sendmail.go), one sending run per database (lease.go). The contact
// addresses are made from DNS names in rname.go.
//
// Where the planner departs from the letter of the RFCs: addresses are
// compared without regard to case, local part too, for the limits, dead
// marks and suppressions (RFC 5321 §2.4 has the local part case-sensitive;
// in practice two spellings are one mailbox, and over-matching only errs
// towards sending less); and a mail exchange on a loopback, link-local,
// unspecified or multicast address counts as none (RFC 5321 §5.1 does not
// say so; no mail could reach it).
//
// # Letters and transports
//
// Composition (LetterWriter.Compose) renders a MessageData through the
// templates of package templates into a Letter: a plain struct of header
// values and the two body parts, no go-mail types. Every value that came
// from the DNS (zone and NS names, the server address) is checked before
// it is used: a name must be a valid presentation-form name (RFC 1035
// §5.1: printable ASCII, \X and \DDD escapes, labels of 63 octets, 255
// octets in all) and an address must be printable ASCII. Anything else —
// CR, LF, NUL, 8-bit bytes, over-long labels — makes Compose fail: the
// contact chain rejects such names earlier, this is the second line. The
// Subject is built from presentation forms only, so it never holds raw
// DNS bytes; the writer MIME-encodes it (RFC 2047) when a template puts
// non-ASCII text in it.
//
// The envelope sender is VERP (LOCAL+TOKEN@DOMAIN from bounce_address);
// the token is 20 characters of lowercase base32, because Postfix
// lowercases the address extension it hands to a pipe. The Message-ID is
// <lamers.TOKEN@DOMAIN> and List-Unsubscribe (RFC 2369 §3.2) is a mailto:
// LOCAL+TOKEN-unsubscribe@DOMAIN, so every reply, bounce and unsubscribe
// request leads back to the message.
//
// Transports: SMTP goes through github.com/wneessen/go-mail v0.8.1, which
// connects (greeting, EHLO, STARTTLS, AUTH) and writes the MIME message.
// The mail transaction itself (MAIL, RCPT, DATA, RSET) is driven step by
// step on go-mail's SMTP client instead of through Client.Send, which
// folds the relay's reply into a formatted error string and sends a NOOP
// before every message; the steps give the exact code, enhanced status
// code (RFC 3463) and text of the reply, and tell "refused before the end
// of data" (nothing was handed over) from "no reply after the end of data"
// (the outcome cannot be known). sendmail runs the configured binary with
// the message on its standard input and reads its exit status
// (sysexits.h).
//
// Where this departs from the usual: the relay's 5xx to MAIL FROM is not
// "rejected" but "deferred" with Delivery.Err set (ErrSenderRejected): it
// refuses our sender, not the recipient, so it must not kill the contact;
// the run stops and the command reports it. AUTH is never sent over a
// connection without TLS, whatever smtp_tls says.
package notify
