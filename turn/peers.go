package turn

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	pturn "github.com/pion/turn/v5"
)

// The peers a capped UDP allocation is charged for.
//
// pion looks at an allocation's permissions only after its relay socket's
// ReadFrom returned a datagram, and drops the datagrams of peers without
// one. Charging every datagram would let anyone who knows a relayed
// address (it is in the SDP candidates) use up the allocation's peer to
// client budget with datagrams pion then drops, and so have the real
// peer's media dropped by the cap. So the relay (limitedPacketConn)
// charges only the datagrams of the peers pion would relay: those whose IP
// address has a permission (RFC 8656 §9: a permission is per IP address,
// any port) or a channel (pion relays a channel's datagrams whether or not
// its permission is still there: channels last 600 s, permissions 300 s).
// The others pass uncharged, and pion drops and logs them as before.
//
// pion tells which: its OnPermissionCreated and OnPermissionDeleted events
// (CreatePermission and ChannelBind grant or refresh a permission; a
// refresh fires no event, and pion fires the deletion when the permission
// expires, 300 s after its last grant or refresh, or its allocation ends)
// and OnChannelCreated and OnChannelDeleted, each with the relayed
// address, which names the allocation. The relay registers its cap under
// its relayed address when it is made, before pion knows the allocation,
// so no event can come before it; it unregisters at Close.
//
// pion fires OnPermissionCreated just after it stored the permission, so a
// datagram of the new peer read in between passes uncharged; and a
// permission expiring while the client grants it again may leave the peer
// here after pion removed it, charged for while pion drops its datagrams.
// Both are bounded (a few datagrams; a peer the client chose).
//
// RFC 6062 TCP relays need none of this: pion closes a peer's connection
// without a permission as soon as it is accepted, before reading from it,
// and the connections are charged for what is read from them.

// maxPeers bounds the peer addresses an allocation's set holds (pion
// bounds neither the permissions nor the channels of an allocation). An
// allocation with more at once is charged for every datagram, from
// anyone, until it ends, as it would be with no set at all.
const maxPeers = 64

// peerSet is a capped UDP allocation's peers: the IP addresses with a
// permission or a channel. The relay reads it for every datagram without
// a lock: the events, rare, replace it whole (at most maxPeers entries).
type peerSet struct {
	mu  sync.Mutex // the writers'
	cur atomic.Pointer[peers]
}

// peers is one version of a peerSet, never changed once stored.
type peers struct {
	// m is by IP address in 16 bytes (IPv4 mapped, as pion keys its
	// permissions by IP.String, the same for both forms).
	m map[[16]byte]peerRefs
	// all: more than maxPeers peers at once; every datagram is charged.
	all bool
}

// peerRefs are what pion has for a peer address: a permission, and how
// many channels (to ports of it).
type peerRefs struct {
	permission bool
	channels   uint16 // pion's channel numbers are 0x4000 to 0x7FFF
}

// peerKey is the key of a peer's address, false when ip is not an IP
// address. It allocates nothing.
func peerKey(ip net.IP) ([16]byte, bool) {
	a, ok := netip.AddrFromSlice(ip)
	return a.As16(), ok
}

// charged says whether a datagram from src is charged: from a peer with a
// permission or a channel, or from anyone once the set overflowed. It
// allocates nothing and takes no lock.
func (p *peerSet) charged(src net.Addr) bool {
	u, ok := src.(*net.UDPAddr)
	if !ok {
		return true
	}
	k, ok := peerKey(u.IP)
	if !ok {
		return true
	}
	v := p.cur.Load()
	if v == nil {
		return false
	}
	_, found := v.m[k]
	return found || v.all
}

// update stores a copy of the set with f applied to k's entry (absent:
// the zero entry), and the entry dropped when it is zero after.
func (p *peerSet) update(k [16]byte, f func(*peerRefs)) (overflow bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.cur.Load()
	if old == nil {
		old = &peers{}
	}
	if old.all {
		return false
	}
	r, ok := old.m[k]
	f(&r)
	keep := r != peerRefs{}
	if !ok && !keep {
		return false
	}
	if !ok && len(old.m) >= maxPeers {
		p.cur.Store(&peers{all: true})
		return true
	}
	m := make(map[[16]byte]peerRefs, len(old.m)+1)
	for a, e := range old.m {
		m[a] = e
	}
	if keep {
		m[k] = r
	} else {
		delete(m, k)
	}
	p.cur.Store(&peers{m: m})
	return false
}

// grant notes a permission (channel false) or a channel for k; it says
// false when it overflows the set (the first time).
func (p *peerSet) grant(k [16]byte, channel bool) bool {
	return !p.update(k, func(r *peerRefs) {
		if channel {
			r.channels++
		} else {
			r.permission = true
		}
	})
}

// revoke forgets a permission (channel false) or a channel of k.
func (p *peerSet) revoke(k [16]byte, channel bool) {
	p.update(k, func(r *peerRefs) {
		if channel {
			r.channels = max(r.channels, 1) - 1
		} else {
			r.permission = false
		}
	})
}

// relayCaps are the caps of the live capped UDP allocations by relayed
// address, for the permission events.
type relayCaps struct {
	mu sync.Mutex
	m  map[netip.AddrPort]*limiter
}

// relayKey is the key of a UDP relayed address; false for another kind.
func relayKey(relay net.Addr) (netip.AddrPort, bool) {
	u, ok := relay.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
}

func (c *relayCaps) add(relay net.Addr, lim *limiter) {
	k, ok := relayKey(relay)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[netip.AddrPort]*limiter)
	}
	c.m[k] = lim
	c.mu.Unlock()
}

// remove unregisters lim, unless another allocation has its relayed
// address already.
func (c *relayCaps) remove(relay net.Addr, lim *limiter) {
	k, ok := relayKey(relay)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.m[k] == lim {
		delete(c.m, k)
	}
	c.mu.Unlock()
}

func (c *relayCaps) get(relay net.Addr) *limiter {
	k, ok := relayKey(relay)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *relayCaps) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// peer applies a permission or channel event of pion to the set of the
// allocation relaying on relay, if it is a capped UDP one.
func (s *Server) peer(relay net.Addr, ip net.IP, channel, granted bool) {
	lim := s.capped.get(relay)
	if lim == nil {
		return
	}
	a, ok := peerKey(ip)
	if !ok {
		return
	}
	if !granted {
		lim.peers.revoke(a, channel)
		return
	}
	if !lim.peers.grant(a, channel) {
		s.log.Debug("TURN allocation with too many peers: every datagram to its relay is charged to its bandwidth cap",
			"user", lim.user, "relay", lim.relay.String(), "peers", maxPeers)
	}
}

// peerEvents sets the event handlers that keep the capped allocations'
// peer sets; there is nothing to keep without a cap.
func (s *Server) peerEvents(h *pturn.EventHandler) {
	if s.cfg.MaxBitrate <= 0 {
		return
	}
	h.OnPermissionCreated = func(_, _ net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
		s.peer(relay, peer, false, true)
	}
	h.OnPermissionDeleted = func(_, _ net.Addr, _, _, _ string, relay net.Addr, peer net.IP) {
		s.peer(relay, peer, false, false)
	}
	h.OnChannelCreated = func(_, _ net.Addr, _, _, _ string, relay, peer net.Addr, _ uint16) {
		if u, ok := peer.(*net.UDPAddr); ok {
			s.peer(relay, u.IP, true, true)
		}
	}
	h.OnChannelDeleted = func(_, _ net.Addr, _, _, _ string, relay, peer net.Addr, _ uint16) {
		if u, ok := peer.(*net.UDPAddr); ok {
			s.peer(relay, u.IP, true, false)
		}
	}
}
