package turn

import (
	"net"
	"net/netip"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
)

// allocateFrom allocates over UDP from a socket on local to the server's
// UDP listener at server, asking for the address family fam (0: the
// socket's), and returns the relayed address.
func allocateFrom(t *testing.T, local, server string, fam pturn.RequestedAddressFamily) (netip.AddrPort, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp", local)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	u, p := rest(secret1, "bob", time.Hour)
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: server, TURNServerAddr: server, Conn: conn,
		Username: u, Password: p, Realm: realm, RTO: 100 * time.Millisecond,
		RequestedAddressFamily: fam,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer relay.Close()
	return relay.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}

// hasIPv6Loopback reports whether ::1 can be bound here (a container may
// have IPv6 off).
func hasIPv6Loopback() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestRelayOnListenerAddress: with no relay bind address, an allocation
// relays on the address its client reached, and one of the other address
// family on the server's address of that family.
func TestRelayOnListenerAddress(t *testing.T) {
	listen := []string{"127.0.0.1:0", "127.0.0.2:0"}
	v6 := hasIPv6Loopback()
	if v6 {
		listen = append(listen, "[::1]:0")
	}
	s := start(t, func(c *Config) {
		c.ListenUDP, c.ListenTCP, c.ListenTLS = listen, nil, nil
		c.RelayBind = netip.Addr{}
	})
	addrs := s.UDPAddrs()
	if len(addrs) != len(listen) {
		t.Fatalf("listening on %v", addrs)
	}
	for _, a := range addrs {
		local := netip.AddrPortFrom(a.Addr(), 0).String()
		relay, err := allocateFrom(t, local, a.String(), 0)
		if err != nil {
			t.Fatalf("via %s: %v", a, err)
		}
		if relay.Addr() != a.Addr() || relay.Port() < 40000 || relay.Port() > 60000 {
			t.Errorf("via %s: relayed address %s", a, relay)
		}
		if a.Addr().Is6() {
			// pion's client cannot ask for IPv4 (it sends no attribute,
			// and pion's server relays in the listener's family then).
			continue
		}
		other, want := pturn.RequestedAddressFamilyIPv6, netip.MustParseAddr("::1")
		relay, err = allocateFrom(t, local, a.String(), other)
		switch {
		case !v6 && err == nil:
			t.Errorf("via %s: an IPv6 relay %s with no IPv6 address", a, relay)
		case v6 && err != nil:
			t.Errorf("via %s, the other family: %v", a, err)
		case v6 && relay.Addr() != want:
			t.Errorf("via %s, the other family: relayed address %s, want %s", a, relay, want)
		}
	}
}

// TestUDPSockets: several sockets share each UDP address (SO_REUSEPORT);
// clients spread over them all allocate, and the address is listed once.
func TestUDPSockets(t *testing.T) {
	s := start(t, func(c *Config) { c.UDPSockets = 3 })
	if len(s.udp) != 3 || len(s.UDPAddrs()) != 1 {
		t.Fatalf("%d sockets, addresses %v", len(s.udp), s.UDPAddrs())
	}
	for i := range 8 {
		if _, err := allocateFrom(t, "127.0.0.1:0", s.UDPAddrs()[0].String(), 0); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
}

// TestListenerOnEveryAddress: a wildcard listener needs a relay bind
// address (its relays could not bind to the address clients reach).
func TestListenerOnEveryAddress(t *testing.T) {
	_, err := New(Config{Realm: realm, ListenUDP: []string{"0.0.0.0:0"}, RESTSecrets: [][]byte{secret1}, Policy: loopback})
	if err == nil {
		t.Fatal("a wildcard listener with no relay bind address was accepted")
	}
}

func TestOtherFamily(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.7"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("fd00::5"), netip.MustParseAddr("2001:db8::7")}
	for a, want := range map[string]string{
		"127.0.0.1": "::1", "::1": "127.0.0.1", "10.0.0.5": "fd00::5", "fd00::5": "10.0.0.5",
		"198.51.100.7": "2001:db8::7", "2001:db8::7": "198.51.100.7",
	} {
		if got := otherFamily(netip.MustParseAddr(a), addrs); got.String() != want {
			t.Errorf("%s: %s, want %s", a, got, want)
		}
	}
	if got := otherFamily(netip.MustParseAddr("127.0.0.1"), addrs[:3]); got.IsValid() {
		t.Errorf("no IPv6 address: %s", got)
	}
	if got := otherFamily(netip.MustParseAddr("127.0.0.1"), addrs[4:]); got.String() != "fd00::5" {
		t.Errorf("no IPv6 loopback: %s", got)
	}
}
