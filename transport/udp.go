package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// udpListener is one UDP socket; its read loop runs in a goroutine of its
// own until the Manager closes the socket.
type udpListener struct {
	conn  *net.UDPConn
	local netip.AddrPort
}

// udpPeer keys a UDP flow: the listener and the remote address.
type udpPeer struct {
	l      *udpListener
	remote netip.AddrPort
}

// udpFlow is one UDP flow. last is guarded by the Manager's mutex.
type udpFlow struct {
	flow Flow
	l    *udpListener
	last time.Time
}

// bufs holds the buffers messages are written into before they go out.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (f *udpFlow) send(msg *sip.Message, max int) error {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	b := msg.AppendTo((*bp)[:0])
	*bp = b[:0]
	if len(b) > max || len(b) > 65507 {
		return fmt.Errorf("transport: %d-byte message too large for UDP", len(b))
	}
	if _, err := f.l.conn.WriteToUDPAddrPort(b, f.flow.Remote); err != nil {
		return fmt.Errorf("transport: send to %v: %w", f.flow.Remote, err)
	}
	return nil
}

// ListenUDP opens a UDP listener on addr ("127.0.0.1:5060", "[::1]:0")
// and returns the address it is bound to.
func (m *Manager) ListenUDP(addr string) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("transport: listen udp %s: %w", addr, err)
	}
	conn, err := net.ListenUDP(family("udp", addr), ua)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("transport: listen udp %s: %w", addr, err)
	}
	l := &udpListener{conn: conn, local: addrPortOf(conn.LocalAddr())}
	if err := m.adopt(conn, func() { m.udp = append(m.udp, l) }); err != nil {
		return netip.AddrPort{}, err
	}
	go m.readUDP(l)
	return l.local, nil
}

// readUDP reads datagrams until the socket closes. Each datagram is one
// message (RFC 3261 §18.3); it gets a buffer of its own, so the message
// keeps it without a second copy.
func (m *Manager) readUDP(l *udpListener) {
	defer m.wg.Done()
	// One byte more than the limit tells an oversized datagram apart.
	buf := make([]byte, min(m.maxMsg, 65535)+1)
	for {
		n, remote, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Not the socket closing: log it, and do not spin on an error
			// that repeats.
			m.logLimited("udp-read", "transport: udp read", "local", l.local, "err", err)
			time.Sleep(time.Millisecond)
			continue
		}
		m.datagram(l, unmapped(remote), buf[:n])
	}
}

// datagram handles one received datagram.
func (m *Manager) datagram(l *udpListener, remote netip.AddrPort, b []byte) {
	now := time.Now()
	if sip.KeepAliveOf(b) != sip.NoKeepAlive || isBlank(b) {
		// A CRLF keep-alive (common over UDP although RFC 5626 uses STUN
		// there): it keeps the flow alive and needs no answer.
		m.keptAlive(l, remote, now, &m.stats.KeepAlives)
		return
	}
	if answer, isSTUN := stunAnswer(b, remote); isSTUN {
		// A STUN keep-alive: answered, and it keeps the flow alive.
		m.keptAlive(l, remote, now, &m.stats.STUN)
		if answer != nil {
			if _, err := l.conn.WriteToUDPAddrPort(answer, remote); err != nil {
				m.logLimited("stun", "transport: STUN answer", "remote", remote, "err", err)
			}
		}
		return
	}
	if len(b) > m.maxMsg {
		m.refuseUDP(l, remote, &sip.ParseError{Status: 513, Reason: "message too large"})
		return
	}
	msg, err := m.parser.ParseOwned(append([]byte(nil), b...))
	if err != nil {
		var pe *sip.ParseError
		if errors.As(err, &pe) {
			m.refuseUDP(l, remote, pe)
		}
		return
	}
	f, ok := m.udpFlow(l, remote, now)
	if !ok {
		m.logLimited("udp-flows", "transport: UDP flow table full, datagram dropped", "max", m.cfg.MaxUDPFlows, "remote", remote)
		return
	}
	m.handler(&Inbound{Msg: msg, Flow: f, Received: now})
}

// keptAlive counts a keep-alive from remote on l in counter and refreshes
// that peer's flow.
func (m *Manager) keptAlive(l *udpListener, remote netip.AddrPort, now time.Time, counter *uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	*counter++
	if f := m.byPeer[udpPeer{l, remote}]; f != nil {
		f.last = now
	}
}

// isBlank reports whether b holds only CR and LF.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// refuseUDP refuses a datagram from remote on l (see refuse); an answer
// goes back from where the datagram came, flow or none.
func (m *Manager) refuseUDP(l *udpListener, remote netip.AddrPort, pe *sip.ParseError) {
	m.refuse(&udpFlow{flow: Flow{Kind: UDP, Local: l.local, Remote: remote}, l: l}, remote, pe)
}

// udpFlow returns the flow of remote on l, making one if needed; ok is
// false when the table is full.
func (m *Manager) udpFlow(l *udpListener, remote netip.AddrPort, now time.Time) (Flow, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := udpPeer{l, remote}
	if f := m.byPeer[key]; f != nil {
		f.last = now
		return f.flow, true
	}
	if len(m.byPeer) >= m.cfg.MaxUDPFlows {
		m.stats.FlowsRefused++
		return Flow{}, false
	}
	m.nextID++
	f := &udpFlow{flow: Flow{ID: m.nextID, Kind: UDP, Local: l.local, Remote: remote}, l: l, last: now}
	m.flows[f.flow.ID] = f
	m.byPeer[key] = f
	return f.flow, true
}

// expireUDPFlows forgets the UDP flows idle since before now-UDPFlowIdle.
func (m *Manager) expireUDPFlows(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, f := range m.byPeer {
		if now.Sub(f.last) >= m.cfg.UDPFlowIdle {
			delete(m.byPeer, key)
			delete(m.flows, f.flow.ID)
		}
	}
}

// SendUDP sends msg from the UDP listener bound to local (any listener of
// the remote's address family when local is the zero value) to remote,
// over the flow of that pair, made if needed; it returns the flow.
func (m *Manager) SendUDP(local, remote netip.AddrPort, msg *sip.Message) (FlowID, error) {
	remote = unmapped(remote)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return 0, ErrClosed
	}
	var l *udpListener
	for _, c := range m.udp {
		if local.IsValid() && c.local == local || !local.IsValid() && c.local.Addr().Is4() == remote.Addr().Is4() {
			l = c
			break
		}
	}
	m.mu.Unlock()
	if l == nil {
		return 0, fmt.Errorf("transport: no UDP listener for %v to %v", local, remote)
	}
	f, ok := m.udpFlow(l, remote, time.Now())
	if !ok {
		return 0, fmt.Errorf("transport: UDP flow table full")
	}
	return f.ID, m.Send(f.ID, msg)
}
