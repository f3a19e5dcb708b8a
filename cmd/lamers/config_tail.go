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
	// last grew.
	RotatedIdle Duration `toml:"rotated_idle"`
}

// format returns the source's format; "" is auto.
func (s SourceConfig) format() (parser.Format, error) {
	if s.Format == "" {
		return parser.Auto, nil
	}
	return parser.ParseFormat(s.Format)
}

// validateTail checks [tail] and [[sources]].
func (c *Config) validateTail() error {
	if c.Tail.RotatedIdle <= 0 {
		return fmt.Errorf("config: tail.rotated_idle: %v is not positive", time.Duration(c.Tail.RotatedIdle))
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
