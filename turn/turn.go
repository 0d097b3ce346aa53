// Package turn is sipedge's TURN/STUN server (RFC 8489, RFC 8656, TCP
// relay RFC 6062) on github.com/pion/turn/v5: sipedge's credentials (TURN
// REST shared secrets, and the SIP users' own passwords), a peer policy in
// pion's permission hook, allocation quotas, relay ports in a range, and
// listeners that Close really closes.
package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pturn "github.com/pion/turn/v5"
	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/turn/peerpolicy"
)

// Lifetimes (RFC 8656 §3.2, §9, §12).
const (
	DefaultLifetime       = 600 * time.Second
	MaxLifetime           = 3600 * time.Second // pion/turn v5's fixed maximum
	permissionLifetime    = 300 * time.Second
	channelLifetime       = 600 * time.Second
	DefaultMaxPerUser     = 10
	DefaultMaxAllocations = 10000
	closeWait             = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Realm is the TURN realm: the SIP domain whose users' HA1 are their
	// TURN keys.
	Realm string
	// ListenUDP and ListenTCP are "addr:port" to listen on (port 0 picks one).
	ListenUDP, ListenTCP []string
	// ListenTLS are "addr:port" for TURN over TLS (RFC 8656 §3.1), which
	// needs TLS: its certificate (or GetCertificate, to reload it). TLS
	// connections have the TCP ones' bounds and idle timeout.
	ListenTLS []string
	// Shared are listeners whose connections are TLS already: the TURN
	// side of a port shared with HTTPS (package mux443). They count as
	// TLS listeners (TLSAddrs); one on a wildcard address relays on the
	// listeners' first address of its family that is not loopback.
	Shared []net.Listener
	// TLS serves the ListenTLS listeners; TLS 1.2 is the least accepted
	// whatever it says.
	TLS *tls.Config
	// RelayAddress is the relayed address announced to clients, for a
	// server behind NAT; invalid (zero) means RelayBind.
	RelayAddress netip.Addr
	// RelayBind is the local address relay sockets bind to; it decides the
	// address family of the relays. It may be unspecified only when
	// RelayAddress is set. When both are invalid, each listener's relays
	// bind to the listener's own address (which must then be a specific
	// one), so that a multi-homed server relays on the address the client
	// reached; an allocation of the other address family (RFC 8656
	// REQUESTED-ADDRESS-FAMILY) gets a relay on another listener address
	// of that family, of the same kind (loopback, private, global) if
	// there is one.
	RelayBind netip.Addr
	// UDPSockets is the number of sockets, sharing the address with
	// SO_REUSEPORT, that serve each UDP listener address, each with its
	// own reading goroutine; 0 means GOMAXPROCS, at most 4. The kernel
	// steers datagrams by source address (Linux), so one client host's
	// allocations all live on one socket.
	UDPSockets int
	// SocketBuffer is the receive and send buffer size asked for each UDP
	// listener socket (default DefaultSocketBuffer); the kernel caps it
	// at net.core.rmem_max and wmem_max, and a warning says so.
	SocketBuffer int
	// PortMin and PortMax bound the relay ports (default 49152-65535).
	PortMin, PortMax uint16
	// DefaultLifetime is the allocation lifetime when the client asks for
	// none (600 s). MaxLifetime must be 0 or 3600 s: pion/turn v5 fixes it.
	DefaultLifetime, MaxLifetime time.Duration
	// MaxAllocationsPerUser and MaxAllocations (0: the defaults, 10 and
	// 10000); past them an Allocate gets 486.
	MaxAllocationsPerUser, MaxAllocations int
	// MaxBitrate caps each allocation's relayed traffic, in bits per
	// second and per direction (client to peer, peer to client), so that
	// one user cannot take the whole link of the server; 0 is no cap.
	// coturn's max-bps is this in bytes per second (MaxBitrate = 8 ×
	// max-bps). Over it UDP packets are dropped, as on a congested link,
	// and RFC 6062 TCP relays slow down. A UDP packet counts its payload
	// and 28 bytes of IP and UDP headers, a TCP relay its payload; bursts
	// of half a second of the rate pass (at least 1628 bytes, at most 64
	// KiB). What is charged is what is relayed: the client's packets and
	// data to its peers, and those of the peers with a permission or a
	// channel (by IP address, any port) to the client; packets to the
	// relayed address from other addresses, which are dropped, are not,
	// so that they cannot use up the allocation's budget (an allocation
	// with more than 64 peers at once is charged for every packet).
	MaxBitrate int64
	// RESTSecrets are the TURN REST shared secrets, used as written: a
	// USERNAME "expiry:user" has the password
	// base64(HMAC-SHA1(secret, USERNAME)) under any of them.
	RESTSecrets [][]byte
	// Users, when not nil, lets SIP users allocate with their own
	// password: USERNAME = the user part, realm = Realm, key = the stored
	// MD5 HA1.
	Users auth.Users
	// Policy decides the peers relaying may reach (CreatePermission,
	// ChannelBind, Connect), given the address as the client sent it; it
	// is required: pion's default admits every peer.
	Policy *peerpolicy.Policy
	// Logger takes the server's log; nil discards it.
	Logger *slog.Logger

	now func() time.Time // tests
}

// Stats are counters of a running server.
type Stats struct {
	Allocations       int    // live
	Users             int    // users with a live allocation
	AuthFailures      uint64 // requests whose credentials were refused
	PermissionsDenied uint64 // CreatePermission, ChannelBind and Connect refused by the peer policy
	QuotaRefusals     uint64 // Allocate answered 486
	BandwidthDrops    uint64 // UDP packets dropped over an allocation's MaxBitrate, either way
	BandwidthWaits    uint64 // times a TCP relay read or write waited for an allocation's MaxBitrate
}

// Server is a running TURN server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	pion *pturn.Server
	// relays are the relay generators, one per bind address; Close waits
	// for their sockets.
	relays []*relays
	quota  quota
	hints  secretHints
	idle   time.Duration

	udp []net.PacketConn
	tcp []net.Listener
	tls []net.Listener

	mu     sync.Mutex
	conns  map[*tcpConn]struct{}
	connWG sync.WaitGroup
	closed bool

	authFailures, denied atomic.Uint64
	bandwidth            bandwidthStats
	capped               relayCaps
	closeOnce            sync.Once
	closeErr             error
}

func (s *Server) now() time.Time { return s.cfg.now() }

// New checks cfg, opens the listeners and starts serving.
func New(cfg Config) (*Server, error) {
	if err := check(&cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: make(map[*tcpConn]struct{}), idle: MaxLifetime + time.Minute}
	s.quota = quota{perUser: cfg.MaxAllocationsPerUser, total: cfg.MaxAllocations, now: cfg.now, users: make(map[string]*usage)}

	sc := pturn.ServerConfig{
		LoggerFactory:      pionLogs{s.log},
		Realm:              cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       func(userID, _ string, _ net.Addr) bool { return s.quota.allow(userID) },
		ChannelBindTimeout: channelLifetime,
		PermissionTimeout:  permissionLifetime,
		AllocationLifetime: cfg.DefaultLifetime,
		EventHandler: pturn.EventHandler{
			OnAuth: func(src, _ net.Addr, _, username, _, method string, ok bool) {
				if !ok {
					s.authFailures.Add(1)
					s.log.Debug("TURN credentials refused", "src", src.String(), "username", username, "method", method)
				}
			},
			OnAllocationCreated: func(src, _ net.Addr, proto, userID, _ string, relay net.Addr, _ int) {
				s.quota.created(userID)
				s.log.Debug("TURN allocation", "src", src.String(), "transport", proto, "user", userID, "relay", relay.String())
			},
			OnAllocationDeleted: func(src, _ net.Addr, _, userID, _ string) {
				s.quota.deleted(userID)
				s.log.Debug("TURN allocation ended", "src", src.String(), "user", userID)
			},
		},
	}
	s.peerEvents(&sc.EventHandler)
	perm := s.permit
	fail := func(err error) (*Server, error) {
		for _, c := range s.udp {
			c.Close()
		}
		for _, l := range append(s.tcp, s.tls...) {
			l.Close()
		}
		return nil, err
	}
	listenAddrs, err := listenerAddrs(&cfg)
	if err != nil {
		return nil, err
	}
	generator := s.relayGenerators(listenAddrs)
	for _, a := range cfg.ListenUDP {
		conns, rcv, snd, steerErr, err := listenUDP(a, cfg.UDPSockets, cfg.SocketBuffer)
		if err != nil {
			if unassigned(err) && len(cfg.ListenUDP) > 1 {
				s.log.Warn("TURN: skipping a UDP listener address no interface has", "addr", a, "err", err)
				continue
			}
			return fail(fmt.Errorf("turn: UDP listener on %s: %w", a, err))
		}
		if steerErr != nil {
			s.log.Warn("TURN: one UDP socket for the address, not several", "addr", a, "err", steerErr)
		}
		if rcv < cfg.SocketBuffer || snd < cfg.SocketBuffer {
			s.log.Info("TURN: the kernel granted smaller UDP socket buffers than asked; raise net.core.rmem_max and net.core.wmem_max for heavy load",
				"addr", a, "asked", cfg.SocketBuffer, "receive", rcv, "send", snd)
		}
		s.udp = append(s.udp, conns...)
		for _, c := range conns {
			sc.PacketConnConfigs = append(sc.PacketConnConfigs, pturn.PacketConnConfig{
				PacketConn: &udpConn{PacketConn: c, s: s}, RelayAddressGenerator: generator(c.LocalAddr()), PermissionHandler: perm,
			})
		}
	}
	// TCP and TLS listeners are one kind: a stream, with TLS on top for the
	// second (nil tls for the first).
	for _, st := range []struct {
		name  string
		addrs []string
		tls   *tls.Config
		into  *[]net.Listener
	}{{"TCP", cfg.ListenTCP, nil, &s.tcp}, {"TLS", cfg.ListenTLS, cfg.TLS, &s.tls}} {
		for _, a := range st.addrs {
			l, err := net.Listen("tcp", a) //nolint:noctx
			if err != nil {
				if unassigned(err) && len(st.addrs) > 1 {
					s.log.Warn("TURN: skipping a "+st.name+" listener address no interface has", "addr", a, "err", err)
					continue
				}
				return fail(fmt.Errorf("turn: %s listener on %s: %w", st.name, a, err))
			}
			*st.into = append(*st.into, l)
			sc.ListenerConfigs = append(sc.ListenerConfigs, pturn.ListenerConfig{
				Listener: &tcpListener{Listener: l, s: s, tls: st.tls}, RelayAddressGenerator: generator(l.Addr()), PermissionHandler: perm,
			})
		}
	}
	for _, l := range cfg.Shared {
		s.tls = append(s.tls, l)
		sc.ListenerConfigs = append(sc.ListenerConfigs, pturn.ListenerConfig{
			Listener: &tcpListener{Listener: l, s: s}, RelayAddressGenerator: generator(l.Addr()), PermissionHandler: perm,
		})
	}
	p, err := pturn.NewServer(sc)
	if err != nil {
		return fail(fmt.Errorf("turn: %w", err))
	}
	s.pion = p
	return s, nil
}

// check fills the defaults in and refuses what cannot work.
func check(c *Config) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("turn: "+format, args...)) }
	if c.Realm == "" {
		bad("no realm")
	}
	if len(c.ListenUDP)+len(c.ListenTCP)+len(c.ListenTLS)+len(c.Shared) == 0 {
		bad("no listener")
	}
	if len(c.ListenTLS) > 0 {
		if c.TLS == nil || len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
			bad("TLS listeners without a certificate")
		} else {
			c.TLS = c.TLS.Clone()
			c.TLS.MinVersion = max(c.TLS.MinVersion, tls.VersionTLS12)
		}
	}
	if c.Policy == nil {
		bad("no peer policy (pion's default would relay to every address, loopback and private ranges included)")
	}
	if !c.RelayBind.IsValid() && c.RelayAddress.IsValid() {
		bad("a relay address %s with no relay bind address", c.RelayAddress)
	} else if c.RelayBind.IsUnspecified() && !c.RelayAddress.IsValid() {
		bad("the relay bind address %s is unspecified: set the relay (external) address", c.RelayBind)
	}
	if c.RelayAddress.IsValid() && c.RelayBind.IsValid() && c.RelayAddress.Unmap().Is4() != c.RelayBind.Unmap().Is4() {
		bad("relay address %s and relay bind address %s are of different address families", c.RelayAddress, c.RelayBind)
	}
	c.RelayBind, c.RelayAddress = c.RelayBind.Unmap(), c.RelayAddress.Unmap()
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = 49152, 65535
	}
	if c.PortMin == 0 || c.PortMin > c.PortMax {
		bad("relay port range %d-%d", c.PortMin, c.PortMax)
	}
	if c.DefaultLifetime == 0 {
		c.DefaultLifetime = DefaultLifetime
	}
	if c.MaxLifetime != 0 && c.MaxLifetime != MaxLifetime {
		bad("a maximum allocation lifetime of %v: pion/turn v5 fixes it at %v", c.MaxLifetime, MaxLifetime)
	}
	if c.DefaultLifetime < time.Second || c.DefaultLifetime > MaxLifetime {
		bad("a default allocation lifetime of %v (want 1s to %v)", c.DefaultLifetime, MaxLifetime)
	}
	if c.MaxAllocationsPerUser == 0 {
		c.MaxAllocationsPerUser = DefaultMaxPerUser
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = DefaultMaxAllocations
	}
	if c.MaxAllocationsPerUser < 0 || c.MaxAllocations < 0 {
		bad("negative allocation limits")
	}
	if c.MaxBitrate < 0 {
		bad("a negative maximum bitrate %d", c.MaxBitrate)
	}
	for i, sec := range c.RESTSecrets {
		if len(sec) == 0 {
			bad("REST secret %d is empty", i+1)
		}
	}
	if len(c.RESTSecrets) == 0 && c.Users == nil {
		bad("no credentials: give REST secrets or users")
	}
	if c.UDPSockets == 0 {
		c.UDPSockets = defaultUDPSockets()
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.UDPSockets < 0 || c.UDPSockets > 64 || c.SocketBuffer < 0 {
		bad("%d UDP sockets per address (want 1 to 64) with %d-byte buffers", c.UDPSockets, c.SocketBuffer)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return errors.Join(errs...)
}

// permit is pion's PermissionHandler, for CreatePermission, ChannelBind
// and Connect alike. pion answers a refusal with 403, except ChannelBind,
// which it answers with 401 and the listeners turn into 403 (channelbind.go).
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	a, ok := netip.AddrFromSlice(peer)
	reason := "not an IP address"
	if ok {
		ok, reason = s.cfg.Policy.Permit(a)
	}
	if !ok {
		s.denied.Add(1)
		s.log.Debug("TURN peer refused", "client", client.String(), "peer", peer.String(), "reason", reason)
	}
	return ok
}

// UDPAddrs, TCPAddrs and TLSAddrs are the listeners' bound addresses.
// Each address is listed once, however many sockets serve it.
func (s *Server) UDPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range s.udp {
		if a := c.LocalAddr().(*net.UDPAddr).AddrPort(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// TCPAddrs: see UDPAddrs.
func (s *Server) TCPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range s.tcp {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// TLSAddrs: see UDPAddrs.
func (s *Server) TLSAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range s.tls {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	n, users, refused := s.quota.stats()
	return Stats{Allocations: n, Users: users, AuthFailures: s.authFailures.Load(),
		PermissionsDenied: s.denied.Load(), QuotaRefusals: refused,
		BandwidthDrops: s.bandwidth.drops.Load(), BandwidthWaits: s.bandwidth.waits.Load()}
}

func (s *Server) track(c *tcpConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= maxTCPConns {
		return false
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return true
}

func (s *Server) untrack(c *tcpConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// Close stops the server: the listeners, every TCP connection and every
// allocation. It waits (at most 5 s) for the connections and relay
// sockets to be closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.pion.Close()
		for _, r := range s.relays {
			r.closeHeld()
		}
		s.mu.Lock()
		s.closed = true
		conns := make([]*tcpConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		done := make(chan struct{})
		go func() {
			s.connWG.Wait()
			for _, r := range s.relays {
				r.open.Wait()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeWait):
			s.log.Warn("TURN server: connections or relays still open after closing")
		}
	})
	return s.closeErr
}
