package bounce

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Lengths of the display strings of a Message.
const (
	maxText    = 1000 // a diagnostic
	maxName    = 255  // an address, host name, Message-ID or subject
	recipients = 100  // recipients kept of one report
)

// readDSN reads the fields of a (global-)delivery-status part (RFC 3464
// §2.2, §2.3; RFC 6533 §3). The per-message block gives Reporting-MTA; a
// recipient starts at each block and again whenever a field it already has
// comes back (some reports run all recipients into one block).
func readDSN(data []byte) (reportingMTA string, rcpts []Recipient) {
	for _, block := range fieldBlocks(data) {
		cur, seen := -1, 0
		for _, f := range block {
			bit := 0
			switch f.name {
			case "reporting-mta":
				if reportingMTA == "" {
					_, v := splitType(f.value)
					reportingMTA = clean(v, maxName)
				}
				continue
			case "final-recipient":
				bit = 1
			case "original-recipient":
				bit = 2
			case "action":
				bit = 4
			case "status":
				bit = 8
			case "diagnostic-code":
				bit = 16
			case "remote-mta":
				bit = 32
			default:
				continue
			}
			if cur < 0 || seen&bit != 0 {
				if len(rcpts) == recipients {
					return reportingMTA, rcpts
				}
				rcpts = append(rcpts, Recipient{})
				cur, seen = len(rcpts)-1, 0
			}
			seen |= bit
			r := &rcpts[cur]
			switch bit {
			case 1:
				r.Address = dsnAddress(f.value)
			case 2:
				r.Original = dsnAddress(f.value)
			case 4:
				r.Action, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(f.value)), " ")
				r.Action = clean(r.Action, 32)
			case 8:
				r.Status = enhancedStatus(f.value)
			case 16:
				typ, text := splitType(f.value)
				r.DiagnosticType = clean(strings.ToLower(typ), 32)
				r.Diagnostic = clean(decodeHeader(text), maxText)
				r.SMTPCode = smtpCode(r.Diagnostic)
			case 32:
				_, v := splitType(f.value)
				r.RemoteMTA = clean(v, maxName)
			}
		}
	}
	return reportingMTA, rcpts
}

// readARF reads a feedback report (RFC 5965 §3.1, §3.2). Its recipients
// are the Original-Rcpt-To and Removal-Recipient addresses.
func readARF(data []byte) (*Feedback, []Recipient) {
	fb := &Feedback{}
	var rcpts []Recipient
	for _, block := range fieldBlocks(data) {
		for _, f := range block {
			v := strings.TrimSpace(f.value)
			switch f.name {
			case "feedback-type":
				if fb.Type == "" {
					fb.Type, _, _ = strings.Cut(strings.ToLower(v), " ")
					fb.Type = clean(fb.Type, 32)
				}
			case "user-agent":
				fb.UserAgent = clean(v, maxName)
			case "original-mail-from":
				fb.OriginalMailFrom = normalizeAddress(bareAddress(v))
			case "original-rcpt-to", "removal-recipient":
				if len(rcpts) < recipients {
					rcpts = append(rcpts, Recipient{Address: normalizeAddress(bareAddress(v))})
				}
			case "source-ip":
				fb.SourceIP = clean(v, 64)
			case "reported-domain":
				fb.ReportedDomain = clean(v, maxName)
			case "arrival-date", "received-date":
				if fb.ArrivalDate == "" {
					fb.ArrivalDate = clean(v, 64)
				}
			}
		}
	}
	return fb, rcpts
}

// feedbackClass returns the class of an ARF report by its Feedback-Type
// (RFC 5965 §7.3 and its registry): abuse, fraud, virus, other and missing
// types are complaints; "opt-out" (ARF drafts before RFC 5965, still sent by
// some feedback loops) and "unsubscribe" are unsubscribe requests;
// auth-failure (RFC 6591) is about our authentication, policy; not-spam
// (RFC 6430) is no complaint, unknown.
func feedbackClass(typ string) Class {
	switch typ {
	case "opt-out", "unsubscribe":
		return Unsubscribe
	case "auth-failure":
		return Policy
	case "not-spam":
		return Unknown
	}
	return Complaint
}

// splitType splits "type; value" (RFC 3464 §2.1.2 address-type, MTA-name-type,
// diagnostic-type). A value without a type prefix is returned whole.
func splitType(v string) (typ, rest string) {
	v = strings.TrimSpace(v)
	i := strings.IndexByte(v, ';')
	if i <= 0 || i > 32 || strings.ContainsAny(v[:i], " \t<>@\"") {
		return "", v
	}
	return strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
}

// dsnAddress returns the address of an address field: its type stripped,
// unitext (RFC 6533 §3) and xtext (RFC 3461 §4) escapes decoded, the domain
// lowercased.
func dsnAddress(v string) string {
	_, addr := splitType(v)
	return normalizeAddress(decodeXtext(decodeUnitext(bareAddress(addr))))
}

// normalizeAddress makes a display address: the first word, cleaned, with
// its domain lowercased.
func normalizeAddress(a string) string {
	a = strings.TrimSpace(a)
	if i := strings.IndexAny(a, " \t"); i >= 0 {
		a = a[:i]
	}
	a = strings.Trim(a, `"'.,;:`)
	a = clean(a, maxName)
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		a = a[:at+1] + strings.ToLower(a[at+1:])
	}
	return a
}

// decodeUnitext decodes the \x{HHHH} escapes of RFC 6533 §3 (utf-8-addr-
// unitext and -xtext); an escape that is not a valid code point stays.
func decodeUnitext(s string) string {
	if !strings.Contains(s, `\x{`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\x{`)
		if i < 0 {
			break
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			break
		}
		cp, err := strconv.ParseUint(s[i+3:i+end], 16, 32)
		b.WriteString(s[:i])
		if err != nil || end-3 < 2 || end-3 > 6 || !utf8.ValidRune(rune(cp)) {
			b.WriteString(s[i : i+end+1])
		} else {
			b.WriteRune(rune(cp))
		}
		s = s[i+end+1:]
	}
	b.WriteString(s)
	return b.String()
}

// decodeXtext decodes the "+HH" escapes of RFC 3461 §4 (two uppercase hex
// digits) where they stand for a character xtext must escape ("+", "=",
// controls, space, non-ASCII) and the result is valid UTF-8. A VERP
// address's "+" is left alone: its extension is lowercase.
func decodeXtext(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	b := make([]byte, 0, len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]) {
			c := unhex(s[i+1])<<4 | unhex(s[i+2])
			if c <= ' ' || c > '~' || c == '+' || c == '=' {
				b = append(b, c)
				i += 2
				changed = true
				continue
			}
		}
		b = append(b, s[i])
	}
	if !changed || !utf8.Valid(b) {
		return s
	}
	return string(b)
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
