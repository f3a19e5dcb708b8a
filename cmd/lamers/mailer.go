package main

import (
	"errors"

	"github.com/lamers-dev/lamers/notify"
)

// newMailer builds what notify writes and sends letters with, from
// [notify]: the templates (templates_dir over the embedded ones), the
// composer and the SMTP or sendmail transport, with the transport's name
// for the outbox. The templates are parsed here, before anything is
// planned, so that a broken one stops the command at once.
//
// Message composition and the transports are built apart from the planner
// (package notify's Compose, SMTP and sendmail transports, package
// templates); until they are part of this binary there is nothing to
// write letters with, and notify says so.
func newMailer(cfg NotifyConfig, send bool) (notify.Composer, notify.Transport, string, error) {
	return nil, nil, "", errors.New("notify: this binary has no message templates or transports")
}
