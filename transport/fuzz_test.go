package transport

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/sip"
)

// fuzzLoop starts a Manager and a connection of kind on one end of a
// pipe, and runs loop on it; it returns the pipe's far end and a channel
// closed when loop returns. Everything ends with the test.
func fuzzLoop(t *testing.T, kind Kind, loop func(c *streamConn)) (net.Conn, <-chan struct{}) {
	m := NewManager(Config{
		Limits:         sip.Limits{MaxMessageSize: 4096},
		IdleTimeout:    time.Second,
		WSPingInterval: time.Second,
	}, func(*Inbound) {})
	near, far := net.Pipe()
	c := m.registerConn(near, kind, "", false, netip.AddrPort{})
	if c == nil {
		t.Fatal("not registered")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer m.wg.Done()
		loop(c)
	}()
	t.Cleanup(func() {
		far.Close()
		waitDone(t, done)
		m.Close()
	})
	return far, done
}

// waitDone fails the test when done is not closed within 10 s.
func waitDone(t *testing.T, done <-chan struct{}) {
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("connection loop did not end")
	}
}

func wsSeed(frames ...ws.Frame) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		ws.WriteFrame(&b, ws.MaskFrameInPlace(f))
	}
	return b.Bytes()
}

// FuzzWSFrames feeds arbitrary bytes to the WebSocket frame loop.
func FuzzWSFrames(f *testing.F) {
	f.Add(wsSeed(ws.NewTextFrame([]byte(options))))
	f.Add(wsSeed(ws.NewFrame(ws.OpText, false, []byte(options[:30])), ws.NewPingFrame([]byte("p")), ws.NewFrame(ws.OpContinuation, true, []byte(options[30:]))))
	f.Add(wsSeed(ws.NewTextFrame([]byte("\r\n\r\n")), ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "bye"))))
	f.Add(wsSeed(ws.NewBinaryFrame([]byte(strings.Repeat("x", 5000)))))
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Both sources wsLoop reads from: WS's buffer and WSS's one byte.
		var src frameSource = bufio.NewReader(bytes.NewReader(b))
		if len(b) > 0 && b[len(b)-1]&1 == 1 {
			src = &onePeek{r: bytes.NewReader(b)}
		}
		far, done := fuzzLoop(t, WS, func(c *streamConn) { c.wsLoop(src) })
		go io.Copy(io.Discard, far)
		waitDone(t, done)
	})
}

// FuzzStreamConn feeds arbitrary bytes, in pieces, to the TCP read loop.
func FuzzStreamConn(f *testing.F) {
	f.Add([]byte(options + "\r\n\r\n" + options))
	f.Add([]byte(strings.Replace(options, "Content-Length: 0\r\n", "", 1)))
	f.Add([]byte("\r\n\r\n\r\n"))
	f.Add([]byte(strings.Replace(options, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1) + options))
	f.Fuzz(func(t *testing.T, b []byte) {
		far, done := fuzzLoop(t, TCP, func(c *streamConn) { c.readLoop() })
		// The peer writes in pieces and reads what comes back; the loop
		// ends when the peer closes.
		go io.Copy(io.Discard, far)
		for len(b) > 0 {
			n := min(len(b), 1+int(b[0])%97)
			far.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := far.Write(b[:n]); err != nil {
				break
			}
			b = b[n:]
		}
		far.Close()
		waitDone(t, done)
	})
}
