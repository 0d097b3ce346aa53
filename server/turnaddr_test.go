package server

import (
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

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
	c := turnClient(t, "udp", addr.String(), "alice", "alice-pw", nil)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate as a SIP user of the store's domain: %v", err)
	}
	defer relay.Close()
	if ra := relay.LocalAddr().(*net.UDPAddr); !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("relayed address %s, want one on 127.0.0.1", ra)
	}
}
