package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
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
// each request before pion does (see secretHints), and turns pion's 401
// to a ChannelBind whose peer the policy refuses into 403 (see
// channelbind.go). The zero refused is ready for use.
type udpConn struct {
	net.PacketConn
	s       *Server
	refused refusals
}

func (c *udpConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(p)
	if err == nil {
		c.s.observe(p[:n])
		if isChannelBind(p[:n]) {
			if r, ok := c.s.refusedChannelBind(p[:n], addrPort(a)); ok {
				c.refused.add(udpRefusals, r)
			}
		}
	}
	return n, a, err
}

func (c *udpConn) WriteTo(p []byte, a net.Addr) (int, error) {
	if isChannelBindError(p) {
		if q := c.s.answer(&c.refused, p, a); q != nil {
			if _, err := c.PacketConn.WriteTo(q, a); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.PacketConn.WriteTo(p, a)
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
		tc := &tcpConn{Conn: c, s: l.s, framing: true}
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

	// framing: the stream read is framed here too (see feed), until the
	// first thing that is not STUN or ChannelData (e.g. the data after
	// ConnectionBind).
	framing bool
	hdr     [4]byte // a frame's first bytes, hn of them read
	hn      int
	skip    int    // bytes of the frame left to skip
	kept    []byte // the STUN message being kept whole, want bytes long
	want    int
	refused refusals

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
	if n > 0 && c.framing {
		c.feed(p[:n])
	}
	return n, err
}

// Write sends pion's writes, each a whole message (STUNConn.WriteTo), but
// a 401 to be turned into 403 (see channelbind.go).
func (c *tcpConn) Write(p []byte) (int, error) {
	if isChannelBindError(p) {
		if q := c.s.answer(&c.refused, p, c.RemoteAddr()); q != nil {
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// feed frames the stream: STUN messages (the 20-byte header and its
// length) and ChannelData (4 bytes, then the length padded to 4 over
// streams), as pion's STUNConn does. It keeps whole (up to maxKept bytes)
// the STUN messages looked at: ChannelBind requests, and every one with
// several REST secrets (see observe); it skips the rest without copying.
func (c *tcpConn) feed(b []byte) {
	for len(b) > 0 && c.framing {
		switch {
		case c.skip > 0:
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
		case c.want > 0:
			k := min(c.want-len(c.kept), len(b))
			c.kept = append(c.kept, b[:k]...)
			b = b[k:]
			if len(c.kept) == c.want {
				c.message(c.kept)
				c.kept, c.want = c.kept[:0], 0
			}
		default:
			k := copy(c.hdr[c.hn:], b)
			c.hn += k
			b = b[k:]
			if c.hn < len(c.hdr) {
				continue
			}
			c.hn = 0
			n := int(binary.BigEndian.Uint16(c.hdr[2:4]))
			switch c.hdr[0] >> 6 {
			case 0:
				if (c.hdr[0] == 0x00 && c.hdr[1] == 0x09 || len(c.s.cfg.RESTSecrets) > 1) && 20+n <= maxKept {
					c.kept, c.want = append(c.kept[:0], c.hdr[:]...), 20+n
				} else {
					c.skip = 20 + n - len(c.hdr)
				}
			case 1:
				c.skip = (n + 3) &^ 3
			default:
				c.framing, c.kept = false, nil
			}
		}
	}
}

// message looks at a STUN message read whole.
func (c *tcpConn) message(b []byte) {
	c.s.observe(b)
	if r, ok := c.s.refusedChannelBind(b, netip.AddrPort{}); ok {
		c.refused.add(tcpRefusals, r)
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
