package main

import (
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/parser"
)

// NotifyConfig is [notify]: whom lamers mails, how and how often
// (docs/notify.md).
type NotifyConfig struct {
	// Send makes `lamers notify` send without --send.
	Send bool `toml:"send"`
	// From and ReplyTo are the From and Reply-To headers: an address,
	// with a display name or without.
	From    string `toml:"from"`
	ReplyTo string `toml:"reply_to"`
	// BounceAddress is LOCAL@DOMAIN; every message's envelope sender is
	// LOCAL+TOKEN@DOMAIN (VERP).
	BounceAddress string `toml:"bounce_address"`
	// Transport is "smtp" (a relay) or "sendmail" (a local binary).
	Transport        string `toml:"transport"`
	SMTPHost         string `toml:"smtp_host"`
	SMTPPort         int    `toml:"smtp_port"`
	SMTPTLS          string `toml:"smtp_tls"`
	SMTPUsername     string `toml:"smtp_username"`
	SMTPPasswordFile string `toml:"smtp_password_file"`
	SendmailPath     string `toml:"sendmail_path"`
	// MaxPerRun, RecipientInterval and FindingInterval are the limits of
	// docs/notify.md, section 3.
	MaxPerRun         int      `toml:"max_per_run"`
	RecipientInterval Duration `toml:"recipient_interval"`
	FindingInterval   Duration `toml:"finding_interval"`
	// MaxVerdictAge is how old a verdict may be before it is probed again
	// ahead of a message.
	MaxVerdictAge       Duration `toml:"max_verdict_age"`
	CheckDeliverability bool     `toml:"check_deliverability"`
	// TemplatesDir holds templates that replace the embedded ones, file
	// by file; "" uses the embedded ones.
	TemplatesDir string `toml:"templates_dir"`
	// Override are the [[notify.override]] tables.
	Override []NotifyOverride `toml:"override"`
}

// NotifyOverride is one [[notify.override]]: the last resort for a zone
// and the zones below it.
type NotifyOverride struct {
	Zone string `toml:"zone"`
	To   string `toml:"to"`
}

// defaultNotify is [notify] when nothing is set.
func defaultNotify() NotifyConfig {
	return NotifyConfig{
		Transport:           "smtp",
		SMTPHost:            "localhost",
		SMTPPort:            25,
		SMTPTLS:             "mandatory",
		SendmailPath:        "/usr/sbin/sendmail",
		MaxPerRun:           100,
		RecipientInterval:   Duration(168 * time.Hour),
		FindingInterval:     Duration(720 * time.Hour),
		MaxVerdictAge:       Duration(6 * time.Hour),
		CheckDeliverability: true,
	}
}

// smtpTLSModes are the values of notify.smtp_tls.
var smtpTLSModes = []string{"mandatory", "opportunistic", "none", "implicit"}

// validateNotify checks [notify] field by field.
func (c *Config) validateNotify() error {
	n := &c.Notify
	var err error
	for _, h := range []struct {
		key   string
		value *string
	}{{"from", &n.From}, {"reply_to", &n.ReplyTo}} {
		if *h.value, err = checkHeaderAddress(h.key, *h.value); err != nil {
			return fmt.Errorf("config: notify.%s: %w", h.key, err)
		}
	}
	if n.BounceAddress, err = checkBounceAddress(n.BounceAddress); err != nil {
		return fmt.Errorf("config: notify.bounce_address: %w", err)
	}
	if err := n.validateTransport(); err != nil {
		return err
	}
	switch {
	case n.MaxPerRun < 1:
		return fmt.Errorf("config: notify.max_per_run: %d is not a positive number", n.MaxPerRun)
	case n.RecipientInterval < 0:
		return fmt.Errorf("config: notify.recipient_interval: %v is negative", time.Duration(n.RecipientInterval))
	case n.FindingInterval < 0:
		return fmt.Errorf("config: notify.finding_interval: %v is negative", time.Duration(n.FindingInterval))
	case n.MaxVerdictAge <= 0:
		return fmt.Errorf("config: notify.max_verdict_age: %v is not positive", time.Duration(n.MaxVerdictAge))
	}
	_, err = n.overrides()
	return err
}

// validateTransport checks the transport and the keys it reads.
func (n *NotifyConfig) validateTransport() error {
	switch {
	case n.Transport != "smtp" && n.Transport != "sendmail":
		return fmt.Errorf("config: notify.transport: %q is not smtp or sendmail", n.Transport)
	case n.SMTPHost == "" || strings.ContainsAny(n.SMTPHost, " \t\r\n/"):
		return fmt.Errorf("config: notify.smtp_host: %q is not a host name or address", n.SMTPHost)
	case n.SMTPPort < 1 || n.SMTPPort > 65535:
		return fmt.Errorf("config: notify.smtp_port: %d is not a port number", n.SMTPPort)
	case !slices.Contains(smtpTLSModes, n.SMTPTLS):
		return fmt.Errorf("config: notify.smtp_tls: %q is not one of %s", n.SMTPTLS, strings.Join(smtpTLSModes, ", "))
	case n.SMTPUsername != "" && n.SMTPPasswordFile == "":
		return errors.New("config: notify.smtp_password_file: needed with smtp_username (the password is never in the config)")
	case n.SMTPUsername == "" && n.SMTPPasswordFile != "":
		return errors.New("config: notify.smtp_username: needed with smtp_password_file")
	case !filepath.IsAbs(n.SendmailPath):
		return fmt.Errorf("config: notify.sendmail_path: %q is not an absolute path", n.SendmailPath)
	}
	return nil
}

// overrides returns [[notify.override]] checked, zones canonical.
func (n *NotifyConfig) overrides() ([]notify.Override, error) {
	var out []notify.Override
	seen := map[string]int{}
	for i, o := range n.Override {
		zone, err := parser.CanonicalName(o.Zone)
		if err != nil || o.Zone == "" {
			return nil, fmt.Errorf("config: notify.override[%d].zone: %q is not a zone name", i, o.Zone)
		}
		if j, dup := seen[zone]; dup {
			return nil, fmt.Errorf("config: notify.override[%d].zone: %s is already notify.override[%d]", i, zone, j)
		}
		seen[zone] = i
		to, err := notify.CheckAddress(o.To)
		if err != nil {
			return nil, fmt.Errorf("config: notify.override[%d].to: %w", i, err)
		}
		out = append(out, notify.Override{Zone: zone, To: to})
	}
	return out, nil
}

// checkHeaderAddress checks a From or Reply-To value: "" or one address,
// with a display name or without (RFC 5322 §3.4), as the letter writer
// checks it; it returns the value the letter writer is given
// (notify.CheckMailbox: its address as notify.CheckAddress returns it).
func checkHeaderAddress(key, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return "", fmt.Errorf("%q is not an address: %w", s, err)
	}
	return notify.CheckMailbox(key, s)
}

// checkBounceAddress checks notify.bounce_address: "" or a bare
// LOCAL@DOMAIN whose local part has no "+", the delimiter of the token, as
// the letter writer checks it; it returns the address as
// notify.CheckAddress does.
func checkBounceAddress(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	addr, err := notify.CheckAddress(s)
	if err != nil {
		return "", err
	}
	if strings.Contains(addr[:strings.LastIndexByte(addr, '@')], "+") {
		return "", fmt.Errorf("%q: the local part must not hold \"+\", which starts the token", s)
	}
	if err := notify.CheckBounceAddress(addr); err != nil {
		return "", err
	}
	return addr, nil
}
