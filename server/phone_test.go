package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/transport"
)

// getPage fetches path from a WS (http) or WSS (https) listener of s.
func getPage(t *testing.T, s *Server, k transport.Kind, pki *testpki.Cert, path string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.Client("127.0.0.1")}}
	defer c.CloseIdleConnections()
	scheme := "http://"
	if k == transport.WSS {
		scheme = "https://"
	}
	resp, err := c.Get(scheme + addr(t, s, k).String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestWebPhoneServed: the web phone is on every WS and WSS listener, with
// TURN on (and /turn-credentials beside it) and off (where
// /turn-credentials is 404 and the phone goes without TURN); WebPhone =
// false serves no page. The self-test page is beside it, on unless
// WebSelfTest = false.
func TestWebPhoneServed(t *testing.T) {
	type starter func(t *testing.T) (*Server, *testpki.Cert)
	withTURN := func(extra string) starter {
		return func(t *testing.T) (*Server, *testpki.Cert) {
			s, _, _, _, pki := startWebServer(t, extra)
			return s, pki
		}
	}
	withoutTURN := func(t *testing.T) (*Server, *testpki.Cert) {
		pki := testpki.New(t)
		certFile, keyFile := pki.Write(t, t.TempDir())
		s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nWSSPort = 8443\nTLSCertificate = "+certFile+
			"\nTLSPrivateKey = "+keyFile+"\nTurnPort = 0\nTlsTurnPort = 0\n")
		return s, pki
	}
	for _, tc := range []struct {
		name       string
		start      starter
		page, turn int // the answers to / and /turn-credentials
		selftest   int // the answer to /selftest
	}{
		{"turn on", withTURN(""), 200, 401, 200},
		{"turn off", withoutTURN, 200, 404, 200},
		{"phone off", withTURN("WebPhone = false\n"), 404, 401, 200},
		{"self-test off", withTURN("WebSelfTest = false\n"), 200, 401, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pki := tc.start(t)
			for _, k := range []transport.Kind{transport.WS, transport.WSS} {
				code, hd, body := getPage(t, s, k, pki, "/")
				if code != tc.page {
					t.Errorf("%v GET /: %d, want %d", k, code, tc.page)
				}
				if code == 200 && (!strings.Contains(body, `<script type="module" src="phone.js">`) || !strings.Contains(hd.Get("Content-Security-Policy"), "script-src 'self'")) {
					t.Errorf("%v GET /: not the phone: %v %.200s", k, hd, body)
				}
				if code, _, _ = getPage(t, s, k, pki, "/phone.js"); code != tc.page {
					t.Errorf("%v GET /phone.js: %d, want %d", k, code, tc.page)
				}
				if code, _, body = getPage(t, s, k, pki, "/selftest"); code != tc.selftest || code == 200 && !strings.Contains(body, `<script type="module" src="selftest.js">`) {
					t.Errorf("%v GET /selftest: %d %.100q, want %d, the self-test page", k, code, body, tc.selftest)
				}
				// 401 (sign in) where the endpoint is: the client is on
				// loopback, which may fetch over plain WS too.
				if code, _, _ = getPage(t, s, k, pki, "/turn-credentials"); code != tc.turn {
					t.Errorf("%v GET /turn-credentials: %d, want %d", k, code, tc.turn)
				}
				if code, _, _ = getPage(t, s, k, pki, "/no-such-page"); code != 404 {
					t.Errorf("%v GET /no-such-page: %d, want 404", k, code)
				}
			}
		})
	}
}
