package resolver

import "syscall"

// recvErrControl enables IP_RECVERR / IPV6_RECVERR so that ICMP port
// unreachable reaches an unconnected UDP socket as ECONNREFUSED.
func recvErrControl(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if network == "udp6" {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR, 1)
		} else {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_RECVERR, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
