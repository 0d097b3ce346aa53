// Package mux443 shares one TLS port between the web server (HTTPS and
// SIP over secure WebSocket) and TURN over TLS, so that a browser behind a
// firewall that lets only 443 out reaches both signalling and media relay
// there. It terminates TLS, then sorts each connection by what it speaks:
// the ALPN protocol when the client named one ("stun.turn", RFC 7443, or
// "http/1.1"), else the first byte the client sends: 0-3 begins a STUN
// message (RFC 7983 §7), which is how every TURN client starts; anything
// else goes to HTTP. (ChannelData, 64-79 in RFC 7983, cannot come first,
// since a channel is bound by a STUN request; and 'C', 'D', 'G', 'H' and
// 'O', which begin HTTP methods, are in that range.)
//
// Every connection is handshaken and sorted in a goroutine of its own
// under one deadline, so a silent client holds up no one, and the number
// being sorted at once is bounded.
package mux443

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ALPN protocol names (RFC 7301; the STUN ones are RFC 7443's).
const (
	ALPNTURN = "stun.turn"
	ALPNSTUN = "stun.nat-discovery"
	ALPNHTTP = "http/1.1"
)

// Defaults.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxPending = 1024
)

// Config configures a Mux.
type Config struct {
	// TLS serves the port: its certificate (GetCertificate, to reload it
	// without dropping connections). Its NextProtos are replaced by
	// stun.turn, stun.nat-discovery and http/1.1, in that order of
	// preference (coturn's client offers http/1.1 first); TLS 1.2 is the
	// least accepted.
	TLS *tls.Config
	// Timeout bounds the TLS handshake and the wait for the first byte
	// together, and the hand-over to a consumer that does not accept
	// (default 10 s).
	Timeout time.Duration
	// MaxPending bounds the connections being handshaken or sorted at
	// once (default 1024); past it a new connection is closed at once, so
	// that a flood of silent sockets costs a bounded number of
	// goroutines and buffers.
	MaxPending int
	// Logger takes the refusals' log (debug level, a client can cause
	// them); nil discards it.
	Logger *slog.Logger
}

// Stats are counters since New.
type Stats struct {
	HTTP, TURN uint64 // connections each listener's Accept returned
	// Failed counts handshakes that failed or timed out, clients silent
	// past Timeout, and connections no consumer took in time.
	Failed uint64
	// Refused counts connections closed at once past MaxPending.
	Refused uint64
}

// Mux accepts on one listener and hands each TLS connection to the HTTP
// or the TURN listener it returns.
type Mux struct {
	ln      net.Listener
	cfg     Config
	log     *slog.Logger
	http    *sub
	turn    *sub
	pending chan struct{}
	ctx     context.Context // ends with Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	httpN, turnN, failed, refused atomic.Uint64
}

// New starts sorting the connections ln accepts; Close stops it.
func New(ln net.Listener, cfg Config) (*Mux, error) {
	if cfg.TLS == nil || len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil && cfg.TLS.GetConfigForClient == nil {
		return nil, errors.New("mux443: no certificate")
	}
	cfg.TLS = cfg.TLS.Clone()
	cfg.TLS.NextProtos = []string{ALPNTURN, ALPNSTUN, ALPNHTTP}
	cfg.TLS.MinVersion = max(cfg.TLS.MinVersion, tls.VersionTLS12)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mux{ln: ln, cfg: cfg, log: cfg.Logger, pending: make(chan struct{}, cfg.MaxPending)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.http = newSub(m, &m.httpN)
	m.turn = newSub(m, &m.turnN)
	m.wg.Add(1)
	go m.accept()
	return m, nil
}

// HTTP is the listener of the connections that speak HTTP: *tls.Conn when
// the client chose http/1.1 by ALPN, else a net.Conn whose
// ConnectionState method gives the TLS state (see TLSState).
func (m *Mux) HTTP() net.Listener { return m.http }

// TURN is the listener of the connections that speak STUN/TURN, TLS
// already terminated.
func (m *Mux) TURN() net.Listener { return m.turn }

// Addr is the shared port's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Stats returns the counters.
func (m *Mux) Stats() Stats {
	return Stats{HTTP: m.httpN.Load(), TURN: m.turnN.Load(), Failed: m.failed.Load(), Refused: m.refused.Load()}
}

// Close stops accepting, closes the connections still being sorted, and
// makes both listeners' Accept fail; connections already handed over are
// their consumers'. It waits for the sorting goroutines. Closing both
// listeners closes the Mux too.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		m.cancel()
		err = m.ln.Close()
		m.wg.Wait()
	})
	return err
}

func (m *Mux) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if m.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			m.log.Debug("mux443: accept", "err", err)
			time.Sleep(5 * time.Millisecond) // out of descriptors: do not spin
			continue
		}
		select {
		case m.pending <- struct{}{}:
		default:
			m.refused.Add(1)
			m.log.Debug("mux443: too many connections being sorted", "remote", c.RemoteAddr().String(), "max", m.cfg.MaxPending)
			c.Close()
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer func() { <-m.pending }()
			m.sort(c)
		}()
	}
}

// sort handshakes raw and hands it to the listener of what it speaks, all
// within Timeout.
func (m *Mux) sort(raw net.Conn) {
	deadline := time.Now().Add(m.cfg.Timeout)
	ctx, cancel := context.WithDeadline(m.ctx, deadline)
	defer cancel()
	_ = raw.SetDeadline(deadline)
	// Close interrupts a handshake or a read still waiting.
	stop := context.AfterFunc(m.ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	tc := tls.Server(raw, m.cfg.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		stop()
		m.fail(raw, "handshake", err)
		return
	}
	var conn net.Conn = tc
	to := m.http
	switch tc.ConnectionState().NegotiatedProtocol {
	case ALPNTURN, ALPNSTUN:
		to = m.turn
	case ALPNHTTP:
	default:
		br := bufio.NewReaderSize(tc, 16) // the first byte, and what its read brought
		b, err := br.Peek(1)
		if err != nil {
			stop()
			m.fail(raw, "first byte", err)
			return
		}
		if IsTURN(b[0]) {
			to = m.turn
		}
		conn = &Conn{Conn: tc, r: br}
	}
	if !stop() {
		m.fail(raw, "closing", net.ErrClosed)
		return
	}
	_ = raw.SetDeadline(time.Time{})
	to.hand(ctx, conn, raw)
}

func (m *Mux) fail(c net.Conn, what string, err error) {
	m.failed.Add(1)
	m.log.Debug("mux443: "+what, "remote", c.RemoteAddr().String(), "err", err)
	c.Close()
}

// IsTURN reports whether a connection whose first byte is b speaks
// STUN/TURN: a STUN message's first byte is 0-3 (RFC 7983 §7); an HTTP
// request's is a method's letter.
func IsTURN(b byte) bool { return b <= 3 }

// Conn is a sorted TLS connection that the sorting read into: its Read
// gives those bytes first.
type Conn struct {
	*tls.Conn
	r *bufio.Reader
}

// Read reads what was read to sort the connection, then the rest.
func (c *Conn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil // let the buffer go
	}
	return c.Conn.Read(p)
}

// NetConn is the TLS connection (for code that unwraps connections).
func (c *Conn) NetConn() net.Conn { return c.Conn }

// TLSState returns the TLS state of a connection from the mux (and of any
// *tls.Conn), so that a server that only recognises *tls.Conn can know it.
func TLSState(c net.Conn) (tls.ConnectionState, bool) {
	if s, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return s.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// sub is one of the Mux's two listeners.
type sub struct {
	m      *Mux
	ch     chan net.Conn
	n      *atomic.Uint64
	closed chan struct{}
	once   sync.Once
}

func newSub(m *Mux, n *atomic.Uint64) *sub {
	return &sub{m: m, ch: make(chan net.Conn), n: n, closed: make(chan struct{})}
}

// hand gives c to the listener's Accept, or closes it (and raw) when no
// one accepts it before ctx ends, or the listener or the mux closes.
func (s *sub) hand(ctx context.Context, c, raw net.Conn) {
	select {
	case s.ch <- c:
	case <-ctx.Done():
		s.m.fail(raw, "hand-over", ctx.Err())
	case <-s.closed:
		s.m.fail(raw, "hand-over", net.ErrClosed)
	}
}

func (s *sub) Accept() (net.Conn, error) {
	select {
	case c := <-s.ch:
		// Counted here, not by the sender, so that whoever accepted it
		// sees it counted.
		s.n.Add(1)
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	case <-s.m.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close makes Accept fail; once the other listener is closed too, the
// Mux closes.
func (s *sub) Close() error {
	s.once.Do(func() { close(s.closed) })
	select {
	case <-s.m.http.closed:
		select {
		case <-s.m.turn.closed:
			return s.m.Close()
		default:
		}
	default:
	}
	return nil
}

func (s *sub) Addr() net.Addr { return s.m.ln.Addr() }
