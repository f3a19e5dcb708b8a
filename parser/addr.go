package parser

import (
	"net/netip"
)

// server is a parsed server address with its port.
type server struct {
	addr netip.Addr
	port uint16
}

// parseAddr parses an IP address as resolvers print it: IPv4 dotted quad,
// IPv6 without brackets, optionally with a scope (RFC 4007 §11:
// "fe80::1%2", BIND's isc_netaddr_format writes the interface index). The
// scope is kept in the netip.Addr's zone: a link-local address means
// nothing without it. A scope must look like an interface index or name
// (validScope); any other makes the address invalid. IPv4-mapped IPv6
// addresses are unmapped to plain IPv4.
func parseAddr(b []byte) (netip.Addr, bool) {
	if len(b) == 0 || len(b) > 64 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	if z := a.Zone(); z != "" && !validScope(z) {
		return netip.Addr{}, false
	}
	if a.Is4In6() && a.Zone() == "" {
		a = a.Unmap()
	}
	return a, true
}

// maxScopeLen is the longest scope accepted: a Linux interface name
// (IFNAMSIZ less the NUL), longer than any decimal index.
const maxScopeLen = 15

// validScope reports whether z can be an interface index or name: 1 to 15
// letters, digits, '.', '_' or '-'. The scope comes from a log, so it is
// attacker-influenced and goes into reports and mail: nothing else passes.
func validScope(z string) bool {
	if len(z) > maxScopeLen {
		return false
	}
	for i := 0; i < len(z); i++ {
		switch c := z[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// parsePort parses a decimal port in 1..65535.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// Address syntaxes understood by (*Parser).server.
const (
	addrHash    byte = '#' // BIND 9, Unbound reply from: addr#port
	addrAt      byte = '@' // Unbound dump_infra: addr or addr@port
	addrPlain   byte = 0   // Unbound log-servfail: addr, port 53
	addrBracket byte = '[' // BIND 8 / 4.9: [addr].port or [addr]
)

// server parses one address token in the given syntax, through the Parser's
// bounded cache (keyed by syntax and raw bytes).
func (p *Parser) server(b []byte, syntax byte) (server, bool) {
	if len(b) == 0 || len(b) > 80 {
		return server{}, false
	}
	if s, ok := fastServer4(b, syntax); ok {
		return s, true
	}
	s, h, ok := p.addrs.get(b, syntax)
	if ok {
		return s, s.port != 0
	}
	s, ok = parseServer(b, syntax)
	if !ok {
		s = server{}
	}
	p.addrs.put(b, syntax, s, h)
	return s, ok
}

// fastServer4 parses, without the cache, the commonest tokens: an IPv4
// address with a port after '#' or '@' or, where the syntax allows, without
// one. It accepts a subset of what parseServer accepts, with the same
// result; false means "ask parseServer".
func fastServer4(b []byte, syntax byte) (server, bool) {
	a, rest, ok := parseIPv4(b)
	if !ok {
		return server{}, false
	}
	switch {
	case len(rest) == 0:
		if syntax == addrPlain || syntax == addrAt {
			return server{addr: a, port: 53}, true
		}
	case rest[0] == syntax && (syntax == addrHash || syntax == addrAt):
		if port, ok := parsePort(rest[1:]); ok {
			return server{addr: a, port: port}, true
		}
	}
	return server{}, false
}

// parseIPv4 parses a dotted quad at the start of b the way netip.ParseAddr
// does (four decimal octets up to 255, no leading zeros) and returns the
// rest of b.
func parseIPv4(b []byte) (netip.Addr, []byte, bool) {
	var ip [4]byte
	i := 0
	for k := range ip {
		if k > 0 {
			if i >= len(b) || b[i] != '.' {
				return netip.Addr{}, nil, false
			}
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return netip.Addr{}, nil, false
		}
		v := uint(b[i] - '0')
		i++
		if v != 0 { // "0" is a whole octet: no leading zeros
			for end := i + 2; i < end && i < len(b) && isDigit(b[i]); i++ {
				v = v*10 + uint(b[i]-'0')
			}
			if v > 255 {
				return netip.Addr{}, nil, false
			}
		}
		ip[k] = byte(v)
	}
	return netip.AddrFrom4(ip), b[i:], true
}

func parseServer(b []byte, syntax byte) (server, bool) {
	a, port := b, []byte(nil)
	switch syntax {
	case addrHash, addrAt:
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == syntax {
				a, port = b[:i], b[i+1:]
				break
			}
		}
		if syntax == addrHash && port == nil {
			return server{}, false
		}
	case addrBracket:
		if len(b) < 3 || b[0] != '[' {
			return server{}, false
		}
		end := -1
		for i := 1; i < len(b); i++ {
			if b[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return server{}, false
		}
		a, port = b[1:end], nil
		rest := b[end+1:]
		if len(rest) > 0 {
			if rest[0] != '.' {
				return server{}, false
			}
			port = rest[1:]
			if len(port) == 0 {
				return server{}, false
			}
		}
	}
	addr, ok := parseAddr(a)
	if !ok {
		return server{}, false
	}
	pt := uint16(53)
	if port != nil {
		if pt, ok = parsePort(port); !ok {
			return server{}, false
		}
	}
	return server{addr: addr, port: pt}, true
}
