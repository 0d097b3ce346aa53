package server

import (
	"strings"
	"testing"

	"github.com/sipedge/sipedge/internal/testpki"
	"github.com/sipedge/sipedge/transport"
)

// TestSelfTestServed: the self-test page is on every WS and WSS listener,
// with TURN on and off, and with the phone off; WebSelfTest = false
// serves no page.
func TestSelfTestServed(t *testing.T) {
	withoutTURN := func(t *testing.T) (*Server, *testpki.Cert) {
		pki := testpki.New(t)
		certFile, keyFile := pki.Write(t, t.TempDir())
		s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nWSSPort = 8443\nTLSCertificate = "+certFile+
			"\nTLSPrivateKey = "+keyFile+"\nTurnPort = 0\nTlsTurnPort = 0\nWebPhone = false\n")
		return s, pki
	}
	withTURN := func(extra string) func(t *testing.T) (*Server, *testpki.Cert) {
		return func(t *testing.T) (*Server, *testpki.Cert) {
			s, _, _, _, pki := startWebServer(t, extra)
			return s, pki
		}
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (*Server, *testpki.Cert)
		want  int
	}{
		{"turn on", withTURN(""), 200},
		{"turn and phone off", withoutTURN, 200},
		{"self-test off", withTURN("WebSelfTest = false\n"), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pki := tc.start(t)
			for _, k := range []transport.Kind{transport.WS, transport.WSS} {
				code, hd, body := getPage(t, s, k, pki, "/selftest")
				if code != tc.want {
					t.Errorf("%v GET /selftest: %d, want %d", k, code, tc.want)
				}
				if code == 200 && (!strings.Contains(body, `<script src="selftest.js">`) || !strings.Contains(hd.Get("Content-Security-Policy"), "script-src 'self'")) {
					t.Errorf("%v GET /selftest: not the page: %v %.200s", k, hd, body)
				}
				if code, _, _ = getPage(t, s, k, pki, "/selftest.js"); code != tc.want {
					t.Errorf("%v GET /selftest.js: %d, want %d", k, code, tc.want)
				}
			}
		})
	}
}
