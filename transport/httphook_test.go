package transport

import (
	"io"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestHTTPHook: with Config.HTTP, requests that are not WebSocket upgrades
// go to it, while upgrades (any case of "websocket", on any path) still
// become SIP flows.
func TestHTTPHook(t *testing.T) {
	var got []string
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.Write([]byte("hooked"))
	})
	_, box, local := newWS(t, Config{HTTP: hook})
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/", "/turn-credentials?service=turn"} {
		resp, err := client.Get("http://" + local.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hooked" {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, b)
		}
	}
	if len(got) != 2 || got[1] != "GET /turn-credentials" {
		t.Fatalf("hook saw %q", got)
	}
	c, _ := wsDial(t, "ws://"+local.String()+"/turn-credentials", nil)
	sendFrame(t, c, ws.NewTextFrame([]byte(options)), false)
	if in := box.next(t); in.Flow.Kind != WS {
		t.Fatalf("flow %+v", in.Flow)
	}
	// An upgrade that is not a good WebSocket one is WSHandler's to refuse.
	req, _ := http.NewRequest("GET", "http://"+local.String()+"/", nil)
	req.Header.Set("Upgrade", "WebSocket")
	req.Header.Set("Connection", "Upgrade")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(got) != 2 {
		t.Fatalf("bad upgrade: %d, hook saw %q", resp.StatusCode, got)
	}
}

func TestClientAddr(t *testing.T) {
	m := NewManager(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, func(*Inbound) {})
	defer m.Close()
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"127.0.0.1:4000", "198.51.100.7", "198.51.100.7"},
		{"127.0.0.1:4000", "", "127.0.0.1"},
		{"[::ffff:127.0.0.1]:4000", "198.51.100.7", "198.51.100.7"},
		{"192.0.2.9:4000", "198.51.100.7", "192.0.2.9"},
		{"[2001:db8::1]:4000", "", "2001:db8::1"},
		{"garbage", "", "invalid IP"},
	} {
		r, _ := http.NewRequest("GET", "http://x/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := m.ClientAddr(r).String(); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
