package turn

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
	"github.com/sipedge/sipedge/turn/peerpolicy"
)

// stunClient does TURN by hand with pion/stun messages over UDP, TCP or
// TLS, for exact control of what is sent and of the answer's error code,
// which pion's client hides.
type stunClient struct {
	t                  *testing.T
	conn               net.PacketConn // over TCP and TLS, pion's STUNConn frames the stream
	server             net.Addr
	udp                bool
	username, password string
	realm, nonce       string
	prefix             []byte // sent in the same write as the next request
}

func dialSTUN(t *testing.T, s *Server, network, username, password string) *stunClient {
	t.Helper()
	c := &stunClient{t: t, username: username, password: password}
	switch network {
	case "udp":
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.conn, c.server, c.udp = conn, net.UDPAddrFromAddrPort(s.UDPAddrs()[0]), true
	case "tcp":
		conn, err := net.Dial("tcp", s.TCPAddrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		c.conn = pturn.NewSTUNConn(conn)
	case "tls":
		conn, err := tls.Dial("tcp", s.TLSAddrs()[0].String(), testCert(t).Client("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		c.conn = pturn.NewSTUNConn(conn)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func (c *stunClient) key() []byte { return longTermKey(c.username, c.realm, c.password) }

func (c *stunClient) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.WriteTo(b, c.server); err != nil {
		c.t.Fatal(err)
	}
}

// request sends a request of method with attrs, signed when c has a nonce,
// and returns the response (UDP: sent again every 250 ms, for 5 s).
func (c *stunClient) request(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	setters := append([]stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}, attrs...)
	if c.nonce != "" {
		setters = append(setters, stun.NewUsername(c.username), stun.NewRealm(c.realm), stun.NewNonce(c.nonce),
			stun.MessageIntegrity(c.key()))
	}
	req, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(append(c.prefix, req.Raw...))
	c.prefix = nil
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 1600)
	for time.Now().Before(deadline) {
		wait := time.Now().Add(250 * time.Millisecond)
		if !c.udp {
			wait = deadline
		}
		if err := c.conn.SetReadDeadline(wait); err != nil {
			c.t.Fatal(err)
		}
		n, _, err := c.conn.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && c.udp {
			c.send(req.Raw)
			continue
		}
		if err != nil {
			c.t.Fatal(err)
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if stun.IsMessage(m.Raw) && m.Decode() == nil && m.TransactionID == req.TransactionID {
			return m
		}
	}
	c.t.Fatalf("no answer to %v", method)
	return nil
}

// allocate allocates a UDP relay (of IPv6 with v6) after the first 401,
// which gives the realm and nonce.
func (c *stunClient) allocate(v6 bool) *net.UDPAddr {
	c.t.Helper()
	attrs := []stun.Setter{stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}}
	if v6 {
		attrs = append(attrs, stun.RawAttribute{Type: stun.AttrRequestedAddressFamily, Value: []byte{2, 0, 0, 0}})
	}
	m := c.request(stun.MethodAllocate, attrs...)
	var nonce stun.Nonce
	var rl stun.Realm
	if code(m) != stun.CodeUnauthorized || nonce.GetFrom(m) != nil || rl.GetFrom(m) != nil {
		c.t.Fatalf("first Allocate: %v", m)
	}
	c.nonce, c.realm = nonce.String(), rl.String()
	m = c.request(stun.MethodAllocate, attrs...)
	var relay stun.XORMappedAddress
	if m.Type.Class != stun.ClassSuccessResponse || relay.GetFromAs(m, stun.AttrXORRelayedAddress) != nil {
		c.t.Fatalf("Allocate: %v (%d)", m, code(m))
	}
	return &net.UDPAddr{IP: relay.IP, Port: relay.Port}
}

func (c *stunClient) channelBind(ch uint16, peer netip.AddrPort) *stun.Message {
	c.t.Helper()
	return c.request(stun.MethodChannelBind,
		stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{byte(ch >> 8), byte(ch), 0, 0}},
		peerAddr(peer))
}

func peerAddr(p netip.AddrPort) stun.Setter {
	return setterFunc(func(m *stun.Message) error {
		return stun.XORMappedAddress{IP: p.Addr().AsSlice(), Port: int(p.Port())}.AddToAs(m, stun.AttrXORPeerAddress)
	})
}

type setterFunc func(*stun.Message) error

func (f setterFunc) AddTo(m *stun.Message) error { return f(m) }

// code is m's ERROR-CODE, 0 without one.
func code(m *stun.Message) stun.ErrorCode {
	var ec stun.ErrorCodeAttribute
	if ec.GetFrom(m) != nil {
		return 0
	}
	return ec.Code
}

// channelData is a ChannelData frame, padded to 4 (as streams need it).
func channelData(ch uint16, data []byte) []byte {
	b := make([]byte, 4+(len(data)+3)&^3)
	binary.BigEndian.PutUint16(b, ch)
	binary.BigEndian.PutUint16(b[2:], uint16(len(data)))
	copy(b[4:], data)
	return b
}

var defaultPolicy = peerpolicy.New(peerpolicy.Config{Own: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})

// TestChannelBindForbidden: a ChannelBind to a refused peer gets 403,
// signed with the user's key, over UDP, TCP and TLS, counted once; wrong
// credentials and a stale nonce still get pion's 401 and 438.
func TestChannelBindForbidden(t *testing.T) {
	v6 := true
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
		v6 = false
	} else {
		c.Close()
	}
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			// Two REST secrets, the user's the second: the key must be
			// the one the secret hints pick.
			s := start(t, func(c *Config) { c.Policy, c.RESTSecrets = defaultPolicy, [][]byte{secret1, secret2} })
			u, p := rest(secret2, "bob", time.Hour)
			c := dialSTUN(t, s, network, u, p)
			c.allocate(false)
			forbidden := func(c *stunClient, s *Server, ch uint16, peer string) {
				t.Helper()
				before := s.Stats().PermissionsDenied
				m := c.channelBind(ch, netip.MustParseAddrPort(peer))
				if m.Type != stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse) || code(m) != stun.CodeForbidden {
					t.Errorf("ChannelBind to %s: %v, code %d, want 403", peer, m, code(m))
				}
				if err := stun.MessageIntegrity(c.key()).Check(m); err != nil {
					t.Errorf("ChannelBind to %s: MESSAGE-INTEGRITY: %v", peer, err)
				}
				if d := s.Stats().PermissionsDenied - before; d != 1 {
					t.Errorf("ChannelBind to %s: %d denials counted, want 1", peer, d)
				}
			}
			for i, peer := range []string{"127.0.0.1:9", "[::ffff:10.0.0.1]:9", "169.254.169.254:80"} {
				forbidden(c, s, 0x4000+uint16(i), peer)
			}
			sip := dialSTUN(t, s, network, "alice", "alice-pw")
			sip.allocate(false)
			forbidden(sip, s, 0x4000, "10.0.0.1:9")
			if !c.udp {
				// A ChannelData frame in the same write as the request:
				// the framing must find the request behind it.
				c.prefix = channelData(0x4001, []byte("hello"))
				forbidden(c, s, 0x4005, "169.254.169.254:80")
			}

			before := s.Stats().PermissionsDenied
			pw := c.password
			c.password += "x"
			m := c.channelBind(0x4006, netip.MustParseAddrPort("127.0.0.1:9"))
			var nonce stun.Nonce
			if code(m) != stun.CodeUnauthorized || m.Contains(stun.AttrMessageIntegrity) || nonce.GetFrom(m) != nil {
				t.Errorf("wrong password: %v, code %d, want pion's 401 with a nonce", m, code(m))
			}
			c.password = pw
			n := c.nonce
			c.nonce = "stale" + n
			if m := c.channelBind(0x4006, netip.MustParseAddrPort("127.0.0.1:9")); code(m) != stun.CodeStaleNonce {
				t.Errorf("stale nonce: %v, code %d, want 438", m, code(m))
			}
			c.nonce = n
			if d := s.Stats().PermissionsDenied - before; d != 0 {
				t.Errorf("%d denials counted for unauthenticated requests", d)
			}
			// The connection still works.
			if m := c.request(stun.MethodRefresh); m.Type.Class != stun.ClassSuccessResponse {
				t.Errorf("Refresh after the refusals: %v, code %d", m, code(m))
			}

			if !v6 {
				t.Log("no IPv6 loopback: NAT64 form not tried")
				return
			}
			s6 := start(t, func(c *Config) { c.Policy, c.RelayBind = defaultPolicy, netip.IPv6Loopback() })
			u1, p1 := rest(secret1, "bob", time.Hour)
			c6 := dialSTUN(t, s6, network, u1, p1)
			c6.allocate(true)
			forbidden(c6, s6, 0x4000, "[64:ff9b::a00:1]:9")
			forbidden(c6, s6, 0x4001, "[64:ff9b::169.254.169.254]:80")
			if m := c6.channelBind(0x4002, netip.MustParseAddrPort("[64:ff9b::8.8.8.8]:9")); m.Type.Class != stun.ClassSuccessResponse {
				t.Errorf("ChannelBind to 64:ff9b::8.8.8.8 (public): %v, code %d", m, code(m))
			}
		})
	}
}

// TestChannelBindAllowed: a ChannelBind to an allowed peer gets 200, and
// data flows over the channel both ways.
func TestChannelBindAllowed(t *testing.T) {
	allow := peerpolicy.New(peerpolicy.Config{
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")},
		Own:   []netip.Addr{netip.MustParseAddr("127.0.0.1")},
	})
	for _, network := range []string{"udp", "tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			s := start(t, func(c *Config) { c.Policy = allow })
			peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			c := dialSTUN(t, s, network, "alice", "alice-pw")
			relay := c.allocate(false)
			m := c.channelBind(0x4000, peer.LocalAddr().(*net.UDPAddr).AddrPort())
			if m.Type.Class != stun.ClassSuccessResponse || stun.MessageIntegrity(c.key()).Check(m) != nil {
				t.Fatalf("ChannelBind: %v, code %d", m, code(m))
			}
			c.send(channelData(0x4000, []byte("hello")))
			buf := make([]byte, 1600)
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if string(buf[:n]) != "hello" || from.(*net.UDPAddr).Port != relay.Port {
				t.Errorf("peer got %q from %s, relay %s", buf[:n], from, relay)
			}
			if _, err := peer.WriteTo([]byte("world"), relay); err != nil {
				t.Fatal(err)
			}
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err = c.conn.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if want := channelData(0x4000, []byte("world")); !bytes.Equal(buf[:n], want) && !bytes.Equal(buf[:n], want[:4+5]) {
				t.Errorf("client got %x, want %x", buf[:n], want)
			}
			if st := s.Stats(); st.PermissionsDenied != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// testServer is a Server without listeners, for the filter alone.
func testServer() *Server {
	return &Server{cfg: Config{Realm: realm, RESTSecrets: [][]byte{secret1}, Policy: defaultPolicy, now: time.Now},
		log: slog.New(slog.DiscardHandler)}
}

var testClient = netip.MustParseAddrPort("127.0.0.1:5000")

// bindRequest is a signed ChannelBind request to peer.
func bindRequest(t testing.TB, username, password string, peer netip.AddrPort) *stun.Message {
	t.Helper()
	m, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{0x40, 0, 0, 0}}, peerAddr(peer),
		stun.NewUsername(username), stun.NewRealm(realm), stun.NewNonce("n"),
		stun.NewLongTermIntegrity(username, realm, password), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pion401 is pion's answer to a ChannelBind refused by the permission
// handler: 401 and MESSAGE-INTEGRITY (extra are added after them).
func pion401(t testing.TB, id [stun.TransactionIDSize]byte, key []byte, extra ...stun.Setter) *stun.Message {
	t.Helper()
	m, err := stun.Build(append([]stun.Setter{&stun.Message{TransactionID: id},
		stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse),
		&stun.ErrorCodeAttribute{Code: stun.CodeUnauthorized}, stun.MessageIntegrity(key)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAnswer: what the write side rewrites and what it leaves alone.
func TestAnswer(t *testing.T) {
	s := testServer()
	u, p := rest(secret1, "bob", time.Hour)
	key := longTermKey(u, realm, p)
	to := net.UDPAddrFromAddrPort(testClient)
	req := bindRequest(t, u, p, netip.MustParseAddrPort("169.254.169.254:80"))
	if _, ok := s.refusedChannelBind(bindRequest(t, u, p, netip.MustParseAddrPort("8.8.8.8:53")).Raw, testClient); ok {
		t.Error("allowed peer noted")
	}
	for _, tc := range []struct {
		name   string
		resp   []byte
		to     net.Addr
		wait   time.Duration
		want   bool
		finger bool
	}{
		{"pion's 401", pion401(t, req.TransactionID, key).Raw, to, 0, true, false},
		{"with FINGERPRINT", pion401(t, req.TransactionID, key, stun.Fingerprint).Raw, to, 0, true, true},
		{"other key", pion401(t, req.TransactionID, longTermKey(u, realm, "x")).Raw, to, 0, false, false},
		{"other client", pion401(t, req.TransactionID, key).Raw, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5001}, 0, false, false},
		{"other transaction", pion401(t, [12]byte{1}, key).Raw, to, 0, false, false},
		{"expired", pion401(t, req.TransactionID, key).Raw, to, refusalTTL, false, false},
		{"400", func() []byte {
			m, _ := stun.Build(&stun.Message{TransactionID: req.TransactionID}, stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse),
				&stun.ErrorCodeAttribute{Code: stun.CodeBadRequest}, stun.MessageIntegrity(key))
			return m.Raw
		}(), to, 0, false, false},
		{"no MESSAGE-INTEGRITY", func() []byte {
			m, _ := stun.Build(&stun.Message{TransactionID: req.TransactionID}, stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse),
				&stun.ErrorCodeAttribute{Code: stun.CodeUnauthorized}, stun.NewNonce("n"), stun.NewRealm(realm))
			return m.Raw
		}(), to, 0, false, false},
	} {
		var tbl refusals
		r, ok := s.refusedChannelBind(req.Raw, testClient)
		if !ok {
			t.Fatal("refused peer not noted")
		}
		r.at = r.at.Add(-tc.wait)
		tbl.add(udpRefusals, r)
		out := s.answer(&tbl, tc.resp, tc.to)
		if (out != nil) != tc.want {
			t.Errorf("%s: rewritten %v", tc.name, out != nil)
			continue
		}
		if out == nil {
			continue
		}
		m := &stun.Message{Raw: out}
		if err := m.Decode(); err != nil || code(m) != stun.CodeForbidden || m.TransactionID != req.TransactionID ||
			m.Type != stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse) {
			t.Errorf("%s: %v %v", tc.name, m, err)
		}
		if err := stun.MessageIntegrity(key).Check(m); err != nil {
			t.Errorf("%s: MESSAGE-INTEGRITY %v", tc.name, err)
		}
		if got := stun.Fingerprint.Check(m) == nil; got != tc.finger {
			t.Errorf("%s: FINGERPRINT %v", tc.name, got)
		}
		if s.answer(&tbl, tc.resp, tc.to) != nil {
			t.Errorf("%s: rewritten twice", tc.name)
		}
	}
}

// refusedIDs feeds stream to a tcpConn in pieces of at most chunk bytes
// and returns the transaction ids noted refused.
func refusedIDs(s *Server, stream []byte, chunk int) [][stun.TransactionIDSize]byte {
	c := &tcpConn{s: s, framing: true}
	for len(stream) > 0 {
		k := min(chunk, len(stream))
		c.feed(stream[:k])
		stream = stream[k:]
	}
	var ids [][stun.TransactionIDSize]byte
	for _, r := range c.refused.slots {
		if !r.at.IsZero() {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// TestFraming: the TCP framing finds the ChannelBind requests among
// ChannelData and other messages however the stream is cut, and stops at
// what is not STUN.
func TestFraming(t *testing.T) {
	s := testServer()
	u, p := rest(secret1, "bob", time.Hour)
	refused := bindRequest(t, u, p, netip.MustParseAddrPort("10.0.0.1:9"))
	allowed := bindRequest(t, u, p, netip.MustParseAddrPort("8.8.8.8:9"))
	send, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		stun.RawAttribute{Type: stun.AttrData, Value: []byte("abc")})
	big := make([]byte, maxKept+4) // a ChannelBind too long to keep
	copy(big, refused.Raw[:20])
	binary.BigEndian.PutUint16(big[2:], uint16(len(big)-20))
	var stream []byte
	for _, b := range [][]byte{channelData(0x4000, []byte("x")), allowed.Raw, big, send.Raw, channelData(0x4fff, nil), refused.Raw} {
		stream = append(stream, b...)
	}
	for chunk := 1; chunk <= len(stream); chunk++ {
		ids := refusedIDs(s, stream, chunk)
		if len(ids) != 1 || ids[0] != refused.TransactionID {
			t.Fatalf("chunks of %d: %x", chunk, ids)
		}
	}
	if ids := refusedIDs(s, append([]byte{0x80, 0, 0, 0}, refused.Raw...), 1000); len(ids) != 0 {
		t.Errorf("framing went on after non-STUN: %x", ids)
	}
}

// fuzzCredentials are a REST user's, valid until 2100 (the seed corpus in
// testdata is signed with them).
func fuzzCredentials() (username, password string) {
	return RESTCredentials(secret1, "bob", time.Unix(4102444800, 0))
}

// FuzzChannelBindFilter: hostile bytes as a request, a stream and an
// answer to rewrite: no panic, the framing does not depend on how the
// stream is cut, and a rewritten answer is a signed 403 of the same
// transaction.
func FuzzChannelBindFilter(f *testing.F) {
	s := testServer()
	u, p := fuzzCredentials()
	key := longTermKey(u, realm, p)
	req := bindRequest(f, u, p, netip.MustParseAddrPort("169.254.169.254:80"))
	f.Add(req.Raw, uint16(7))
	f.Add(pion401(f, req.TransactionID, key).Raw, uint16(3))
	f.Add(append(channelData(0x4000, []byte("hi")), req.Raw...), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		r, noted := s.refusedChannelBind(b, testClient)
		if noted && (len(r.username) > maxUsername || len(r.realm) > maxRealm) {
			t.Fatalf("noted %d-byte username, %d-byte realm", len(r.username), len(r.realm))
		}
		whole := refusedIDs(s, b, len(b)+1)
		cutUp := refusedIDs(s, b, int(cut%64)+1)
		if len(whole) != len(cutUp) || len(whole) > 0 && whole[len(whole)-1] != cutUp[len(cutUp)-1] {
			t.Fatalf("framing whole %x, cut %x", whole, cutUp)
		}
		if !isChannelBindError(b) {
			return
		}
		var tbl refusals
		var id [stun.TransactionIDSize]byte
		copy(id[:], b[8:20])
		tbl.add(udpRefusals, refusal{id: id, from: testClient, username: u, realm: realm, at: time.Now()})
		out := s.answer(&tbl, b, net.UDPAddrFromAddrPort(testClient))
		if out == nil {
			return
		}
		m := &stun.Message{Raw: out}
		if err := m.Decode(); err != nil || code(m) != stun.CodeForbidden || m.TransactionID != id {
			t.Fatalf("rewritten to %v (%v)", m, err)
		}
		if err := stun.MessageIntegrity(key).Check(m); err != nil {
			t.Fatalf("rewritten MESSAGE-INTEGRITY: %v", err)
		}
	})
}

// cannedConn is a PacketConn whose every read returns pkt from addr and
// whose writes go nowhere: the listener wrappers without a socket.
type cannedConn struct {
	net.PacketConn
	pkt  []byte
	addr net.Addr
}

func (c *cannedConn) ReadFrom(p []byte) (int, net.Addr, error)  { return copy(p, c.pkt), c.addr, nil }
func (c *cannedConn) WriteTo(p []byte, _ net.Addr) (int, error) { return len(p), nil }

// cannedStream is a net.Conn whose every read returns pkt.
type cannedStream struct {
	net.Conn
	pkt []byte
}

func (c *cannedStream) Read(p []byte) (int, error)      { return copy(p, c.pkt), nil }
func (c *cannedStream) Write(p []byte) (int, error)     { return len(p), nil }
func (c *cannedStream) SetReadDeadline(time.Time) error { return nil }
func (c *cannedStream) RemoteAddr() net.Addr            { return net.TCPAddrFromAddrPort(testClient) }

func benchPackets(b *testing.B) map[string][]byte {
	b.Helper()
	send, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		stun.RawAttribute{Type: stun.AttrData, Value: make([]byte, 160)})
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"ChannelData": channelData(0x4001, make([]byte, 160)), "Send": send.Raw}
}

// The listener wrappers on the traffic that is not ChannelBind.
func BenchmarkUDPReadFrom(b *testing.B) {
	for name, pkt := range benchPackets(b) {
		b.Run(name, func(b *testing.B) {
			c := &udpConn{PacketConn: &cannedConn{pkt: pkt, addr: net.UDPAddrFromAddrPort(testClient)}, s: testServer()}
			buf := make([]byte, 1600)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUDPWriteTo(b *testing.B) {
	for name, pkt := range benchPackets(b) {
		b.Run(name, func(b *testing.B) {
			to := net.UDPAddrFromAddrPort(testClient)
			c := &udpConn{PacketConn: &cannedConn{}, s: testServer()}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.WriteTo(pkt, to); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTCPRead(b *testing.B) {
	for name, pkt := range benchPackets(b) {
		b.Run(name, func(b *testing.B) {
			s := testServer()
			s.idle = time.Hour
			c := &tcpConn{Conn: &cannedStream{pkt: pkt}, s: s, framing: true}
			buf := make([]byte, 1600)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
