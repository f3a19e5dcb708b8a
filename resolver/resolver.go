package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/time/rate"
)

// Config configures a Resolver. The zero value gives the defaults.
type Config struct {
	// RootHints are the root servers' addresses; empty means the embedded
	// IANA root hints (see ParseRootHints for private trees).
	RootHints []netip.Addr
	// Port is the destination port of every query, 53 by default. Tests run a
	// whole private tree on one random port on distinct 127.x.y.z addresses.
	// A Probe whose server carries its own non-zero port uses that.
	Port uint16
	// QPS is the global rate limit on packets sent, 50 by default; negative
	// means unlimited (benchmarks on loopback only).
	QPS float64
	// Burst is the rate limiter's bucket size, 1 by default.
	Burst int
	// Timeouts are the per-try UDP timeouts of a probe round, 3s then 5s by
	// default. The EDNS probe (P2) uses the last one; iteration uses them in
	// turn for its passes over a zone's servers.
	Timeouts []time.Duration
	// TCPTimeout bounds a TCP exchange, 10s by default.
	TCPTimeout time.Duration
	// MaxReferrals and MaxCNAMEs bound one resolution (RFC 1536): 20 and 8.
	MaxReferrals, MaxCNAMEs int
	// MaxQueries caps the queries sent for one resolution including the
	// lookups of NS addresses it needs, 200 by default.
	MaxQueries int
	// CacheSize bounds the delegation and address caches (entries each),
	// 10000 by default.
	CacheSize int
	// Concurrency is the number of probes Check runs at once, 8 by default.
	// Per-address politeness holds regardless.
	Concurrency int
	// DisableIPv4 and DisableIPv6 turn an address family off: its addresses
	// are neither used for iteration nor probed (vantage_error).
	DisableIPv4, DisableIPv6 bool
	// Source4 and Source6 are the local addresses to send from; unset means
	// the kernel's choice. The source port is always random.
	Source4, Source6 netip.Addr
	// SkipEDNSCheck disables the EDNS probe sent after a clean
	// authoritative P1 (which flags edns_noncompliant).
	SkipEDNSCheck bool
	// Clock stamps probes and expires cache entries; time.Now by default.
	// Network timeouts always use the real clock.
	Clock func() time.Time
	// Logger receives debug lines; discarded by default.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults spelled out.
func DefaultConfig() Config {
	return Config{
		Port:         53,
		QPS:          50,
		Burst:        1,
		Timeouts:     []time.Duration{3 * time.Second, 5 * time.Second},
		TCPTimeout:   10 * time.Second,
		MaxReferrals: 20,
		MaxCNAMEs:    8,
		MaxQueries:   200,
		CacheSize:    10000,
		Concurrency:  8,
		Clock:        time.Now,
	}
}

func (c *Config) setDefaults() error {
	d := DefaultConfig()
	if c.Port == 0 {
		c.Port = d.Port
	}
	if c.QPS == 0 {
		c.QPS = d.QPS
	}
	if math.IsNaN(c.QPS) {
		return fmt.Errorf("resolver: config: qps %v", c.QPS)
	}
	if c.Burst <= 0 {
		c.Burst = d.Burst
	}
	if len(c.Timeouts) == 0 {
		c.Timeouts = d.Timeouts
	}
	for _, t := range c.Timeouts {
		if t <= 0 {
			return fmt.Errorf("resolver: config: timeout %v is not positive", t)
		}
	}
	if c.TCPTimeout <= 0 {
		c.TCPTimeout = d.TCPTimeout
	}
	if c.MaxReferrals <= 0 {
		c.MaxReferrals = d.MaxReferrals
	}
	if c.MaxCNAMEs <= 0 {
		c.MaxCNAMEs = d.MaxCNAMEs
	}
	if c.MaxQueries <= 0 {
		c.MaxQueries = d.MaxQueries
	}
	if c.CacheSize <= 0 {
		c.CacheSize = d.CacheSize
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DisableIPv4 && c.DisableIPv6 {
		return errors.New("resolver: config: both address families disabled")
	}
	if c.Source4.IsValid() && !c.Source4.Unmap().Is4() {
		return fmt.Errorf("resolver: config: source4 %v is not IPv4", c.Source4)
	}
	if c.Source6.IsValid() && (!c.Source6.Is6() || c.Source6.Is4In6()) {
		return fmt.Errorf("resolver: config: source6 %v is not IPv6", c.Source6)
	}
	return nil
}

// slog attribute keys.
const (
	logKeyZone    = "zone"
	logKeyServer  = "server"
	logKeyReason  = "reason"
	logKeyPackets = "packets"
	logKeyNS      = "ns"
	logKeyErr     = "err"
)

// ErrClosed is returned (wrapped) by calls made after Close.
var ErrClosed = errors.New("resolver closed")

// Resolver is the bundled verifying resolver. It is safe for concurrent use;
// politeness limits (one query in flight per server address, the global rate)
// hold across all goroutines using one Resolver.
type Resolver struct {
	cfg    Config
	log    *slog.Logger
	roots  []netip.Addr
	polite *politeExchanger
	udp4   exchanger
	udp6   exchanger
	tcp4   exchanger
	tcp6   exchanger
	cuts   *ttlCache[*cut]
	addrs  *ttlCache[addrEntry]
	delegs *ttlCache[Delegation]
	// servers holds iteration's timeouts per (address, zone cut) (down.go).
	servers *ttlCache[serverState]

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// New returns a Resolver for cfg.
func New(cfg Config) (*Resolver, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	roots := cfg.RootHints
	if len(roots) == 0 {
		var err error
		roots, err = embeddedRootHints()
		if err != nil {
			return nil, err
		}
	}
	limit := rate.Limit(cfg.QPS)
	if cfg.QPS < 0 {
		limit = rate.Inf
	}
	r := &Resolver{
		cfg:   cfg,
		log:   cfg.Logger,
		roots: roots,
		polite: &politeExchanger{
			limiter: rate.NewLimiter(limit, cfg.Burst),
		},
		udp4:    &udpExchanger{source: cfg.Source4.Unmap()},
		udp6:    &udpExchanger{source: cfg.Source6},
		tcp4:    &tcpExchanger{source: cfg.Source4.Unmap()},
		tcp6:    &tcpExchanger{source: cfg.Source6},
		cuts:    newTTLCache[*cut](cfg.CacheSize, cfg.Clock),
		addrs:   newTTLCache[addrEntry](cfg.CacheSize, cfg.Clock),
		delegs:  newTTLCache[Delegation](cfg.CacheSize, cfg.Clock),
		servers: newTTLCache[serverState](cfg.CacheSize, cfg.Clock),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Close cancels queries in flight and waits for the calls using them to
// return, or for ctx to end.
func (r *Resolver) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("resolver: close: %w", ctx.Err())
	}
}

// begin registers a call; the returned context ends with ctx or Close.
func (r *Resolver) begin(ctx context.Context) (context.Context, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, ErrClosed
	}
	r.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.ctx, cancel)
	return ctx, func() { stop(); cancel(); r.wg.Done() }, nil
}

// familyOK reports whether a's address family is enabled.
func (r *Resolver) familyOK(a netip.Addr) bool {
	if a.Is4() {
		return !r.cfg.DisableIPv4
	}
	return !r.cfg.DisableIPv6
}

// send is the only way packets leave the Resolver: through the politeness
// layer, with the per-try timeout starting once the address lock and a rate
// token are held. The gate's skip is asked once the address lock is held: an
// error from it is returned instead of sending (a lookup that waited behind
// others for a server that has since been marked down); its done records
// the outcome before the lock is released.
func (r *Resolver) send(ctx context.Context, m *dns.Msg, server netip.AddrPort, tcp bool, timeout time.Duration, g gate) (*dns.Msg, time.Duration, error) {
	var ex exchanger
	switch {
	case server.Addr().Is4() && tcp:
		ex = r.tcp4
	case server.Addr().Is4():
		ex = r.udp4
	case tcp:
		ex = r.tcp6
	default:
		ex = r.udp6
	}
	return r.polite.exchange(ctx, ex, m, server, timeout, g)
}
