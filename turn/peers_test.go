package turn

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// listenStranger opens a UDP socket on 127.0.0.2, an address with no
// permission in the tests, or skips the test.
func listenStranger(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond for at most 5 s.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// TestBandwidthStrangers floods a capped relay from an address without a
// permission, then sends from the permitted peer within the burst, on a
// clock that stands still: the peer's packets all arrive, and the
// stranger's, which pion drops, took nothing of the budget.
func TestBandwidthStrangers(t *testing.T) {
	clk := newFakeClock()
	s := start(t, func(c *Config) { c.MaxBitrate, c.now = testBitrate, clk.now })
	u, p := rest(secret1, "bob", time.Hour)
	c := dial(t, s, "udp", u, p)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	stranger := listenStranger(t)
	// A permission is for an IP address: this one names another port.
	if err := c.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err != nil {
		t.Fatal(err)
	}
	dst, msg, buf := relay.LocalAddr(), make([]byte, 1000), make([]byte, 2000)
	// Fifty packets of 1028 bytes are ten times the burst; the relay's
	// socket buffer holds them all, and reads them before the peer's.
	for range 50 {
		if _, err := stranger.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
	}
	// Four fit in the burst of 5000 bytes, a fifth does not.
	for i := range 5 {
		if _, err := peer.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			break
		}
		relay.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d of the peer: %v (drops %d)", i+1, err, s.Stats().BandwidthDrops)
		}
		if n != len(msg) || from.String() != peer.LocalAddr().String() {
			t.Errorf("%d bytes from %v", n, from)
		}
	}
	if !waitFor(func() bool { return s.Stats().BandwidthDrops > 0 }) {
		t.Error("the peer's fifth packet was not dropped: the peer is not charged")
	}
	if d := s.Stats().BandwidthDrops; d != 1 {
		t.Errorf("%d drops, want the peer's fifth packet only", d)
	}

	// The allocation's set goes with it.
	if s.capped.len() != 1 {
		t.Errorf("%d capped relays registered, want 1", s.capped.len())
	}
	relay.Close()
	if !waitFor(func() bool { return s.capped.len() == 0 }) {
		t.Errorf("%d capped relays registered after the allocation ended", s.capped.len())
	}
}

// TestBandwidthTCPStrangers: pion closes the connections of peers without
// a permission to a TCP relay before reading from them, so they take none
// of its budget either. The permitted peer's burst arrives whole on a
// clock that stands still.
func TestBandwidthTCPStrangers(t *testing.T) {
	clk := newFakeClock()
	s := start(t, func(c *Config) { c.MaxBitrate, c.now = testBitrate, clk.now })
	data, peer := relayTCP(t, s, true)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	for range 5 {
		sc, err := d.Dial("tcp4", peer.RemoteAddr().String())
		if err != nil {
			t.Skipf("no 127.0.0.2: %v", err)
		}
		sc.SetDeadline(time.Now().Add(5 * time.Second))
		sc.Write(make([]byte, testBurst)) //nolint:errcheck // the read says whether pion closed it
		if _, err := sc.Read(make([]byte, 1)); err == nil {
			t.Error("a stranger's connection is open")
		}
		sc.Close()
	}
	peer.SetWriteDeadline(time.Now().Add(10 * time.Second))
	go peer.Write(make([]byte, testBurst)) //nolint:errcheck // the read below fails if it does
	data.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(data, make([]byte, testBurst)); err != nil {
		t.Errorf("the peer's burst: %v", err)
	}
}

func TestPeerSet(t *testing.T) {
	var p peerSet
	from := func(s string, port int) net.Addr {
		return &net.UDPAddr{IP: net.ParseIP(s), Port: port}
	}
	grant := func(s string, channel bool) {
		t.Helper()
		a, _ := peerKey(net.ParseIP(s))
		if !p.grant(a, channel) {
			t.Fatalf("grant %s overflowed", s)
		}
	}
	revoke := func(s string, channel bool) {
		a, _ := peerKey(net.ParseIP(s))
		p.revoke(a, channel)
	}
	check := func(src net.Addr, want bool) {
		t.Helper()
		if got := p.charged(src); got != want {
			t.Errorf("charged(%v) = %v, want %v", src, got, want)
		}
	}
	// net.ParseIP gives IPv4 in 16 bytes; the socket's source is in 4.
	grant("192.0.2.1", false)
	check(&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1).To4(), Port: 5000}, true)
	check(from("::ffff:192.0.2.1", 1), true)
	check(from("192.0.2.2", 5000), false)
	check(from("2001:db8::1", 5000), false)
	// A channel keeps the peer after its permission expired, until the
	// peer's last channel goes.
	grant("2001:db8::1", false)
	grant("2001:db8::1", true)
	grant("2001:db8::1", true)
	revoke("2001:db8::1", false)
	check(from("2001:db8::1", 1), true)
	revoke("2001:db8::1", true)
	check(from("2001:db8::1", 1), true)
	revoke("2001:db8::1", true)
	check(from("2001:db8::1", 1), false)
	revoke("192.0.2.1", false)
	check(from("192.0.2.1", 5000), false)
	revoke("192.0.2.9", false) // unknown: nothing
	check(&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}, true)

	// Past maxPeers, every packet is charged.
	for i := range maxPeers {
		grant(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), false)
	}
	check(from("10.0.0.1", 1), true)
	check(from("192.0.2.1", 1), false)
	if a, _ := peerKey(net.ParseIP("192.0.2.1")); p.grant(a, false) {
		t.Error("no overflow past maxPeers")
	}
	check(from("192.0.2.3", 1), true)
	revoke("10.0.0.1", false)
	check(from("192.0.2.3", 1), true)
}

// TestRelayCaps: the permission events reach the capped UDP relay of their
// relayed address only.
func TestRelayCaps(t *testing.T) {
	s := &Server{cfg: Config{MaxBitrate: testBitrate}}
	relay := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 50000}
	lim := &limiter{}
	s.capped.add(relay, lim)
	peer := net.IPv4(198, 51, 100, 1)
	src := &net.UDPAddr{IP: peer, Port: 1}
	s.peer(&net.TCPAddr{IP: relay.IP, Port: relay.Port}, peer, false, true)
	s.peer(&net.UDPAddr{IP: relay.IP, Port: relay.Port + 1}, peer, false, true)
	if lim.peers.charged(src) {
		t.Error("another relay's permission reached the set")
	}
	s.peer(&net.UDPAddr{IP: relay.IP.To16(), Port: relay.Port}, peer, false, true)
	if !lim.peers.charged(src) {
		t.Error("the permission did not reach the set")
	}
	// Another allocation has the address already: the old one's Close
	// leaves it.
	other := &limiter{}
	s.capped.add(relay, other)
	s.capped.remove(relay, lim)
	if s.capped.get(relay) != other {
		t.Error("removed another allocation's registration")
	}
	s.capped.remove(relay, other)
	if s.capped.len() != 0 {
		t.Error("not removed")
	}
}
