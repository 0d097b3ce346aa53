package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// newTCP starts a Manager with one TCP listener on addr.
func newTCP(t *testing.T, addr string, cfg Config) (*Manager, inbox, netip.AddrPort) {
	t.Helper()
	m, box := newManager(t, cfg)
	local, err := m.ListenTCP(addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	return m, box, local
}

func dial(t *testing.T, addr netip.AddrPort) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readResponse reads the start line and header fields of one response
// (the tests' responses have no body) from r within 5 s.
func readResponse(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a response: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

// waitEOF checks that the server closes c within 5 s (a reset counts:
// the server closes with unread bytes).
func waitEOF(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func TestTCPReceiveAndAnswer(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			m, box, local := newTCP(t, addr, Config{})
			c := dial(t, local)
			r := bufio.NewReader(c)
			// Two messages in one write, then one split across writes.
			c.Write([]byte(options + strings.Replace(options, "CSeq: 1", "CSeq: 2", 1)))
			c.Write([]byte(options[:50]))
			c.Write([]byte(strings.Replace(options, "CSeq: 1", "CSeq: 3", 1)[50:]))
			var first *Inbound
			for want := uint32(1); want <= 3; want++ {
				in := box.next(t)
				if in.Msg.CSeq().Seq != want || in.Flow.Kind != TCP {
					t.Fatalf("message %d: CSeq %d, flow %+v", want, in.Msg.CSeq().Seq, in.Flow)
				}
				if first == nil {
					first = in
				} else if in.Flow.ID != first.Flow.ID {
					t.Fatal("one connection, two flows")
				}
			}
			if first.Flow.Remote != addrPortOf(c.LocalAddr()) || first.Flow.Local != local {
				t.Fatalf("flow %+v", first.Flow)
			}
			if err := m.Send(first.Flow.ID, sip.NewResponse(first.Msg, 200, "")); err != nil {
				t.Fatal(err)
			}
			if got := readResponse(t, c, r); !strings.HasPrefix(got, "SIP/2.0 200 OK\r\n") {
				t.Fatalf("response %q", got)
			}
			// A CRLFCRLF ping gets a CRLF pong (RFC 5626 §4.4.1).
			c.Write([]byte("\r\n\r\n"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			pong := make([]byte, 2)
			if _, err := io.ReadFull(r, pong); err != nil || string(pong) != "\r\n" {
				t.Fatalf("pong %q, %v", pong, err)
			}
			// The flow ends with the connection.
			c.Close()
			eventually(t, func() bool { return m.Send(first.Flow.ID, sip.NewResponse(first.Msg, 200, "")) == ErrFlowGone })
		})
	}
}

func TestTCPMalformed(t *testing.T) {
	m, box, local := newTCP(t, "127.0.0.1:0", Config{})

	// Framed but malformed: answered, and the connection goes on.
	c := dial(t, local)
	r := bufio.NewReader(c)
	c.Write([]byte(strings.Replace(options, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1)))
	if got := readResponse(t, c, r); !strings.HasPrefix(got, "SIP/2.0 400 Bad Request - CSeq method does not match request method\r\n") {
		t.Fatalf("answer %q", got)
	}
	c.Write([]byte(options))
	if in := box.next(t); in.Msg.CallID() != "udp-test-1" {
		t.Fatalf("got %q", in.Msg.CallID())
	}

	// No Content-Length on a stream: answered, then closed (the framing
	// is lost).
	c2 := dial(t, local)
	r2 := bufio.NewReader(c2)
	c2.Write([]byte(strings.Replace(options, "Content-Length: 0\r\n", "", 1)))
	if got := readResponse(t, c2, r2); !strings.HasPrefix(got, "SIP/2.0 400 Bad Request - missing Content-Length\r\n") {
		t.Fatalf("answer %q", got)
	}
	waitEOF(t, c2)

	// Garbage: closed without an answer.
	c3 := dial(t, local)
	c3.Write([]byte("\x16\x03\x01 not SIP\r\n\r\n"))
	waitEOF(t, c3)
	if st := m.Stats(); st.Malformed != 3 || st.Answered != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTCPOversized(t *testing.T) {
	_, _, local := newTCP(t, "127.0.0.1:0", Config{Limits: sip.Limits{MaxMessageSize: 1024}})
	c := dial(t, local)
	go c.Write([]byte(strings.Repeat("X-Filler: "+strings.Repeat("y", 80)+"\r\n", 64)))
	waitEOF(t, c)
}

func TestTCPIdleTimeout(t *testing.T) {
	_, _, local := newTCP(t, "127.0.0.1:0", Config{IdleTimeout: 100 * time.Millisecond})
	waitEOF(t, dial(t, local))
}

func TestTCPConnLimits(t *testing.T) {
	m, box, local := newTCP(t, "127.0.0.1:0", Config{MaxConnsPerIP: 1})
	a := dial(t, local)
	a.Write([]byte(options))
	box.next(t) // a is registered
	b := dial(t, local)
	waitEOF(t, b)
	if st := m.Stats(); st.ConnsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTCPSilentPeers checks that connections that never send a byte delay
// no one: a real peer still gets its answer at once.
func TestTCPSilentPeers(t *testing.T) {
	m, box, local := newTCP(t, "127.0.0.1:0", Config{MaxConnsPerIP: 1000, MaxNewConnsPerIP: 1000})
	for range 200 {
		dial(t, local)
	}
	c := dial(t, local)
	r := bufio.NewReader(c)
	c.Write([]byte(options))
	in := box.next(t)
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if got := readResponse(t, c, r); !strings.HasPrefix(got, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("response %q", got)
	}
}

func TestSendTCP(t *testing.T) {
	m, box, _ := newTCP(t, "127.0.0.1:0", Config{})
	// A peer server on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	req, err := sip.Parse([]byte(options))
	if err != nil {
		t.Fatal(err)
	}
	peerAddr := addrPortOf(ln.Addr())
	id, err := m.SendTCP(peerAddr, req)
	if err != nil {
		t.Fatal(err)
	}
	pc := <-accepted
	if pc == nil {
		t.Fatal("the peer accepted nothing")
	}
	defer pc.Close()
	pr := bufio.NewReader(pc)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := pr.ReadString('\n')
	if err != nil || line != "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n" {
		t.Fatalf("peer read %q, %v", line, err)
	}
	// A second request reuses the connection.
	if id2, err := m.SendTCP(peerAddr, req); err != nil || id2 != id {
		t.Fatalf("second send: flow %d (first %d), %v", id2, id, err)
	}
	// The peer's answer comes back on the same flow.
	pc.Write([]byte("SIP/2.0 200 OK\r\n" + strings.SplitN(options, "\r\n", 2)[1]))
	if in := box.next(t); in.Flow.ID != id || in.Msg.StatusCode != 200 {
		t.Fatalf("answer on flow %d status %d, request on %d", in.Flow.ID, in.Msg.StatusCode, id)
	}
	// Nothing listens on the closed listener's port: a clear error.
	ln.Close()
	if _, err := m.SendTCP(netip.MustParseAddrPort("127.0.0.1:1"), req); err == nil {
		t.Fatal("send to a closed port succeeded")
	}
}

func TestTCPNewConnRate(t *testing.T) {
	m, box, local := newTCP(t, "127.0.0.1:0", Config{MaxNewConnsPerIP: 2})
	for i := range 2 {
		c := dial(t, local)
		c.Write([]byte(options))
		if in := box.next(t); in.Flow.Kind != TCP {
			t.Fatalf("connection %d: flow %+v", i, in.Flow)
		}
	}
	// The third in the same second is closed at once.
	waitEOF(t, dial(t, local))
	if st := m.Stats(); st.ConnsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A bucket that has refilled is forgotten.
	m.expireConnBuckets(time.Now().Add(2 * time.Second))
	m.mu.Lock()
	n := len(m.newConns)
	m.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d buckets kept", n)
	}
}

// TestTCPSlowReader checks that a peer that does not read is dropped once
// a write stalls for WriteTimeout, not buffered for without end.
func TestTCPSlowReader(t *testing.T) {
	m, box, local := newTCP(t, "127.0.0.1:0", Config{WriteTimeout: 100 * time.Millisecond})
	c := dial(t, local)
	c.(*net.TCPConn).SetReadBuffer(4096)
	c.Write([]byte(options))
	in := box.next(t)
	resp := sip.NewResponse(in.Msg, 200, "")
	resp.SetBody("text/plain", strings.Repeat("x", 60000))
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = m.Send(in.Flow.ID, resp)
	}
	if err == nil {
		t.Fatal("10000 writes of 60 KB to a peer that reads nothing all went through")
	}
	if err := m.Send(in.Flow.ID, resp); err != ErrFlowGone {
		t.Fatalf("after the stalled write: %v", err)
	}
}

// TestWildcardBothFamilies binds 0.0.0.0 and [::] on the same port, as an
// empty IPAddress asks: the IPv6 socket must be IPv6-only, or the second
// bind fails.
func TestWildcardBothFamilies(t *testing.T) {
	m := NewManager(Config{}, func(*Inbound) {})
	defer m.Close()
	a, err := m.ListenTCP("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ListenTCP(fmt.Sprintf("[::]:%d", a.Port())); err != nil {
		t.Fatalf("TCP [::] beside 0.0.0.0: %v", err)
	}
	u, err := m.ListenUDP("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ListenUDP(fmt.Sprintf("[::]:%d", u.Port())); err != nil {
		t.Fatalf("UDP [::] beside 0.0.0.0: %v", err)
	}
	if got := family("tcp", "example.com:5060"); got != "tcp" {
		t.Fatalf("family of a name: %q", got)
	}
}
