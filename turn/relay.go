package turn

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/transport/v5/reuseport"
	pturn "github.com/pion/turn/v5"
)

// relayTries is how many random ports an allocation tries before 508.
const relayTries = 32

// connectTimeout bounds a Connect (RFC 6062 §5.2: at least 30 s).
const connectTimeout = 30 * time.Second

var errNoRelayPort = errors.New("turn: no free relay port in the range")

// relays is sipedge's RelayAddressGenerator: relay sockets on a random
// port of [min, max] at the bind address, announced with the external
// address. Unlike pion's own it never gives two TCP allocations the same
// port (its TCP listeners need SO_REUSEPORT, so that Connect can dial out
// from the relayed address, and the kernel would let a second allocation
// bind the port), dials Connect from the bind address rather than the
// announced one (which a host behind NAT does not have), releases a quota
// reservation when an allocation fails here, counts its sockets so that
// Close can wait for them, and puts each allocation's sockets under its
// bandwidth cap (see limiter).
type relays struct {
	s         *Server
	bind      netip.Addr
	advertise net.IP
	min, max  uint16

	mu       sync.Mutex
	tcpPorts map[uint16]bool
	// caps are the capped TCP allocations' caps by port, for the Connects
	// from them; made by the first.
	caps map[uint16]*limiter
	// held are the ports kept for reservations (reserve.go).
	held map[uint16]*heldPort
	open sync.WaitGroup
}

var _ pturn.RelayAddressGenerator = (*relays)(nil)

func (r *relays) Validate() error { return nil }

func (r *relays) port() uint16 {
	return r.min + uint16(rand.IntN(int(r.max-r.min)+1)) //nolint:gosec // not a secret: ports are observable
}

// family refuses an allocation of the other address family than the bind
// address's (pion answers 508).
func (r *relays) family(network string) error {
	if r.bind.Is6() != isV6(network) {
		return errors.New("turn: the relay address is not of the requested address family")
	}
	return nil
}

// isV6 reports whether pion's network ("udp4", "tcp6"...) is IPv6.
func isV6(network string) bool { return len(network) > 0 && network[len(network)-1] == '6' }

func (r *relays) failed(userID string) {
	if userID != "" {
		r.s.quota.failed(userID)
	}
}

func (r *relays) AllocatePacketConn(conf pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if err := r.family(conf.Network); err != nil {
		r.failed(conf.UserID)
		return nil, nil, err
	}
	try := func(port uint16) (net.PacketConn, net.Addr, error) {
		c, err := r.listenRelay(conf.Network, port, conf.RequestedPort != 0)
		if err != nil {
			return nil, nil, err
		}
		r.open.Add(1)
		a := &net.UDPAddr{IP: r.advertise, Port: int(port)}
		rc := &relayPacketConn{PacketConn: c, done: r.open.Done}
		if lim := r.limiter(conf.UserID, a); lim != nil {
			// Registered before pion knows the allocation, so before any
			// of its permissions.
			r.s.capped.add(a, lim)
			rc.done = func() { r.s.capped.remove(a, lim); r.open.Done() }
			return &limitedPacketConn{relayPacketConn: rc, lim: lim}, a, nil
		}
		return rc, a, nil
	}
	if conf.RequestedPort != 0 {
		if conf.RequestedPort < int(r.min) || conf.RequestedPort > int(r.max) {
			r.failed(conf.UserID)
			return nil, nil, errNoRelayPort
		}
		c, a, err := try(uint16(conf.RequestedPort))
		if err != nil {
			r.failed(conf.UserID)
		}
		return c, a, err
	}
	for range relayTries {
		if c, a, err := try(r.port()); err == nil {
			return c, a, nil
		}
	}
	r.failed(conf.UserID)
	return nil, nil, errNoRelayPort
}

func (r *relays) AllocateListener(conf pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	if err := r.family(conf.Network); err != nil {
		r.failed(conf.UserID)
		return nil, nil, err
	}
	lc := net.ListenConfig{Control: reuseport.Control}
	try := func(port uint16) (net.Listener, net.Addr, error) {
		a := &net.TCPAddr{IP: r.advertise, Port: int(port)}
		lim := r.limiter(conf.UserID, a)
		r.mu.Lock()
		if r.tcpPorts[port] {
			r.mu.Unlock()
			return nil, nil, errNoRelayPort
		}
		r.tcpPorts[port] = true
		if lim != nil {
			if r.caps == nil {
				r.caps = make(map[uint16]*limiter)
			}
			r.caps[port] = lim
		}
		r.mu.Unlock()
		ln, err := lc.Listen(context.Background(), conf.Network, net.JoinHostPort(r.bind.String(), strconv.Itoa(int(port))))
		if err != nil {
			r.releasePort(port)
			return nil, nil, err
		}
		r.open.Add(1)
		return &relayListener{Listener: ln, lim: lim, done: func() { r.releasePort(port); r.open.Done() }}, a, nil
	}
	if conf.RequestedPort != 0 {
		r.failed(conf.UserID)
		return nil, nil, errNoRelayPort // EVEN-PORT and reservations are UDP only
	}
	for range relayTries {
		if ln, a, err := try(r.port()); err == nil {
			return ln, a, nil
		}
	}
	r.failed(conf.UserID)
	return nil, nil, errNoRelayPort
}

func (r *relays) releasePort(p uint16) {
	r.mu.Lock()
	delete(r.tcpPorts, p)
	delete(r.caps, p)
	r.mu.Unlock()
}

// AllocateConn dials a peer for Connect (RFC 6062 §5.2) from the relayed
// transport address, under the allocation's cap.
func (r *relays) AllocateConn(conf pturn.AllocateConnConfig) (net.Conn, error) {
	local := &net.TCPAddr{IP: r.bind.AsSlice()}
	if t, ok := conf.LocalAddr.(*net.TCPAddr); ok {
		local.Port = t.Port
	}
	d := net.Dialer{LocalAddr: local, Control: reuseport.Control, Timeout: connectTimeout}
	c, err := d.Dial(conf.Network, conf.RemoteAddr.String()) //nolint:noctx
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	lim := r.caps[uint16(local.Port)] //nolint:gosec // a port
	r.mu.Unlock()
	if lim != nil {
		return lim.conn(c), nil
	}
	return c, nil
}

type relayPacketConn struct {
	net.PacketConn
	once sync.Once
	done func()
}

func (c *relayPacketConn) Close() error {
	err := c.PacketConn.Close()
	c.once.Do(c.done)
	return err
}

type relayListener struct {
	net.Listener
	lim  *limiter // nil: no cap
	once sync.Once
	done func()
}

// Accept puts the peers' connections under the allocation's cap.
func (l *relayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.lim == nil {
		return c, err
	}
	return l.lim.conn(c), nil
}

func (l *relayListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.done)
	return err
}
