package transport

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// refusedAtOnce reports whether the server closes c without a word (a
// limit), rather than leaving it open waiting for a request.
func refusedAtOnce(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func dialTCP(t *testing.T, a netip.AddrPort) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestWebConnLimits: connections to a WS listener that send nothing (no
// HTTP request yet, so no flow) count against MaxConnsPerIP; past it one
// is closed at once, and a place comes back when one closes. A WebSocket
// flow takes a place too.
func TestWebConnLimits(t *testing.T) {
	m, _, local := newWS(t, Config{MaxConnsPerIP: 3, MaxConns: 10, MaxNewConnsPerIP: 100})
	idle := []net.Conn{dialTCP(t, local), dialTCP(t, local)}
	wsDial(t, "ws://"+local.String()+"/", nil)
	for _, c := range idle {
		if refusedAtOnce(t, c) {
			t.Fatal("an idle connection under the limit was closed")
		}
	}
	over := dialTCP(t, local)
	if !refusedAtOnce(t, over) {
		t.Fatal("a fourth connection from one address was kept")
	}
	if m.Stats().ConnsRefused == 0 {
		t.Error("the refusal was not counted")
	}
	idle[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialTCP(t, local)
		if !refusedAtOnce(t, c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no place came back after a connection closed")
		}
	}
}

// TestWebConnLimitTotal: MaxConns bounds the web connections of every
// address together.
func TestWebConnLimitTotal(t *testing.T) {
	_, _, local := newWS(t, Config{MaxConnsPerIP: 10, MaxConns: 2, MaxNewConnsPerIP: 100})
	a, b := dialTCP(t, local), dialTCP(t, local)
	if refusedAtOnce(t, a) || refusedAtOnce(t, b) {
		t.Fatal("a connection under the limit was closed")
	}
	if !refusedAtOnce(t, dialTCP(t, local)) {
		t.Fatal("a third connection was kept with MaxConns 2")
	}
}
