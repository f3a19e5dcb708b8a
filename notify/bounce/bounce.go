package bounce

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Options tell Parse what the bounce address looks like and what the MTA
// said about the delivery.
type Options struct {
	// Local is the local part of the bounce address ("lamers-bounces" of
	// lamers-bounces@resolver.example.net); "" accepts any local part
	// before the "+".
	Local string
	// Domain, when not "", is the only domain in which token addresses and
	// Message-IDs are accepted.
	Domain string
	// OriginalRecipient and Recipient are the envelope recipient as the MTA
	// gives it to the program: ORIGINAL_RECIPIENT and RECIPIENT of Postfix
	// pipe(8), or Exim's $original_local_part@$original_domain and
	// $local_part$local_part_suffix@$domain.
	OriginalRecipient string
	Recipient         string
}

// Message is what one returned message says. Strings are valid UTF-8 on one
// line with control characters removed, but still data from strangers:
// escape them for terminals, never put them raw into headers.
type Message struct {
	// Raw is the first MaxRaw bytes of the message as read; Size is its
	// whole length and Truncated says Raw is shorter.
	Raw       []byte `json:"-"`
	Size      int64  `json:"size"`
	Truncated bool   `json:"truncated"`

	// Format is the kind of report recognised; Class the most severe class
	// of its recipients (an unsubscribe, complaint or auto-reply is the
	// class of the whole message).
	Format Format `json:"format"`
	Class  Class  `json:"class"`

	// Token is the VERP token of the notification this message answers,
	// "" if none was found; TokenSource says where it was found, and
	// Unsubscribe that the message was sent to the List-Unsubscribe
	// address (LOCAL+TOKEN-unsubscribe@DOMAIN).
	Token       string `json:"token"`
	TokenSource Source `json:"token_source"`
	Unsubscribe bool   `json:"unsubscribe"`

	// From, Subject and MessageID are the returned message's own fields
	// (RFC 2047 words decoded); ReturnedMessageID is the Message-ID of the
	// message it returns; ReportingMTA is the DSN's Reporting-MTA.
	From              string `json:"from"`
	Subject           string `json:"subject"`
	MessageID         string `json:"message_id"`
	ReturnedMessageID string `json:"returned_message_id"`
	ReportingMTA      string `json:"reporting_mta"`
	// Text is the start of the human-readable explanation (the text parts
	// before any copy of the original message), on one line.
	Text string `json:"text"`

	// Recipients are the recipients the report is about (at most 100).
	Recipients []Recipient `json:"recipients"`
	// Feedback holds the fields of an ARF report.
	Feedback *Feedback `json:"feedback,omitempty"`

	// Problem is a one-line description of what was wrong with the
	// message (the first defect found, or why nothing was understood), ""
	// when nothing was.
	Problem string `json:"problem"`
}

// Recipient is one recipient of a report: the fields of an RFC 3464
// per-recipient block, or what a text bounce says about one address.
type Recipient struct {
	// Address is Final-Recipient (or the address named by a text bounce),
	// its type stripped and xtext/unitext decoded; Original is
	// Original-Recipient.
	Address  string `json:"address"`
	Original string `json:"original,omitempty"`
	// Action is the DSN Action (failed, delayed, delivered, relayed,
	// expanded); for a text bounce it is inferred: failed or delayed.
	Action string `json:"action"`
	// Status is the RFC 3463 status code: the DSN's Status, or the first
	// code in a text bounce's diagnostic. SMTPCode is the first RFC 5321
	// reply code of the diagnostic, 0 if none.
	Status   string `json:"status"`
	SMTPCode int    `json:"smtp_code"`
	// DiagnosticType and Diagnostic are the two halves of Diagnostic-Code
	// ("smtp", "550 5.1.1 … user unknown"), or the text of a text bounce.
	DiagnosticType string `json:"diagnostic_type,omitempty"`
	Diagnostic     string `json:"diagnostic"`
	RemoteMTA      string `json:"remote_mta,omitempty"`
	Class          Class  `json:"class"`
}

// Feedback is the machine-readable part of an ARF report (RFC 5965 §3).
type Feedback struct {
	Type             string `json:"type"` // Feedback-Type, lowercased
	UserAgent        string `json:"user_agent"`
	OriginalMailFrom string `json:"original_mail_from"`
	SourceIP         string `json:"source_ip"`
	ReportedDomain   string `json:"reported_domain"`
	ArrivalDate      string `json:"arrival_date"`
}

// Parse reads one returned message from r and says what it is. It holds at
// most a bounded part of the message in memory (MaxRaw bytes of it, and a
// bounded share of its header and text parts) and reads the rest as a
// stream. Bad input is never an error: it makes a Message of class Unknown
// with Problem set. Only an error of r (other than io.EOF) is returned.
func Parse(r io.Reader, opts Options) (*Message, error) {
	in := &input{r: r}
	w := &walker{
		br:    bufio.NewReaderSize(in, bufSize),
		match: matcher{local: opts.Local, domain: opts.Domain},
	}
	w.top = w.readHeader(true)
	w.entity(w.top, 0)
	for {
		if _, _, ok := w.line(); !ok {
			break
		}
	}
	if in.err != nil {
		return nil, fmt.Errorf("bounce: read message: %w", in.err)
	}
	m := &Message{Raw: in.raw, Size: in.size, Truncated: in.size > int64(len(in.raw))}
	m.build(w, opts)
	return m, nil
}

// build fills a Message from what the walker kept.
func (m *Message) build(w *walker, opts Options) {
	top := w.top
	m.Subject = clean(decodeHeader(top.get("subject")), maxName)
	m.From = normalizeAddress(bareAddress(decodeHeader(top.get("from"))))
	m.MessageID = messageID(top.get("message-id"))
	text := strings.Join(w.plain, "\n")
	if strings.TrimSpace(text) == "" {
		text = strings.Join(w.html, "\n")
	}
	m.findToken(w, opts, text)
	cut := originalCut(asciiLower(text))
	explanation := text[:cut]
	m.Text = clean(explanation, maxText)
	returned := w.returned
	if returned == nil {
		returned = quotedHeader(text[cut:])
	}
	if returned != nil {
		m.ReturnedMessageID = messageID(returned.get("message-id"))
	}
	ours := m.ours(w, opts, returned)

	switch {
	case w.dsn != nil:
		m.Format = FormatDSN
		if w.dsnGlobal {
			m.Format = FormatGlobalDSN
		}
		m.ReportingMTA, m.Recipients = readDSN(w.dsn)
	case w.feedback != nil:
		m.Format = FormatARF
		m.Feedback, m.Recipients = readARF(w.feedback)
		if len(m.Recipients) == 0 && w.returned != nil {
			if a := normalizeAddress(bareAddress(w.returned.get("to"))); looksLikeAddress(a) {
				m.Recipients = []Recipient{{Address: a}}
			}
		}
	}
	dsn := m.Format == FormatDSN || m.Format == FormatGlobalDSN
	var rep textReport
	isText := false
	if dsn || m.Format == FormatUnknown {
		in := textInput{subject: m.Subject, from: m.From, failed: top.all("x-failed-recipients"), ours: ours}
		if returned != nil {
			in.returnedTo = returned.get("to")
		}
		rep, isText = readText(explanation, in)
	}
	switch {
	case m.Format == FormatUnknown && isText:
		m.Format, m.Recipients = rep.format, rep.recipients
	case dsn && len(m.Recipients) == 0 && isText:
		m.Recipients = rep.recipients
	case dsn && isText:
		fillDiagnostics(m.Recipients, rep.recipients)
	}
	if m.Format == FormatUnknown && autoReply(top, m.Subject) {
		m.Format = FormatAutoReply
	}
	if m.Recipients == nil {
		m.Recipients = []Recipient{}
	}
	m.classify(rep)
	m.Problem = m.problem(w)
}

// findToken looks for the token in the order of the Source constants.
func (m *Message) findToken(w *walker, opts Options, text string) {
	set := func(src Source, token string, unsubscribe bool) {
		m.Token, m.TokenSource, m.Unsubscribe = token, src, unsubscribe
	}
	addrs := []struct {
		src    Source
		values []string
	}{
		{SourceOriginalRecipient, []string{opts.OriginalRecipient}},
		{SourceRecipient, []string{opts.Recipient}},
		{SourceDeliveredTo, w.top.all("delivered-to")},
		{SourceXOriginalTo, w.top.all("x-original-to")},
		{SourceEnvelopeTo, w.top.all("envelope-to")},
		{SourceTo, strings.Split(w.top.get("to"), ",")},
	}
	for _, a := range addrs {
		for _, v := range a.values {
			if t, unsub, ok := w.match.address(v); ok {
				set(a.src, t, unsub)
				return
			}
		}
	}
	if w.returned != nil {
		if t, ok := w.match.messageID(w.returned.get("message-id")); ok {
			set(SourceReturnedMessageID, t, false)
			return
		}
	}
	for _, h := range []header{w.top, w.returned} {
		if t, ok := w.match.messageIDs(h.get("in-reply-to")); ok {
			set(SourceInReplyTo, t, false)
			return
		}
		if t, ok := w.match.messageIDs(h.get("references")); ok {
			set(SourceReferences, t, false)
			return
		}
	}
	if t, ok := w.match.quoted(text); ok {
		set(SourceQuoted, t, false)
		return
	}
	if w.quoted != "" {
		set(SourceQuoted, w.quoted, false)
	}
}

// ours returns a test for the addresses that are the sender's side of the
// exchange (the bounce address, the returned message's sender, the
// reporting daemon), which a text bounce may name but are no recipients.
// returned is the returned message's header, attached or quoted.
func (m *Message) ours(w *walker, opts Options, returned header) func(string) bool {
	var known []string
	add := func(vs ...string) {
		for _, v := range vs {
			for _, a := range strings.Split(v, ",") {
				if a = normalizeAddress(bareAddress(a)); a != "" {
					known = append(known, a)
				}
			}
		}
	}
	add(opts.OriginalRecipient, opts.Recipient, w.top.get("to"), m.From)
	if returned != nil {
		add(returned.get("from"), returned.get("return-path"), returned.get("sender"))
	}
	return func(a string) bool {
		if _, _, ok := w.match.address(a); ok {
			return true
		}
		for _, k := range known {
			if strings.EqualFold(a, k) {
				return true
			}
		}
		return false
	}
}

// fillDiagnostics gives DSN recipients without a Diagnostic-Code the
// diagnostic the text part has for the same address.
func fillDiagnostics(rcpts, fromText []Recipient) {
	for i := range rcpts {
		r := &rcpts[i]
		if r.Diagnostic != "" {
			continue
		}
		for _, t := range fromText {
			if strings.EqualFold(t.Address, r.Address) || r.Original != "" && strings.EqualFold(t.Address, r.Original) {
				r.Diagnostic, r.SMTPCode = t.Diagnostic, t.SMTPCode
				break
			}
		}
	}
}

// classify sets the class of every recipient and of the message.
func (m *Message) classify(rep textReport) {
	for i := range m.Recipients {
		r := &m.Recipients[i]
		if m.Format == FormatARF {
			r.Class = feedbackClass(m.Feedback.Type)
			continue
		}
		r.Class = classify(r.Action, r.Status, r.SMTPCode, foldQuotes(asciiLower(r.Diagnostic)))
		if r.Class == Unknown && len(m.Recipients) == 1 && rep.region != "" {
			r.Class = classify(r.Action, r.Status, r.SMTPCode, rep.region)
		}
	}
	switch {
	case m.Unsubscribe:
		m.Class = Unsubscribe
	case m.Format == FormatARF:
		m.Class = feedbackClass(m.Feedback.Type)
	case m.Format == FormatAutoReply:
		m.Class = AutoReply
	default:
		m.Class = Unknown
		for _, r := range m.Recipients {
			if r.Class.worse(m.Class) {
				m.Class = r.Class
			}
		}
	}
}

// problem says in one line what was wrong, the most telling thing first.
func (m *Message) problem(w *walker) string {
	switch {
	case m.Size == 0:
		return "empty message"
	case m.Unsubscribe, m.Format == FormatAutoReply, m.Format == FormatARF:
	case m.Format == FormatUnknown:
		if w.defect != "" {
			return "not a bounce (" + w.defect + ")"
		}
		return "not a bounce: no delivery or feedback report, no known bounce text"
	case len(m.Recipients) == 0 && (m.Format == FormatDSN || m.Format == FormatGlobalDSN):
		return "delivery report without recipients"
	case len(m.Recipients) == 0:
		return "bounce text without a recipient address"
	}
	if w.defect != "" {
		return w.defect
	}
	if w.nul {
		return "NUL byte in the message"
	}
	return ""
}

// messageID returns a Message-ID field's value without angle brackets.
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if open := strings.IndexByte(v, '<'); open >= 0 {
		if end := strings.IndexByte(v[open:], '>'); end > 0 {
			v = v[open+1 : open+end]
		}
	}
	return clean(v, maxName)
}

// autoReplySubjects are words of automatic reply subjects (Exchange,
// Outlook, Gmail, common vacation programs) in several languages.
var autoReplySubjects = []string{
	"auto:", "automatic reply", "auto reply", "autoreply", "auto-reply", "autoresponse",
	"auto response", "auto-response", "out of office", "out of the office", "abwesenheit",
	"réponse automatique", "respuesta automática", "risposta automatica", "automatisch antwoord",
	"vacation", "on leave",
}

// autoReply reports whether a message that is no bounce is an automatic
// reply: Auto-Submitted other than "no" (RFC 3834 §5), X-Autoreply,
// X-Autorespond, Precedence: auto_reply, or an auto-reply subject.
func autoReply(h header, subject string) bool {
	if v := asciiLower(strings.TrimSpace(h.get("auto-submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return true
	}
	for _, name := range []string{"x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply"} {
		if vs := h.all(name); len(vs) > 0 && !strings.EqualFold(strings.TrimSpace(vs[0]), "no") {
			return true
		}
	}
	if p := asciiLower(h.get("precedence")); strings.Contains(p, "auto_reply") || strings.Contains(p, "auto-reply") {
		return true
	}
	return hasPhrase(strings.ToLower(subject), autoReplySubjects)
}
