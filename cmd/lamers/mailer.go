package main

import (
	"fmt"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/notify/digest"
	"github.com/lamers-dev/lamers/templates"
)

// mailer is what notify and digest write and send letters with.
type mailer struct {
	// templates are the parsed templates, writer the letter writer over
	// them.
	templates *templates.Set
	writer    *notify.LetterWriter
	// transport is nil in a dry run; transportName is recorded with each
	// message.
	transport     notify.Transport
	transportName string
}

// newMailer builds what notify and digest write and send letters with,
// from [notify]: the templates (templates_dir over the embedded ones), the
// letter writer and the SMTP or sendmail transport, with the transport's
// name for the outbox. The templates are parsed and tried on a sample
// message and a sample digest here, before anything is planned, so that a
// broken one stops the command at once. A dry run (send false) needs no
// transport: none is built, so a relay setting that is still wrong does
// not stop it.
func newMailer(cfg NotifyConfig, send bool) (*mailer, error) {
	set, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if err := digest.CheckTemplates(set); err != nil {
		return nil, err
	}
	w, err := notify.NewLetterWriter(set, notify.Settings{From: cfg.From, ReplyTo: cfg.ReplyTo, BounceAddress: cfg.BounceAddress})
	if err != nil {
		return nil, err
	}
	m := &mailer{templates: set, writer: w, transportName: cfg.Transport}
	if !send {
		return m, nil
	}
	if m.transport, err = newTransport(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// newTransport builds the transport [notify] names.
func newTransport(cfg NotifyConfig) (notify.Transport, error) {
	if cfg.Transport == "sendmail" {
		return notify.NewSendmail(cfg.SendmailPath), nil
	}
	policy, err := notify.ParseTLSPolicy(cfg.SMTPTLS)
	if err != nil {
		return nil, err
	}
	return notify.NewSMTP(notify.SMTPConfig{
		Host:         cfg.SMTPHost,
		Port:         cfg.SMTPPort,
		TLS:          policy,
		Username:     cfg.SMTPUsername,
		PasswordFile: cfg.SMTPPasswordFile,
	})
}
