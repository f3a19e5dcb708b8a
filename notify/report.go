package notify

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/lamers-dev/lamers/notify/bounce"
)

// ComposeReport makes the letter of a report to the operator — the digest
// (package notify/digest) — from its rendered subject and parts: From and
// Reply-To from the settings, the VERP envelope sender and the Message-ID
// of a new token, the Date from Clock, Auto-Submitted and Precedence as in
// every letter, and no List-Unsubscribe (Letter.Report). The subject is
// checked as a composed one is (one line of text, its white space
// collapsed); to must be a plain address. It needs notify.from and
// notify.bounce_address.
func (w *LetterWriter) ComposeReport(to, subject, text, html string) (Letter, error) {
	fail := func(err error) (Letter, error) {
		return Letter{}, &composeError{what: "report", to: to, err: err}
	}
	switch {
	case w.from == "" || w.bounce == nil:
		return fail(fmt.Errorf("sending needs notify.from and notify.bounce_address"))
	case text == "" || html == "":
		return fail(fmt.Errorf("an empty part"))
	}
	if reason := plainAddress(to); reason != "" {
		return fail(fmt.Errorf("recipient: %s", reason))
	}
	subject, err := headerText(subject)
	if err != nil {
		return fail(fmt.Errorf("subject: %w", err))
	}
	token, err := bounce.NewToken(rand.Reader)
	if err != nil {
		return fail(err)
	}
	return Letter{Token: token, EnvelopeFrom: w.bounce.verp(token), From: w.from, ReplyTo: w.replyTo, To: to,
		Subject: subject, MessageID: w.bounce.messageID(token), Date: w.Clock().UTC().Truncate(time.Second),
		Text: text, HTML: html, Report: true}, nil
}
