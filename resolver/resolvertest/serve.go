package resolvertest

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// Activate starts servers, each with its PacketConn or Listener already
// bound, and returns once every one of them serves. On an error it shuts
// down the ones it started and closes the sockets of the others. The caller
// stops them with Shutdown.
func Activate(servers ...*dns.Server) error {
	for i, s := range servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- s.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			for _, done := range servers[:i] {
				done.Shutdown()
			}
			for _, rest := range servers[i:] {
				if rest.PacketConn != nil {
					rest.PacketConn.Close()
				}
				if rest.Listener != nil {
					rest.Listener.Close()
				}
			}
			return fmt.Errorf("resolvertest: serve: %w", err)
		}
	}
	return nil
}

// Network is a set of in-process DNS servers on loopback addresses, one
// handler per address, every address on the same port, over UDP and TCP.
type Network struct {
	Port    uint16
	servers []*dns.Server
}

// maxPortTries bounds the ports Listen tries.
const maxPortTries = 20

// Listen serves each handler on its address, all on one port picked at
// random, and returns once every server answers. When another program holds
// that port on one of the addresses it tries another port. The addresses
// must be local (127.0.0.0/8 and ::1 on Linux).
func Listen(handlers map[netip.Addr]dns.Handler) (*Network, error) {
	if len(handlers) == 0 {
		return nil, errors.New("resolvertest: listen: no addresses")
	}
	addrs := slices.SortedFunc(maps.Keys(handlers), netip.Addr.Compare)
	first := addrs[0]
	var lastErr error
	for range maxPortTries {
		pc, err := net.ListenPacket(network("udp", first), netip.AddrPortFrom(first, 0).String())
		if err != nil {
			return nil, fmt.Errorf("resolvertest: listen on %s: %w", first, err)
		}
		port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		servers, err := bindAll(handlers, addrs, port, pc)
		if err != nil {
			lastErr = err
			continue
		}
		return activateAll(servers, port)
	}
	return nil, fmt.Errorf("resolvertest: no port free on all %d addresses: %w", len(handlers), lastErr)
}

// ListenOn is Listen on the given port.
func ListenOn(handlers map[netip.Addr]dns.Handler, port uint16) (*Network, error) {
	if len(handlers) == 0 {
		return nil, errors.New("resolvertest: listen: no addresses")
	}
	addrs := slices.SortedFunc(maps.Keys(handlers), netip.Addr.Compare)
	first := netip.AddrPortFrom(addrs[0], port)
	pc, err := net.ListenPacket(network("udp", first.Addr()), first.String())
	if err != nil {
		return nil, fmt.Errorf("resolvertest: listen on %s: %w", first, err)
	}
	servers, err := bindAll(handlers, addrs, port, pc)
	if err != nil {
		return nil, fmt.Errorf("resolvertest: listen on port %d: %w", port, err)
	}
	return activateAll(servers, port)
}

func activateAll(servers []*dns.Server, port uint16) (*Network, error) {
	if err := Activate(servers...); err != nil {
		return nil, err
	}
	return &Network{Port: port, servers: servers}, nil
}

// network is "udp4" or "udp6" (proto "udp"), "tcp4" or "tcp6" for a.
func network(proto string, a netip.Addr) string {
	if a.Is4() {
		return proto + "4"
	}
	return proto + "6"
}

// bindAll opens the UDP and TCP sockets of every address on port; firstPC
// is the UDP socket of addrs[0], already bound. On an error everything is
// closed.
func bindAll(handlers map[netip.Addr]dns.Handler, addrs []netip.Addr, port uint16, firstPC net.PacketConn) ([]*dns.Server, error) {
	closers := []func() error{firstPC.Close}
	fail := func(err error) ([]*dns.Server, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	var servers []*dns.Server
	for i, a := range addrs {
		addr := netip.AddrPortFrom(a, port).String()
		pc := firstPC
		if i > 0 {
			var err error
			if pc, err = net.ListenPacket(network("udp", a), addr); err != nil {
				return fail(err)
			}
			closers = append(closers, pc.Close)
		}
		ln, err := net.Listen(network("tcp", a), addr)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, ln.Close)
		h := handlers[a]
		servers = append(servers, &dns.Server{PacketConn: pc, Handler: h}, &dns.Server{Listener: ln, Handler: h})
	}
	return servers, nil
}

// closeAll shuts servers down and returns the errors joined.
func closeAll(servers []*dns.Server) error {
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops every server of n.
func (n *Network) Close() error {
	err := closeAll(n.servers)
	n.servers = nil
	if err != nil {
		return fmt.Errorf("resolvertest: close: %w", err)
	}
	return nil
}
