package server

import (
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/sipedge/sipedge/transport"
)

// TestSelfTestAlone: the self-test page is served with TURN and the web
// phone both off, when it is the only page, with the chunk its script
// imports (JsSIP, which it shares with the phone's).
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
	resp, err := c.Get("http://" + addr(t, s, transport.WS).String() + "/selftest.js")
	if err != nil {
		t.Fatal(err)
	}
	script, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`from\s*"\./(chunk-[^"]+\.js)"`).FindSubmatch(script)
	if m == nil {
		t.Fatalf("/selftest.js imports no shared chunk: %.200s", script)
	}
	resp, err = c.Get("http://" + addr(t, s, transport.WS).String() + "/" + string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET /%s: %d %q", m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
