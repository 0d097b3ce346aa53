package transport

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// Config holds the settings of a Manager; zero fields take the defaults.
type Config struct {
	// Limits bound every message (sip.Limits defaults: 64 KiB...).
	Limits sip.Limits
	// UDPFlowIdle is how long a UDP flow lives without a datagram either
	// way (default 10 minutes; RFC 5626 keep-alives come far more often).
	UDPFlowIdle time.Duration
	// MaxUDPFlows caps the UDP flow table (default 100000); past it a
	// datagram from a new peer is dropped.
	MaxUDPFlows int
	// Logger takes the rare events (dropped datagrams, tripped limits),
	// at most one line per kind of event per LogEvery.
	Logger *slog.Logger
	// LogEvery spaces out the log lines of one kind (default 1 minute).
	LogEvery time.Duration

	// IdleTimeout closes a connection that brought no byte for this long
	// (default 3 minutes; RFC 5626 clients send a keep-alive every two
	// minutes or so).
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a connection; a peer that does not
	// read is dropped, not buffered for (default 10 s).
	WriteTimeout time.Duration
	// DialTimeout bounds a new outgoing connection (default 5 s).
	DialTimeout time.Duration
	// MaxConns caps the connections in total (default 10000) and
	// MaxConnsPerIP those from one address (default 100); past either a new
	// connection is closed at once.
	MaxConns, MaxConnsPerIP int
	// MaxNewConnsPerIP caps the new connections one address may open in a
	// second (default 20, bursts up to as many); past it a connection is
	// closed at once.
	MaxNewConnsPerIP int
	// HandshakeTimeout bounds a TLS handshake (default 5 s).
	HandshakeTimeout time.Duration
	// WSPingInterval is how long a WebSocket may be silent before the
	// server pings it (browsers cannot ping from JavaScript; default 60 s),
	// and WSPongTimeout how long the answer may take before the
	// connection is closed (default 15 s). They stand in for IdleTimeout
	// on WebSockets.
	WSPingInterval, WSPongTimeout time.Duration
	// WSOrigins, when not empty, lists the Origin values a WebSocket
	// handshake may carry ("https://phone.example.com"); another gets 403.
	// A handshake without Origin (no browser) is let through.
	WSOrigins []string
	// WSCheck, when set, vets each WebSocket handshake (WS and WSS) once
	// its Origin and subprotocol have passed, before the upgrade: an
	// error refuses it with 403 and the error's text as the body (so it
	// must not hold secrets); otherwise session, which may be nil, is
	// kept with the connection and handed on as Inbound.Session with each
	// of its messages. It runs in the handshake's goroutine under
	// HandshakeTimeout and must be safe for concurrent use. wscookie's
	// Verifier.Check is one.
	WSCheck func(r *http.Request) (session any, err error)
	// HTTP, when set, answers the requests to the WS and WSS listeners
	// that are not WebSocket upgrades (no "Upgrade: websocket"), in the
	// connection's goroutine under net/http's timeouts; without it they
	// get WSHandler's 400. The server hangs the web package's handlers
	// here, so that transport imports nothing above it.
	HTTP http.Handler
	// TrustedProxies lists the reverse proxies (nginx, Apache, HAProxy)
	// whose Forwarded or X-Forwarded-For header names a WebSocket client,
	// and, with ProxyProtocol, whose PROXY protocol header names a TCP or
	// TLS client; from any other peer neither is believed.
	TrustedProxies []netip.Prefix
	// ProxyProtocol reads a PROXY protocol header (v1 or v2) at the start
	// of TCP and TLS connections from TrustedProxies.
	ProxyProtocol bool
	// TLSClient configures the connections SendTLS makes (roots, client
	// certificate); nil verifies peers against the system roots.
	TLSClient *tls.Config
}

func (c Config) withDefaults() Config {
	if c.UDPFlowIdle <= 0 {
		c.UDPFlowIdle = 10 * time.Minute
	}
	if c.MaxUDPFlows <= 0 {
		c.MaxUDPFlows = 100000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LogEvery <= 0 {
		c.LogEvery = time.Minute
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 3 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 10000
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = 100
	}
	if c.MaxNewConnsPerIP <= 0 {
		c.MaxNewConnsPerIP = 20
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.WSPingInterval <= 0 {
		c.WSPingInterval = time.Minute
	}
	if c.WSPongTimeout <= 0 {
		c.WSPongTimeout = 15 * time.Second
	}
	return c
}

// Manager owns the listeners and the flows. Its methods are safe for
// concurrent use.
type Manager struct {
	cfg     Config
	handler Handler
	parser  *sip.Parser
	maxMsg  int

	mu     sync.Mutex
	closed bool
	udp    []*udpListener
	tcp    []net.Listener
	https  []*http.Server
	flows  map[FlowID]flowSender
	byPeer map[udpPeer]*udpFlow
	// nconns counts the open connections (they are among flows),
	// byRemote holds the ones a request may reuse by transport and peer
	// address (RFC 3261 §18.1.1), perIP their count by peer address.
	nconns   int
	byRemote map[remoteKey]*streamConn
	perIP    map[netip.Addr]int
	newConns map[netip.Addr]*connBucket
	// web counts the connections of the web listeners (listenWeb).
	web    webConns
	nextID FlowID
	logged map[string]time.Time
	stats  Stats

	wg   sync.WaitGroup
	stop chan struct{}
}

// Stats counts what the transport dropped or refused.
type Stats struct {
	// Malformed counts messages refused by the parser; Answered those of
	// them that got an error response.
	Malformed, Answered uint64
	// KeepAlives counts CRLF keep-alives received.
	KeepAlives uint64
	// FlowsRefused counts datagrams dropped because the flow table was full.
	FlowsRefused uint64
	// ConnsRefused counts connections closed at once for MaxConns,
	// MaxConnsPerIP or MaxNewConnsPerIP; Pings counts CRLFCRLF keep-alives
	// answered.
	ConnsRefused, Pings uint64
	// HandshakesFailed counts TLS handshakes that failed or timed out.
	HandshakesFailed uint64
	// STUN counts STUN messages received on SIP UDP ports (RFC 5626
	// §4.4.2 keep-alives); Binding requests among them are answered.
	STUN uint64
	// WSPings counts the pings sent to silent WebSockets, WSPongsMissed
	// the connections closed for not answering one.
	WSPings, WSPongsMissed uint64
}

// flowSender is a flow that can be written to.
type flowSender interface {
	send(msg *sip.Message, max int) error
}

// NewManager returns a Manager that hands every message it receives to h.
func NewManager(cfg Config, h Handler) *Manager {
	cfg = cfg.withDefaults()
	m := &Manager{
		cfg:      cfg,
		handler:  h,
		parser:   sip.NewParser(cfg.Limits),
		maxMsg:   sip.DefaultMaxMessageSize,
		flows:    make(map[FlowID]flowSender),
		byPeer:   make(map[udpPeer]*udpFlow),
		byRemote: make(map[remoteKey]*streamConn),
		perIP:    make(map[netip.Addr]int),
		web:      webConns{perIP: make(map[netip.Addr]int)},
		newConns: make(map[netip.Addr]*connBucket),
		logged:   make(map[string]time.Time),
		stop:     make(chan struct{}),
	}
	if cfg.Limits.MaxMessageSize > 0 {
		m.maxMsg = cfg.Limits.MaxMessageSize
	}
	m.wg.Add(1)
	go m.sweep()
	return m
}

// Stats returns the counters so far.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Close closes every listener and waits for their goroutines to end.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	var errs []error
	for _, l := range m.udp {
		if err := l.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range m.tcp {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, srv := range m.https {
		if err := srv.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range m.flows {
		if c, ok := f.(*streamConn); ok {
			c.conn.Close()
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("transport: close: %w", errs[0])
	}
	return nil
}

// count adds one to the counter p of m.stats.
func (m *Manager) count(p *uint64) {
	m.mu.Lock()
	*p++
	m.mu.Unlock()
}

// refuse answers a malformed request over f (remote is its peer) with its
// error status when the fields a response needs were readable, and counts
// and logs what it drops.
func (m *Manager) refuse(f flowSender, remote netip.AddrPort, pe *sip.ParseError) {
	m.count(&m.stats.Malformed)
	if pe.Msg == nil || !pe.Msg.IsRequest() || pe.Msg.Method == "ACK" {
		m.logLimited("malformed", "transport: malformed message dropped", "remote", remote, "reason", pe.Reason)
		return
	}
	if err := f.send(sip.NewResponse(pe.Msg, pe.Status, pe.StatusLine()), m.maxMsg); err != nil {
		m.logLimited("answer", "transport: answering a malformed request", "remote", remote, "err", err)
		return
	}
	m.count(&m.stats.Answered)
}

// logLimited logs msg at most once per LogEvery for each key.
func (m *Manager) logLimited(key, msg string, args ...any) {
	now := time.Now()
	m.mu.Lock()
	last, seen := m.logged[key]
	ok := !seen || now.Sub(last) >= m.cfg.LogEvery
	if ok {
		m.logged[key] = now
	}
	m.mu.Unlock()
	if ok {
		m.cfg.Logger.Warn(msg, args...)
	}
}

// sweep forgets idle UDP flows and full connection buckets.
func (m *Manager) sweep() {
	defer m.wg.Done()
	every := m.cfg.UDPFlowIdle / 4
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.expireUDPFlows(now)
			m.expireConnBuckets(now)
		}
	}
}

// expireConnBuckets forgets the buckets that have refilled: a full one
// and a missing one allow the same.
func (m *Manager) expireConnBuckets(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ip, b := range m.newConns {
		if now.Sub(b.last) >= time.Second {
			delete(m.newConns, ip)
		}
	}
}

// Send writes msg to the flow id: the peer of a UDP flow, the connection
// of a stream flow.
func (m *Manager) Send(id FlowID, msg *sip.Message) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	f := m.flows[id]
	m.mu.Unlock()
	if f == nil {
		return ErrFlowGone
	}
	return f.send(msg, m.maxMsg)
}

// unmapped returns ap with an IPv4-mapped IPv6 address as plain IPv4, so
// that one peer has one address whatever socket it came through.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// addrPortOf converts a net.Addr into a netip.AddrPort, IPv4-mapped
// addresses unmapped.
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return unmapped(ap)
}
