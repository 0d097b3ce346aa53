package transport

import (
	"fmt"
	"log/slog"
	"net"
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
	flows  map[FlowID]*udpFlow
	byPeer map[udpPeer]*udpFlow
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
}

// NewManager returns a Manager that hands every message it receives to h.
func NewManager(cfg Config, h Handler) *Manager {
	cfg = cfg.withDefaults()
	m := &Manager{
		cfg:     cfg,
		handler: h,
		parser:  sip.NewParser(cfg.Limits),
		maxMsg:  sip.DefaultMaxMessageSize,
		flows:   make(map[FlowID]*udpFlow),
		byPeer:  make(map[udpPeer]*udpFlow),
		logged:  make(map[string]time.Time),
		stop:    make(chan struct{}),
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
	m.mu.Unlock()
	m.wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("transport: close: %w", errs[0])
	}
	return nil
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

// sweep forgets idle UDP flows.
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

// addrPortOf converts a net.Addr of a listener into a netip.AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
