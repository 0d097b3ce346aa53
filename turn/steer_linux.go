package turn

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// skfNetOff makes a classic BPF load relative to the network header
// (linux/filter.h SKF_NET_OFF): a reuseport program sees the packet from
// its UDP payload on.
const skfNetOff = -0x100000

// steerBySource makes the kernel pick, among the n sockets of c's
// SO_REUSEPORT group, the one for a datagram by its source address alone
// (its last 32 bits modulo n), rather than by source address and port.
// So every socket of one client host reaches the same socket, and so the
// same pion allocation manager: an RFC 8656 RESERVATION-TOKEN made by one
// allocation (EVEN-PORT, the RTP port) is found by the next (RTCP, from
// another port).
func steerBySource(c *net.UDPConn, n int, v6 bool) error {
	off := int32(skfNetOff + 12) // IPv4 source address
	if v6 {
		off = skfNetOff + 8 + 12 // last word of the IPv6 source address
	}
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: uint32(off)},
		{Code: unix.BPF_ALU | unix.BPF_MOD | unix.BPF_K, K: uint32(n)},
		{Code: unix.BPF_RET | unix.BPF_A},
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_ATTACH_REUSEPORT_CBPF: %w", serr)
	}
	return nil
}
