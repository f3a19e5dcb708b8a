// Package bounce reads one returned mail message — a delivery status
// notification, a text bounce, an abuse report, an automatic reply or a
// request to unsubscribe — and says what it is, which notification it
// answers and what it says about each recipient. It is pure: bytes in, a
// Message out, no database, no network. What to do with a class is the
// caller's business.
//
// # Which notification
//
// Notifications carry a token, 20 characters of lowercase base32
// (NewToken, ValidToken): in the envelope sender LOCAL+TOKEN@DOMAIN (VERP),
// in the List-Unsubscribe address LOCAL+TOKEN-unsubscribe@DOMAIN (RFC 2369
// §3.2) and in the Message-ID <lamers.TOKEN@DOMAIN>. Parse looks for it in
// the order of the Source constants: the envelope recipient the MTA hands
// over (Options), Delivered-To, X-Original-To, Envelope-To and To, then the
// Message-ID of the returned message (message/rfc822, text/rfc822-headers,
// message/global-headers), In-Reply-To and References (of the message:
// auto-replies, Gmail; then of the returned message), and a Message-ID
// quoted in the text. A malformed token is no token.
//
// # What it reads
//
//   - RFC 3464 delivery status notifications: multipart/report (RFC 6522,
//     formerly RFC 3462) with message/delivery-status; per recipient
//     Final-Recipient, Original-Recipient, Action, Status (RFC 3463),
//     Diagnostic-Code and Remote-MTA. RFC 6533 message/global-delivery-status
//     (UTF-8 fields, "utf-8" address type, unitext and xtext escapes) and
//     message/global-headers as sent by Postfix 3.x for SMTPUTF8 mail.
//   - RFC 5965 ARF reports: message/feedback-report, its Feedback-Type and
//     the Original-Rcpt-To (or the reported message's To) as recipients.
//   - RFC 3834 automatic replies: Auto-Submitted other than "no", the
//     X-Autoreply / X-Autorespond fields, Precedence: auto_reply, and
//     auto-reply subjects ("Automatic reply:", "Out of Office", …) — only
//     when nothing else was recognised, as Postfix and Exim mark their
//     bounces Auto-Submitted: auto-replied too, and a bounce taken for a
//     vacation message would be ignored.
//   - Text bounces, recognised by the wording of qmail (QSBMF), Exim,
//     Exchange and Office 365 NDRs, Gmail, Yahoo, Sendmail and Postfix, or
//     by a bounce subject or a MAILER-DAEMON sender: the recipients are read
//     from the lines of the explanation that start with an address, the
//     status from an RFC 3463 code or an SMTP reply (RFC 5321 §4.2) in the
//     lines that follow.
//
// Transfer encodings (quoted-printable, base64) and charsets (WHATWG names:
// ISO-8859-*, windows-125*, ISO-2022-JP, Shift_JIS, …) are decoded, and RFC
// 2047 encoded words in header fields. All strings in a Message are valid
// UTF-8 on one line.
//
// # Classes
//
// Each recipient gets a Class from its Action, its Status (or, without one,
// the SMTP reply code of its diagnostic) and the words of its diagnostic:
//
//   - Action delayed → Delay; delivered, relayed, expanded → Unknown;
//   - 2.x.x → Unknown; 4.x.x → Soft, whatever the words;
//   - 5.x.x refusing the sender (5.1.7, 5.1.8, "sender address rejected",
//     refused at MAIL FROM or HELO, SPF, DKIM or DMARC failures) → Policy;
//     then "user unknown", "no such user", "mailbox unavailable", "address
//     rejected" and the like → Hard, even under 5.7.1 or 5.0.0; then 5.1.x,
//     5.2.1, 5.4.4 → Hard; 5.2.2 or "mailbox full" → Soft; 5.7.x or spam,
//     block list, reputation words → Policy; any other 5.x.x (5.0.0, 5.2.x, 5.3.x, 5.4.x, 5.5.x, 5.6.x) →
//     Soft: final for that message, but saying nothing sure of the address,
//     so it is scored rather than believed;
//   - no code: the words decide in the same order, a temporary failure or an
//     unreachable server is Soft, and nothing understood stays Unknown.
//
// An ARF report is Complaint (Unsubscribe for Feedback-Type opt-out, Policy
// for auth-failure); a message to the unsubscribe address is Unsubscribe; an
// automatic reply is AutoReply. Message.Class is the most severe class of
// the recipients (unsubscribe, complaint, hard, policy, soft, delay,
// autoreply, unknown).
//
// # Bounded memory, no failure
//
// The message is read as a stream of line fragments: Parse keeps the first
// MaxRaw bytes (Message.Raw), at most 128 KiB of each header, 64 KiB of each
// part it reads and 512 KiB of parts in all, and looks at no more than 128
// MIME entities 8 deep. The rest is read, counted and, for text, scanned for
// a quoted token. Whatever the bytes — garbage, truncated MIME, NUL bytes,
// megabyte lines, invalid UTF-8 — Parse returns a Message; Problem says in
// one line what was wrong. Only an error of the reader is an error.
//
// # Where it departs from the standards
//
//   - A per-recipient block of a DSN also ends when a field it already has
//     comes again: some MTAs run all recipients into one block.
//   - Base64 and quoted-printable message/rfc822 parts (forbidden by RFC
//     2046 §5.2.1) are decoded; text/rfc822-header (sic) is read as
//     text/rfc822-headers; a malformed Content-Type is split by hand.
//   - xtext "+HH" escapes (RFC 3461 §4) are decoded only for the characters
//     xtext must escape, so that a VERP "+" stays.
//   - A DSN recipient without Diagnostic-Code takes the diagnostic the
//     human-readable part gives for the same address.
//   - Feedback-Type opt-out (pre-RFC 5965 ARF drafts) and unsubscribe are
//     unsubscribe requests; auth-failure (RFC 6591) is policy; not-spam
//     (RFC 6430) is unknown.
//   - Bare-CR line ends are not lines; text bounces in languages other than
//     English are recognised by subject or sender only.
package bounce
