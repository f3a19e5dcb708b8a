package main

import (
	"bytes"
	"encoding"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

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
			if diff := cmp.Diff(DefaultConfig(), c); diff != "" {
				t.Errorf("differs from the defaults (-want +got):\n%s", diff)
			}
		}},
		{name: "every key", toml: `
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
			want := TailConfig{Poll: true, FromStart: true, RotatedIdle: "90s"}
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
		{name: "bad rotated_idle", toml: "[tail]\nrotated_idle = \"soon\"\n", wantErr: `tail.rotated_idle: "soon" is not a positive duration`},
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
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// The example configuration documents every key of Config with its
// default value, and is itself valid. The keys are Config's toml tags,
// walked by reflection, so a new field without its line in
// lamers.example.toml fails here. A table array ([[sources]]), which has no
// default, must be shown in comments with every key.
func TestExampleConfig(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "lamers.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(bytes.NewReader(text), "lamers.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Every value the example sets is the default (a key it leaves out
	// keeps the default too: the next check requires each one).
	if diff := cmp.Diff(DefaultConfig(), c, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("lamers.example.toml sets values other than the defaults (-default +example):\n%s", diff)
	}
	var set map[string]any
	if _, err := toml.Decode(string(text), &set); err != nil {
		t.Fatal(err)
	}
	commented := commentedLines(string(text))
	keys := configKeys(reflect.TypeFor[Config](), "")
	// The walk reaches every kind of key: top level, nested, a Duration, a
	// list of them, a key of a table array.
	for _, want := range []string{"db", "scan.ignore_servers", "verify.lame_span", "resolver.timeouts", "sources.path"} {
		if !slices.ContainsFunc(keys, func(k configKey) bool { return strings.Join(k.path, ".") == want }) {
			t.Fatalf("the walk of Config misses %s: %v", want, keys)
		}
	}
	for _, k := range keys {
		if k.array == "" {
			if _, ok := lookup(set, k.path); !ok {
				t.Errorf("lamers.example.toml does not set %s (to its default)", strings.Join(k.path, "."))
			}
			continue
		}
		// In a commented example: "# [[sources]]" followed by "# path = …".
		header := "[[" + k.array + "]]"
		i := slices.Index(commented, header)
		if i < 0 {
			t.Errorf("lamers.example.toml shows no %s example", header)
			continue
		}
		key := k.path[len(k.path)-1]
		if !slices.ContainsFunc(commented[i+1:], func(l string) bool { return strings.HasPrefix(l, key+" = ") }) {
			t.Errorf("lamers.example.toml's %s example does not show %s", header, key)
		}
	}
}

// configKey is one key of the configuration: its path of toml names and,
// for a key inside an array of tables, that array's name.
type configKey struct {
	path  []string
	array string
}

// configKeys returns the keys of the struct type typ by its toml tags,
// under prefix: the fields of nested structs and of arrays of tables, not
// the structs themselves. A field that decodes itself from text (Duration)
// is a key.
func configKeys(typ reflect.Type, array string, prefix ...string) []configKey {
	var keys []configKey
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := append(slices.Clone(prefix), name)
		ft := f.Type
		switch {
		case reflect.PointerTo(ft).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		case ft.Kind() == reflect.Struct:
			keys = append(keys, configKeys(ft, array, path...)...)
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys = append(keys, configKeys(ft.Elem(), strings.Join(path, "."), path...)...)
			continue
		}
		keys = append(keys, configKey{path, array})
	}
	return keys
}

// lookup finds the value at path in a decoded TOML document.
func lookup(doc map[string]any, path []string) (any, bool) {
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

// commentedLines returns the text of the comment lines of a TOML file,
// without "#" and the blanks around it.
func commentedLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "#"); ok {
			out = append(out, strings.TrimSpace(c))
		}
	}
	return out
}

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
