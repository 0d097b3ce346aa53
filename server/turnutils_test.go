package server

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"
	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/turn"
)

// startTURNTLSServer is startTURNServer with TURN over TLS too (TlsTurnPort,
// TurnTlsCertificate/PrivateKey from testpki); it returns TurnPort,
// TlsTurnPort and the certificate.
func startTURNTLSServer(t *testing.T) (*Server, int, int, *testpki.Cert) {
	t.Helper()
	pki := testpki.New(t)
	certFile, keyFile := pki.Write(t, t.TempDir())
	port, tlsPort := testnet.FreePort(t), testnet.FreePort(t)
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nTurnPort = "+strconv.Itoa(port)+
		"\nTlsTurnPort = "+strconv.Itoa(tlsPort)+"\nTurnTlsCertificate = "+certFile+"\nTurnTlsPrivateKey = "+keyFile+
		"\nTurnSecret = "+turnSecret+"\nTurnAllowPeers = 127.0.0.1\n"+
		// The parallel turnutils_uclient runs share two users, each run
		// up to four allocations (-y: two clients, RTP and RTCP): past the
		// default quota of 10 they would get 486 when they overlap.
		"MaxAllocationsPerUser = 100\n")
	return s, port, tlsPort, pki
}

// TestTURNOverTLS: pion's client allocates over TlsTurnPort with REST
// credentials and a SIP user's password, and two TLS allocations relay to
// each other.
func TestTURNOverTLS(t *testing.T) {
	s, _, tlsPort, pki := startTURNTLSServer(t)
	if got := s.TURN().TLSAddrs(); len(got) != 1 || got[0].Port() != uint16(tlsPort) {
		t.Fatalf("TLS listeners %v", got)
	}
	addr := "127.0.0.1:" + strconv.Itoa(tlsPort)
	user, pw := turn.RESTCredentials([]byte(turnSecret), "bob", time.Now().Add(time.Hour))
	var relays []net.PacketConn
	for _, cr := range [][2]string{{user, pw}, {"alice", "alice-pw"}} {
		c := turnClient(t, "tls", addr, cr[0], cr[1], pki.Client("127.0.0.1"))
		relay, err := c.Allocate()
		if err != nil {
			t.Fatalf("%s over TLS: %v", cr[0], err)
		}
		defer relay.Close()
		relays = append(relays, relay)
	}
	a, b := relays[0], relays[1]
	if _, err := a.WriteTo([]byte("ping"), b.LocalAddr()); err != nil { // a's permission for b
		t.Fatal(err)
	}
	if _, err := b.WriteTo([]byte("hello"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := a.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "hello" || from.String() != b.LocalAddr().String() {
		t.Errorf("got %q from %s", buf[:n], from)
	}
}

var uclientTotals = regexp.MustCompile(`tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)

// TestTurnutilsUclient drives coturn's turnutils_uclient (Debian package
// coturn) against sipedge's TURN server on loopback: two allocations
// relaying to each other (-y), over UDP and TCP, and a TCP relay (-T,
// RFC 6062), and the same over TLS (-S, on TlsTurnPort), with REST
// credentials (-W secret -u user: uclient makes the expiry:user name and
// its password) and with a SIP user's password.
func TestTurnutilsUclient(t *testing.T) {
	uclient := testnet.NeedTool(t, "turnutils_uclient", "Debian package coturn")
	_, port, tlsPort, _ := startTURNTLSServer(t)
	p, tp := strconv.Itoa(port), strconv.Itoa(tlsPort)
	rest := []string{"-W", turnSecret, "-u", "bob"}
	sipUser := []string{"-u", "alice", "-w", "alice-pw"}
	for _, tt := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"udp-rest", append([]string{"-y"}, rest...), true},
		{"tcp-rest", append([]string{"-t", "-y"}, rest...), true},
		{"tcp-relay-rest", append([]string{"-T"}, rest...), true},
		{"udp-sip-user", append([]string{"-y"}, sipUser...), true},
		{"tcp-sip-user", append([]string{"-t", "-y"}, sipUser...), true},
		{"tls-rest", append([]string{"-S", "-t", "-y"}, rest...), true},
		{"tls-sip-user", append([]string{"-S", "-t", "-y"}, sipUser...), true},
		{"tls-tcp-relay-rest", append([]string{"-S", "-T"}, rest...), true},
		{"wrong-secret", []string{"-y", "-W", "not-the-secret-0123456789", "-u", "bob"}, false},
		{"wrong-password", []string{"-y", "-u", "alice", "-w", "nope"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := p
			if slices.Contains(tt.args, "-S") {
				port = tp
			}
			relayed, text := runUclient(t, uclient, append(append([]string{"-n", "10", "-p", port}, tt.args...), "127.0.0.1"))
			if relayed != tt.ok {
				t.Errorf("relayed %v, want %v\n%s", relayed, tt.ok, tail(text, 2000))
			}
			if !tt.ok && !strings.Contains(text, "Cannot complete Allocation") {
				t.Errorf("no refused allocation in:\n%s", tail(text, 2000))
			}
		})
	}
}

// runUclient runs turnutils_uclient with args (at most 30 s) and reports
// whether every packet it sent came back through the relays, with what
// it printed (its command line first).
func runUclient(t *testing.T, uclient string, args []string) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, uclient, args...).CombinedOutput()
	text := "turnutils_uclient " + strings.Join(args, " ") + "\n" + string(out)
	m := uclientTotals.FindAllStringSubmatch(text, -1)
	relayed := len(m) > 0 && m[len(m)-1][1] != "0" && m[len(m)-1][1] == m[len(m)-1][2] &&
		strings.Contains(text, "Total lost packets 0 (")
	return relayed, text
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
