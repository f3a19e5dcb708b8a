package notify

import (
	"errors"
	"time"
)

// This file holds the declarations that message composition and the
// transports (built apart from the planner) provide: the letter, what the
// templates see, and what a transport reports. Their implementations
// replace this file.

// Letter is one composed message, ready to hand to a transport.
type Letter struct {
	Token           string
	EnvelopeFrom    string
	From            string
	ReplyTo         string
	To              string
	Subject         string
	MessageID       string
	Date            time.Time
	ListUnsubscribe string
	Text            string
	HTML            string
}

// MessageData is what the templates see of one message.
type MessageData struct {
	Token    string
	To       string
	Source   string // the contact source: rname, hostmaster, postmaster, override
	Findings []FindingData
}

// FindingData is what the templates see of one finding.
type FindingData struct {
	Zone        string
	Server      string
	Port        uint16
	ServerNames []string
	Status      string
	Reason      string
	Count       int64
	FirstSeen   time.Time
	LastSeen    time.Time
	ConfirmedAt time.Time
}

// Result is what became of a message handed to a transport.
type Result uint8

// The results of Transport.Send.
const (
	ResultSent     Result = iota + 1 // accepted (250 after DATA; sendmail exit 0)
	ResultDeferred                   // a 4xx, or the relay could not be reached
	ResultRejected                   // a 5xx for the recipient (sendmail EX_NOUSER, EX_NOHOST)
	ResultUnknown                    // handed over, but no answer (a timeout after DATA)
)

// Delivery is a transport's answer to one message.
type Delivery struct {
	Result   Result
	Code     int
	Enhanced string
	Detail   string
}

// ErrTLSUnavailable is matched (errors.Is) by Transport.Open's error when
// smtp_tls is mandatory and the relay does not offer STARTTLS.
var ErrTLSUnavailable = errors.New("notify: the relay does not offer STARTTLS")
