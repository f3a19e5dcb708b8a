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
// message/global-headers), In-Reply-To and References (auto-replies, Gmail),
// and a Message-ID quoted in the text. A malformed token is no token.
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
//     auto-reply subjects ("Automatic reply:", "Out of Office", …).
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
// Each recipient gets a Class from its Action, Status (or SMTP reply code)
// and diagnostic text: see classify for the table. In short: hard for
// 5.1.x, 5.2.1, 5.4.4 and "user unknown"-like texts under any 5.x.x; soft
// for 4.x.x, 5.2.2 and any other 5.x.x; policy for 5.7.x and refusals that
// blame the sender; delay for Action: delayed; unknown when nothing is
// understood. ARF reports are complaints (unsubscribe for opt-out), mail to
// the unsubscribe address is unsubscribe, automatic replies are autoreply.
// Message.Class is the most severe class of the recipients.
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
