package main

import (
	"fmt"
	"time"

	"github.com/lamers-dev/lamers/notify"
)

// DigestConfig is [digest]: the periodic report for the operator
// (docs/digest.md).
type DigestConfig struct {
	// To is the operator's address; "" mails no digest (`run` logs what
	// it would send, `digest --send` refuses).
	To string `toml:"to"`
	// Interval is how often `run` makes the digest, and how far back a
	// digest reaches when none was sent before; 0 leaves the digest out
	// of `run`.
	Interval Duration `toml:"interval"`
}

// defaultDigest is [digest] when nothing is set: every 14 days, like the
// twice-monthly posting of the 1992 lamers.
func defaultDigest() DigestConfig {
	return DigestConfig{Interval: Duration(336 * time.Hour)}
}

// validateDigest checks [digest].
func (c *Config) validateDigest() error {
	d := &c.Digest
	if d.Interval < 0 {
		return fmt.Errorf("config: digest.interval: %v is negative (0 leaves the digest out of run)", time.Duration(d.Interval))
	}
	if d.To != "" {
		to, err := notify.CheckAddress(d.To)
		if err != nil {
			return fmt.Errorf("config: digest.to: %w", err)
		}
		d.To = to // as it is sent
	}
	return nil
}
