package server

import (
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
	"github.com/sipedge/sipedge/internal/testnet"
)

// TestTURNOnEveryInterface: with TURN on and neither TurnAddress nor
// IPAddress, TURN listens on each interface address (loopback among them)
// and relays on the address the client reached; with neither
// AuthenticationRealm nor Domains, the realm is the user store's domain,
// whose users allocate with their SIP passwords.
func TestTURNOnEveryInterface(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addUsers(t, dir, map[string]string{"alice": "alice-pw"})
	port := testnet.FreePort(t)
	s := runConfig(t, "every.config", "UDPPort = 5060\nTCPPort = 0\nTurnPort = "+strconv.Itoa(port)+
		"\nDataDirectory = "+dir+"\n", Options{})
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	if got := s.TURN().UDPAddrs(); !slices.Contains(got, addr) {
		t.Fatalf("TURN listens on %v, not on %v", got, addr)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: addr.String(), TURNServerAddr: addr.String(), Conn: conn,
		Username: "alice", Password: "alice-pw", Realm: "example.com", RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate as a SIP user of the store's domain: %v", err)
	}
	defer relay.Close()
	if ra := relay.LocalAddr().(*net.UDPAddr); !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("relayed address %s, want one on 127.0.0.1", ra)
	}
}
