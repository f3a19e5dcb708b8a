package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantErr string // substring; "" = valid
		check   func(t *testing.T, c Config)
	}{
		{name: "empty file keeps the defaults", toml: "", check: func(t *testing.T, c Config) {
			// "ignore_servers = []" shows the default, nil.
			if diff := cmp.Diff(DefaultConfig(), c, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("differs from the defaults (-want +got):\n%s", diff)
			}
		}},
		{name: "top-level, [scan], [tail] and [[sources]] keys", toml: `
db = "/var/lib/lamers/lamers.db"
log_level = "debug"
timezone = "Europe/Amsterdam"
retention_days = 30
[scan]
format = "bind"
ignore_servers = ["192.0.2.53", "10.0.0.0/8", "2001:db8:53::/48"]
[tail]
poll = true
from_start = true
rotated_idle = "90s"
[[sources]]
path = "/var/log/named/lame.log"
format = "bind"
[[sources]]
path = "/var/log/unbound/unbound.log"
`, check: func(t *testing.T, c Config) {
			if c.DB != "/var/lib/lamers/lamers.db" || c.LogLevel != "debug" || c.Timezone != "Europe/Amsterdam" || c.RetentionDays != 30 || c.Scan.Format != "bind" {
				t.Errorf("got %+v", c)
			}
			if ps, err := c.ignoreServers(); err != nil || fmt.Sprint(ps) != "[192.0.2.53/32 10.0.0.0/8 2001:db8:53::/48]" {
				t.Errorf("ignore_servers = %v, %v", ps, err)
			}
			want := TailConfig{Poll: true, FromStart: true, RotatedIdle: Duration(90 * time.Second)}
			if c.Tail != want {
				t.Errorf("tail = %+v, want %+v", c.Tail, want)
			}
			wantSrc := []SourceConfig{{"/var/log/named/lame.log", "bind"}, {"/var/log/unbound/unbound.log", ""}}
			if diff := cmp.Diff(wantSrc, c.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
		}},
		{name: "bad source format", toml: "[[sources]]\npath = \"a.log\"\n[[sources]]\npath = \"b.log\"\nformat = \"x\"\n",
			wantErr: `sources[1].format: "x" is not one of auto, bind, unbound, unbound-infra`},
		{name: "source without path", toml: "[[sources]]\nformat = \"bind\"\n", wantErr: "sources[0].path: must not be empty"},
		{name: "source twice", toml: "[[sources]]\npath = \"/l/a.log\"\n[[sources]]\npath = \"/l/./a.log\"\n", wantErr: `sources[1].path: "/l/./a.log" is already sources[0]`},
		{name: "unknown source key", toml: "[[sources]]\npath = \"a\"\nglob = \"*\"\n", wantErr: "unknown key sources.glob"},
		// tail.rotated_idle is a Duration like the others: the decoder names
		// the key and the value.
		{name: "bad rotated_idle", toml: "[tail]\nrotated_idle = \"soon\"\n", wantErr: `(last key "tail.rotated_idle"): "soon" is not a duration like 30m or 24h`},
		{name: "zero rotated_idle", toml: "[tail]\nrotated_idle = \"0s\"\n", wantErr: `tail.rotated_idle: 0s is not positive`},
		{name: "negative rotated_idle", toml: "[tail]\nrotated_idle = \"-1m\"\n", wantErr: `tail.rotated_idle: -1m0s is not positive`},
		{name: "unknown key", toml: "dbpath = \"x\"\n", wantErr: "unknown key dbpath"},
		{name: "unknown nested key", toml: "[scan]\nformats = \"bind\"\n", wantErr: "unknown key scan.formats"},
		{name: "bad log level", toml: `log_level = "loud"`, wantErr: `log_level: "loud" is not one of`},
		{name: "bad time zone", toml: `timezone = "Mars/Olympus"`, wantErr: `timezone: "Mars/Olympus" is not a time zone name`},
		{name: "bad retention", toml: `retention_days = 0`, wantErr: "retention_days: 0 is not"},
		{name: "bad format", toml: "[scan]\nformat = \"sendmail\"\n", wantErr: "scan.format"},
		{name: "wrong type", toml: `retention_days = "many"`, wantErr: "retention_days"},
		{name: "empty db", toml: `db = ""`, wantErr: "db: must not be empty"},
		{name: "bad ignored server", toml: "[scan]\nignore_servers = [\"192.0.2.53\", \"10.0.0.0/33\"]\n",
			wantErr: `scan.ignore_servers[1]: "10.0.0.0/33" is not an IP address or CIDR prefix`},
		{name: "ignored server with host bits", toml: "[scan]\nignore_servers = [\"10.1.2.3/8\"]\n",
			wantErr: `scan.ignore_servers[0]: "10.1.2.3/8" has host bits set (10.0.0.0/8?)`},
		{name: "ignored server with a zone", toml: "[scan]\nignore_servers = [\"fe80::1%eth0\"]\n",
			wantErr: `scan.ignore_servers[0]: "fe80::1%eth0" is not an IP address or CIDR prefix`},
		{name: "[notify] and [[notify.override]]", toml: `
[notify]
send = true
from = "DNS health <dns-health@resolver.example.net>"
reply_to = "noc@resolver.example.net"
bounce_address = "lamers-bounces@resolver.example.net"
transport = "sendmail"
smtp_host = "relay.example.net"
smtp_port = 587
smtp_tls = "opportunistic"
smtp_username = "lamers"
smtp_password_file = "/etc/lamers/smtp-password"
sendmail_path = "/usr/lib/sendmail"
max_per_run = 20
recipient_interval = "336h"
finding_interval = "1440h"
max_verdict_age = "1h"
check_deliverability = false
templates_dir = "/etc/lamers/templates"
[[notify.override]]
zone = "Example.COM"
to = "dns-team@example.com"
[[notify.override]]
zone = "example.org."
to = "dns-team@example.org"
`, check: func(t *testing.T, c Config) {
			want := NotifyConfig{Send: true, From: "DNS health <dns-health@resolver.example.net>", ReplyTo: "noc@resolver.example.net",
				BounceAddress: "lamers-bounces@resolver.example.net", Transport: "sendmail", SMTPHost: "relay.example.net",
				SMTPPort: 587, SMTPTLS: "opportunistic", SMTPUsername: "lamers", SMTPPasswordFile: "/etc/lamers/smtp-password",
				SendmailPath: "/usr/lib/sendmail", MaxPerRun: 20, RecipientInterval: Duration(336 * time.Hour),
				FindingInterval: Duration(1440 * time.Hour), MaxVerdictAge: Duration(time.Hour), TemplatesDir: "/etc/lamers/templates",
				Override: []NotifyOverride{{"Example.COM", "dns-team@example.com"}, {"example.org.", "dns-team@example.org"}}}
			if diff := cmp.Diff(want, c.Notify); diff != "" {
				t.Errorf("notify (-want +got):\n%s", diff)
			}
			if os, err := c.Notify.overrides(); err != nil || os[0].Zone != "example.com." {
				t.Errorf("overrides %+v, %v", os, err)
			}
		}},
		{name: "bad from", toml: "[notify]\nfrom = \"DNS health\"\n", wantErr: `notify.from: "DNS health" is not an address`},
		{name: "from with a header in it", toml: "[notify]\nfrom = \"a@example.net\\r\\nBcc: b@example.net\"\n", wantErr: `notify.from:`},
		{name: "bad reply_to", toml: "[notify]\nreply_to = \"noc@localhost\"\n", wantErr: `notify.reply_to: notify: address "noc@localhost": domain has fewer than two labels`},
		{name: "bounce address with a display name", toml: "[notify]\nbounce_address = \"Bounces <b@example.net>\"\n", wantErr: `notify.bounce_address: notify: address`},
		{name: "bounce address with the delimiter", toml: "[notify]\nbounce_address = \"lamers+bounces@example.net\"\n", wantErr: `notify.bounce_address: "lamers+bounces@example.net": the local part must not hold "+"`},
		{name: "bad transport", toml: "[notify]\ntransport = \"lmtp\"\n", wantErr: `notify.transport: "lmtp" is not smtp or sendmail`},
		{name: "bad smtp_host", toml: "[notify]\nsmtp_host = \"\"\n", wantErr: `notify.smtp_host: "" is not a host name or address`},
		{name: "bad smtp_port", toml: "[notify]\nsmtp_port = 0\n", wantErr: `notify.smtp_port: 0 is not a port number`},
		{name: "bad smtp_tls", toml: "[notify]\nsmtp_tls = \"starttls\"\n", wantErr: `notify.smtp_tls: "starttls" is not one of mandatory, opportunistic, none, implicit`},
		{name: "username without a password file", toml: "[notify]\nsmtp_username = \"lamers\"\n", wantErr: `notify.smtp_password_file: needed with smtp_username`},
		{name: "password file without a username", toml: "[notify]\nsmtp_password_file = \"/p\"\n", wantErr: `notify.smtp_username: needed with smtp_password_file`},
		{name: "relative sendmail_path", toml: "[notify]\nsendmail_path = \"sendmail\"\n", wantErr: `notify.sendmail_path: "sendmail" is not an absolute path`},
		{name: "bad max_per_run", toml: "[notify]\nmax_per_run = 0\n", wantErr: `notify.max_per_run: 0 is not a positive number`},
		{name: "negative recipient_interval", toml: "[notify]\nrecipient_interval = \"-1h\"\n", wantErr: `notify.recipient_interval: -1h0m0s is negative`},
		{name: "negative finding_interval", toml: "[notify]\nfinding_interval = \"-1h\"\n", wantErr: `notify.finding_interval: -1h0m0s is negative`},
		{name: "zero max_verdict_age", toml: "[notify]\nmax_verdict_age = \"0s\"\n", wantErr: `notify.max_verdict_age: 0s is not positive`},
		{name: "bad override zone", toml: "[[notify.override]]\nzone = \"a..b\"\nto = \"x@example.com\"\n", wantErr: `notify.override[0].zone: "a..b" is not a zone name`},
		{name: "override twice", toml: "[[notify.override]]\nzone = \"a.example\"\nto = \"x@example.com\"\n[[notify.override]]\nzone = \"A.example.\"\nto = \"y@example.com\"\n",
			wantErr: `notify.override[1].zone: a.example. is already notify.override[0]`},
		{name: "bad override address", toml: "[[notify.override]]\nzone = \"a.example\"\nto = \"x\"\n", wantErr: `notify.override[0].to: notify: address "x": not local@domain`},
		{name: "unknown notify key", toml: "[notify]\nsmtp_password = \"hunter2\"\n", wantErr: "unknown key notify.smtp_password"},
		// The addresses are kept as the letter writer sends them (a final
		// dot dropped, a Unicode domain in A-labels), and what it refuses
		// is refused here, not at the first message.
		{name: "addresses as they are sent", toml: `[notify]
from = "DNS health <dns-health@Resolver.Example.NET>"
reply_to = "noc@résolveur.example"
bounce_address = "lamers-bounces@resolver.example.net."
[[notify.override]]
zone = "example.com."
to = "dns-team@example.com."
[digest]
to = "noc@example.net."
`, check: func(t *testing.T, c Config) {
			got := []string{c.Notify.From, c.Notify.ReplyTo, c.Notify.BounceAddress, c.Digest.To}
			want := []string{`"DNS health" <dns-health@resolver.example.net>`, "<noc@xn--rsolveur-b1a.example>",
				"lamers-bounces@resolver.example.net", "noc@example.net"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("from, reply_to, bounce_address, digest.to (-want +got):\n%s", diff)
			}
			if os, err := c.Notify.overrides(); err != nil || os[0].To != "dns-team@example.com" {
				t.Errorf("overrides %+v, %v", os, err)
			}
		}},
		{name: "override local part over 64 octets", toml: "[[notify.override]]\nzone = \"a.example\"\nto = \"" + strings.Repeat("a", 65) + "@example.com\"\n",
			wantErr: `notify.override[0].to: notify: address "aaaa`},
		{name: "digest.to local part over 64 octets", toml: "[digest]\nto = \"" + strings.Repeat("a", 65) + "@example.com\"\n",
			wantErr: `digest.to: notify: address "aaaa`},
		{name: "from with a control character in its name", toml: "[notify]\nfrom = \"=?utf-8?q?a=0Db?= <dns@resolver.example.net>\"\n",
			wantErr: `notify.from: notify: from "=?utf-8?q?a=0Db?= <dns@resolver.example.net>": the display name has a control character`},
		{name: "bounce address too long for its unsubscribe address", toml: "[notify]\nbounce_address = \"" + strings.Repeat("a", 64) + "@" +
			strings.Repeat(strings.Repeat("b", 60)+".", 2) + strings.Repeat("b", 30) + ".example.net\"\n", wantErr: `notify.bounce_address: notify: bounce_address "aaaa`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tt.toml), "test.toml")
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check == nil {
				t.Fatal("the row states neither an error nor a check")
			}
			tt.check(t, c)
		})
	}
}

// TestExampleConfig wants lamers.example.toml to document the whole
// configuration: every key of Config (found through its toml tags, so that
// a field added later is covered) set to its default value, and for an
// array of tables, whose default is empty, a commented-out example table
// showing each of its keys. ParseConfig refuses keys Config does not have.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "lamers.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(bytes.NewReader(data), "lamers.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// "ignore_servers = []" shows the default, nil.
	if diff := cmp.Diff(DefaultConfig(), c, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("lamers.example.toml does not show the defaults (-default +example):\n%s", diff)
	}
	shown := definedKeys(t, string(data))
	examples := definedKeys(t, commentedTables(string(data)))
	for _, k := range configKeys(reflect.TypeFor[Config](), "") {
		in := shown
		if k.inArray {
			in = examples // commented out: the default array is empty
		}
		if !in[k.name] {
			t.Errorf("lamers.example.toml does not show key %s", k.name)
		}
	}
	// The commented-out tables are a valid configuration too.
	ex, err := ParseConfig(strings.NewReader(commentedTables(string(data))), "lamers.example.toml (commented tables)")
	if err == nil {
		err = ex.Validate()
	}
	if err != nil {
		t.Errorf("the commented-out tables of lamers.example.toml: %v", err)
	}
}

// configKey is one key of the configuration, dotted ("tail.poll").
type configKey struct {
	name    string
	inArray bool // a key of an array of tables ([[sources]])
}

// configKeys lists the keys of the struct type typ by its toml tags:
// nested structs are tables, slices of structs arrays of tables.
func configKeys(typ reflect.Type, prefix string) []configKey {
	var keys []configKey
	for f := range typ.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + tag
		switch {
		case f.Type.Kind() == reflect.Struct:
			keys = append(keys, configKeys(f.Type, name+".")...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for _, k := range configKeys(f.Type.Elem(), name+".") {
				keys = append(keys, configKey{k.name, true})
			}
		default:
			keys = append(keys, configKey{name: name})
		}
	}
	return keys
}

// definedKeys returns the dotted keys a TOML document sets.
func definedKeys(t *testing.T, doc string) map[string]bool {
	t.Helper()
	var v map[string]any
	md, err := toml.Decode(doc, &v)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	keys := make(map[string]bool)
	for _, k := range md.Keys() {
		keys[k.String()] = true
	}
	return keys
}

// commentedTables returns the commented-out example tables of a TOML file,
// uncommented: each block of comment lines that starts with "# [[name]]",
// its "# key = value" lines.
func commentedTables(doc string) string {
	var b strings.Builder
	in := false
	for line := range strings.Lines(doc) {
		line = strings.TrimRight(line, "\n")
		rest, comment := strings.CutPrefix(line, "# ")
		switch {
		case !strings.HasPrefix(line, "#"):
			in = false
		case comment && strings.HasPrefix(rest, "[[") && strings.HasSuffix(rest, "]]"):
			in = true
			b.WriteString(rest + "\n")
		case in && comment && commentedKey.MatchString(rest):
			b.WriteString(rest + "\n")
		}
	}
	return b.String()
}

var commentedKey = regexp.MustCompile(`^[a-z_]+ = \S`)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lamers.toml")
	if err := os.WriteFile(file, []byte("db = \"file.db\"\nlog_level = \"warn\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LAMERS_CONFIG": file, "LAMERS_LOG_LEVEL": "error"}
	getenv := func(k string) string { return env[k] }

	c, err := loadConfig(&globalFlags{}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "file.db" || c.LogLevel != "error" {
		t.Errorf("file+env: %+v", c)
	}
	env["LAMERS_DB"] = "env.db"
	c, err = loadConfig(&globalFlags{db: "flag.db"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "flag.db" {
		t.Errorf("flag must win: %+v", c)
	}
	// A named config file that does not exist is an error; the default
	// path that does not exist is not.
	env["LAMERS_CONFIG"] = filepath.Join(dir, "missing.toml")
	if _, err := loadConfig(&globalFlags{}, getenv); err == nil {
		t.Error("missing explicit config file: no error")
	}
}
