package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lamers-dev/lamers/notify"
)

func TestNewMailer(t *testing.T) {
	data := notify.MessageData{To: "hostmaster@example.com", Source: "hostmaster", Findings: []notify.FindingData{{
		Zone: "example.com.", Server: "192.0.2.1", Port: 53, Status: "lame", Reason: "refused",
		FirstSeen: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 7, 8, 0, 0, 0, 0, time.UTC), Count: 3}}}

	// A dry run needs neither from and bounce_address nor a transport.
	composer, transport, name, err := newMailer(defaultNotify(), false)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := composer.Compose(data); err != nil || transport != nil || name != "smtp" || l.Subject == "" {
		t.Errorf("dry run: transport %v, name %q, letter %+v, %v", transport, name, l, err)
	}

	cfg := defaultNotify()
	cfg.From, cfg.BounceAddress = "DNS health <dns-health@resolver.example.net>", "lamers-bounces@resolver.example.net"
	_, transport, name, err = newMailer(cfg, true)
	if _, ok := transport.(*notify.SMTP); !ok || name != "smtp" || err != nil {
		t.Errorf("smtp: %T, %q, %v", transport, name, err)
	}
	cfg.Transport = "sendmail"
	_, transport, name, err = newMailer(cfg, true)
	if _, ok := transport.(*notify.Sendmail); !ok || name != "sendmail" || err != nil {
		t.Errorf("sendmail: %T, %q, %v", transport, name, err)
	}
}

// What would fail at the first message fails at start, naming its cause.
func TestNewMailerErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "notify.txt.tmpl"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	sending := defaultNotify()
	sending.From, sending.BounceAddress = "dns-health@resolver.example.net", "lamers-bounces@resolver.example.net"
	tests := []struct {
		name string
		edit func(*NotifyConfig)
		want string
	}{
		{"broken template", func(c *NotifyConfig) { c.TemplatesDir = write("broken", "{{.To}\n") }, "broken/notify.txt.tmpl"},
		{"unknown field", func(c *NotifyConfig) {
			c.TemplatesDir = write("field", `{{define "notify subject"}}Lame{{end}}{{range .Findings}}{{.Zon}}{{end}}`+"\n")
		}, "Zon"},
		{"bounce address with +", func(c *NotifyConfig) { c.BounceAddress = "lamers+x@resolver.example.net" }, "bounce_address"},
		{"no password file", func(c *NotifyConfig) {
			c.SMTPUsername, c.SMTPPasswordFile = "lamers", filepath.Join(dir, "none")
		}, "smtp_password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sending
			tt.edit(&cfg)
			if _, _, _, err := newMailer(cfg, true); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newMailer: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
