package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testnet"
	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/transport"
	"github.com/sipedge/sipedge/turn"
	"github.com/sipedge/sipedge/web"
)

// startWebServer runs sipedge with a WSS and a WS listener, TURN on free
// ports of loopback (TURN over TLS too) and the user alice of example.com;
// extra is added to the configuration. It returns the TURN ports.
func startWebServer(t *testing.T, extra string) (s *Server, dir string, port, tlsPort int, pki *testpki.Cert) {
	t.Helper()
	pki = testpki.New(t)
	certFile, keyFile := pki.Write(t, t.TempDir())
	port, tlsPort = testnet.FreePort(t), testnet.FreePort(t)
	s, dir = startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nWSSPort = 8443\nTLSCertificate = "+certFile+
		"\nTLSPrivateKey = "+keyFile+"\nTurnPort = "+strconv.Itoa(port)+"\nTlsTurnPort = "+strconv.Itoa(tlsPort)+
		"\nTurnAllowPeers = 127.0.0.1\n"+extra)
	return s, dir, port, tlsPort, pki
}

// fetchCredentials gets url with Basic user:password and decodes the
// answer when it is 200.
func fetchCredentials(t *testing.T, client *http.Client, url, user, password string) (int, *web.TURNResponse) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	var tr web.TURNResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return 200, &tr
}

// TestTURNCredentialsEndpoint: alice fetches credentials over WSS with Go's
// client and allocates with exactly them over UDP, TCP and TLS; the key
// comes from the data directory (no TurnSecret).
func TestTURNCredentialsEndpoint(t *testing.T) {
	s, dir, port, tlsPort, pki := startWebServer(t, "")
	fi, err := os.Stat(filepath.Join(dir, RESTKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.Client("127.0.0.1")}}
	defer client.CloseIdleConnections()
	url := "https://" + addr(t, s, transport.WSS).String() + "/turn-credentials?service=turn"
	start := time.Now()
	code, tr := fetchCredentials(t, client, url, "alice", "alice-pw")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	p := strconv.Itoa(port)
	want := []string{"turn:127.0.0.1:" + p + "?transport=udp", "turn:127.0.0.1:" + p + "?transport=tcp", "turns:127.0.0.1:" + strconv.Itoa(tlsPort) + "?transport=tcp"}
	if !slices.Equal(tr.URIs, want) || tr.TTL != 86400 || !strings.HasSuffix(tr.Username, ":alice") ||
		len(tr.ICEServers) != 1 || tr.ICEServers[0].Credential != tr.Password {
		t.Fatalf("%+v", tr)
	}
	if exp, _ := strconv.ParseInt(strings.TrimSuffix(tr.Username, ":alice"), 10, 64); exp < start.Add(86400*time.Second).Unix() || exp > time.Now().Add(86400*time.Second).Unix() {
		t.Errorf("expiry %d", exp)
	}
	turnAddr := "127.0.0.1:" + p
	for _, network := range []string{"udp", "tcp"} {
		if err := allocate(t, network, turnAddr, tr.Username, tr.Password, nil); err != nil {
			t.Errorf("allocate over %s: %v", network, err)
		}
	}
	if err := allocate(t, "tls", "127.0.0.1:"+strconv.Itoa(tlsPort), tr.Username, tr.Password, pki.Client("127.0.0.1")); err != nil {
		t.Errorf("allocate over TLS: %v", err)
	}
	// A changed password does not allocate.
	if err := allocate(t, "udp", turnAddr, tr.Username, tr.Password+"x", nil); err == nil {
		t.Error("allocated with a wrong password")
	}
	// Wrong password, none: 401 with the challenge.
	if code, _ := fetchCredentials(t, client, url, "alice", "nope"); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	if code, _ := fetchCredentials(t, client, url, "", ""); code != 401 {
		t.Errorf("no password: %d", code)
	}
	// The WS port answers too, to a loopback client.
	plain := &http.Client{Timeout: 5 * time.Second}
	defer plain.CloseIdleConnections()
	if code, tr := fetchCredentials(t, plain, "http://"+addr(t, s, transport.WS).String()+"/turn-credentials", "alice@example.com", "alice-pw"); code != 200 || !strings.HasSuffix(tr.Username, ":alice") {
		t.Errorf("over WS from loopback: %d %+v", code, tr)
	}
	// Unknown paths: 404; other methods: 405.
	resp, err := client.Get("https://" + addr(t, s, transport.WSS).String() + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	resp, err = client.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("POST: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestTURNCredentialsConfigured: with TurnSecret, the first secret signs;
// TurnCredentialLifetime and TurnUris are what the endpoint hands out;
// curl, a real client, gets the same.
func TestTURNCredentialsConfigured(t *testing.T) {
	s, dir, port, _, pki := startWebServer(t, "TurnSecret = "+turnSecret+", second-secret-0123456789\nTurnCredentialLifetime = 120\n"+
		"TurnUris = turn:turn.example.com:3478?transport=udp, turns:turn.example.com:443?transport=tcp\n")
	if _, err := os.Stat(filepath.Join(dir, RESTKeyFile)); err == nil {
		t.Error("a key file was made although TurnSecret is set")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.Client("localhost")}}
	defer client.CloseIdleConnections()
	url := "https://localhost:" + strconv.Itoa(int(addr(t, s, transport.WSS).Port())) + "/turn-credentials"
	code, tr := fetchCredentials(t, client, url, "alice", "alice-pw")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if tr.TTL != 120 || tr.Password != turn.RESTPassword([]byte(turnSecret), tr.Username) ||
		!slices.Equal(tr.URIs, []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"}) {
		t.Fatalf("%+v", tr)
	}
	if err := allocate(t, "udp", "127.0.0.1:"+strconv.Itoa(port), tr.Username, tr.Password, nil); err != nil {
		t.Errorf("allocate: %v", err)
	}

	curl := testnet.NeedTool(t, "curl", "Debian package curl")
	certFile, _ := pki.Write(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--fail", "--cacert", certFile, "-u", "alice:alice-pw", url+"?service=turn").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	var ct web.TURNResponse
	if err := json.Unmarshal(out, &ct); err != nil || !strings.HasSuffix(ct.Username, ":alice") || ct.Password != turn.RESTPassword([]byte(turnSecret), ct.Username) {
		t.Fatalf("curl got %s (%v)", out, err)
	}
	if err := allocate(t, "tcp", "127.0.0.1:"+strconv.Itoa(port), ct.Username, ct.Password, nil); err != nil {
		t.Errorf("allocate with curl's credentials: %v", err)
	}
	out, _ = exec.CommandContext(ctx, curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", certFile, "-u", "alice:wrong", url).Output()
	if string(out) != "401" {
		t.Errorf("curl with a wrong password: %s", out)
	}
}

// TestNoEndpointWithoutTURN: with TURN and the web pages off the WS
// listeners answer plain HTTP as before (400: not a WebSocket).
func TestNoEndpointWithoutTURN(t *testing.T) {
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nTurnPort = 0\nWebPhone = false\nWebSelfTest = false\n")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://"+addr(t, s, transport.WS).String()+"/turn-credentials", nil)
	req.SetBasicAuth("alice", "alice-pw")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%d", resp.StatusCode)
	}
}

// TestWebServeError: an endpoint that cannot run says why, with 503, and
// WebSockets are not concerned.
func TestWebServeError(t *testing.T) {
	s, _, _, _, _ := startWebServer(t, "WebPhone = false\n")
	s.serveWeb(nil, "TURN credentials endpoint off: test")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + addr(t, s, transport.WS).String() + "/turn-credentials")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "endpoint off: test") {
		t.Errorf("%d %q", resp.StatusCode, b)
	}
}
