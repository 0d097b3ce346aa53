package server

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/internal/testnet"
	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/transport"
)

// TestTURNOnSamePort: with TurnOnSamePort, one WSS port serves SIP over
// WebSocket, the TURN credentials over HTTPS and TURN over TLS: alice
// registers there, fetches credentials there and allocates there with
// them (pion's client without ALPN, and coturn's turnutils_uclient).
func TestTURNOnSamePort(t *testing.T) {
	pki := testpki.New(t)
	certFile, keyFile := pki.Write(t, t.TempDir())
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nWSSPort = 8443\n"+
		"TLSCertificate = "+certFile+"\nTLSPrivateKey = "+keyFile+"\nTurnOnSamePort = true\n"+
		"TurnPort = "+strconv.Itoa(testnet.FreePort(t))+"\nTlsTurnPort = 0\nTurnSecret = "+turnSecret+"\nTurnAllowPeers = 127.0.0.1\n")
	wss := addr(t, s, transport.WSS)
	if got := s.TURN().TLSAddrs(); !slices.Contains(got, wss) {
		t.Fatalf("TURN over TLS on %v, not on the WSS port %v", got, wss)
	}
	ua := dialConfig(t, s, transport.WSS, client.Config{User: "alice", Password: "alice-pw", TLS: pki.Client("127.0.0.1")})
	register(t, ua)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.Client("127.0.0.1")}, Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	code, tr := fetchCredentials(t, hc, "https://"+wss.String()+"/turn-credentials", "alice", "alice-pw")
	if code != 200 {
		t.Fatalf("GET /turn-credentials on the shared port: %d", code)
	}
	if want := "turns:127.0.0.1:" + strconv.Itoa(int(wss.Port())) + "?transport=tcp"; !slices.Contains(tr.URIs, want) {
		t.Errorf("URIs %v, want %s among them", tr.URIs, want)
	}
	if err := allocate(t, "tls", wss.String(), tr.Username, tr.Password, pki.Client("127.0.0.1")); err != nil {
		t.Fatalf("TURN over TLS on the shared port: %v", err)
	}
	if st := s.muxes[0].Stats(); st.HTTP < 2 || st.TURN != 1 || st.Failed != 0 {
		t.Errorf("sorted %+v", st)
	}

	uclient := testnet.NeedTool(t, "turnutils_uclient", "Debian package coturn")
	for _, relay := range []string{"-y", "-T"} {
		relayed, text := runUclient(t, uclient, []string{"-S", "-t", relay, "-n", "10", "-p", strconv.Itoa(int(wss.Port())),
			"-W", turnSecret, "-u", "bob", "127.0.0.1"})
		if !relayed {
			t.Errorf("turnutils_uclient over the shared port did not relay:\n%s", tail(text, 2000))
		}
	}
}

// TestReloadCertificates: after the files change, ReloadCertificates makes
// new connections get the new certificate while an open WSS flow goes on;
// files that cannot be read leave the one in use.
func TestReloadCertificates(t *testing.T) {
	dir := t.TempDir()
	old := testpki.New(t)
	certFile, keyFile := old.Write(t, dir)
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nWSSPort = 8443\n"+
		"TLSCertificate = "+certFile+"\nTLSPrivateKey = "+keyFile+"\nTurnOnSamePort = true\n"+
		"TurnPort = "+strconv.Itoa(testnet.FreePort(t))+"\nTlsTurnPort = 0\nTurnSecret = "+turnSecret+"\n")
	wss := addr(t, s, transport.WSS)
	ua := dialConfig(t, s, transport.WSS, client.Config{User: "alice", Password: "alice-pw", TLS: old.Client("127.0.0.1")})
	register(t, ua)

	renewed := testpki.New(t)
	renewed.Write(t, dir)
	if err := s.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	served := func() []byte {
		c, err := tls.Dial("tcp", wss.String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test reads which certificate is served
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	if !bytes.Equal(served(), renewed.TLS.Certificate[0]) {
		t.Fatal("the old certificate is still served after the reload")
	}
	register(t, ua) // the flow made before the reload goes on

	if err := os.WriteFile(certFile, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadCertificates(); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if !bytes.Equal(served(), renewed.TLS.Certificate[0]) {
		t.Fatal("a failed reload changed the certificate served")
	}
}
