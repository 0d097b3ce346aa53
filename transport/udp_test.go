package transport

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"go.uber.org/goleak"

	"github.com/sipedge/sipedge/sip"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const options = "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtest1;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"From: <sip:alice@127.0.0.1>;tag=a1\r\n" +
	"To: <sip:edge@127.0.0.1>\r\n" +
	"Call-ID: udp-test-1\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"Content-Length: 0\r\n\r\n"

// inbox collects what the handler receives.
type inbox chan *Inbound

func (c inbox) handle(in *Inbound) { c <- in }

// next waits, boundedly, for the next message.
func (c inbox) next(t *testing.T) *Inbound {
	t.Helper()
	select {
	case in := <-c:
		return in
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
		return nil
	}
}

// newManager starts a Manager whose handler fills an inbox; it closes at
// the end of the test.
func newManager(t *testing.T, cfg Config) (*Manager, inbox) {
	t.Helper()
	box := make(inbox, 64)
	m := NewManager(cfg, box.handle)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m, box
}

// newUDP starts a Manager with one UDP listener on addr.
func newUDP(t *testing.T, addr string, cfg Config) (*Manager, inbox, netip.AddrPort) {
	t.Helper()
	m, box := newManager(t, cfg)
	local, err := m.ListenUDP(addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	return m, box, local
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}

// peer is a client socket on loopback.
func peer(t *testing.T, network, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// read returns the next datagram c receives within d, or nil.
func read(t *testing.T, c *net.UDPConn, d time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func TestUDPReceiveAndAnswer(t *testing.T) {
	for _, tc := range []struct{ network, server, client string }{
		{"udp4", "127.0.0.1:0", "127.0.0.1:0"},
		{"udp6", "[::1]:0", "[::1]:0"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			m, box, local := newUDP(t, tc.server, Config{})
			c := peer(t, tc.network, tc.client)
			if _, err := c.WriteToUDPAddrPort([]byte(options), local); err != nil {
				t.Fatal(err)
			}
			in := box.next(t)
			if in.Msg.Method != "OPTIONS" || in.Msg.CallID() != "udp-test-1" {
				t.Fatalf("got %s %s", in.Msg.Method, in.Msg.CallID())
			}
			client := c.LocalAddr().(*net.UDPAddr).AddrPort()
			if in.Flow.Kind != UDP || in.Flow.Remote != client || in.Flow.Local != local || in.Flow.ID == 0 {
				t.Fatalf("flow %+v, client %v, local %v", in.Flow, client, local)
			}
			// The response goes back over the flow the request came on.
			if err := m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, "")); err != nil {
				t.Fatal(err)
			}
			got := read(t, c, 5*time.Second)
			if !bytes.HasPrefix(got, []byte("SIP/2.0 200 OK\r\n")) || !bytes.Contains(got, []byte("Call-ID: udp-test-1\r\n")) {
				t.Fatalf("response %q", got)
			}
			// The same peer keeps its flow.
			c.WriteToUDPAddrPort([]byte(strings.Replace(options, "CSeq: 1", "CSeq: 2", 1)), local)
			if again := box.next(t); again.Flow.ID != in.Flow.ID {
				t.Fatalf("second datagram on flow %d, first on %d", again.Flow.ID, in.Flow.ID)
			}
		})
	}
}

func TestUDPFlowsApart(t *testing.T) {
	_, box, local := newUDP(t, "127.0.0.1:0", Config{})
	a, b := peer(t, "udp4", "127.0.0.1:0"), peer(t, "udp4", "127.0.0.1:0")
	a.WriteToUDPAddrPort([]byte(options), local)
	fa := box.next(t).Flow
	b.WriteToUDPAddrPort([]byte(options), local)
	fb := box.next(t).Flow
	if fa.ID == fb.ID || fa.Remote == fb.Remote {
		t.Fatalf("two peers share a flow: %+v %+v", fa, fb)
	}
}

func TestUDPMalformed(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{})
	c := peer(t, "udp4", "127.0.0.1:0")

	// Readable enough to answer: 400 with the reason, and no message for
	// the handler.
	bad := strings.Replace(options, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1)
	c.WriteToUDPAddrPort([]byte(bad), local)
	got := read(t, c, 5*time.Second)
	if !bytes.HasPrefix(got, []byte("SIP/2.0 400 Bad Request - CSeq method does not match request method\r\n")) {
		t.Fatalf("answer %q", got)
	}
	if !bytes.Contains(got, []byte("Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtest1;rport\r\n")) {
		t.Fatalf("answer without the request's Via: %q", got)
	}

	// Garbage and keep-alives: dropped silently. A good message after
	// them is the next thing the handler sees.
	for _, d := range []string{"\x00\x01garbage", "\r\n\r\n", "\r\n", "INVITE sip:a SIP/2.0\r\n\r\n"} {
		c.WriteToUDPAddrPort([]byte(d), local)
	}
	c.WriteToUDPAddrPort([]byte(options), local)
	if in := box.next(t); in.Msg.CallID() != "udp-test-1" {
		t.Fatalf("got %q", in.Msg.CallID())
	}
	if got := read(t, c, 100*time.Millisecond); got != nil {
		t.Fatalf("unexpected answer %q", got)
	}
	st := m.Stats()
	if st.Malformed != 3 || st.Answered != 1 || st.KeepAlives != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUDPOversized(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{Limits: sip.Limits{MaxMessageSize: 1024}})
	c := peer(t, "udp4", "127.0.0.1:0")
	big := strings.Replace(options, "Content-Length: 0\r\n\r\n", "Content-Length: 2000\r\n\r\n"+strings.Repeat("x", 2000), 1)
	c.WriteToUDPAddrPort([]byte(big), local)
	c.WriteToUDPAddrPort([]byte(options), local)
	if in := box.next(t); in.Msg.CallID() != "udp-test-1" || in.Msg.Body != "" {
		t.Fatalf("got %q with %d body bytes", in.Msg.CallID(), len(in.Msg.Body))
	}
	if st := m.Stats(); st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUDPFlowTableFull(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{MaxUDPFlows: 1})
	a, b := peer(t, "udp4", "127.0.0.1:0"), peer(t, "udp4", "127.0.0.1:0")
	a.WriteToUDPAddrPort([]byte(options), local)
	box.next(t)
	b.WriteToUDPAddrPort([]byte(options), local)
	a.WriteToUDPAddrPort([]byte(strings.Replace(options, "udp-test-1", "udp-test-2", 1)), local)
	if in := box.next(t); in.Msg.CallID() != "udp-test-2" {
		t.Fatalf("got %q: the second peer's datagram was not dropped", in.Msg.CallID())
	}
	if st := m.Stats(); st.FlowsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUDPFlowExpiry(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{UDPFlowIdle: time.Hour})
	c := peer(t, "udp4", "127.0.0.1:0")
	c.WriteToUDPAddrPort([]byte(options), local)
	in := box.next(t)
	m.expireUDPFlows(time.Now().Add(2 * time.Hour))
	if err := m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, "")); err != ErrFlowGone {
		t.Fatalf("send to an expired flow: %v", err)
	}
	if err := m.Send(12345, sip.NewResponse(in.Msg, 200, "")); err != ErrFlowGone {
		t.Fatalf("send to an unknown flow: %v", err)
	}
}

func TestSendUDP(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{})
	c := peer(t, "udp4", "127.0.0.1:0")
	req, err := sip.Parse([]byte(options))
	if err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().(*net.UDPAddr).AddrPort()
	id, err := m.SendUDP(netip.AddrPort{}, client, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, c, 5*time.Second); !bytes.HasPrefix(got, []byte("OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n")) {
		t.Fatalf("peer got %q", got)
	}
	// The peer's answer arrives on the same flow.
	c.WriteToUDPAddrPort([]byte(options), local)
	if in := box.next(t); in.Flow.ID != id {
		t.Fatalf("answer on flow %d, request sent on %d", in.Flow.ID, id)
	}
	if _, err := m.SendUDP(netip.MustParseAddrPort("127.0.0.1:1"), client, req); err == nil {
		t.Fatal("SendUDP from a local address with no listener succeeded")
	}
}

func TestClosed(t *testing.T) {
	m := NewManager(Config{}, func(*Inbound) {})
	if _, err := m.ListenUDP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ListenUDP("127.0.0.1:0"); err != ErrClosed {
		t.Fatalf("listen after close: %v", err)
	}
	if err := m.Send(1, &sip.Message{}); err != ErrClosed {
		t.Fatalf("send after close: %v", err)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{UDP: "UDP", TCP: "TCP", TLS: "TLS", WS: "WS", WSS: "WSS", 0: "Kind(0)", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
}

// TestUDPSTUNKeepAlive sends a STUN Binding request to the SIP port, as an
// RFC 5626 §4.4.2 client does, and checks the answer names the client's
// address.
func TestUDPSTUNKeepAlive(t *testing.T) {
	m, box, local := newUDP(t, "127.0.0.1:0", Config{})
	c := peer(t, "udp4", "127.0.0.1:0")
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	c.WriteToUDPAddrPort(req.Raw, local)
	got := read(t, c, 5*time.Second)
	resp := &stun.Message{Raw: got}
	if err := resp.Decode(); err != nil || resp.Type != stun.BindingSuccess || resp.TransactionID != req.TransactionID {
		t.Fatalf("answer %v (%v)", resp, err)
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(resp); err != nil {
		t.Fatal(err)
	}
	client := c.LocalAddr().(*net.UDPAddr).AddrPort()
	if got := netip.AddrPortFrom(netip.MustParseAddr(xor.IP.String()), uint16(xor.Port)); got != client {
		t.Fatalf("mapped address %v, client %v", got, client)
	}
	// Other STUN (a response) is neither answered nor parsed as SIP.
	c.WriteToUDPAddrPort(stun.MustBuild(stun.TransactionID, stun.BindingSuccess).Raw, local)
	c.WriteToUDPAddrPort([]byte(options), local)
	if in := box.next(t); in.Msg.CallID() != "udp-test-1" {
		t.Fatalf("got %q", in.Msg.CallID())
	}
	if st := m.Stats(); st.STUN != 2 || st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}
