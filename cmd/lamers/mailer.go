package main

import (
	"fmt"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/templates"
)

// Stand-ins for notify.from and notify.bounce_address in a dry run that
// has neither: such letters are only shown, never sent, and the names are
// reserved (RFC 2606 §2).
const (
	dryRunFrom          = "lamers <lamers@example.invalid>"
	dryRunBounceAddress = "lamers-bounces@example.invalid"
)

// newMailer builds what notify writes and sends letters with, from
// [notify]: the templates (templates_dir over the embedded ones), the
// composer and, to send, the SMTP or sendmail transport, with the
// transport's name for the outbox. The templates are parsed and tried on a
// sample message here, before anything is planned, so that a broken one
// stops the command at once.
func newMailer(cfg NotifyConfig, send bool) (notify.Composer, notify.Transport, string, error) {
	set, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, nil, "", err
	}
	if err := notify.CheckTemplates(set); err != nil {
		return nil, nil, "", err
	}
	settings := notify.Settings{From: cfg.From, ReplyTo: cfg.ReplyTo, BounceAddress: cfg.BounceAddress}
	if !send && settings.From == "" {
		settings.From = dryRunFrom
	}
	if !send && settings.BounceAddress == "" {
		settings.BounceAddress = dryRunBounceAddress
	}
	if err := settings.Validate(); err != nil {
		return nil, nil, "", err
	}
	composer := &notify.TemplateComposer{Templates: set, Settings: settings}
	if !send {
		return composer, nil, cfg.Transport, nil
	}
	var transport notify.Transport
	switch cfg.Transport {
	case "sendmail":
		transport, err = notify.NewSendmail(cfg.SendmailPath, 0)
	case "smtp":
		var mode notify.TLSMode
		if mode, err = notify.ParseTLSMode(cfg.SMTPTLS); err == nil {
			transport, err = notify.NewSMTP(notify.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: mode,
				Username: cfg.SMTPUsername, PasswordFile: cfg.SMTPPasswordFile})
		}
	default:
		err = fmt.Errorf("config: notify.transport: %q is not smtp or sendmail", cfg.Transport)
	}
	if err != nil {
		return nil, nil, "", err
	}
	return composer, transport, cfg.Transport, nil
}
