package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/lamers-dev/lamers/parser"
)

// defaultConfigPath is read when it exists and no other file is named.
const defaultConfigPath = "/etc/lamers/lamers.toml"

// Config is the whole configuration. Every field has a working default
// (DefaultConfig); a TOML file, the environment and flags override it, in
// that order of increasing precedence.
type Config struct {
	// DB is the SQLite database file.
	DB string `toml:"db"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// Timezone is the IANA zone of log timestamps that carry no offset
	// (BIND print-time, RFC 3164 syslog, Unbound log-time-ascii); "" is the
	// machine's local time.
	Timezone string `toml:"timezone"`
	// RetentionDays is how long per-day counts are kept; findings and
	// their totals are never pruned.
	RetentionDays int `toml:"retention_days"`

	Scan ScanConfig `toml:"scan"`
}

// ScanConfig configures batch ingest.
type ScanConfig struct {
	// Format forces a log format for every line; "auto" detects it.
	Format string `toml:"format"`
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		DB:            "./lamers.db",
		LogLevel:      "info",
		RetentionDays: 400,
		Scan:          ScanConfig{Format: "auto"},
	}
}

// ParseConfig decodes TOML from r over the defaults and validates it.
// Unknown keys are errors: a typo must not silently keep a default.
func ParseConfig(r io.Reader, name string) (Config, error) {
	cfg := DefaultConfig()
	md, err := toml.NewDecoder(r).Decode(&cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config %s: unknown key %s", name, strings.Join(keys, ", "))
	}
	return cfg, nil
}

// Validate checks every field and names the first bad one with its value.
func (c *Config) Validate() error {
	if c.DB == "" {
		return errors.New("config: db: must not be empty")
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		return fmt.Errorf("config: log_level: %w", err)
	}
	if _, err := c.location(); err != nil {
		return fmt.Errorf("config: timezone: %w", err)
	}
	if c.RetentionDays < 1 {
		return fmt.Errorf("config: retention_days: %d is not a positive number of days", c.RetentionDays)
	}
	if _, err := parser.ParseFormat(c.Scan.Format); err != nil {
		return fmt.Errorf("config: scan.format: %w", err)
	}
	return nil
}

func (c *Config) location() (*time.Location, error) {
	if c.Timezone == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("%q is not a time zone name", c.Timezone)
	}
	return loc, nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// envKeys maps environment variables to the config fields they set.
var envKeys = []struct {
	name string
	set  func(*Config, string)
}{
	{"LAMERS_DB", func(c *Config, v string) { c.DB = v }},
	{"LAMERS_LOG_LEVEL", func(c *Config, v string) { c.LogLevel = v }},
	{"LAMERS_TIMEZONE", func(c *Config, v string) { c.Timezone = v }},
}

// loadConfig builds the effective configuration: defaults, then the file
// (--config, else LAMERS_CONFIG, else /etc/lamers/lamers.toml if present),
// then the environment, then the global flags.
func loadConfig(g *globalFlags, getenv func(string) string) (Config, error) {
	path, explicit := g.config, g.config != ""
	if !explicit {
		if p := getenv("LAMERS_CONFIG"); p != "" {
			path, explicit = p, true
		} else {
			path = defaultConfigPath
		}
	}
	cfg := DefaultConfig()
	f, err := os.Open(path)
	switch {
	case err == nil:
		cfg, err = ParseConfig(f, path)
		f.Close()
		if err != nil {
			return cfg, err
		}
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return cfg, fmt.Errorf("config: %w", err)
	}
	for _, e := range envKeys {
		if v := getenv(e.name); v != "" {
			e.set(&cfg, v)
		}
	}
	if g.db != "" {
		cfg.DB = g.db
	}
	if g.logLevel != "" {
		cfg.LogLevel = g.logLevel
	}
	return cfg, cfg.Validate()
}
