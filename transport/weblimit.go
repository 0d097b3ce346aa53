package transport

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// webConns counts the connections listenWeb's listeners admitted. It has a lock
// of its own, not m.mu: a connection gives its place back in Close, which
// the Manager calls while holding m.mu.
type webConns struct {
	mu    sync.Mutex
	n     int
	perIP map[netip.Addr]int
}

// ListenShared opens the TCP listener of a web port that something else
// shares (package mux443 sorts TLS connections between the web side and
// TURN): on addr's address family, with the web connection limits from
// accept (see listenWeb), which the shared connections count against
// too, since they cannot be told apart before the handshake. Its web
// side is then served by ServeWSS.
func (m *Manager) ListenShared(addr string) (net.Listener, error) {
	ln, err := m.listenWeb(addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	return ln, nil
}

// listenWeb opens a TCP listener for the web side (SIP over WebSocket,
// the pages, the TURN credentials) whose connections are bounded from
// accept, before any TLS or HTTP: MaxConns in total and MaxConnsPerIP from
// one address, a trusted proxy's (Config.TrustedProxies) only in the
// total. Flows count only once their WebSocket handshake is done, and
// net/http caps neither, so without this a client could hold any number
// of connections in the handshake or idle between requests. A connection
// that becomes a WebSocket flow keeps its place here too until it closes.
// Past a limit a connection is closed at once and counted in
// Stats.ConnsRefused.
func (m *Manager) listenWeb(addr string) (net.Listener, error) {
	ln, err := net.Listen(family("tcp", addr), addr) //nolint:noctx
	if err != nil {
		return nil, err
	}
	return &limitedListener{Listener: ln, m: m}, nil
}

type limitedListener struct {
	net.Listener
	m *Manager
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrPortOf(c.RemoteAddr()).Addr()
		trusted := l.m.trusted(ip)
		if l.m.admitWeb(ip, trusted) {
			return &limitedConn{Conn: c, m: l.m, ip: ip, trusted: trusted}, nil
		}
		c.Close()
	}
}

// admitWeb takes a place for a connection from ip (a trusted proxy's when
// trusted), or says there is none.
func (m *Manager) admitWeb(ip netip.Addr, trusted bool) bool {
	w := &m.web
	w.mu.Lock()
	ok := w.n < m.cfg.MaxConns && (trusted || w.perIP[ip] < m.cfg.MaxConnsPerIP)
	if ok {
		w.n++
		if !trusted {
			w.perIP[ip]++
		}
	}
	w.mu.Unlock()
	if !ok {
		m.count(&m.stats.ConnsRefused)
		m.logLimited("web-conn-limit", "transport: web connection limit reached, connection closed", "remote", ip, "max", m.cfg.MaxConns, "maxPerIP", m.cfg.MaxConnsPerIP)
	}
	return ok
}

// releaseWeb gives back the place admitWeb took.
func (m *Manager) releaseWeb(ip netip.Addr, trusted bool) {
	w := &m.web
	w.mu.Lock()
	w.n--
	if !trusted {
		if w.perIP[ip]--; w.perIP[ip] <= 0 {
			delete(w.perIP, ip)
		}
	}
	w.mu.Unlock()
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	m       *Manager
	ip      netip.Addr
	trusted bool
	once    sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.m.releaseWeb(c.ip, c.trusted) })
	return err
}
