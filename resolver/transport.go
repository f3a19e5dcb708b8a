package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// exchanger sends one query to one server and returns the first reply that
// matches it. The deadline comes from ctx.
//
// Error contract: a reply that arrived but could not be unpacked is returned
// together with errUnparseable (the message then holds the header only);
// otherwise a nil message comes with an error that errors.Is one of
// errTimeout, errConnRefused or errVantage, or that is a local failure.
// errMismatched is joined to errTimeout when replies that failed the checks
// arrived before the deadline.
type exchanger interface {
	ExchangeContext(ctx context.Context, m *dns.Msg, addr string) (*dns.Msg, time.Duration, error)
}

var (
	errTimeout     = errors.New("timed out")
	errMismatched  = errors.New("only mismatched replies")
	errConnRefused = errors.New("connection refused")
	errVantage     = errors.New("local network error")
	errUnparseable = errors.New("unparseable reply")
)

// Compile-time checks.
var (
	_ exchanger = (*udpExchanger)(nil)
	_ exchanger = (*tcpExchanger)(nil)
)

// udpExchanger runs its own read loop on a fresh unconnected socket per
// query (random source port), so that it can see replies from other addresses
// (and ignore them, RIPE's "from the queried IP"), and asks the kernel for
// ICMP errors (IP_RECVERR) so that a closed port is told apart from silence.
type udpExchanger struct {
	source netip.Addr // unspecified: any
}

func (u *udpExchanger) ExchangeContext(ctx context.Context, m *dns.Msg, addr string) (*dns.Msg, time.Duration, error) {
	server, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errVantage, err)
	}
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	out, err := m.Pack()
	if err != nil {
		return nil, 0, err
	}
	network, laddr := "udp4", &net.UDPAddr{}
	if server.Addr().Is6() {
		network = "udp6"
	}
	if u.source.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(u.source, 0))
	}
	lc := net.ListenConfig{Control: recvErrControl}
	pc, err := lc.ListenPacket(ctx, network, laddr.String())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errVantage, err)
	}
	conn := pc.(*net.UDPConn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	start := time.Now()
	if _, err := conn.WriteToUDPAddrPort(out, server); err != nil {
		return nil, 0, transportError(ctx, err)
	}
	buf := make([]byte, 65535)
	mismatched := false
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			err = transportError(ctx, err)
			if mismatched && errors.Is(err, errTimeout) {
				err = errors.Join(errTimeout, errMismatched)
			}
			return nil, time.Since(start), err
		}
		if from.Addr().Unmap().WithZone("") != server.Addr().WithZone("") || from.Port() != server.Port() {
			mismatched = true
			continue
		}
		r, err := matchReply(m, buf[:n])
		if err != nil {
			if errors.Is(err, errUnparseable) {
				return r, time.Since(start), err
			}
			mismatched = true
			continue
		}
		return r, time.Since(start), nil
	}
}

var errNoMatch = errors.New("reply does not match the query")

// matchReply unpacks raw and checks it against the query q: ID, QR, opcode and
// the echoed question (case-insensitively). FORMERR and NOTIMP replies may omit
// the question. A reply whose header matches but whose body cannot be unpacked
// is returned with errUnparseable and only its header filled in.
func matchReply(q *dns.Msg, raw []byte) (*dns.Msg, error) {
	if len(raw) < 12 {
		return nil, errNoMatch
	}
	id := binary.BigEndian.Uint16(raw)
	flags := binary.BigEndian.Uint16(raw[2:])
	if id != q.Id || flags&(1<<15) == 0 || int(flags>>11)&0xF != q.Opcode {
		return nil, errNoMatch
	}
	r := new(dns.Msg)
	if err := r.Unpack(raw); err != nil {
		h := new(dns.Msg)
		h.Id = id
		h.Response = true
		h.Opcode = int(flags>>11) & 0xF
		h.Authoritative = flags&(1<<10) != 0
		h.Truncated = flags&(1<<9) != 0
		h.RecursionDesired = flags&(1<<8) != 0
		h.RecursionAvailable = flags&(1<<7) != 0
		h.Rcode = int(flags & 0xF)
		return h, errUnparseable
	}
	if len(r.Question) == 0 && (r.Rcode == dns.RcodeFormatError || r.Rcode == dns.RcodeNotImplemented) {
		return r, nil
	}
	if len(r.Question) != 1 || len(q.Question) != 1 {
		return nil, errNoMatch
	}
	a, b := r.Question[0], q.Question[0]
	if a.Qtype != b.Qtype || a.Qclass != b.Qclass || canonical(a.Name) != canonical(b.Name) {
		return nil, errNoMatch
	}
	return r, nil
}

// tcpExchanger sends one query over a fresh TCP connection.
type tcpExchanger struct {
	source netip.Addr
}

func (t *tcpExchanger) ExchangeContext(ctx context.Context, m *dns.Msg, addr string) (*dns.Msg, time.Duration, error) {
	out, err := m.Pack()
	if err != nil {
		return nil, 0, err
	}
	d := net.Dialer{}
	if t.source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(t.source, 0))
	}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, time.Since(start), transportError(ctx, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	pkt := make([]byte, 2+len(out))
	binary.BigEndian.PutUint16(pkt, uint16(len(out)))
	copy(pkt[2:], out)
	if _, err := conn.Write(pkt); err != nil {
		return nil, time.Since(start), transportError(ctx, err)
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, time.Since(start), transportError(ctx, err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, time.Since(start), transportError(ctx, err)
	}
	r, err := matchReply(m, buf)
	if errors.Is(err, errNoMatch) {
		err = errors.Join(errTimeout, errMismatched)
		r = nil
	}
	return r, time.Since(start), err
}

// transportError maps socket errors to the classes the probe cares about.
// ICMP host unreachable is a remote condition and counts as silence; local
// routing and address-family failures are vantage errors
// (docs/verification.md, section 2).
func transportError(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ctx.Err()
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w: %w", errConnRefused, err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ETIMEDOUT):
		return fmt.Errorf("%w: %w", errTimeout, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %w", errTimeout, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The peer closed the TCP connection without an answer.
		return fmt.Errorf("%w: %w", errConnRefused, err)
	default:
		return fmt.Errorf("%w: %w", errVantage, err)
	}
}
