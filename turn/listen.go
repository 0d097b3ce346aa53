package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// maxTCPConns bounds the TURN TCP connections open at once (control and
// RFC 6062 data connections); more are closed as they are accepted.
const maxTCPConns = 10000

// tlsHandshakeTimeout bounds a TURN TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// udpConn is a UDP listener as pion sees it: it lets the server look at
// each request before pion does (see secretHints).
type udpConn struct {
	net.PacketConn
	s *Server
}

func (c *udpConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(p)
	if err == nil {
		c.s.observe(p[:n])
	}
	return n, a, err
}

// tcpListener tracks its connections, so that Close can end them (pion
// closes its listeners but not the connections they accepted), bounds
// their number and gives each an idle timeout.
// With tls set, each connection is TLS, its handshake run by the first
// Read, in the connection's goroutine, never in the accept loop.
type tcpListener struct {
	net.Listener
	s   *Server
	tls *tls.Config
}

func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &tcpConn{Conn: c, s: l.s, observing: len(l.s.cfg.RESTSecrets) > 1}
		if !l.s.track(tc) {
			c.Close()
			continue
		}
		if l.tls != nil {
			tc.tls = tls.Server(c, l.tls)
			tc.Conn = tc.tls
		}
		return tc, nil
	}
}

// tcpConn is one accepted TURN TCP connection.
type tcpConn struct {
	net.Conn
	s    *Server
	once sync.Once

	// observing: with several REST secrets, the STUN messages read are
	// framed here too and shown to observe; it stops at the first thing
	// that is not STUN or ChannelData (e.g. after ConnectionBind).
	observing bool
	buf       []byte
	skip      int

	// tls is the connection of a TLS listener (then Conn too), its
	// handshake done by the first Read.
	tls       *tls.Conn
	handshook bool
}

func (c *tcpConn) Read(p []byte) (int, error) {
	if c.tls != nil && !c.handshook {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		err := c.tls.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.s.log.Debug("TURN TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
			return 0, err
		}
		c.handshook = true
	}
	if err := c.SetReadDeadline(time.Now().Add(c.s.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.observing {
		c.feed(p[:n])
	}
	return n, err
}

// feed frames the stream: STUN messages (20-byte header and its length)
// and ChannelData (4 bytes, the length, padding to 4 over streams).
func (c *tcpConn) feed(b []byte) {
	for len(b) > 0 && c.observing {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		need := 4
		if len(c.buf) >= 4 {
			switch c.buf[0] >> 6 {
			case 0:
				need = 20 + int(binary.BigEndian.Uint16(c.buf[2:4]))
			case 1:
				c.skip = (int(binary.BigEndian.Uint16(c.buf[2:4])) + 3) &^ 3
				c.buf = c.buf[:0]
				continue
			default:
				c.observing, c.buf = false, nil
				return
			}
		}
		k := min(need-len(c.buf), len(b))
		c.buf = append(c.buf, b[:k]...)
		b = b[k:]
		if len(c.buf) == need && need > 4 {
			c.s.observe(c.buf)
			c.buf = c.buf[:0]
		}
	}
}

func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.s.untrack(c) })
	return err
}

// observe looks at a STUN request before pion: with several REST secrets,
// it records which one signed a REST username (see secretHints).
func (s *Server) observe(b []byte) {
	if len(s.cfg.RESTSecrets) < 2 || len(b) < 20 || b[0]>>6 != 0 ||
		binary.BigEndian.Uint32(b[4:8]) != magicCookie {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil || !m.Contains(stun.AttrMessageIntegrity) {
		return
	}
	var u stun.Username
	if u.GetFrom(m) != nil || len(u) > maxUsername {
		return
	}
	name := u.String()
	expiry, _, ok := parseREST(name)
	now := s.now().Unix()
	if !ok || expiry < now {
		return
	}
	s.hints.mu.Lock()
	_, known := s.hints.m[name]
	s.hints.mu.Unlock()
	if known {
		return
	}
	for i, k := range s.restKeys(name) {
		if stun.MessageIntegrity(k).Check(m) == nil {
			s.hints.store(name, i, expiry, now)
			return
		}
	}
}

// magicCookie is STUN's (RFC 8489 §5).
const magicCookie = 0x2112A442
