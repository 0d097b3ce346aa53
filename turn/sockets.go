package turn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"syscall"

	"github.com/pion/transport/v5/reuseport"
	pturn "github.com/pion/turn/v5"
	"golang.org/x/sys/unix"
)

// Socket defaults.
const (
	// maxUDPSockets bounds the default number of sockets per UDP listener
	// address: past four, one reading goroutine per socket gains little
	// on the machines sipedge runs on, and each costs a socket buffer.
	maxUDPSockets = 4
	// DefaultSocketBuffer is the receive and send buffer asked for each UDP
	// listener socket: a burst of media from many clients must not
	// overflow the kernel's default (about 200 KiB) while the reading
	// goroutine is busy.
	DefaultSocketBuffer = 4 << 20
)

// listenUDP opens n sockets on addr that share it with SO_REUSEPORT, each
// with buffers of size bytes, so that n goroutines read them: the kernel
// steers each datagram by its source address (see steerBySource), so a
// client host always reaches the same socket and so the same allocations.
// When steering cannot be set up, one socket serves addr and steerErr says
// why. The port of the first socket decides the others' when addr asks
// for port 0. The sizes returned are those the kernel granted (it caps
// them at net.core.rmem_max and wmem_max).
func listenUDP(addr string, n, size int) (conns []net.PacketConn, rcv, snd int, steerErr, err error) {
	lc := net.ListenConfig{}
	if n > 1 {
		lc.Control = reuseport.Control
	}
	for i := range n {
		c, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, 0, 0, nil, err
		}
		conns = append(conns, c)
		u := c.(*net.UDPConn)
		// Errors here are not fatal: the socket works with the kernel's
		// default buffers, and the sizes read back below say so.
		_ = u.SetReadBuffer(size)
		_ = u.SetWriteBuffer(size)
		if i > 0 {
			continue
		}
		rcv, snd = bufferSizes(u)
		la := u.LocalAddr().(*net.UDPAddr)
		addr = la.String()
		if n > 1 {
			if steerErr = steerBySource(u, n, la.IP.To4() == nil); steerErr != nil {
				return conns, rcv, snd, steerErr, nil
			}
		}
	}
	return conns, rcv, snd, nil, nil
}

// bufferSizes reads a socket's buffer sizes back (Linux reports twice
// what it grants for bookkeeping; halved here to compare with what was
// asked). 0 when they cannot be read.
func bufferSizes(c *net.UDPConn) (rcv, snd int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = raw.Control(func(fd uintptr) {
		r, err1 := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		s, err2 := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err1 == nil && err2 == nil {
			rcv, snd = r/2, s/2
		}
	})
	return rcv, snd
}

// defaultUDPSockets is the number of sockets per UDP listener address when
// Config.UDPSockets is 0.
func defaultUDPSockets() int { return min(runtime.GOMAXPROCS(0), maxUDPSockets) }

// unassigned reports whether err is a listen on an address no interface
// has (any more, or not yet: an IPv6 address still in duplicate address
// detection at boot).
func unassigned(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) }

// relayFamilies is the RelayAddressGenerator of a listener whose relays bind
// to the listener's own address: an allocation gets a relay of the address
// family it asks for (RFC 8656 §7.2, REQUESTED-ADDRESS-FAMILY), on the
// listener's address or, for the other family, on another address of the
// server. One family may be missing (nil): a request for it goes to the
// other, whose family check refuses it (pion answers 508).
type relayFamilies struct {
	v4, v6 *relays
}

var _ pturn.RelayAddressGenerator = relayFamilies{}

func (f relayFamilies) Validate() error { return nil }

func (f relayFamilies) pick(network string) *relays {
	if isV6(network) && f.v6 != nil || f.v4 == nil {
		return f.v6
	}
	return f.v4
}

func (f relayFamilies) AllocatePacketConn(conf pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	return f.pick(conf.Network).AllocatePacketConn(conf)
}

func (f relayFamilies) AllocateListener(conf pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return f.pick(conf.Network).AllocateListener(conf)
}

func (f relayFamilies) AllocateConn(conf pturn.AllocateConnConfig) (net.Conn, error) {
	return f.pick(conf.Network).AllocateConn(conf)
}

// sameFamily picks, among addrs, the relay address of a wildcard listener
// (u, unspecified): the first of u's family that is not loopback, else the
// first of that family, else u's loopback address.
func sameFamily(u netip.Addr, addrs []netip.Addr) netip.Addr {
	var first netip.Addr
	for _, b := range addrs {
		if b.Is4() != u.Is4() {
			continue
		}
		if !b.IsLoopback() {
			return b
		}
		if !first.IsValid() {
			first = b
		}
	}
	if first.IsValid() {
		return first
	}
	if u.Is4() {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.IPv6Loopback()
}

// otherFamily picks, among addrs, the relay address for allocations of the
// other family than a's: one of the same kind (loopback for loopback,
// private for private, global for global) if there is one, else any.
func otherFamily(a netip.Addr, addrs []netip.Addr) netip.Addr {
	var any netip.Addr
	for _, b := range addrs {
		if b.Is4() == a.Is4() || b.IsUnspecified() {
			continue
		}
		if b.IsLoopback() == a.IsLoopback() && b.IsPrivate() == a.IsPrivate() {
			return b
		}
		if !any.IsValid() {
			any = b
		}
	}
	return any
}

// listenerAddrs are the IP addresses of cfg's listeners; with no relay
// bind address each must be a specific one, since its relays bind to it.
func listenerAddrs(cfg *Config) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, list := range [][]string{cfg.ListenUDP, cfg.ListenTCP, cfg.ListenTLS} {
		for _, a := range list {
			ap, err := netip.ParseAddrPort(a)
			if err != nil {
				return nil, fmt.Errorf("turn: listener address %q: %w", a, err)
			}
			ip := ap.Addr().Unmap()
			if !cfg.RelayBind.IsValid() && ip.IsUnspecified() {
				return nil, fmt.Errorf("turn: listener %s is on every address: give a relay bind address, or listen on each address", a)
			}
			if !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
	}
	return out, nil
}

// relayGenerators returns the relay generator of a listener given its
// bound address: the one of Config.RelayBind when set, else relays on the
// listener's own address (see Config.RelayBind).
func (s *Server) relayGenerators(addrs []netip.Addr) func(net.Addr) pturn.RelayAddressGenerator {
	byBind := make(map[netip.Addr]*relays)
	get := func(bind, advertise netip.Addr) *relays {
		if r := byBind[bind]; r != nil {
			return r
		}
		r := s.newRelays(bind, advertise)
		byBind[bind] = r
		s.relays = append(s.relays, r)
		return r
	}
	if s.cfg.RelayBind.IsValid() {
		advertise := s.cfg.RelayAddress
		if !advertise.IsValid() {
			advertise = s.cfg.RelayBind
		}
		r := get(s.cfg.RelayBind, advertise)
		return func(net.Addr) pturn.RelayAddressGenerator { return r }
	}
	return func(local net.Addr) pturn.RelayAddressGenerator {
		ap, _ := netip.ParseAddrPort(local.String())
		a := ap.Addr().Unmap()
		if a.IsUnspecified() { // a shared listener (Config.Shared)
			a = sameFamily(a, addrs)
		}
		var f relayFamilies
		mine, other := &f.v6, &f.v4
		if a.Is4() {
			mine, other = &f.v4, &f.v6
		}
		*mine = get(a, a)
		if alt := otherFamily(a, addrs); alt.IsValid() {
			*other = get(alt, alt)
		}
		return f
	}
}

// newRelays makes the relay generator of one bind address.
func (s *Server) newRelays(bind, advertise netip.Addr) *relays {
	return &relays{s: s, bind: bind, advertise: advertise.AsSlice(), min: s.cfg.PortMin, max: s.cfg.PortMax, tcpPorts: make(map[uint16]bool)}
}
