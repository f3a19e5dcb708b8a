package bounce

import "fmt"

// Class is what a returned message says about one recipient (or, as
// Message.Class, about the message): the caller decides what to do with it.
// Names, meanings and severity come from classes, the one table of them.
type Class uint8

// The classes, in the order of the classes table.
const (
	Unknown     Class = iota // could not be understood; kept, never escalated
	Hard                     // the address does not exist or is disabled
	Soft                     // a temporary or unexplained failure
	Policy                   // refused for who sent it or what it held
	Delay                    // not delivered yet, still being tried
	AutoReply                // an automatic reply (RFC 3834), not a failure
	Complaint                // an abuse report (RFC 5965)
	Unsubscribe              // the recipient asked to hear no more
)

// classes is the table of Class: its name (String, ParseClass, JSON) and its
// severity, which picks Message.Class among the recipients' classes.
var classes = [...]struct {
	name     string
	severity int
}{
	Unknown:     {"unknown", 0},
	Hard:        {"hard", 6},
	Soft:        {"soft", 4},
	Policy:      {"policy", 5},
	Delay:       {"delay", 3},
	AutoReply:   {"autoreply", 2},
	Complaint:   {"complaint", 7},
	Unsubscribe: {"unsubscribe", 8},
}

// String returns the class name: "hard", "soft", ….
func (c Class) String() string {
	if int(c) < len(classes) {
		return classes[c].name
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// ParseClass returns the Class named s (as String writes it).
func ParseClass(s string) (Class, error) {
	for c, row := range classes {
		if row.name == s {
			return Class(c), nil
		}
	}
	return Unknown, fmt.Errorf("bounce: unknown class %q", s)
}

// MarshalText writes the class name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a class name.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	*c = v
	return err
}

// worse reports whether c is more severe than d.
func (c Class) worse(d Class) bool { return classes[c].severity > classes[d].severity }

// Format is the kind of returned message that was recognised.
type Format uint8

// The formats, in the order of the formats table.
const (
	FormatUnknown   Format = iota // nothing recognised
	FormatDSN                     // RFC 3464 message/delivery-status
	FormatGlobalDSN               // RFC 6533 message/global-delivery-status
	FormatARF                     // RFC 5965 message/feedback-report
	FormatAutoReply               // RFC 3834 automatic reply or vacation message
	FormatQmail                   // qmail's QSBMF text
	FormatExim                    // Exim's bounce and delay texts
	FormatExchange                // Exchange / Office 365 text NDRs
	FormatGmail                   // Gmail's text bounces
	FormatYahoo                   // Yahoo's text bounces
	FormatSendmail                // Sendmail's text bounces
	FormatPostfix                 // Postfix's text bounces (before DSN)
	FormatText                    // another "Mail Delivery System" / MAILER-DAEMON text
)

var formats = [...]string{
	FormatUnknown:   "unknown",
	FormatDSN:       "rfc3464",
	FormatGlobalDSN: "rfc6533",
	FormatARF:       "rfc5965",
	FormatAutoReply: "rfc3834",
	FormatQmail:     "qmail",
	FormatExim:      "exim",
	FormatExchange:  "exchange",
	FormatGmail:     "gmail",
	FormatYahoo:     "yahoo",
	FormatSendmail:  "sendmail",
	FormatPostfix:   "postfix",
	FormatText:      "text",
}

// String returns the format name: "rfc3464", "exim", ….
func (f Format) String() string { return enumName(formats[:], f, "Format") }

// ParseFormat returns the Format named s (as String writes it).
func ParseFormat(s string) (Format, error) { return enumParse[Format](formats[:], "format", s) }

// MarshalText writes the format name.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads a format name.
func (f *Format) UnmarshalText(b []byte) (err error) {
	*f, err = ParseFormat(string(b))
	return err
}

// Source is where the VERP token was found. The order of the constants is
// the order in which Parse looks.
type Source uint8

// The token sources, in the order Parse tries them.
const (
	SourceNone              Source = iota // no token
	SourceOriginalRecipient               // Options.OriginalRecipient ($ORIGINAL_RECIPIENT)
	SourceRecipient                       // Options.Recipient ($RECIPIENT)
	SourceDeliveredTo                     // a Delivered-To field
	SourceXOriginalTo                     // an X-Original-To field
	SourceEnvelopeTo                      // an Envelope-To field (Exim)
	SourceTo                              // the To field
	SourceReturnedMessageID               // Message-ID of the returned message (message/rfc822, text/rfc822-headers)
	SourceInReplyTo                       // In-Reply-To of the message (auto-replies, Gmail DSNs) or of the returned one
	SourceReferences                      // References of the message or of the returned one
	SourceQuoted                          // a Message-ID quoted in the text of the message
)

var sources = [...]string{
	SourceNone:              "",
	SourceOriginalRecipient: "original-recipient",
	SourceRecipient:         "recipient",
	SourceDeliveredTo:       "delivered-to",
	SourceXOriginalTo:       "x-original-to",
	SourceEnvelopeTo:        "envelope-to",
	SourceTo:                "to",
	SourceReturnedMessageID: "returned-message-id",
	SourceInReplyTo:         "in-reply-to",
	SourceReferences:        "references",
	SourceQuoted:            "quoted-message-id",
}

// String returns the source name: "delivered-to", …; "" for SourceNone.
func (s Source) String() string { return enumName(sources[:], s, "Source") }

// ParseSource returns the Source named s (as String writes it).
func ParseSource(s string) (Source, error) { return enumParse[Source](sources[:], "source", s) }

// MarshalText writes the source name.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a source name.
func (s *Source) UnmarshalText(b []byte) (err error) {
	*s, err = ParseSource(string(b))
	return err
}

func enumName[T ~uint8](names []string, v T, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

func enumParse[T ~uint8](names []string, kind, s string) (T, error) {
	for i, n := range names {
		if n == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("bounce: unknown %s %q", kind, s)
}
