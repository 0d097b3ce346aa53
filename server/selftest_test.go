package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/sipedge/sipedge/transport"
)

// TestSelfTestAlone: the self-test page is served with TURN and the web
// phone both off, when it is the only page.
func TestSelfTestAlone(t *testing.T) {
	s, _ := startAuthServer(t, map[string]string{"alice": "alice-pw"}, "Domains = example.com\nTurnPort = 0\nWebPhone = false\n")
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for path, want := range map[string]int{"/selftest": 200, "/selftest.js": 200, "/": 404, "/turn-credentials": 404} {
		resp, err := c.Get("http://" + addr(t, s, transport.WS).String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
