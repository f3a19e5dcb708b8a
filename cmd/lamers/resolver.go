package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/lamers-dev/lamers/resolver"
)

// resolverFlags are the flags every probing command shares.
type resolverFlags struct {
	rootHints string
}

func (f *resolverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.rootHints, "root-hints", "", "root hints `file` in zone-file format (default: resolver.root_hints, else the embedded IANA hints)")
}

// newResolver builds the bundled resolver from the configuration and flags.
// ednsCheck adds a packet after a clean answer to flag servers that
// mishandle EDNS: worth it for a one-off check, not for every round of a
// verify run.
func (a *app) newResolver(f *resolverFlags, ednsCheck bool) (*resolver.Resolver, error) {
	rc := a.cfg.Resolver
	cfg := resolver.DefaultConfig()
	hints := rc.RootHints
	if f.rootHints != "" {
		hints = f.rootHints
	}
	if hints != "" {
		addrs, err := readRootHints(hints)
		if err != nil {
			return nil, err
		}
		cfg.RootHints = addrs
	}
	cfg.QPS = rc.QPS
	cfg.Timeouts = make([]time.Duration, len(rc.Timeouts))
	for i, t := range rc.Timeouts {
		cfg.Timeouts[i] = time.Duration(t)
	}
	cfg.TCPTimeout = time.Duration(rc.TCPTimeout)
	cfg.DisableIPv4, cfg.DisableIPv6 = !rc.IPv4, !rc.IPv6
	cfg.SkipEDNSCheck = !ednsCheck
	if a.dnsPort != 0 {
		cfg.Port = a.dnsPort
	}
	cfg.Logger = a.log.With(logKeyComponent, "resolver")
	return resolver.New(cfg)
}

// readRootHints reads the root servers' addresses from a hints file.
func readRootHints(path string) ([]netip.Addr, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("root hints: %w", err)
	}
	defer fh.Close()
	addrs, err := resolver.ParseRootHints(fh)
	if err != nil {
		return nil, fmt.Errorf("root hints %s: %w", path, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("root hints %s: no root server addresses", path)
	}
	return addrs, nil
}
