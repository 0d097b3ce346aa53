package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/sip"
)

// WSHandler returns the http.Handler that turns a request into a SIP
// WebSocket connection (RFC 7118) of kind WS or WSS, so that a web server
// can serve it on its own path. The handshake runs in net/http's goroutine
// for the connection, under Config.HandshakeTimeout; the client must offer
// the "sip" subprotocol, and the answer never names one it did not offer.
// With Config.WSCheck, a handshake that passed the Origin and subprotocol
// checks must also pass it (403 with the error as the body otherwise), and
// what it returns is the Session of every Inbound from the connection.
func (m *Manager) WSHandler(kind Kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && len(m.cfg.WSOrigins) > 0 && !slices.ContainsFunc(m.cfg.WSOrigins, func(o string) bool { return strings.EqualFold(o, origin) }) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		if !offersSIP(r.Header.Values("Sec-WebSocket-Protocol")) {
			http.Error(w, `WebSocket subprotocol "sip" required (RFC 7118)`, http.StatusBadRequest)
			return
		}
		var session any
		if m.cfg.WSCheck != nil {
			s, err := m.cfg.WSCheck(r)
			if err != nil {
				m.logLimited("ws-check", "transport: WebSocket handshake refused by WSCheck", "remote", r.RemoteAddr, "err", err)
				http.Error(w, reasonOf(err), http.StatusForbidden)
				return
			}
			session = s
		}
		// No Negotiate: permessage-deflate and every other extension are
		// declined.
		up := ws.HTTPUpgrader{
			Timeout:  m.cfg.HandshakeTimeout,
			Protocol: func(p string) bool { return p == "sip" },
		}
		conn, rw, _, err := up.Upgrade(r, w)
		if err != nil {
			m.count(&m.stats.HandshakesFailed)
			return // the upgrader answered (400, 426...)
		}
		c := m.registerConn(conn, kind, "", true, m.forwardedFor(addrPortOf(conn.RemoteAddr()), r.Header))
		if c == nil {
			return
		}
		c.session = session
		// The connection goes on in a goroutine of its own with a small
		// reader, so that net/http's state for the request (its deep
		// stack, its 4 KiB buffers) is let go: an idle WebSocket then
		// costs little more than its socket.
		var src io.Reader = conn
		if rw.Reader.Buffered() > 0 {
			src = io.MultiReader(bytes.NewReader(buffered(rw.Reader)), conn)
		}
		var br frameSource = &onePeek{r: src} // crypto/tls buffers the records already
		if kind == WS {
			br = bufio.NewReaderSize(src, wsReadBuffer)
		}
		go func() {
			defer m.wg.Done()
			c.wsLoop(br)
		}()
	})
}

// reasonOf makes a WSCheck error the body of the 403: one line, short.
func reasonOf(err error) string {
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, err.Error())
	if len(s) > 200 {
		n := 200
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}

// forwardedFor returns the client's address as the reverse proxies in
// front of sipedge report it (RFC 7239 Forwarded, else X-Forwarded-For),
// when peer is one of Config.TrustedProxies; the zero value otherwise (the
// peer itself counts). The list is read from the right, past every trusted
// proxy, so that a client cannot name itself. X-Forwarded-For carries no
// port: the flow then has port 0.
func (m *Manager) forwardedFor(peer netip.AddrPort, h http.Header) netip.AddrPort {
	if !m.trusted(peer.Addr()) {
		return netip.AddrPort{}
	}
	var hops []string
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, v := range fw {
			for _, elem := range strings.Split(v, ",") {
				for _, pair := range strings.Split(elem, ";") {
					if k, val, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && strings.EqualFold(k, "for") {
						hops = append(hops, strings.Trim(val, `"`))
					}
				}
			}
		}
	} else {
		for _, v := range h.Values("X-Forwarded-For") {
			for _, hop := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(hop))
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ap, ok := parseHop(hops[i])
		if !ok {
			return netip.AddrPort{} // an unreadable hop: trust none of the rest
		}
		if !m.trusted(ap.Addr()) {
			return ap
		}
	}
	return netip.AddrPort{}
}

// parseHop reads one forwarded address: "192.0.2.1", "192.0.2.1:4711",
// "[2001:db8::1]:4711" or "2001:db8::1".
func parseHop(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return unmapped(ap), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 0), true
	}
	return netip.AddrPort{}, false
}

func (m *Manager) trusted(a netip.Addr) bool {
	for _, p := range m.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// wsReadBuffer is the read buffer of a WS connection: a frame header and a
// little more; payloads go straight into the message.
const wsReadBuffer = 256

// frameSource is what wsLoop reads frames from: the bytes, and a look at
// the next one (whose wait is where a connection idles).
type frameSource interface {
	io.Reader
	Peek(n int) ([]byte, error)
}

// onePeek is a frameSource that keeps one byte, for a WSS connection:
// crypto/tls buffers what it reads, so a second buffer would only cost
// memory on every idle connection.
type onePeek struct {
	r   io.Reader
	b   [1]byte
	has bool
}

// Peek returns the next byte without consuming it; n must be 1.
func (p *onePeek) Peek(n int) ([]byte, error) {
	if n != 1 {
		return nil, errors.New("transport: onePeek peeks one byte")
	}
	if !p.has {
		if _, err := io.ReadFull(p.r, p.b[:]); err != nil {
			return nil, err
		}
		p.has = true
	}
	return p.b[:], nil
}

func (p *onePeek) Read(b []byte) (int, error) {
	if !p.has || len(b) == 0 {
		return p.r.Read(b)
	}
	b[0], p.has = p.b[0], false
	if len(b) == 1 {
		return 1, nil
	}
	n, err := p.r.Read(b[1:])
	return n + 1, err
}

// buffered returns a copy of the bytes r holds unread.
func buffered(r *bufio.Reader) []byte {
	b, _ := r.Peek(r.Buffered())
	return append([]byte(nil), b...)
}

// offersSIP reports whether the Sec-WebSocket-Protocol values name "sip".
func offersSIP(values []string) bool {
	return listHas(values, "sip", false)
}

// listHas reports whether the comma-separated header values hold tok,
// ignoring case when fold is set (Upgrade tokens; subprotocols are
// case-sensitive).
func listHas(values []string, tok string, fold bool) bool {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == tok || fold && strings.EqualFold(p, tok) {
				return true
			}
		}
	}
	return false
}

// httpHandler is what a WS or WSS listener serves: WebSocket upgrades and,
// with Config.HTTP, every other request through it.
func (m *Manager) httpHandler(kind Kind) http.Handler {
	wsh := m.WSHandler(kind)
	if m.cfg.HTTP == nil {
		return wsh
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if listHas(r.Header.Values("Upgrade"), "websocket", true) {
			wsh.ServeHTTP(w, r)
			return
		}
		m.cfg.HTTP.ServeHTTP(w, r)
	})
}

// ClientAddr returns the address of r's client as the WebSocket flows
// count it: the one a trusted reverse proxy names (Forwarded,
// X-Forwarded-For; see Config.TrustedProxies), else the peer's.
func (m *Manager) ClientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer = unmapped(peer)
	if c := m.forwardedFor(peer, r.Header); c.IsValid() {
		return c.Addr()
	}
	return peer.Addr()
}

// ListenWS serves SIP over WebSocket on addr (any path) and returns the
// address it is bound to.
func (m *Manager) ListenWS(addr string) (netip.AddrPort, error) {
	return m.listenHTTP(addr, WS, nil)
}

// ListenWSS serves SIP over secure WebSocket on addr with cfg (see
// ListenTLS for what it must hold).
func (m *Manager) ListenWSS(addr string, cfg *tls.Config) (netip.AddrPort, error) {
	cfg, err := serverTLS(cfg, "wss", addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	cfg.NextProtos = []string{"http/1.1"}
	return m.listenHTTP(addr, WSS, cfg)
}

func (m *Manager) listenHTTP(addr string, kind Kind, cfg *tls.Config) (netip.AddrPort, error) {
	ln, err := m.listenWeb(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("transport: listen %v %s: %w", kind, addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return m.serveHTTP(ln, kind, cfg)
}

// ServeWSS serves SIP over secure WebSocket (and Config.HTTP) on ln,
// whose connections are TLS already: the HTTP side of a port shared with
// TURN (package mux443) over a ListenShared listener. A connection that is not a *tls.Conn but has a
// ConnectionState method gives its requests that TLS state. Closing the
// Manager closes ln.
func (m *Manager) ServeWSS(ln net.Listener) (netip.AddrPort, error) {
	return m.serveHTTP(ln, WSS, nil)
}

func (m *Manager) serveHTTP(ln net.Listener, kind Kind, cfg *tls.Config) (netip.AddrPort, error) {
	local := addrPortOf(ln.Addr())
	srv := &http.Server{
		Handler:           withTLSState(m.httpHandler(kind)),
		ReadHeaderTimeout: m.cfg.HandshakeTimeout,
		IdleTimeout:       m.cfg.HandshakeTimeout,
		// net/http's own complaints (a TLS handshake a port scan broke off)
		// go to our logger at debug level, not to the standard logger,
		// which would bypass LogLevel and LogFormat.
		ErrorLog:    slog.NewLogLogger(m.cfg.Logger.Handler(), slog.LevelDebug),
		TLSConfig:   cfg,
		ConnContext: tlsStateContext,
	}
	if err := m.adopt(ln, func() { m.https = append(m.https, srv) }); err != nil {
		return netip.AddrPort{}, err
	}
	go func() {
		defer m.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logLimited("http-serve", "transport: serve", "kind", kind, "err", err)
		}
	}()
	return local, nil
}

// tlsStateKey keys a connection's TLS state in its requests' context.
type tlsStateKey struct{}

// tlsStateContext is the http.Server's ConnContext: net/http fills
// Request.TLS only for a *tls.Conn, so the state of another TLS
// connection (one sorted by mux443, which read its first byte) is kept
// for withTLSState.
func tlsStateContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(*tls.Conn); ok {
		return ctx
	}
	if s, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := s.ConnectionState()
		return context.WithValue(ctx, tlsStateKey{}, &st)
	}
	return ctx
}

// withTLSState gives Request.TLS the state tlsStateContext kept, so that
// handlers know the request came over TLS.
func withTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
				r2 := *r
				r2.TLS = st
				r = &r2
			}
		}
		h.ServeHTTP(w, r)
	})
}

// wsLoop reads frames until the peer closes, goes idle, or breaks RFC
// 6455; each text or binary message is one SIP message.
func (c *streamConn) wsLoop(r frameSource) {
	m := c.m
	defer m.forget(c)
	defer c.close()
	var msg []byte      // the message being reassembled
	var msgOp ws.OpCode // its opcode; 0 when no message is open
	pinged := false     // a ping went out and no frame came since
	for {
		// Wait for the next frame's first byte; a silent peer is pinged,
		// and closed when it does not answer.
		wait := m.cfg.WSPingInterval
		if pinged {
			wait = m.cfg.WSPongTimeout
		}
		if err := c.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return
		}
		if _, err := r.Peek(1); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return
			}
			if pinged {
				m.count(&m.stats.WSPongsMissed)
				c.closeWith(ws.StatusGoingAway, "no answer to ping")
				return
			}
			m.count(&m.stats.WSPings)
			if c.writeFrame(ws.OpPing, nil) != nil {
				return
			}
			pinged = true
			continue
		}
		pinged = false
		// The rest of the frame must not dawdle.
		if err := c.conn.SetReadDeadline(time.Now().Add(m.cfg.IdleTimeout)); err != nil {
			return
		}
		h, err := ws.ReadHeader(r)
		if err != nil {
			return
		}
		state := ws.StateServerSide
		if msgOp != 0 {
			state |= ws.StateFragmented
		}
		if err := ws.CheckHeader(h, state); err != nil {
			c.closeWith(ws.StatusProtocolError, err.Error())
			return
		}
		if h.OpCode.IsControl() {
			payload := make([]byte, h.Length) // at most 125 bytes (CheckHeader)
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
			ws.Cipher(payload, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				if c.writeFrame(ws.OpPong, payload) != nil {
					return
				}
			case ws.OpClose:
				code, _ := ws.ParseCloseFrameData(payload)
				if code.Empty() {
					code = ws.StatusNormalClosure
				}
				c.closeWith(code, "")
				return
			}
			continue
		}
		if h.OpCode == ws.OpContinuation && msgOp == 0 {
			c.closeWith(ws.StatusProtocolError, "continuation without a start")
			return
		}
		if int64(len(msg))+h.Length > int64(m.maxMsg) {
			c.closeWith(ws.StatusMessageTooBig, "message too large")
			return
		}
		if h.OpCode != ws.OpContinuation {
			msgOp = h.OpCode
		}
		start := len(msg)
		msg = append(msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if !h.Fin {
			continue
		}
		if msgOp == ws.OpText && !utf8.Valid(msg) {
			c.closeWith(ws.StatusInvalidFramePayloadData, "text message not UTF-8")
			return
		}
		if !c.wsMessage(msg) {
			return
		}
		msg, msgOp = nil, 0
	}
}

// wsMessage handles one whole message, which it keeps; false means the
// connection must close.
func (c *streamConn) wsMessage(b []byte) bool {
	m := c.m
	if ka := sip.KeepAliveOf(b); ka != sip.NoKeepAlive {
		return c.keepAlive(ka)
	}
	msg, err := m.parser.ParseOwned(b)
	if err != nil {
		var pe *sip.ParseError
		if errors.As(err, &pe) {
			c.refuse(pe)
		}
		return true // one WebSocket message is one SIP message: framing holds
	}
	m.handler(&Inbound{Msg: msg, Flow: c.flow, Received: time.Now(), Session: c.session})
	return true
}

// writeFrame writes one unmasked frame under WriteTimeout.
func (c *streamConn) writeFrame(op ws.OpCode, payload []byte) error {
	return c.writeWith(func() error { return ws.WriteFrame(c.conn, ws.NewFrame(op, true, payload)) })
}

// closeWith sends a close frame with code and reason, then closes.
func (c *streamConn) closeWith(code ws.StatusCode, reason string) {
	if len(reason) > 120 {
		reason = reason[:120]
	}
	c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(code, reason))
	c.close()
}
