package client

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// fakeServer is a scripted SIP peer on a UDP socket on 127.0.0.1, built
// from the sip package: it plays registrar, challenger or proxy to one UA.
type fakeServer struct {
	t  *testing.T
	c  *net.UDPConn
	ua *net.UDPAddr
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &fakeServer{t: t, c: c}
}

func (s *fakeServer) addr() string { return s.c.LocalAddr().String() }

// dial connects a UA to the fake server.
func (s *fakeServer) dial(user, password string) *UA {
	s.t.Helper()
	ua := dialUA(s.t, Config{Transport: "udp", Server: s.addr(), User: user, Domain: "example.com", Password: password, Timeout: 5 * time.Second})
	s.ua = ua.LocalAddr().(*net.UDPAddr)
	return ua
}

// recv returns the next message from the UA, skipping none.
func (s *fakeServer) recv() *sip.Message {
	s.t.Helper()
	buf := make([]byte, 70000)
	if err := s.c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		s.t.Fatal(err)
	}
	n, _, err := s.c.ReadFromUDP(buf)
	if err != nil {
		s.t.Fatalf("fake server: %v", err)
	}
	m, err := sip.Parse(buf[:n])
	if err != nil {
		s.t.Fatalf("fake server: parse: %v\n%s", err, buf[:n])
	}
	return m
}

// recvMethod returns the next request of method (or response to it when
// status is set), skipping others such as retransmissions.
func (s *fakeServer) recvWhere(ok func(*sip.Message) bool) *sip.Message {
	s.t.Helper()
	for range 20 {
		if m := s.recv(); ok(m) {
			return m
		}
	}
	s.t.Fatal("fake server: expected message not seen")
	return nil
}

func (s *fakeServer) send(m *sip.Message) {
	s.t.Helper()
	if _, err := s.c.WriteToUDP(m.AppendTo(nil), s.ua); err != nil {
		s.t.Fatal(err)
	}
}

// respond answers req with code and extra header fields.
func (s *fakeServer) respond(req *sip.Message, code int, fields ...string) *sip.Message {
	s.t.Helper()
	resp := sip.NewResponse(req, code, "")
	if code > 100 {
		resp.SetToTag("srvtag")
	}
	for i := 0; i+1 < len(fields); i += 2 {
		if err := resp.Add(fields[i], fields[i+1]); err != nil {
			s.t.Fatal(err)
		}
	}
	s.send(resp)
	return resp
}

// request sends a request of the fake server to the UA.
func (s *fakeServer) request(method, branch string, seq int, fields ...string) *sip.Message {
	s.t.Helper()
	ruri, _ := sip.ParseURI("sip:alice@example.com")
	req := sip.NewRequest(method, ruri)
	all := append([]string{
		"Via", "SIP/2.0/UDP " + s.addr() + ";branch=" + branch,
		"Max-Forwards", "70",
		"From", "<sip:carol@example.com>;tag=carol1",
		"To", "<sip:alice@example.com>",
		"Call-ID", "call-" + branch,
		"CSeq", fmt.Sprintf("%d %s", seq, method),
	}, fields...)
	for i := 0; i+1 < len(all); i += 2 {
		// A field given again replaces the default.
		if _, ok := req.Get(all[i]); ok {
			if err := req.Set(all[i], all[i+1]); err != nil {
				s.t.Fatal(err)
			}
			continue
		}
		if err := req.Add(all[i], all[i+1]); err != nil {
			s.t.Fatal(err)
		}
	}
	s.send(req)
	return req
}

// verifyDigest checks credentials as a server would, computing the
// RFC 7616 response independently of the client's code.
func verifyDigest(t *testing.T, cred sip.Auth, method, password string) {
	t.Helper()
	p := func(n string) string { v, _ := cred.Param(n); return v }
	var h hash.Hash
	switch p("algorithm") {
	case "", "MD5":
		h = md5.New()
	case "SHA-256":
		h = sha256.New()
	default:
		t.Fatalf("algorithm %q", p("algorithm"))
	}
	hx := func(s string) string {
		h.Reset()
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil))
	}
	ha1 := hx(p("username") + ":" + p("realm") + ":" + password)
	ha2 := hx(method + ":" + p("uri"))
	want := hx(ha1 + ":" + p("nonce") + ":" + p("nc") + ":" + p("cnonce") + ":" + p("qop") + ":" + ha2)
	if p("response") != want || p("qop") != "auth" || p("nc") != "00000001" || p("opaque") != "op42" {
		t.Errorf("credentials %s: response want %s", cred.Params, want)
	}
}

func TestDigestChallenges(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			s := newFakeServer(t)
			ua := s.dial("alice", "secret")
			ctx := testCtx(t)
			type result struct {
				resp *sip.Message
				err  error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := ua.Register(ctx, 600)
				done <- result{resp, err}
			}()
			first := s.recvWhere(func(m *sip.Message) bool { return m.Method == "REGISTER" })
			if e, _ := first.Get("Expires"); e != "600" {
				t.Errorf("Expires %q", e)
			}
			// Offer the weaker one first: the UA must pick SHA-256 when both are there.
			chal := []string{"WWW-Authenticate", `Digest realm="example.com", nonce="n1", qop="auth", opaque="op42", algorithm=` + alg}
			if alg == "SHA-256" {
				chal = append([]string{"WWW-Authenticate", `Digest realm="example.com", nonce="n0", qop="auth", opaque="op42", algorithm=MD5`}, chal...)
			}
			s.respond(first, 401, chal...)
			second := s.recvWhere(func(m *sip.Message) bool { return m.Method == "REGISTER" && branchOf(m) != branchOf(first) })
			if second.CallID() != first.CallID() || second.CSeq().Seq != first.CSeq().Seq+1 {
				t.Errorf("retry Call-ID %s CSeq %d after %s %d", second.CallID(), second.CSeq().Seq, first.CallID(), first.CSeq().Seq)
			}
			cred, ok, _ := firstAuth(second, sip.HeaderAuthorization)
			if !ok {
				t.Fatal("no Authorization")
			}
			if a, _ := cred.Param("algorithm"); a != alg {
				t.Errorf("algorithm %q, want %q", a, alg)
			}
			verifyDigest(t, cred, "REGISTER", "secret")
			s.respond(second, 200)
			r := <-done
			if r.err != nil || r.resp.StatusCode != 200 {
				t.Fatalf("Register: %v %v", r.resp, r.err)
			}

			// A proxy challenge (407) on MESSAGE, then a second,
			// non-stale one, which the UA hands back.
			go func() {
				resp, err := ua.Request(ctx, "MESSAGE", "sip:bob@example.com", "text/plain", "hi")
				done <- result{resp, err}
			}()
			msg := s.recvWhere(func(m *sip.Message) bool { return m.Method == "MESSAGE" })
			s.respond(msg, 407, "Proxy-Authenticate", `Digest realm="proxy", nonce="n2", qop="auth,auth-int", opaque="op42", algorithm=`+alg)
			msg2 := s.recvWhere(func(m *sip.Message) bool { return m.Method == "MESSAGE" && branchOf(m) != branchOf(msg) })
			cred, ok, _ = firstAuth(msg2, sip.HeaderProxyAuthorization)
			if !ok || msg2.Body != "hi" {
				t.Fatalf("no Proxy-Authorization, body %q", msg2.Body)
			}
			verifyDigest(t, cred, "MESSAGE", "secret")
			s.respond(msg2, 407, "Proxy-Authenticate", `Digest realm="proxy", nonce="n3", qop="auth", algorithm=`+alg)
			r = <-done
			if r.err != nil || r.resp.StatusCode != 407 {
				t.Fatalf("MESSAGE: %v %v", r.resp, r.err)
			}
		})
	}
}

func firstAuth(m *sip.Message, h sip.Header) (sip.Auth, bool, error) {
	for a, err := range m.Auths(h) {
		return a, err == nil, err
	}
	return sip.Auth{}, false, nil
}

// RFC 7616 §3.9.1: the same credentials with MD5 and SHA-256.
func TestDigestRFC7616Example(t *testing.T) {
	for alg, want := range map[string]string{
		"MD5":     "8ca523f5e9506fed4657c9700eebdbec",
		"SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		chal, err := sip.ParseAuth(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=` + alg +
			`, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := digestCredentials(chal, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
		if err != nil {
			t.Fatal(err)
		}
		a, err := sip.ParseAuth(cred)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Param("response"); got != want {
			t.Errorf("%s: response %s, want %s", alg, got, want)
		}
	}
	chal, _ := sip.ParseAuth(`Digest realm="r", nonce="n", algorithm=SHA-512-256`)
	if _, err := digestCredentials(chal, "u", "p", "GET", "/", "c"); err == nil {
		t.Error("SHA-512-256 accepted")
	}
}

func TestUDPRetransmission(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() {
		resp, err := ua.Request(ctx, "OPTIONS", "sip:bob@example.com", "", "")
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		done <- err
	}()
	first := s.recv()
	again := s.recv() // T1 later, the same request
	if again.String() != first.String() {
		t.Fatalf("retransmission differs:\n%s\n%s", first, again)
	}
	s.respond(again, 200)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestIncomingRetransmissionAnsweredFromCache(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	s.request("MESSAGE", "z9hG4bKdup1", 1)
	r := next(t, ua)
	if err := r.Respond(202, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Respond(200, "", "", ""); err == nil {
		t.Error("a second final response was sent")
	}
	first := s.recv()
	s.request("MESSAGE", "z9hG4bKdup1", 1)
	again := s.recv()
	if first.StatusCode != 202 || again.String() != first.String() || first.ToTag() == "" {
		t.Fatalf("responses:\n%s\n%s", first, again)
	}
	select {
	case r := <-ua.Incoming():
		t.Fatalf("retransmission delivered: %s", r.Msg.Method)
	case <-time.After(100 * time.Millisecond):
	}
	// An in-dialog request for no dialog: 481.
	s.request("INFO", "z9hG4bKnodialog", 2, "To", "<sip:alice@example.com>;tag=gone")
	if m := s.recv(); m.StatusCode != 481 {
		t.Errorf("INFO for no dialog: %d", m.StatusCode)
	}
}

func TestInviteThroughRecordRoutingProxy(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx := testCtx(t)
	type result struct {
		call *Call
		resp *sip.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, resp, err := ua.Invite(ctx, "sip:bob@example.com", testSDP, nil)
		done <- result{c, resp, err}
	}()
	inv := s.recvWhere(func(m *sip.Message) bool { return m.Method == "INVITE" })
	s.respond(inv, 100)
	// Record-Route as two proxies leave it: the one nearest bob on top.
	ok := s.respond(inv, 200, "Record-Route", "<sip:p2.example.com;lr>", "Record-Route", "<sip:p1.example.com;lr>",
		"Contact", "<sip:bob@192.0.2.7:5070>")
	ack := s.recvWhere(func(m *sip.Message) bool { return m.Method == "ACK" })
	var routes []string
	for r, err := range ack.Routes() {
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r.URI.String())
	}
	want := []string{"sip:p1.example.com;lr", "sip:p2.example.com;lr"}
	if !slices.Equal(routes, want) || ack.RequestURI.String() != "sip:bob@192.0.2.7:5070" ||
		ack.CSeq().Seq != inv.CSeq().Seq || ack.ToTag() != "srvtag" || branchOf(ack) == branchOf(inv) {
		t.Errorf("ACK:\n%s", ack)
	}
	r := <-done
	if r.err != nil || r.call == nil {
		t.Fatalf("Invite: %v", r.err)
	}
	if rs := r.call.RouteSet(); len(rs) != 2 || !strings.Contains(rs[0], "p1") {
		t.Errorf("RouteSet %v", rs)
	}
	// A retransmitted 200 gets the same ACK again (§13.2.2.4).
	s.send(ok)
	ack2 := s.recvWhere(func(m *sip.Message) bool { return m.Method == "ACK" })
	if ack2.String() != ack.String() {
		t.Errorf("second ACK differs:\n%s", ack2)
	}
	go func() {
		_, err := r.call.Bye(ctx)
		done <- result{err: err}
	}()
	bye := s.recvWhere(func(m *sip.Message) bool { return m.Method == "BYE" })
	if bye.CSeq().Seq != inv.CSeq().Seq+1 || bye.RequestURI.String() != "sip:bob@192.0.2.7:5070" {
		t.Errorf("BYE:\n%s", bye)
	}
	s.respond(bye, 200)
	if r := <-done; r.err != nil {
		t.Fatal(r.err)
	}
}

func TestRejectedInviteAckedPerTransaction(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() {
		_, resp, err := ua.Invite(ctx, "sip:bob@example.com", testSDP, nil)
		if err == nil && resp.StatusCode != 486 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		done <- err
	}()
	inv := s.recvWhere(func(m *sip.Message) bool { return m.Method == "INVITE" })
	busy := s.respond(inv, 486)
	ack := s.recvWhere(func(m *sip.Message) bool { return m.Method == "ACK" })
	if branchOf(ack) != branchOf(inv) || ack.ToTag() != "srvtag" || ack.RequestURI.String() != inv.RequestURI.String() {
		t.Errorf("ACK:\n%s", ack)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.send(busy)
	if again := s.recvWhere(func(m *sip.Message) bool { return m.Method == "ACK" }); again.String() != ack.String() {
		t.Errorf("ACK of the retransmission:\n%s", again)
	}
}

func TestAnswerRetransmits200UntilACK(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx := testCtx(t)
	inv := s.request("INVITE", "z9hG4bKinv1", 7, "Contact", "<sip:carol@192.0.2.9>",
		"Record-Route", "<sip:p1.example.com;lr>", "Content-Type", "application/sdp")
	r := next(t, ua)
	type result struct {
		call *Call
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := r.Answer(ctx, testSDP)
		done <- result{c, err}
	}()
	ok := s.recv()
	again := s.recv()
	if ok.StatusCode != 200 || again.String() != ok.String() {
		t.Fatalf("200 and its retransmission:\n%s\n%s", ok, again)
	}
	if rr, _ := ok.Get("Record-Route"); rr != "<sip:p1.example.com;lr>" {
		t.Errorf("Record-Route in 200: %q", rr)
	}
	if _, has, _ := ok.FirstAddr(sip.HeaderContact); !has {
		t.Error("200 without Contact")
	}
	ack := sip.NewRequest("ACK", inv.RequestURI)
	for _, f := range [][2]string{
		{"Via", "SIP/2.0/UDP " + s.addr() + ";branch=z9hG4bKack1"},
		{"From", "<sip:carol@example.com>;tag=carol1"},
		{"To", "<sip:alice@example.com>;tag=" + ok.ToTag()},
		{"Call-ID", inv.CallID()},
		{"CSeq", "7 ACK"},
	} {
		if err := ack.Add(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	s.send(ack)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if rs := res.call.RouteSet(); len(rs) != 1 {
		t.Errorf("RouteSet %v", rs)
	}
	// bob's BYE ends the call, answered by the UA itself.
	s.request("BYE", "z9hG4bKbye1", 8, "To", "<sip:alice@example.com>;tag="+ok.ToTag(), "Call-ID", inv.CallID())
	select {
	case <-res.call.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("BYE did not end the call")
	}
}

func TestStreamKeepAliveAnswered(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	dialUA(t, Config{Transport: "tcp", Server: ln.Addr().String(), User: "alice", Domain: "example.com"})
	c := <-accepted
	if c == nil {
		t.Fatal("no connection")
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "\r\n" {
		t.Fatalf("keep-alive answer %q %v", buf, err)
	}
}

func TestContextEndsRequest(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := ua.Request(ctx, "OPTIONS", "sip:bob@example.com", "", "")
		done <- err
	}()
	s.recv()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Request succeeded after its context ended")
	}
}

func TestAbandonedInviteIsCancelled(t *testing.T) {
	s := newFakeServer(t)
	ua := s.dial("alice", "")
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, _, err := ua.Invite(ctx, "sip:bob@example.com", testSDP, nil)
		done <- err
	}()
	inv := s.recvWhere(func(m *sip.Message) bool { return m.Method == "INVITE" })
	s.respond(inv, 180)
	// Whether or not the 180 is in yet, the CANCEL waits for it (§9.1).
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Invite succeeded after its context ended")
	}
	c := s.recvWhere(func(m *sip.Message) bool { return m.Method == "CANCEL" })
	if branchOf(c) != branchOf(inv) || c.CSeq().Seq != inv.CSeq().Seq || c.RequestURI.String() != inv.RequestURI.String() {
		t.Errorf("CANCEL:\n%s", c)
	}
	s.respond(c, 200)
	s.respond(inv, 487)
	ack := s.recvWhere(func(m *sip.Message) bool { return m.Method == "ACK" })
	if branchOf(ack) != branchOf(inv) {
		t.Errorf("ACK of the 487:\n%s", ack)
	}
}
