package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"

	"github.com/sipedge/sipedge/sip"
)

func newWS(t *testing.T, cfg Config) (*Manager, inbox, netip.AddrPort) {
	t.Helper()
	m, box := newManager(t, cfg)
	local, err := m.ListenWS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return m, box, local
}

// wsDial opens a client connection offering the sip subprotocol.
func wsDial(t *testing.T, url string, tlsCfg *tls.Config) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{Protocols: []string{"sip"}, Timeout: 5 * time.Second, TLSConfig: tlsCfg}
	conn, br, hs, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	if hs.Protocol != "sip" {
		t.Fatalf("subprotocol %q", hs.Protocol)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return conn, br
}

// sendFrame writes a client frame, masked unless raw.
func sendFrame(t *testing.T, c net.Conn, f ws.Frame, raw bool) {
	t.Helper()
	if !raw {
		f = ws.MaskFrameInPlace(f)
	}
	if err := ws.WriteFrame(c, f); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads the next server frame within 5 s.
func readFrame(t *testing.T, c net.Conn, r *bufio.Reader) ws.Frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := ws.ReadFrame(r)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return f
}

func TestWSRoundTrip(t *testing.T) {
	m, box, local := newWS(t, Config{})
	c, r := wsDial(t, "ws://"+local.String()+"/", nil)
	sendFrame(t, c, ws.NewTextFrame([]byte(options)), false)
	in := box.next(t)
	if in.Flow.Kind != WS || in.Msg.CallID() != "udp-test-1" {
		t.Fatalf("flow %+v, Call-ID %q", in.Flow, in.Msg.CallID())
	}
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if f := readFrame(t, c, r); f.Header.OpCode != ws.OpText || !strings.HasPrefix(string(f.Payload), "SIP/2.0 200 OK\r\n") {
		t.Fatalf("frame %v %q", f.Header.OpCode, f.Payload)
	}
	// A message in three fragments, binary this time.
	p := []byte(strings.Replace(options, "CSeq: 1", "CSeq: 2", 1))
	sendFrame(t, c, ws.NewFrame(ws.OpBinary, false, p[:40]), false)
	sendFrame(t, c, ws.NewFrame(ws.OpContinuation, false, p[40:90]), false)
	// A ping between fragments is answered with its payload.
	sendFrame(t, c, ws.NewPingFrame([]byte("hi")), false)
	sendFrame(t, c, ws.NewFrame(ws.OpContinuation, true, p[90:]), false)
	if f := readFrame(t, c, r); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("pong %v %q", f.Header.OpCode, f.Payload)
	}
	if in := box.next(t); in.Msg.CSeq().Seq != 2 {
		t.Fatalf("reassembled CSeq %d", in.Msg.CSeq().Seq)
	}
	// CRLFCRLF gets CRLF (RFC 5626 §4.4.1).
	sendFrame(t, c, ws.NewTextFrame([]byte("\r\n\r\n")), false)
	if f := readFrame(t, c, r); string(f.Payload) != "\r\n" {
		t.Fatalf("pong %q", f.Payload)
	}
	// Malformed but answerable: answered, and the connection goes on.
	sendFrame(t, c, ws.NewTextFrame([]byte(strings.Replace(options, "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1))), false)
	if f := readFrame(t, c, r); !strings.HasPrefix(string(f.Payload), "SIP/2.0 400 Bad Request - CSeq method") {
		t.Fatalf("answer %q", f.Payload)
	}
	// A close is answered with a close.
	sendFrame(t, c, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")), false)
	if f := readFrame(t, c, r); f.Header.OpCode != ws.OpClose {
		t.Fatalf("frame %v, want close", f.Header.OpCode)
	}
	eventually(t, func() bool { return m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, "")) == ErrFlowGone })
}

// TestWSCloseCodes sends each bad frame RFC 6455 names and checks the code
// the server closes with.
func TestWSCloseCodes(t *testing.T) {
	_, _, local := newWS(t, Config{Limits: sip.Limits{MaxMessageSize: 2048}})
	long := make([]byte, 126)
	for _, tc := range []struct {
		name  string
		frame ws.Frame
		raw   bool // sent unmasked
		first *ws.Frame
		code  ws.StatusCode
	}{
		{"unmasked", ws.NewTextFrame([]byte(options)), true, nil, ws.StatusProtocolError},
		{"rsv bit", func() ws.Frame {
			f := ws.NewTextFrame([]byte(options))
			f.Header.Rsv = ws.Rsv(true, false, false)
			return f
		}(), false, nil, ws.StatusProtocolError},
		{"reserved opcode", ws.NewFrame(ws.OpCode(0x3), true, []byte("x")), false, nil, ws.StatusProtocolError},
		{"fragmented ping", ws.NewFrame(ws.OpPing, false, []byte("x")), false, nil, ws.StatusProtocolError},
		{"long ping", ws.NewFrame(ws.OpPing, true, long), false, nil, ws.StatusProtocolError},
		{"continuation alone", ws.NewFrame(ws.OpContinuation, true, []byte("x")), false, nil, ws.StatusProtocolError},
		{"new message inside one", ws.NewTextFrame([]byte("x")), false, &ws.Frame{Header: ws.Header{OpCode: ws.OpText, Length: 1}, Payload: []byte("y")}, ws.StatusProtocolError},
		{"text not UTF-8", ws.NewTextFrame([]byte("OPTIONS \xff\xfe")), false, nil, ws.StatusInvalidFramePayloadData},
		{"too large", ws.NewBinaryFrame(make([]byte, 3000)), false, nil, ws.StatusMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := wsDial(t, "ws://"+local.String()+"/", nil)
			if tc.first != nil {
				sendFrame(t, c, *tc.first, false)
			}
			sendFrame(t, c, tc.frame, tc.raw)
			f := readFrame(t, c, r)
			if f.Header.OpCode != ws.OpClose {
				t.Fatalf("frame %v, want close", f.Header.OpCode)
			}
			if code, _ := ws.ParseCloseFrameData(f.Payload); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
}

func TestWSHandshakeRefusals(t *testing.T) {
	_, _, local := newWS(t, Config{})
	// permessage-deflate is declined.
	d0 := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"sip"},
		Extensions: []httphead.Option{httphead.NewOption("permessage-deflate", nil)}}
	conn, _, hs, err := d0.Dial(context.Background(), "ws://"+local.String()+"/")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if len(hs.Extensions) != 0 {
		t.Fatalf("extensions accepted: %v", hs.Extensions)
	}
	// No sip subprotocol offered: 400, saying why.
	d := ws.Dialer{Timeout: 5 * time.Second}
	_, _, _, err = d.Dial(context.Background(), "ws://"+local.String()+"/")
	var se ws.StatusError
	if !errors.As(err, &se) || int(se) != http.StatusBadRequest {
		t.Fatalf("without sip: %v", err)
	}
	resp, err := http.Get("http://" + local.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}
	// Another subprotocol only: refused too, never answered with sip.
	d = ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"chat"}}
	if _, _, _, err := d.Dial(context.Background(), "ws://"+local.String()+"/"); !errors.As(err, &se) || int(se) != http.StatusBadRequest {
		t.Fatalf("chat only: %v", err)
	}
	// A wrong WebSocket version: 426.
	req, _ := http.NewRequest("GET", "http://"+local.String()+"/", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "12")
	req.Header.Set("Sec-WebSocket-Protocol", "sip")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("version 12: %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestWSS(t *testing.T) {
	pki := newPKI(t)
	server, _ := pki.issue(t, "127.0.0.1")
	m, box := newManager(t, Config{})
	local, err := m.ListenWSS("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{server}})
	if err != nil {
		t.Fatal(err)
	}
	c, r := wsDial(t, "wss://"+local.String()+"/", &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"})
	sendFrame(t, c, ws.NewTextFrame([]byte(options)), false)
	in := box.next(t)
	if in.Flow.Kind != WSS {
		t.Fatalf("flow %+v", in.Flow)
	}
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if f := readFrame(t, c, r); !strings.HasPrefix(string(f.Payload), "SIP/2.0 200 OK\r\n") {
		t.Fatalf("answer %q", f.Payload)
	}
	if _, err := m.ListenWSS("127.0.0.1:0", &tls.Config{}); err == nil {
		t.Fatal("a WSS listener without a certificate was opened")
	}
}

// TestWSServerPings checks that a silent WebSocket is pinged, kept while
// it answers, and closed with 1001 when it does not.
func TestWSServerPings(t *testing.T) {
	m, _, local := newWS(t, Config{WSPingInterval: 50 * time.Millisecond, WSPongTimeout: 50 * time.Millisecond})
	c, r := wsDial(t, "ws://"+local.String()+"/", nil)
	f := readFrame(t, c, r)
	if f.Header.OpCode != ws.OpPing {
		t.Fatalf("frame %v, want ping", f.Header.OpCode)
	}
	sendFrame(t, c, ws.NewPongFrame(f.Payload), false)
	// Answered: the next thing is another ping, not a close.
	if f := readFrame(t, c, r); f.Header.OpCode != ws.OpPing {
		t.Fatalf("frame %v, want a second ping", f.Header.OpCode)
	}
	// Not answered: closed, going away.
	f = readFrame(t, c, r)
	if code, _ := ws.ParseCloseFrameData(f.Payload); f.Header.OpCode != ws.OpClose || code != ws.StatusGoingAway {
		t.Fatalf("frame %v code %d, want close 1001", f.Header.OpCode, code)
	}
	if st := m.Stats(); st.WSPings < 2 || st.WSPongsMissed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWSOrigins(t *testing.T) {
	_, _, local := newWS(t, Config{WSOrigins: []string{"https://phone.example"}})
	dialFrom := func(origin string) error {
		d := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"sip"}}
		if origin != "" {
			d.Header = ws.HandshakeHeaderHTTP(http.Header{"Origin": {origin}})
		}
		conn, _, _, err := d.Dial(context.Background(), "ws://"+local.String()+"/")
		if err == nil {
			conn.Close()
		}
		return err
	}
	var se ws.StatusError
	if err := dialFrom("https://evil.example"); !errors.As(err, &se) || int(se) != http.StatusForbidden {
		t.Fatalf("other origin: %v", err)
	}
	if err := dialFrom("https://PHONE.example"); err != nil {
		t.Fatalf("listed origin: %v", err)
	}
	if err := dialFrom(""); err != nil {
		t.Fatalf("no origin: %v", err)
	}
}

// TestWSSilentSockets opens 1000 TCP connections to the WebSocket port and
// leaves them silent; a real client must still complete its handshake and
// a REGISTER round trip at once.
func TestWSSilentSockets(t *testing.T) {
	m, box, local := newWS(t, Config{MaxConnsPerIP: 2000, MaxNewConnsPerIP: 2000})
	for range 1000 {
		dial(t, local)
	}
	c, r := wsDial(t, "ws://"+local.String()+"/", nil)
	register := strings.NewReplacer("OPTIONS sip:edge@127.0.0.1", "REGISTER sip:127.0.0.1", "1 OPTIONS", "1 REGISTER").Replace(options)
	sendFrame(t, c, ws.NewTextFrame([]byte(register)), false)
	in := box.next(t)
	if in.Msg.Method != "REGISTER" {
		t.Fatalf("got %s", in.Msg.Method)
	}
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if f := readFrame(t, c, r); !strings.HasPrefix(string(f.Payload), "SIP/2.0 200 OK\r\n") {
		t.Fatalf("answer %q", f.Payload)
	}
}

func TestForwardedFor(t *testing.T) {
	m := NewManager(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}}, func(*Inbound) {})
	defer m.Close()
	proxy := netip.MustParseAddrPort("127.0.0.1:40000")
	stranger := netip.MustParseAddrPort("192.0.2.9:40000")
	for _, tc := range []struct {
		peer   netip.AddrPort
		header http.Header
		want   string // "" for the zero value
	}{
		{proxy, http.Header{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7:0"},
		{proxy, http.Header{"X-Forwarded-For": {"203.0.113.5, 198.51.100.7, 10.1.1.1"}}, "198.51.100.7:0"},
		{proxy, http.Header{"Forwarded": {`for="[2001:db8::1]:4711";proto=https`}}, "[2001:db8::1]:4711"},
		{proxy, http.Header{"Forwarded": {"for=198.51.100.7:5060, for=10.0.0.2"}}, "198.51.100.7:5060"},
		{proxy, http.Header{"Forwarded": {"for=198.51.100.7"}, "X-Forwarded-For": {"203.0.113.5"}}, "198.51.100.7:0"},
		{proxy, http.Header{"X-Forwarded-For": {"unknown"}}, ""},
		{proxy, http.Header{"X-Forwarded-For": {"10.0.0.1"}}, ""},
		{proxy, http.Header{}, ""},
		{stranger, http.Header{"X-Forwarded-For": {"198.51.100.7"}}, ""},
	} {
		got := m.forwardedFor(tc.peer, tc.header)
		if s := got.String(); tc.want == "" && got.IsValid() || tc.want != "" && s != tc.want {
			t.Errorf("%v %v: %v, want %q", tc.peer, tc.header, got, tc.want)
		}
	}
}

func TestWSBehindProxy(t *testing.T) {
	_, box, local := newWS(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	d := ws.Dialer{Timeout: 5 * time.Second, Protocols: []string{"sip"},
		Header: ws.HandshakeHeaderHTTP(http.Header{"X-Forwarded-For": {"198.51.100.7"}})}
	conn, _, _, err := d.Dial(context.Background(), "ws://"+local.String()+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sendFrame(t, conn, ws.NewTextFrame([]byte(options)), false)
	if in := box.next(t); in.Flow.Remote != netip.MustParseAddrPort("198.51.100.7:0") {
		t.Fatalf("flow remote %v", in.Flow.Remote)
	}
}

func TestOnePeek(t *testing.T) {
	p := &onePeek{r: strings.NewReader("abc")}
	for range 2 {
		if b, err := p.Peek(1); err != nil || string(b) != "a" {
			t.Fatalf("Peek: %q, %v", b, err)
		}
	}
	if _, err := p.Peek(2); err == nil {
		t.Fatal("Peek(2) succeeded")
	}
	buf := make([]byte, 8)
	if n, err := p.Read(buf); err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("Read after Peek: %q, %v", buf[:n], err)
	}
	if _, err := p.Peek(1); err == nil {
		t.Fatal("Peek at the end succeeded")
	}
	q := &onePeek{r: strings.NewReader("xy")}
	q.Peek(1)
	if n, err := q.Read(buf[:1]); n != 1 || err != nil || buf[0] != 'x' {
		t.Fatalf("one-byte Read: %d %q %v", n, buf[:1], err)
	}
	if n, _ := q.Read(buf); string(buf[:n]) != "y" {
		t.Fatalf("then %q", buf[:n])
	}
}

func TestWSIPv6(t *testing.T) {
	m, box := newManager(t, Config{})
	local, err := m.ListenWS("[::1]:0")
	if err != nil {
		t.Skipf("listen [::1]: %v", err)
	}
	c, r := wsDial(t, "ws://"+local.String()+"/", nil)
	sendFrame(t, c, ws.NewTextFrame([]byte(options)), false)
	in := box.next(t)
	if !in.Flow.Remote.Addr().Is6() || in.Flow.Kind != WS {
		t.Fatalf("flow %+v", in.Flow)
	}
	m.Send(in.Flow.ID, sip.NewResponse(in.Msg, 200, ""))
	if f := readFrame(t, c, r); !strings.HasPrefix(string(f.Payload), "SIP/2.0 200 OK\r\n") {
		t.Fatalf("answer %q", f.Payload)
	}
}
