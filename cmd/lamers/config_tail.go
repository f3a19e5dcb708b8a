package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/lamers-dev/lamers/parser"
)

// SourceConfig is one log file followed by `lamers tail` ([[sources]]).
type SourceConfig struct {
	// Path is the live log file, not a glob: its rotated generations are
	// found next to it (same directory, name starting with its name).
	Path string `toml:"path"`
	// Format is "auto" (or empty) or a named format, as scan.format.
	Format string `toml:"format"`
}

// TailConfig configures `lamers tail` ([tail]).
type TailConfig struct {
	// Poll polls the files instead of using inotify (NFS, some container
	// filesystems).
	Poll bool `toml:"poll"`
	// FromStart reads files never seen before from their start instead of
	// their end.
	FromStart bool `toml:"from_start"`
	// RotatedIdle is how long a rotated-away file is still read after it
	// last grew, a Go duration ("5m").
	RotatedIdle string `toml:"rotated_idle"`
}

// format returns the source's format; "" is auto.
func (s SourceConfig) format() (parser.Format, error) {
	if s.Format == "" {
		return parser.Auto, nil
	}
	return parser.ParseFormat(s.Format)
}

// rotatedIdle returns tail.rotated_idle.
func (t TailConfig) rotatedIdle() (time.Duration, error) {
	d, err := time.ParseDuration(t.RotatedIdle)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (like \"5m\")", t.RotatedIdle)
	}
	return d, nil
}

// validateTail checks [tail] and [[sources]].
func (c *Config) validateTail() error {
	if _, err := c.Tail.rotatedIdle(); err != nil {
		return fmt.Errorf("config: tail.rotated_idle: %w", err)
	}
	seen := make(map[string]int)
	for i, s := range c.Sources {
		if s.Path == "" {
			return fmt.Errorf("config: sources[%d].path: must not be empty", i)
		}
		p := filepath.Clean(s.Path)
		if j, dup := seen[p]; dup {
			return fmt.Errorf("config: sources[%d].path: %q is already sources[%d]", i, s.Path, j)
		}
		seen[p] = i
		if _, err := s.format(); err != nil {
			return fmt.Errorf("config: sources[%d].format: %q is not one of auto, bind, unbound, unbound-infra", i, s.Format)
		}
	}
	return nil
}
