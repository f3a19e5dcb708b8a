package bounce

import "strings"

// Phrases, lowercase, matched as substrings of a recipient's diagnostic
// (and, for a report of one recipient, of the report's text). They are the
// wording of real bounces: Postfix, Sendmail, Exim, qmail, Exchange/Office
// 365, Gmail, Yahoo and the samples under testdata/bounces.
var (
	// senderPhrases blame the sender, not the recipient's address: the
	// message was refused for who sent it (at MAIL FROM, for its SPF, DKIM
	// or DMARC), so the contact may be fine, whatever the status says
	// (Office 365 sends SPF failures as 5.1.0).
	senderPhrases = []string{
		"sender address rejected", "sender verify failed", "sender verification",
		"sender rejected", "sender domain", "domain of sender", "sender address",
		"after mail from", "in reply to mail from", "in reply to helo", "in reply to ehlo",
		"after initial connection", "in reply to initial greeting", "not allowed to send",
		"spf", "dkim", "dmarc", "unauthenticated",
	}
	// hardPhrases say the address does not exist or takes no mail: hard
	// even under 5.7.1 or 5.0.0, as some servers reply.
	hardPhrases = []string{
		"user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient",
		"no such address", "no such account", "mailbox unavailable", "mailbox not found",
		"mailbox does not exist", "mailbox disabled", "mailbox is disabled",
		"mailbox has been disabled", "mailbox is inactive", "account disabled",
		"account is disabled", "account has been disabled", "address rejected",
		"unknown recipient", "recipient unknown", "recipient not found", "recipientnotfound",
		"recipnotfound", "invalid recipient", "invalid mailbox", "user not found",
		"address not found", "address couldn't be found", "address could not be found",
		"wasn't found at the destination", "was not found at the destination",
		"does not exist", "doesn't exist", "not a valid mailbox", "unrouteable address",
		"no mailbox here by that name", "recipient name is not recognized",
		"unknown local part", "user doesn't have", "doesn't have a yahoo", "unknown address",
		"bad destination mailbox", "mailbox unknown", "user does not exist",
		"no longer in use", "no longer active", "no smtp service", "does not accept mail",
	}
	// fullPhrases say the mailbox is over its quota: soft (RFC 3463 5.2.2).
	fullPhrases = []string{
		"mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
		"mailbox size limit", "insufficient storage", "out of storage", "storage allocation",
		"exceeds the quota", "over its quota",
	}
	// policyPhrases say the message was refused for its content, its
	// sender's reputation or authentication, not for the address.
	policyPhrases = []string{
		"spam", "blocked", "blacklist", "blocklist", "block list", "listed in", "rbl",
		"spamhaus", "dnsbl", "reputation", "policy", "not authorized", "relay access denied", "relaying denied",
		"relay not permitted", "content rejected", "message content", "virus", "malware",
		"banned", "rate limit", "too many", "throttl",
	}
	// tempPhrases say a failure was temporary, a server was not reached or
	// the message was too large: soft when no status code says more.
	tempPhrases = []string{
		"try again later", "temporarily", "temporary", "retry timeout exceeded", "timed out",
		"connection refused", "could not connect", "couldn't connect", "unable to connect",
		"did not accept our requests to connect", "socket error", "deferred", "greylist",
		"all hosts for", "host not found", "no route to host", "network is unreachable",
		"size limit", "too large", "too big", "exceeds the maximum", "have been failing",
		"expired",
	}
)

func hasPhrase(lower string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// classify returns the class of one recipient from its DSN action, RFC 3463
// status (or, without one, the SMTP reply code of RFC 5321 §4.2) and the
// lowercased text that explains it.
//
//   - delayed → Delay; delivered, relayed and expanded → Unknown (not a
//     failure);
//   - 2.x.x → Unknown; 4.x.x → Soft, whatever the text;
//   - 5.x.x: blaming the sender (5.1.7, 5.1.8, "sender address rejected",
//     refused at MAIL FROM or HELO, SPF/DKIM/DMARC) → Policy; a "no such user" text → Hard;
//     5.1.x, 5.2.1, 5.4.4 → Hard; 5.2.2 or a "mailbox full" text → Soft;
//     5.7.x or a spam/block/reputation text → Policy; any other 5.x.x (5.0.0,
//     5.2.x, 5.3.x, 5.4.x, 5.5.x, 5.6.x) → Soft: permanent for this message
//     but saying nothing of the address, so it is scored, not believed;
//   - no code at all: the texts decide in the order above, a temporary text
//     is Soft; nothing understood → Unknown.
func classify(action, status string, code int, lower string) Class {
	switch action {
	case "delayed":
		return Delay
	case "delivered", "relayed", "expanded":
		return Unknown
	}
	class := byte(0)
	if status != "" {
		class = status[0]
	} else if code != 0 {
		class = byte('0' + code/100)
	}
	switch class {
	case '2':
		return Unknown
	case '4':
		return Soft
	case '5':
		switch {
		case status == "5.1.7" || status == "5.1.8" || hasPhrase(lower, senderPhrases):
			return Policy
		case hasPhrase(lower, hardPhrases):
			return Hard
		case strings.HasPrefix(status, "5.1.") || status == "5.2.1" || status == "5.4.4":
			return Hard
		case status == "5.2.2" || hasPhrase(lower, fullPhrases):
			return Soft
		case strings.HasPrefix(status, "5.7.") || hasPhrase(lower, policyPhrases):
			return Policy
		}
		return Soft
	}
	switch {
	case hasPhrase(lower, senderPhrases):
		return Policy
	case hasPhrase(lower, hardPhrases):
		return Hard
	case hasPhrase(lower, fullPhrases):
		return Soft
	case hasPhrase(lower, policyPhrases):
		return Policy
	case hasPhrase(lower, tempPhrases):
		return Soft
	}
	return Unknown
}

// enhancedStatus returns the first RFC 3463 status code (2.x.x, 4.x.x or
// 5.x.x, each part of one to three digits) in s, or "". A code must not be
// part of a longer dotted number such as an IP address.
func enhancedStatus(s string) string {
	for i := 0; i+4 < len(s); i++ {
		c := s[i]
		if c != '2' && c != '4' && c != '5' || s[i+1] != '.' {
			continue
		}
		if i > 0 && (isDigitByte(s[i-1]) || s[i-1] == '.') {
			continue
		}
		j := i + 2
		n := digits(s[j:])
		if n == 0 || n > 3 || j+n >= len(s) || s[j+n] != '.' {
			continue
		}
		k := j + n + 1
		m := digits(s[k:])
		if m == 0 || m > 3 {
			continue
		}
		end := k + m
		if end < len(s) && (isDigitByte(s[end]) || s[end] == '.' && end+1 < len(s) && isDigitByte(s[end+1])) {
			continue
		}
		return s[i:end]
	}
	return ""
}

// smtpCode returns the first SMTP reply code (RFC 5321 §4.2: 2yz, 4yz or
// 5yz) in s that stands as a word before a space, a hyphen or the end, and
// follows the start, white space or one of `:('"#[`; 0 if there is none.
func smtpCode(s string) int {
	for i := 0; i+2 < len(s); i++ {
		c := s[i]
		if c != '2' && c != '4' && c != '5' || !isDigitByte(s[i+1]) || !isDigitByte(s[i+2]) {
			continue
		}
		if i > 0 && !strings.ContainsRune(" \t:('\"#[", rune(s[i-1])) {
			continue
		}
		if e := i + 3; e < len(s) && s[e] != ' ' && s[e] != '-' && s[e] != '\n' && s[e] != '\r' {
			continue
		}
		return int(c-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
	}
	return 0
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// digits counts the leading ASCII digits of s.
func digits(s string) int {
	n := 0
	for n < len(s) && isDigitByte(s[n]) {
		n++
	}
	return n
}

// foldQuotes makes typographic apostrophes ASCII, for phrase matching
// ("wasn’t found" in Office 365 texts).
func foldQuotes(s string) string {
	if !strings.ContainsAny(s, "\u2018\u2019") {
		return s
	}
	return strings.NewReplacer("\u2018", "'", "\u2019", "'").Replace(s)
}

// asciiLower lowercases A–Z only, so that offsets into the result are
// offsets into s.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
