package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lamers-dev/lamers/parser"
)

// globalFlags are accepted before the command and, for convenience, after
// it too.
type globalFlags struct {
	config   string
	db       string
	logLevel string
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "configuration `file` (TOML; default $LAMERS_CONFIG or "+defaultConfigPath+" when it exists)")
	fs.StringVar(&g.db, "db", g.db, "SQLite database `path` (default ./lamers.db, $LAMERS_DB)")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log `level`: debug, info, warn, error")
}

// addrList is a repeatable flag of IP addresses.
type addrList []netip.Addr

func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	a, err := netip.ParseAddr(strings.Trim(v, "[]"))
	if err != nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	*l = append(*l, a.Unmap())
	return nil
}

// canonicalZone turns a zone given on the command line into the stored
// form (lower case, absolute, BIND escapes).
func canonicalZone(s string) (string, error) {
	return parser.CanonicalName(s)
}

// parseSince accepts 2006-01-02, RFC 3339, or a duration back from now
// (Go durations plus a "d" suffix for days).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, time.UTC); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date, an RFC 3339 time or a duration", s)
}
