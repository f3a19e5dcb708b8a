package bounce

import (
	"strings"
)

// textFormats recognise the non-standard bounces by their wording (in the
// explanation, lowercased), first match wins. The phrases are those of the
// programs' own templates: qmail-send.c (QSBMF), Exim's bounce_message_text
// and warn_message_text, Exchange's and Office 365's NDR texts, Gmail's,
// Yahoo's, Sendmail's pre-DSN transcript and Postfix's bounce_template.
var textFormats = []struct {
	format  Format
	phrases []string
}{
	{FormatQmail, []string{"this is the qmail-send program", "i'm afraid i wasn't able to deliver your message"}},
	{FormatYahoo, []string{"sorry, we were unable to deliver your message to the following address", "message from yahoo.com"}},
	{FormatExim, []string{"this message was created automatically by mail delivery software"}},
	{FormatExchange, []string{
		"delivery has failed to these recipients or groups", "did not reach the following recipient",
		"your message did not reach some or all of the intended recipients",
		"diagnostic information for administrators", "couldn't be delivered",
		"the following recipient(s) cannot be reached",
	}},
	{FormatGmail, []string{
		"delivery to the following recipient failed permanently",
		"delivery to the following recipient has been delayed",
		"delivery to the following recipients failed",
		"technical details of permanent failure", "technical details of temporary failure",
		"your message wasn't delivered to", "there was a temporary problem delivering your message",
		"the response from the remote server was", "** address not found **", "** message not delivered **",
		"** delivery incomplete **", "google tried to deliver your message",
	}},
	{FormatSendmail, []string{
		"----- the following addresses had permanent fatal errors -----",
		"----- transcript of session follows -----",
	}},
	{FormatPostfix, []string{"this is the postfix program at host", "this is the mail system at host"}},
}

// bounceSubjects and bounceSenders make a message a bounce when no
// template phrase does: words of bounce subjects in several languages and
// the local parts bounces come from.
var (
	bounceSubjects = []string{
		"undeliver", "undelivered", "delivery status notification", "failure notice",
		"returned mail", "delivery failure", "delivery failed", "mail delivery failed",
		"non remis", "unzustellbar", "non recapitabile", "no entregado", "nondeliverable",
		"mail system error", "delivery notification", "returned to sender",
	}
	bounceSenders = []string{"mailer-daemon", "postmaster", "mail delivery", "mailer daemon"}
)

// delayPhrases mark a delay warning rather than a failure.
var delayPhrases = []string{
	"has been delayed", "has not yet been delivered", "** delivery incomplete **",
	"temporary problem delivering", "warning message only", "this is a warning only",
	"will retry", "will continue to try", "delivery status notification (delay)",
	"still trying", "delivery delayed",
}

// originalMarkers start the copy of the original message in a text bounce;
// the explanation is what comes before the first of them.
var originalMarkers = []string{
	"--- below this line is a copy of the message", "------ this is a copy of the message",
	"----- original message -----", "original message headers:", "--- enclosed are the original headers",
	"-----original message-----", "----- original message follows -----",
	"------ this is a copy of the message's headers", "----- message header follows -----",
	"the header of the original message", "original message follows", "message headers follow",
	"----- unsent message follows -----",
}

// originalCut returns where the copy of the original message starts in a
// lowercased text bounce, or its length.
func originalCut(lower string) int {
	cut := len(lower)
	for _, m := range originalMarkers {
		if i := strings.Index(lower, m); i >= 0 && i < cut {
			cut = i
		}
	}
	return cut
}

// quotedHeader returns the header of the original message that a text
// bounce quotes after its explanation (rest starts at the marker line), nil
// if there is none.
func quotedHeader(rest string) header {
	if rest == "" {
		return nil
	}
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[nl+1:]
	}
	rest = strings.TrimLeft(rest, "\r\n")
	h := parseFields(headerBlock([]byte(rest)))
	if len(h) < 2 {
		return nil
	}
	return h
}

// introPhrases come before the diagnostic of a report that does not put it
// next to the address (Gmail, Exchange).
var introPhrases = []string{
	"the error that the other server returned was:", "the response from the remote server was:",
	"the response was:", "technical details of permanent failure:",
	"technical details of temporary failure:", "remote server returned", "remote host said:",
	"for the following reason:",
}

// textInput is what readText needs besides the text.
type textInput struct {
	subject, from string
	failed        []string          // X-Failed-Recipients fields
	returnedTo    string            // the To of the returned message, attached or quoted
	ours          func(string) bool // the sender's side, never a recipient
}

// textReport is what a text bounce says. region is its explanation,
// lowercased, with typographic apostrophes made ASCII.
type textReport struct {
	format     Format
	recipients []Recipient
	region     string
}

// readText reads a non-standard bounce from its explanation (the text
// before the copy of the original message): its format from its wording (or, as
// FormatText, from a bounce-like subject or sender), its recipients from
// the lines that start with an address in the explanation (qmail, Yahoo,
// Postfix, Sendmail: "<addr>:"; Exim, Gmail, Exchange: "addr" alone, "addr
// on DATE", "addr<mailto:addr>"), then X-Failed-Recipients (Exim, Gmail),
// then a sentence ("delivering your message to addr"), then the returned
// message's To. Each recipient's diagnostic is the rest of its line and the
// lines below it up to an empty line; for a single recipient without one,
// the first SMTP reply in the explanation, or the paragraph after "The
// response was:" and the like.
func readText(region string, in textInput) (textReport, bool) {
	regionLower := asciiLower(region)
	rep := textReport{region: foldQuotes(regionLower)}
	for _, tf := range textFormats {
		if hasPhrase(regionLower, tf.phrases) {
			rep.format = tf.format
			break
		}
	}
	subjectLower, fromLower := asciiLower(in.subject), asciiLower(in.from)
	if rep.format == FormatUnknown {
		if !hasPhrase(subjectLower, bounceSubjects) && !hasPhrase(fromLower, bounceSenders) {
			return rep, false
		}
		rep.format = FormatText
	}
	action := "failed"
	if hasPhrase(regionLower, delayPhrases) || hasPhrase(subjectLower, delayPhrases) ||
		strings.Contains(subjectLower, "(delay)") || strings.HasPrefix(subjectLower, "warning:") {
		action = "delayed"
	}

	rep.recipients = anchors(region, in.ours)
	if len(rep.recipients) == 0 {
		for _, f := range in.failed {
			for _, a := range strings.Split(f, ",") {
				if a := normalizeAddress(bareAddress(a)); looksLikeAddress(a) && !in.ours(a) {
					rep.recipients = addRecipient(rep.recipients, Recipient{Address: a})
				}
			}
		}
	}
	if len(rep.recipients) == 0 {
		if a := sentenceAddress(region, regionLower); a != "" && !in.ours(a) {
			rep.recipients = []Recipient{{Address: a}}
		}
	}
	if len(rep.recipients) == 0 && !strings.Contains(in.returnedTo, ",") {
		if a := normalizeAddress(bareAddress(in.returnedTo)); looksLikeAddress(a) && !in.ours(a) {
			rep.recipients = []Recipient{{Address: a}}
		}
	}
	if len(rep.recipients) == 1 && smtpCode(rep.recipients[0].Diagnostic) == 0 &&
		enhancedStatus(rep.recipients[0].Diagnostic) == "" {
		if d := regionDiagnostic(region, regionLower); d != "" {
			rep.recipients[0].Diagnostic = d
		}
	}
	for i := range rep.recipients {
		r := &rep.recipients[i]
		r.Action = action
		r.Diagnostic = clean(r.Diagnostic, maxText)
		r.Status = enhancedStatus(r.Diagnostic)
		r.SMTPCode = smtpCode(r.Diagnostic)
	}
	return rep, true
}

// anchors returns the recipients named at the start of a line, each with
// the text that follows it as its diagnostic.
func anchors(region string, ours func(string) bool) []Recipient {
	var rcpts []Recipient
	lines := strings.Split(region, "\n")
	for i := 0; i < len(lines) && len(rcpts) < recipients; i++ {
		addr, rest, ok := anchorLine(lines[i])
		if !ok || ours(addr) {
			continue
		}
		diag := []string{rest}
		size := len(rest)
		for j := i + 1; j < len(lines) && j <= i+12 && size < maxText; j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" {
				break
			}
			if _, _, next := anchorLine(lines[j]); next {
				break
			}
			diag = append(diag, l)
			size += len(l)
			i = j
		}
		rcpts = addRecipient(rcpts, Recipient{Address: addr, Diagnostic: dropParens(strings.Join(diag, " "))})
	}
	return rcpts
}

// addRecipient adds r, or merges it into the recipient of the same address:
// a diagnostic with a status or reply code wins over one without.
func addRecipient(rcpts []Recipient, r Recipient) []Recipient {
	for i := range rcpts {
		if !strings.EqualFold(rcpts[i].Address, r.Address) {
			continue
		}
		old := rcpts[i].Diagnostic
		if old == "" || !hasCode(old) && hasCode(r.Diagnostic) {
			rcpts[i].Diagnostic = r.Diagnostic
		}
		return rcpts
	}
	return append(rcpts, r)
}

func hasCode(s string) bool { return enhancedStatus(s) != "" || smtpCode(s) != 0 }

// anchorLine reports whether a line starts with an address, and returns the
// address and what follows it (after a colon, a "<mailto:…>", a
// parenthesised "(expanded from …)", or nothing for "addr on DATE").
func anchorLine(line string) (addr, rest string, ok bool) {
	t := strings.TrimLeft(strings.TrimSpace(line), "> ")
	if t == "" {
		return "", "", false
	}
	if t[0] == '"' {
		end := strings.IndexByte(t[1:], '"')
		if end < 0 {
			return "", "", false
		}
		addr, rest = t[1:end+1], t[end+2:]
	} else if t[0] == '<' {
		end := strings.IndexByte(t, '>')
		if end < 0 {
			return "", "", false
		}
		addr, rest = t[1:end], t[end+1:]
	} else {
		end := strings.IndexAny(t, " \t<(:;,\"'[")
		if end < 0 {
			end = len(t)
		}
		addr, rest = t[:end], t[end:]
	}
	addr = normalizeAddress(addr)
	if !looksLikeAddress(addr) {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(strings.ToLower(rest), "<mailto:") {
		if end := strings.IndexByte(rest, '>'); end >= 0 {
			rest = strings.TrimSpace(rest[end+1:])
		}
	}
	rest = strings.TrimLeft(dropParens(rest), ":.")
	if strings.HasPrefix(rest, " on ") || strings.HasPrefix(rest, "on ") {
		rest = ""
	}
	return addr, strings.TrimSpace(rest), true
}

// dropParens drops the parenthesised remarks that start s, as "(expanded
// from <x>)" or "(generated from x)", and a colon after them.
func dropParens(s string) string {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "(") {
		end := strings.IndexByte(s, ')')
		if end < 0 {
			break
		}
		s = strings.TrimLeft(strings.TrimSpace(s[end+1:]), ":")
		s = strings.TrimSpace(s)
	}
	return s
}

// looksLikeAddress reports whether a is plausibly one mail address: one
// "@", a local part, a dotted domain of letters, digits, hyphens (or
// non-ASCII for IDNs), at most 254 bytes.
func looksLikeAddress(a string) bool {
	at := strings.IndexByte(a, '@')
	if at <= 0 || at != strings.LastIndexByte(a, '@') || len(a) > 254 {
		return false
	}
	domain := a[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !(isAlnum(c) || c == '-' || c == '.' || c >= 0x80) {
			return false
		}
	}
	for i := 0; i < at; i++ {
		if c := a[i]; c <= ' ' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' {
			return false
		}
	}
	return true
}

// sentencePhrases come before the recipient in one-sentence bounces
// ("Your message wasn't delivered to x@y because …").
var sentencePhrases = []string{
	"wasn't delivered to ", "delivering your message to ", "your message to ",
	"delivery to ", "could not be delivered to ", "couldn't be delivered to ",
	"was not delivered to ", "undeliverable to ", "delivering your mail to ", "unknown user: ",
}

// sentenceAddress returns the address after a sentencePhrase, or "".
func sentenceAddress(region, regionLower string) string {
	for _, p := range sentencePhrases {
		i := strings.Index(regionLower, p)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(region[i+len(p):], " <")
		end := strings.IndexAny(rest, " \t\r\n<>()\"',;")
		if end < 0 {
			end = len(rest)
		}
		if a := normalizeAddress(rest[:end]); looksLikeAddress(a) {
			return a
		}
	}
	return ""
}

// regionDiagnostic returns the first line of the explanation that holds an
// SMTP reply or status code, else the paragraph after an introPhrase.
func regionDiagnostic(region, regionLower string) string {
	for _, l := range strings.Split(region, "\n") {
		if hasCode(l) {
			return strings.TrimSpace(l)
		}
	}
	for _, p := range introPhrases {
		i := strings.Index(regionLower, p)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(region[i+len(p):], " \t\r\n")
		if end := strings.Index(rest, "\n\n"); end >= 0 {
			rest = rest[:end]
		}
		if end := strings.Index(rest, "\r\n\r\n"); end >= 0 {
			rest = rest[:end]
		}
		if rest = strings.TrimSpace(rest); rest != "" {
			return rest
		}
	}
	return ""
}
