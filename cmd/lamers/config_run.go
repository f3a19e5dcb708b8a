package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// RunConfig is [run]: the schedule of `lamers run` and the address of its
// health and metrics.
type RunConfig struct {
	// VerifyEvery and NotifyEvery are how long after its last start verify
	// and notify run again; 0 leaves the step out of `run`.
	VerifyEvery Duration `toml:"verify_every"`
	NotifyEvery Duration `toml:"notify_every"`
	// Listen is the host:port of /healthz and /metrics, "" for none. It
	// must be a loopback address unless AllowNonLoopback is set.
	Listen string `toml:"listen"`
	// AllowNonLoopback lets Listen be any address (a container whose
	// metrics are scraped from outside it). The endpoints have no
	// authentication: they show the followed paths and the counts.
	AllowNonLoopback bool `toml:"allow_non_loopback"`
}

// defaultRun is [run] when nothing is set.
func defaultRun() RunConfig {
	return RunConfig{
		VerifyEvery: Duration(time.Hour),
		NotifyEvery: Duration(24 * time.Hour),
		Listen:      "127.0.0.1:9716",
	}
}

// validateRun checks [run].
func (c *Config) validateRun() error {
	r := &c.Run
	switch {
	case r.VerifyEvery < 0:
		return fmt.Errorf("config: run.verify_every: %v is negative (0 leaves verify out)", time.Duration(r.VerifyEvery))
	case r.NotifyEvery < 0:
		return fmt.Errorf("config: run.notify_every: %v is negative (0 leaves notify out)", time.Duration(r.NotifyEvery))
	}
	if err := checkListen(r.Listen, r.AllowNonLoopback); err != nil {
		return fmt.Errorf("config: run.listen: %w", err)
	}
	return nil
}

// checkListen checks a listen address: "" (off), or HOST:PORT whose host
// is an IP address or "localhost" and, unless anyAddr is set, loopback.
func checkListen(s string, anyAddr bool) error {
	if s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: %q is not a port number", s, port)
	}
	if host == "localhost" {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if host != "" && err != nil {
		return fmt.Errorf("%q: %q is not an IP address or localhost", s, host)
	}
	if !anyAddr && (host == "" || !a.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address: set run.allow_non_loopback = true to serve /healthz and /metrics on it (they have no authentication)", s)
	}
	return nil
}

// checkSendable refuses a configuration that would send without a sender:
// `run` sends with notify.send = true, and must not fail at its first
// notify, hours after it started.
func (c *Config) checkSendable() error {
	if c.Notify.Send && (c.Notify.From == "" || c.Notify.BounceAddress == "") {
		return errors.New("config: notify.send = true needs notify.from and notify.bounce_address")
	}
	return nil
}
