package main

import (
	"fmt"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/templates"
)

// newMailer builds what notify writes and sends letters with, from
// [notify]: the templates (templates_dir over the embedded ones), the
// letter writer and the SMTP or sendmail transport, with the transport's
// name for the outbox. The templates are parsed and tried on a sample
// message here, before anything is planned, so that a broken one stops the
// command at once. A dry run (send false) needs no transport: none is
// built, so a relay setting that is still wrong does not stop it.
func newMailer(cfg NotifyConfig, send bool) (notify.Composer, notify.Transport, string, error) {
	set, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("notify: %w", err)
	}
	w, err := notify.NewLetterWriter(set, notify.Settings{From: cfg.From, ReplyTo: cfg.ReplyTo, BounceAddress: cfg.BounceAddress})
	if err != nil {
		return nil, nil, "", err
	}
	if !send {
		return w, nil, cfg.Transport, nil
	}
	t, err := newTransport(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	return w, t, cfg.Transport, nil
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
