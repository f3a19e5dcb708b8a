package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
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

	Scan     ScanConfig     `toml:"scan"`
	Resolver ResolverConfig `toml:"resolver"`
	Verify   VerifyConfig   `toml:"verify"`
	Tail     TailConfig     `toml:"tail"`
	Notify   NotifyConfig   `toml:"notify"`
	Run      RunConfig      `toml:"run"`
	Digest   DigestConfig   `toml:"digest"`
	// Sources are the files `lamers tail` follows when none is given on
	// its command line.
	Sources []SourceConfig `toml:"sources"`
}

// ResolverConfig configures the bundled verifying resolver
// (docs/verification.md).
type ResolverConfig struct {
	// RootHints is a root hints file in zone-file format (like IANA's
	// named.root); "" uses the embedded IANA hints.
	RootHints string `toml:"root_hints"`
	// QPS is the global limit on queries sent per second.
	QPS float64 `toml:"qps"`
	// Timeouts are the UDP timeouts of the two plain tries of a probe
	// round; the EDNS try uses the last one.
	Timeouts []Duration `toml:"timeouts"`
	// TCPTimeout bounds a TCP exchange after truncation.
	TCPTimeout Duration `toml:"tcp_timeout"`
	// IPv4 and IPv6 enable an address family. A disabled or unreachable
	// family gives vantage_error, which never counts as lame.
	IPv4 bool `toml:"ipv4"`
	IPv6 bool `toml:"ipv6"`
}

// VerifyConfig is the confirmation policy and the pace of verification.
type VerifyConfig struct {
	// LameRounds hard-lame rounds spanning at least LameSpan confirm "lame".
	LameRounds int      `toml:"lame_rounds"`
	LameSpan   Duration `toml:"lame_span"`
	// UnresponsiveRounds rounds of timeouts or port-unreachable spanning at
	// least UnresponsiveSpan confirm "unresponsive".
	UnresponsiveRounds int      `toml:"unresponsive_rounds"`
	UnresponsiveSpan   Duration `toml:"unresponsive_span"`
	// MinInterval is the least time between two rounds for the same
	// (zone, address) (RFC 4697 asks for at least 30 minutes).
	MinInterval Duration `toml:"min_interval"`
	// MaxRounds caps the probe rounds of one verify run.
	MaxRounds int `toml:"max_rounds"`
	// Concurrency is how many findings are verified at once; one query is
	// in flight per server address regardless.
	Concurrency int `toml:"concurrency"`
}

// Duration is a time.Duration written as a Go duration string in TOML
// ("30m", "24h").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30m or 24h", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ScanConfig configures ingest (scan and tail).
type ScanConfig struct {
	// Format forces a log format for every line; "auto" detects it.
	Format string `toml:"format"`
	// IgnoreServers are addresses or CIDR prefixes whose evidence is
	// dropped (counted in the scan summary): the resolver's own
	// forwarders, about which BIND and Unbound log lines that do not say
	// so.
	IgnoreServers []string `toml:"ignore_servers"`
}

// ingestOptions returns what scan, tail and run read logs of format f
// with: the time zone of timestamps without one, and the servers whose
// evidence is dropped (ignore_servers).
func (c *Config) ingestOptions(f parser.Format) (ingest.Options, error) {
	loc, err := c.location()
	if err != nil {
		return ingest.Options{}, err
	}
	ignore, err := c.ignoreServers()
	if err != nil {
		return ingest.Options{}, err
	}
	return ingest.Options{Format: f, Location: loc, IgnoreServers: ignore}, nil
}

// ignoreServers returns Scan.IgnoreServers as prefixes (an address is its
// /32 or /128).
func (c *Config) ignoreServers() ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for i, s := range c.Scan.IgnoreServers {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("config: scan.ignore_servers[%d]: %q is not an IP address or CIDR prefix", i, s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("config: scan.ignore_servers[%d]: %q has host bits set (%s?)", i, s, p.Masked())
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		DB:            "./lamers.db",
		LogLevel:      "info",
		RetentionDays: 400,
		Scan:          ScanConfig{Format: "auto"},
		Tail:          TailConfig{RotatedIdle: Duration(5 * time.Minute)},
		Resolver: ResolverConfig{
			QPS:        50,
			Timeouts:   []Duration{Duration(3 * time.Second), Duration(5 * time.Second)},
			TCPTimeout: Duration(10 * time.Second),
			IPv4:       true,
			IPv6:       true,
		},
		Verify: VerifyConfig{
			LameRounds:         2,
			LameSpan:           Duration(30 * time.Minute),
			UnresponsiveRounds: 3,
			UnresponsiveSpan:   Duration(24 * time.Hour),
			MinInterval:        Duration(30 * time.Minute),
			MaxRounds:          1000,
			Concurrency:        32,
		},
		Notify: defaultNotify(),
		Run:    defaultRun(),
		Digest: defaultDigest(),
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
	if _, err := c.ignoreServers(); err != nil {
		return err
	}
	if err := c.validateTail(); err != nil {
		return err
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.validateRun(); err != nil {
		return err
	}
	if err := c.validateDigest(); err != nil {
		return err
	}
	return c.validateVerification()
}

func (c *Config) validateVerification() error {
	r, v := &c.Resolver, &c.Verify
	switch {
	case !(r.QPS > 0) || r.QPS > 10000:
		return fmt.Errorf("config: resolver.qps: %v is not between 0 and 10000 queries per second", r.QPS)
	case len(r.Timeouts) == 0 || len(r.Timeouts) > 2:
		return fmt.Errorf("config: resolver.timeouts: %d values, want 1 or 2 (a probe round sends at most 4 packets)", len(r.Timeouts))
	case r.TCPTimeout <= 0:
		return fmt.Errorf("config: resolver.tcp_timeout: %v is not positive", time.Duration(r.TCPTimeout))
	case !r.IPv4 && !r.IPv6:
		return errors.New("config: resolver.ipv4, resolver.ipv6: both address families are disabled")
	case v.LameRounds < 1:
		return fmt.Errorf("config: verify.lame_rounds: %d is not a positive number", v.LameRounds)
	case v.UnresponsiveRounds < 1:
		return fmt.Errorf("config: verify.unresponsive_rounds: %d is not a positive number", v.UnresponsiveRounds)
	case v.LameSpan < 0:
		return fmt.Errorf("config: verify.lame_span: %v is negative", time.Duration(v.LameSpan))
	case v.UnresponsiveSpan < 0:
		return fmt.Errorf("config: verify.unresponsive_span: %v is negative", time.Duration(v.UnresponsiveSpan))
	case v.MinInterval < 0:
		return fmt.Errorf("config: verify.min_interval: %v is negative", time.Duration(v.MinInterval))
	case v.MaxRounds < 1:
		return fmt.Errorf("config: verify.max_rounds: %d is not a positive number", v.MaxRounds)
	case v.Concurrency < 1 || v.Concurrency > 1024:
		return fmt.Errorf("config: verify.concurrency: %d is not between 1 and 1024", v.Concurrency)
	}
	for i, t := range r.Timeouts {
		if t <= 0 {
			return fmt.Errorf("config: resolver.timeouts[%d]: %v is not positive", i, time.Duration(t))
		}
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

// parseLogLevel parses log_level and --log-level.
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
	{"LAMERS_ROOT_HINTS", func(c *Config, v string) { c.Resolver.RootHints = v }},
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
