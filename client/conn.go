package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/sipedge/sipedge/sip"
)

// link is the UA's one connection (or connected socket) to its server.
type link interface {
	// Send writes one whole message or keep-alive.
	Send(b []byte) error
	Close() error
	LocalAddr() net.Addr
}

var (
	_ link = (*udpLink)(nil)
	_ link = (*streamLink)(nil)
	_ link = (*wsLink)(nil)
)

const (
	maxMessage  = sip.DefaultMaxMessageSize
	streamChunk = 16 << 10
)

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tlsConfig returns a copy of c with TLS 1.2 as the floor.
func tlsConfig(c *tls.Config) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	} else {
		c = c.Clone()
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// udpLink is a UDP socket connected to the server: the UA talks to no one
// else, and the kernel drops datagrams from other sources.
type udpLink struct {
	c *net.UDPConn
}

// dialUDP opens a socket bound to the loopback address of the server's
// family when the server is on loopback (so tests never leave it), else
// to the address the route to the server picks.
func dialUDP(ctx context.Context, server string) (*udpLink, error) {
	var d net.Dialer
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, fmt.Errorf("client: udp server %q: %w", server, err)
	}
	if raddr.IP.IsLoopback() {
		if raddr.IP.To4() != nil {
			d.LocalAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: net.IPv6loopback}
		}
	}
	c, err := d.DialContext(ctx, "udp", raddr.String())
	if err != nil {
		return nil, fmt.Errorf("client: udp dial %s: %w", server, err)
	}
	return &udpLink{c: c.(*net.UDPConn)}, nil
}

func (l *udpLink) Send(b []byte) error {
	if err := l.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err := l.c.Write(b)
	return err
}

func (l *udpLink) Close() error        { return l.c.Close() }
func (l *udpLink) LocalAddr() net.Addr { return l.c.LocalAddr() }

// run reads datagrams until the socket is closed.
func (l *udpLink) run(ua *UA) error {
	buf := make([]byte, maxMessage+1)
	for {
		if err := l.c.SetReadDeadline(time.Now().Add(keepAliveIdle)); err != nil {
			return fmt.Errorf("udp deadline: %w", err)
		}
		n, err := l.c.Read(buf)
		if err != nil {
			select {
			case <-ua.closing:
				return nil
			default:
			}
			switch {
			case isTimeout(err):
				continue
			case errors.Is(err, syscall.ECONNREFUSED):
				// An ICMP port unreachable for an earlier datagram: the
				// transaction concerned times out on its own.
				ua.log.Debug("udp: server port unreachable")
				continue
			}
			return fmt.Errorf("udp read: %w", err)
		}
		if n > maxMessage {
			ua.log.Debug("udp: datagram over the size limit dropped", "size", n)
			continue
		}
		if sip.KeepAliveOf(buf[:n]) != sip.NoKeepAlive {
			continue
		}
		ua.receiveBytes(buf[:n])
	}
}

// streamLink is a TCP or TLS connection framed by sip.StreamParser.
type streamLink struct {
	c   net.Conn
	wmu sync.Mutex
}

func dialStream(ctx context.Context, tr, server string, tc *tls.Config, timeout time.Duration) (*streamLink, error) {
	nd := &net.Dialer{Timeout: timeout}
	var (
		c   net.Conn
		err error
	)
	if tr == "tls" {
		// The dialer's timeout covers the handshake too.
		c, err = (&tls.Dialer{NetDialer: nd, Config: tlsConfig(tc)}).DialContext(ctx, "tcp", server)
	} else {
		c, err = nd.DialContext(ctx, "tcp", server)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %s dial %s: %w", tr, server, err)
	}
	return &streamLink{c: c}, nil
}

func (l *streamLink) Send(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	if _, err := l.c.Write(b); err != nil {
		// A partial write has broken the framing: the connection is done.
		_ = l.c.Close()
		return err
	}
	return nil
}

func (l *streamLink) Close() error        { return l.c.Close() }
func (l *streamLink) LocalAddr() net.Addr { return l.c.LocalAddr() }

// run reads until the connection ends. After keepAliveIdle of silence it
// sends a CRLF keep-alive (RFC 5626 §4.4.1); when another such period
// passes without a byte, the server is taken for gone.
func (l *streamLink) run(ua *UA) error {
	defer l.c.Close()
	sp := sip.NewStreamParser(sip.Limits{})
	buf := make([]byte, streamChunk)
	idle := 0
	for {
		if err := l.c.SetReadDeadline(time.Now().Add(keepAliveIdle)); err != nil {
			return fmt.Errorf("stream deadline: %w", err)
		}
		n, err := l.c.Read(buf)
		if n > 0 {
			idle = 0
			if ferr := l.feed(ua, sp, buf[:n]); ferr != nil {
				return ferr
			}
		}
		if err == nil {
			continue
		}
		select {
		case <-ua.closing:
			return nil
		default:
		}
		if isTimeout(err) {
			if idle++; idle > 1 {
				return errors.New("no answer to a keep-alive")
			}
			if err := l.Send([]byte("\r\n\r\n")); err != nil {
				return fmt.Errorf("keep-alive: %w", err)
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return errors.New("server closed the connection")
		}
		return fmt.Errorf("stream read: %w", err)
	}
}

// feed hands bytes to the parser and dispatches what it frames.
func (l *streamLink) feed(ua *UA, sp *sip.StreamParser, b []byte) error {
	for len(b) > 0 {
		k, werr := sp.Write(b)
		b = b[k:]
		for {
			m, ka, err := sp.Next()
			if errors.Is(err, sip.ErrIncomplete) {
				break
			}
			if err != nil {
				ua.refuse(err)
				return fmt.Errorf("stream framing: %w", err)
			}
			switch {
			case ka == sip.Ping:
				if err := l.Send([]byte("\r\n")); err != nil {
					return fmt.Errorf("keep-alive answer: %w", err)
				}
			case m != nil:
				ua.receive(m)
			}
		}
		if werr != nil && k == 0 {
			return fmt.Errorf("stream framing: %w", werr)
		}
	}
	return nil
}

// wsLink is a WebSocket client connection (RFC 7118): each SIP message is
// one masked text frame.
type wsLink struct {
	c   net.Conn
	src *countingReader
	wmu sync.Mutex
}

// countingReader counts the bytes read, so that a read timeout can tell
// an idle connection from a frame that stalled half-way.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func dialWS(ctx context.Context, server string, tc *tls.Config, timeout time.Duration) (*wsLink, error) {
	d := ws.Dialer{
		Protocols: []string{"sip"},
		Timeout:   timeout,
		TLSConfig: tlsConfig(tc),
	}
	c, br, hs, err := d.Dial(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("client: websocket dial %s: %w", server, err)
	}
	if hs.Protocol != "sip" {
		_ = c.Close()
		return nil, fmt.Errorf("client: websocket %s: server did not accept the sip subprotocol", server)
	}
	var src io.Reader = c
	if br != nil {
		// It holds bytes that came with the handshake; reading on
		// through it loses none.
		src = br
	}
	return &wsLink{c: c, src: &countingReader{r: src}}, nil
}

func (l *wsLink) Send(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.write(ws.OpText, b)
}

// write sends one masked frame; the caller holds wmu. WriteClientMessage
// masks a copy, so cached messages can be sent again.
func (l *wsLink) write(op ws.OpCode, b []byte) error {
	if err := l.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	if err := wsutil.WriteClientMessage(l.c, op, b); err != nil {
		_ = l.c.Close()
		return err
	}
	return nil
}

// Close says goodbye with a 1000 close frame, then closes the socket.
func (l *wsLink) Close() error {
	l.wmu.Lock()
	_ = l.write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	l.wmu.Unlock()
	return l.c.Close()
}

func (l *wsLink) LocalAddr() net.Addr { return l.c.LocalAddr() }

// run reads messages until the connection ends, answering pings and
// CRLF keep-alives and pinging a silent server.
func (l *wsLink) run(ua *UA) error {
	defer l.c.Close()
	rd := &wsutil.Reader{
		Source:       l.src,
		State:        ws.StateClientSide,
		MaxFrameSize: maxMessage,
	}
	rd.OnIntermediate = func(h ws.Header, r io.Reader) error { return l.control(h, r) }
	idle := 0
	for {
		if err := l.c.SetReadDeadline(time.Now().Add(keepAliveIdle)); err != nil {
			return fmt.Errorf("websocket deadline: %w", err)
		}
		l.src.n = 0
		hdr, err := rd.NextFrame()
		if err != nil {
			select {
			case <-ua.closing:
				return nil
			default:
			}
			if isTimeout(err) && l.src.n == 0 {
				if idle++; idle > 1 {
					return errors.New("no answer to a websocket ping")
				}
				l.wmu.Lock()
				err := l.write(ws.OpPing, nil)
				l.wmu.Unlock()
				if err != nil {
					return fmt.Errorf("websocket ping: %w", err)
				}
				continue
			}
			return fmt.Errorf("websocket read: %w", err)
		}
		idle = 0
		if hdr.OpCode.IsControl() {
			if err := l.control(hdr, rd); err != nil {
				return err
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rd, maxMessage+1))
		if err != nil {
			return fmt.Errorf("websocket read: %w", err)
		}
		if len(data) > maxMessage {
			l.wmu.Lock()
			_ = l.write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusMessageTooBig, ""))
			l.wmu.Unlock()
			return fmt.Errorf("websocket message over %d bytes", maxMessage)
		}
		switch sip.KeepAliveOf(data) {
		case sip.Ping:
			if err := l.Send([]byte("\r\n")); err != nil {
				return fmt.Errorf("keep-alive answer: %w", err)
			}
		case sip.Pong:
		default:
			ua.receiveBytes(data)
		}
	}
}

// control answers a ping with a pong and a close with a close; it writes
// each answer as one frame under the write lock.
func (l *wsLink) control(h ws.Header, r io.Reader) error {
	payload, err := io.ReadAll(io.LimitReader(r, ws.MaxControlFramePayloadSize+1))
	if err != nil {
		return fmt.Errorf("websocket control frame: %w", err)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	switch h.OpCode {
	case ws.OpPing:
		if err := l.write(ws.OpPong, payload); err != nil {
			return fmt.Errorf("websocket pong: %w", err)
		}
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		body := ws.NewCloseFrameBody(code, "")
		if code == 0 {
			body = nil
		}
		_ = l.write(ws.OpClose, body)
		return fmt.Errorf("server closed the websocket (%d %s)", code, bytes.ToValidUTF8([]byte(reason), nil))
	}
	return nil
}
