package mux443

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/testpki"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a Mux on 127.0.0.1 with cfg (TLS filled in).
func start(t *testing.T, cfg Config) (*Mux, *testpki.Cert) {
	t.Helper()
	pki := testpki.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = pki.Server()
	m, err := New(ln, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, pki
}

// dial connects over TLS offering alpn (none when empty) and sends first.
func dial(t *testing.T, m *Mux, pki *testpki.Cert, alpn string, first []byte) *tls.Conn {
	t.Helper()
	cfg := pki.Client("127.0.0.1")
	if alpn != "" {
		cfg.NextProtos = strings.Split(alpn, ",")
	}
	c, err := tls.Dial("tcp", m.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if len(first) > 0 {
		if _, err := c.Write(first); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// accept takes the next connection from l and reads n bytes of it.
func accept(t *testing.T, l net.Listener, n int) (net.Conn, []byte) {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(got)
			return
		}
		got <- c
	}()
	select {
	case c, ok := <-got:
		if !ok {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { c.Close() })
		b := make([]byte, n)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		return c, b
	case <-time.After(5 * time.Second):
		l.Close()
		t.Fatal("no connection")
		return nil, nil
	}
}

// stunBinding is a STUN Binding request (RFC 8489 §5: first byte 0).
var stunBinding = []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func TestSort(t *testing.T) {
	m, pki := start(t, Config{})
	for _, tt := range []struct {
		name  string
		alpn  string
		first []byte
		turn  bool
	}{
		{"STUN, no ALPN", "", stunBinding, true},
		{"STUN indication, no ALPN", "", append([]byte{0x00, 0x16}, stunBinding[2:]...), true},
		{"HTTP, no ALPN", "", []byte("GET / HTTP/1.1\r\n"), false},
		{"ALPN stun.turn", ALPNTURN, stunBinding, true},
		{"ALPN http/1.1", ALPNHTTP, []byte("GET / HTTP/1.1\r\n"), false},
		{"ALPN http/1.1 wins over the bytes", ALPNHTTP, stunBinding, false},
		{"ALPN stun.nat-discovery", ALPNSTUN, stunBinding, true},
		{"ALPN http/1.1 and stun.turn, as coturn's client", ALPNHTTP + "," + ALPNTURN, stunBinding, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dial(t, m, pki, tt.alpn, tt.first)
			l := m.HTTP()
			if tt.turn {
				l = m.TURN()
			}
			c, b := accept(t, l, len(tt.first))
			if !bytes.Equal(b, tt.first) {
				t.Errorf("read %q, sent %q", b, tt.first)
			}
			if st, ok := TLSState(c); !ok || !st.HandshakeComplete {
				t.Errorf("no TLS state: %v", ok)
			}
			if _, isTLS := c.(*tls.Conn); isTLS != (tt.alpn != "") {
				t.Errorf("%T handed over", c)
			}
		})
	}
	if st := m.Stats(); st.HTTP != 3 || st.TURN != 5 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSilentAndBroken: clients that never finish a handshake, never send
// a byte, or speak plain text are closed after Timeout without holding up
// a good client.
func TestSilentAndBroken(t *testing.T) {
	m, pki := start(t, Config{Timeout: 300 * time.Millisecond})
	silent, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	plain, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	mute := dial(t, m, pki, "", nil)
	dial(t, m, pki, "", stunBinding)
	accept(t, m.TURN(), len(stunBinding))
	for _, c := range []net.Conn{silent, plain, mute} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("%T: %v", c, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().Failed < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := m.Stats(); st.Failed != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxPending: past MaxPending connections being sorted, new ones are
// closed at once.
func TestMaxPending(t *testing.T) {
	m, _ := start(t, Config{MaxPending: 2, Timeout: 5 * time.Second})
	for range 2 { // silent: they hold their places until Timeout
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && m.Stats().Refused == 0 {
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
		if err == io.EOF || err != nil && strings.Contains(err.Error(), "reset") {
			break
		}
	}
	if m.Stats().Refused == 0 {
		t.Fatalf("stats %+v", m.Stats())
	}
}

// TestUnaccepted: a connection for a listener nobody accepts from (TURN
// closed) is closed, and the other listener goes on.
func TestUnaccepted(t *testing.T) {
	m, pki := start(t, Config{Timeout: time.Second})
	m.TURN().Close()
	c := dial(t, m, pki, "", stunBinding)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a connection nobody accepted")
	}
	dial(t, m, pki, ALPNHTTP, []byte("GET"))
	accept(t, m.HTTP(), 3)
	if _, err := m.TURN().Accept(); err == nil {
		t.Fatal("Accept after Close")
	}
}

// TestHTTPServer: net/http serves the HTTP listener, with r.TLS set for a
// client that chose http/1.1 by ALPN.
func TestHTTPServer(t *testing.T) {
	m, pki := start(t, Config{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no TLS", 500)
			return
		}
		io.WriteString(w, "hello")
	}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(m.HTTP()) }()
	defer func() {
		srv.Close()
		<-done
	}()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.Client("127.0.0.1")}, Timeout: 5 * time.Second}
	defer cl.CloseIdleConnections()
	resp, err := cl.Get("https://" + m.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello" {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestIsTURN(t *testing.T) {
	for b := range 256 {
		want := b <= 3
		if IsTURN(byte(b)) != want {
			t.Errorf("%d", b)
		}
	}
	for _, m := range []string{"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "CONNECT", "PATCH", "PRI"} {
		if IsTURN(m[0]) {
			t.Errorf("%s sorted as TURN", m)
		}
	}
}
