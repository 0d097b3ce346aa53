package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"
	"github.com/sipedge/sipedge/turn"
)

const turnSecret = "turn-test-secret-0123456789"

// startTURNServer runs sipedge with TURN on loopback (relaying to
// 127.0.0.1 allowed), REST secret turnSecret and the SIP user alice.
func startTURNServer(t *testing.T) (*Server, int) {
	t.Helper()
	port := testnet.FreePort(t)
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nTurnPort = "+strconv.Itoa(port)+
		"\nTurnSecret = "+turnSecret+"\nTurnAllowPeers = 127.0.0.1\n")
	return s, port
}

func TestTURN(t *testing.T) {
	s, port := startTURNServer(t)
	if s.TURN() == nil {
		t.Fatal("no TURN server")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	user, pw := turn.RESTCredentials([]byte(turnSecret), "bob", time.Now().Add(time.Hour))
	for _, cr := range [][2]string{{user, pw}, {"alice", "alice-pw"}} {
		for _, network := range []string{"udp", "tcp"} {
			if err := allocate(t, network, addr, cr[0], cr[1], nil); err != nil {
				t.Errorf("%s over %s: %v", cr[0], network, err)
			}
		}
	}
}
