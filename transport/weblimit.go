package transport

import (
	"net"
	"net/netip"
	"sync"
)

// webConns counts the connections LimitListener admitted. It has a lock
// of its own, not m.mu: a connection gives its place back in Close, which
// the Manager calls while holding m.mu.
type webConns struct {
	mu    sync.Mutex
	n     int
	perIP map[netip.Addr]int
}

// LimitListener bounds the connections ln accepts for the web side (SIP
// over WebSocket, the pages, the TURN credentials), counted from accept,
// before any TLS or HTTP: MaxConns in total and MaxConnsPerIP from one
// address, a trusted proxy's (Config.TrustedProxies) only in the total.
// Flows count only once their WebSocket handshake is done, and net/http
// caps neither, so without this a client could hold any number of
// connections in the handshake or idle between requests. A connection
// that becomes a WebSocket flow keeps its place here too until it closes.
// Past a limit a connection is closed at once and counted in
// Stats.ConnsRefused. ListenWS and ListenWSS apply it themselves; a
// listener given to ServeWSS (a port shared with TURN) should be the
// raw TCP one wrapped by it.
func (m *Manager) LimitListener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, m: m}
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
		if l.m.admitWeb(ip) {
			return &limitedConn{Conn: c, m: l.m, ip: ip}, nil
		}
		c.Close()
	}
}

// admitWeb takes a place for a connection from ip, or says there is none.
func (m *Manager) admitWeb(ip netip.Addr) bool {
	trusted := m.trusted(ip)
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

// releaseWeb gives back the place of a connection from ip.
func (m *Manager) releaseWeb(ip netip.Addr) {
	trusted := m.trusted(ip)
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
	m    *Manager
	ip   netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.m.releaseWeb(c.ip) })
	return err
}
