package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/sip"
)

// remoteKey finds a connection to reuse: its transport, peer address and,
// for one this side made over TLS, the name it verified.
type remoteKey struct {
	kind   Kind
	remote netip.AddrPort
	name   string
}

// streamConn is one connection and its flow. Its read loop runs in a
// goroutine of its own; writes from any goroutine take wmu.
type streamConn struct {
	m    *Manager
	conn net.Conn
	flow Flow
	name string // the server name verified, for a TLS connection this side made
	// session is what Config.WSCheck returned for a WebSocket's
	// handshake (nil otherwise); set before the connection reads.
	session any

	wmu    sync.Mutex
	closed bool // under wmu
}

// ListenTCP opens a TCP listener on addr ("127.0.0.1:5060", "[::1]:0")
// and returns the address it is bound to.
func (m *Manager) ListenTCP(addr string) (netip.AddrPort, error) {
	return m.listenStream(addr, TCP, nil)
}

// listenStream opens a TCP listener whose connections are of kind (TLS
// with tlsCfg) and starts its accept loop.
func (m *Manager) listenStream(addr string, kind Kind, tlsCfg *tls.Config) (netip.AddrPort, error) {
	ln, err := net.Listen(family("tcp", addr), addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("transport: listen %v %s: %w", kind, addr, err)
	}
	if err := m.adopt(ln, func() { m.tcp = append(m.tcp, ln) }); err != nil {
		return netip.AddrPort{}, err
	}
	go m.acceptStream(ln, kind, tlsCfg)
	return addrPortOf(ln.Addr()), nil
}

// adopt records a new listener with add, under m.mu, and counts the
// goroutine the caller then starts for it; once the Manager is closed it
// closes the listener instead.
func (m *Manager) adopt(l io.Closer, add func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		l.Close()
		return ErrClosed
	}
	add()
	m.wg.Add(1)
	return nil
}

// acceptStream accepts connections until the listener closes; tlsCfg makes
// them TLS. It only accepts and counts: everything a connection does, its
// TLS handshake included, happens in that connection's own goroutine, so
// a silent peer delays no one.
func (m *Manager) acceptStream(ln net.Listener, kind Kind, tlsCfg *tls.Config) {
	defer m.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.logLimited("accept", "transport: accept", "kind", kind, "err", err)
			time.Sleep(5 * time.Millisecond) // out of descriptors: do not spin
			continue
		}
		m.wg.Add(1)
		go m.serveConn(conn, kind, tlsCfg)
	}
}

// serveConn runs an accepted connection: the PROXY protocol header of a
// trusted proxy, the TLS handshake, then the read loop, all in the
// connection's own goroutine and under deadlines.
func (m *Manager) serveConn(conn net.Conn, kind Kind, tlsCfg *tls.Config) {
	defer m.wg.Done()
	var remote netip.AddrPort
	if m.cfg.ProxyProtocol && m.trusted(addrPortOf(conn.RemoteAddr()).Addr()) {
		conn.SetReadDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
		c, src, err := readProxyHeader(conn)
		if err != nil {
			m.logLimited("proxy-protocol", "transport: PROXY protocol header", "peer", conn.RemoteAddr(), "err", err)
			conn.Close()
			return
		}
		conn, remote = c, src
	}
	if tlsCfg != nil {
		conn = tls.Server(conn, tlsCfg)
	}
	c := m.registerConn(conn, kind, "", true, remote)
	if c == nil {
		return
	}
	defer m.wg.Done()
	c.readLoop()
}

// startConn registers conn, a connection this side made, as a flow and
// starts its read loop, or closes it when a connection limit is reached.
func (m *Manager) startConn(conn net.Conn, kind Kind, name string) *streamConn {
	c := m.registerConn(conn, kind, name, false, netip.AddrPort{})
	if c != nil {
		go func() {
			defer m.wg.Done()
			c.readLoop()
		}()
	}
	return c
}

// registerConn makes conn a flow, or closes it when a connection limit is
// reached (for an incoming one, MaxNewConnsPerIP as well). remote, when
// valid, is the peer's address as a trusted proxy reported it; the limits
// count it instead of the proxy's. A registered connection counts in the Manager's WaitGroup: the
// goroutine that runs it calls m.wg.Done when it ends.
func (m *Manager) registerConn(conn net.Conn, kind Kind, name string, incoming bool, remote netip.AddrPort) *streamConn {
	if !remote.IsValid() {
		remote = addrPortOf(conn.RemoteAddr())
	}
	m.mu.Lock()
	if m.closed || m.nconns >= m.cfg.MaxConns || m.perIP[remote.Addr()] >= m.cfg.MaxConnsPerIP ||
		incoming && !m.newConnAllowed(remote.Addr(), time.Now()) {
		closed := m.closed
		if !closed {
			m.stats.ConnsRefused++
		}
		m.mu.Unlock()
		conn.Close()
		if !closed {
			m.logLimited("conn-limit", "transport: connection limit reached, connection closed", "remote", remote, "max", m.cfg.MaxConns, "maxPerIP", m.cfg.MaxConnsPerIP)
		}
		return nil
	}
	m.nextID++
	c := &streamConn{m: m, conn: conn, name: name, flow: Flow{ID: m.nextID, Kind: kind, Local: addrPortOf(conn.LocalAddr()), Remote: remote}}
	m.nconns++
	m.perIP[remote.Addr()]++
	m.flows[c.flow.ID] = c
	if kind == TCP || kind == TLS {
		m.byRemote[remoteKey{kind, remote, name}] = c
	}
	m.wg.Add(1)
	m.mu.Unlock()
	return c
}

// connBucket is one address's allowance of new connections: a token
// bucket that refills MaxNewConnsPerIP tokens a second, up to as many.
type connBucket struct {
	tokens float64
	last   time.Time
}

// newConnAllowed takes a token from ip's bucket; m.mu must be held.
func (m *Manager) newConnAllowed(ip netip.Addr, now time.Time) bool {
	rate := float64(m.cfg.MaxNewConnsPerIP)
	b := m.newConns[ip]
	if b == nil {
		b = &connBucket{tokens: rate, last: now}
		m.newConns[ip] = b
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forget removes c from the tables once its read loop ends.
func (m *Manager) forget(c *streamConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nconns--
	delete(m.flows, c.flow.ID)
	if key := (remoteKey{c.flow.Kind, c.flow.Remote, c.name}); m.byRemote[key] == c {
		delete(m.byRemote, key)
	}
	if m.perIP[c.flow.Remote.Addr()]--; m.perIP[c.flow.Remote.Addr()] <= 0 {
		delete(m.perIP, c.flow.Remote.Addr())
	}
}

// readLoop frames messages until the peer closes, goes idle for
// IdleTimeout, or breaks the framing.
func (c *streamConn) readLoop() {
	m := c.m
	defer m.forget(c)
	defer c.close()
	if tc, ok := c.conn.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	sp := sip.NewStreamParser(m.cfg.Limits)
	buf := make([]byte, 4096)
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(m.cfg.IdleTimeout)); err != nil {
			return
		}
		n, err := c.conn.Read(buf)
		for b := buf[:n]; len(b) > 0; {
			taken, werr := sp.Write(b)
			b = b[taken:]
			if !c.drain(sp) {
				return
			}
			if werr != nil && taken == 0 && len(b) > 0 {
				// Full and nothing framed: drain reported the oversized
				// message already; this cannot go on.
				return
			}
		}
		if err != nil {
			return // closed, idle, or reset
		}
	}
}

// drain hands on every whole message in sp and answers keep-alives; it
// returns false when the connection must close.
func (c *streamConn) drain(sp *sip.StreamParser) bool {
	m := c.m
	for {
		before := sp.Buffered()
		msg, ka, err := sp.Next()
		switch {
		case errors.Is(err, sip.ErrIncomplete):
			return true
		case err != nil:
			var pe *sip.ParseError
			if errors.As(err, &pe) {
				c.refuse(pe)
			}
			// A message that was framed (its bytes consumed) but is
			// malformed leaves the stream intact: on to the next one.
			// Anything else loses the framing.
			if sp.Buffered() < before && pe != nil && pe.Status != 513 {
				continue
			}
			return false
		case ka != sip.NoKeepAlive:
			if !c.keepAlive(ka) {
				return false
			}
		case msg != nil:
			m.handler(&Inbound{Msg: msg, Flow: c.flow, Received: time.Now()})
		}
	}
}

// refuse answers a malformed message on c when it can (see Manager.refuse).
func (c *streamConn) refuse(pe *sip.ParseError) { c.m.refuse(c, c.flow.Remote, pe) }

// keepAlive answers a CRLFCRLF ping with a CRLF pong (RFC 5626 §4.4.1)
// and counts both; false means the pong could not be written.
func (c *streamConn) keepAlive(ka sip.KeepAlive) bool {
	m := c.m
	if ka == sip.Pong {
		m.count(&m.stats.KeepAlives)
		return true
	}
	m.count(&m.stats.Pings)
	return c.writeMessage([]byte("\r\n")) == nil
}

func (c *streamConn) send(msg *sip.Message, max int) error {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	b := msg.AppendTo((*bp)[:0])
	*bp = b[:0]
	if len(b) > max {
		return fmt.Errorf("transport: %d-byte message over the %d-byte limit", len(b), max)
	}
	return c.writeMessage(b)
}

// writeMessage writes b, one message: as it is on TCP and TLS, in a text
// frame on WS and WSS.
func (c *streamConn) writeMessage(b []byte) error {
	if c.flow.Kind == WS || c.flow.Kind == WSS {
		return c.writeFrame(ws.OpText, b)
	}
	return c.write(b)
}

// write writes b whole under WriteTimeout.
func (c *streamConn) write(b []byte) error {
	return c.writeWith(func() error {
		_, err := c.conn.Write(b)
		return err
	})
}

// writeWith runs w, which writes to c.conn, alone and under WriteTimeout;
// a failed write closes the connection (a peer that does not read is
// dropped).
func (c *streamConn) writeWith(w func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrFlowGone
	}
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.m.cfg.WriteTimeout)); err != nil {
		return c.failLocked(err)
	}
	if err := w(); err != nil {
		return c.failLocked(err)
	}
	return nil
}

// failLocked closes the connection after a failed write; the error is
// ErrFlowGone too, since the flow is: a proxy then answers 430 or tries the
// instance's next flow (RFC 5626 §5.3).
func (c *streamConn) failLocked(err error) error {
	c.closed = true
	c.conn.Close()
	return fmt.Errorf("transport: write to %v: %w: %w", c.flow.Remote, err, ErrFlowGone)
}

func (c *streamConn) close() {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	c.conn.Close()
}

// SendTCP sends msg over a connection to remote: one already open (RFC
// 3261 §18.1.1 lets a request reuse it), else a new one made within
// DialTimeout. It returns the connection's flow.
func (m *Manager) SendTCP(remote netip.AddrPort, msg *sip.Message) (FlowID, error) {
	return m.sendStream(TCP, remote, "", msg)
}

// sendStream sends msg over a TCP or TLS connection to remote, reused or
// made; serverName is the name a new TLS connection verifies.
func (m *Manager) sendStream(kind Kind, remote netip.AddrPort, serverName string, msg *sip.Message) (FlowID, error) {
	remote = unmapped(remote)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, ErrClosed
	}
	c := m.byRemote[remoteKey{kind, remote, serverName}]
	m.mu.Unlock()
	if c == nil {
		conn, err := m.dial(kind, remote, serverName)
		if err != nil {
			return 0, fmt.Errorf("transport: connect to %v over %v: %w", remote, kind, err)
		}
		if c = m.startConn(conn, kind, serverName); c == nil {
			return 0, fmt.Errorf("transport: connect to %v: connection limit reached", remote)
		}
	}
	return c.flow.ID, c.send(msg, m.maxMsg)
}

// dial makes a connection within DialTimeout; a TLS one finishes its
// handshake within HandshakeTimeout as well.
func (m *Manager) dial(kind Kind, remote netip.AddrPort, serverName string) (net.Conn, error) {
	d := &net.Dialer{Timeout: m.cfg.DialTimeout}
	if kind != TLS {
		return d.Dial("tcp", remote.String())
	}
	cfg := m.cfg.TLSClient.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if serverName != "" {
		cfg.ServerName = serverName
	}
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.DialTimeout+m.cfg.HandshakeTimeout)
	defer cancel()
	return (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", remote.String())
}
