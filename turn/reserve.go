package turn

import (
	"net"
	"strconv"
	"time"
)

// Reservations (RFC 8656 §7.2): an Allocate with EVEN-PORT gets an even
// relay port and a RESERVATION-TOKEN for the next one, which a second
// Allocate (the RTCP socket's) names to get that port. pion keeps the
// token but not the port: another allocation could bind it meanwhile and
// the second Allocate would get 508. So relays hold the next port with a
// socket of their own until the second Allocate takes it over, or for
// reserveHold.
const (
	reserveHold = 30 * time.Second // RFC 8656 §7.2's "at least 30 seconds"
	maxHeld     = 1024             // bounds the held sockets of one relay address
)

// heldPort is a port kept for a reservation.
type heldPort struct {
	conn  net.PacketConn
	timer *time.Timer
}

// listenRelay binds a relay socket on port; requested says the client
// (through pion) asked for that port: an even one starts a reservation of
// the next, an odd one may be a reserved port, handed over.
func (r *relays) listenRelay(network string, port uint16, requested bool) (net.PacketConn, error) {
	if requested && port%2 == 1 {
		r.mu.Lock()
		h := r.held[port]
		delete(r.held, port)
		r.mu.Unlock()
		if h != nil && h.timer.Stop() {
			return h.conn, nil
		}
	}
	c, err := net.ListenPacket(network, net.JoinHostPort(r.bind.String(), strconv.Itoa(int(port)))) //nolint:noctx
	if err != nil {
		return nil, err
	}
	if requested && port%2 == 0 && port < r.max {
		r.hold(network, port+1)
	}
	return c, nil
}

// hold binds port and keeps it for reserveHold, when it is free; a
// reservation it cannot hold is pion's as before (508 if lost).
func (r *relays) hold(network string, port uint16) {
	r.mu.Lock()
	full := len(r.held) >= maxHeld || r.held[port] != nil
	r.mu.Unlock()
	if full {
		return
	}
	c, err := net.ListenPacket(network, net.JoinHostPort(r.bind.String(), strconv.Itoa(int(port)))) //nolint:noctx
	if err != nil {
		return
	}
	h := &heldPort{conn: c}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = make(map[uint16]*heldPort)
	}
	if r.held[port] != nil {
		c.Close()
		return
	}
	r.held[port] = h
	h.timer = time.AfterFunc(reserveHold, func() {
		r.mu.Lock()
		if r.held[port] == h {
			delete(r.held, port)
		}
		r.mu.Unlock()
		c.Close()
	})
}

// closeHeld closes the sockets held for reservations (Close).
func (r *relays) closeHeld() {
	r.mu.Lock()
	held := r.held
	r.held = nil
	r.mu.Unlock()
	for _, h := range held {
		if h.timer.Stop() {
			h.conn.Close()
		}
	}
}
