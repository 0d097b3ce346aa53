package server

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// TestStaticRoute sends a request that matches a static route to the
// route's destination, Request-URI unchanged.
func TestStaticRoute(t *testing.T) {
	gw := newRawUDPAt(t)
	s := startServer(t, threeTransports+fmt.Sprintf(`
Route1Pattern = ^sip:[0-9]+@pstn\.test$
Route1Destination = sip:127.0.0.1:%d
Route1Methods = MESSAGE
`, gw.port()))
	a := dial(t, s, transport.UDP, "alice", nil)
	done := make(chan *sip.Message, 1)
	go func() { done <- gw.nextRequest() }()
	go func() { _, _ = a.Request(ctx5(t), "MESSAGE", "sip:15551234@pstn.test", "text/plain", "x") }()
	m := <-done
	if m == nil {
		t.Fatal("the gateway got nothing")
	}
	if got := m.RequestURI.String(); got != "sip:15551234@pstn.test" {
		t.Fatalf("Request-URI %q", got)
	}
}

// TestRelayByDNS relays a request for another domain, located through
// RFC 3263 SRV records served by a DNS server of the test's own.
func TestRelayByDNS(t *testing.T) {
	far := newRawUDPAt(t)
	dnsAddr := serveDNS(t,
		"far.test. 60 IN NAPTR 10 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.far.test.",
		fmt.Sprintf("_sip._udp.far.test. 60 IN SRV 10 10 %d sip1.far.test.", far.port()),
		"sip1.far.test. 60 IN A 127.0.0.1",
	)
	s := startServerWith(t, Options{DNSServers: []string{dnsAddr}}, threeTransports, "--RelayForeignDomains=all")
	a := dial(t, s, transport.TCP, "alice", nil)
	done := make(chan *sip.Message, 1)
	go func() { done <- far.nextRequest() }()
	go func() { _, _ = a.Request(ctx5(t), "MESSAGE", "sip:bob@far.test", "text/plain", "x") }()
	m := <-done
	if m == nil || m.Method != "MESSAGE" {
		t.Fatalf("the far server got %v", m)
	}
	if v := m.TopVia(); v.Transport != "UDP" {
		t.Fatalf("top Via %s: want UDP, as the NAPTR record says", v.String())
	}
}

// TestHideTopology checks that with HideTopology the client's address
// stays out of the Vias the next hop sees, and that without it the Via
// says where the request came from (RFC 3581).
func TestHideTopology(t *testing.T) {
	for _, hide := range []bool{false, true} {
		t.Run(fmt.Sprint(hide), func(t *testing.T) {
			s := startServer(t, threeTransports, fmt.Sprintf("--HideTopology=%v", hide))
			b := newRawUDP(t, s)
			reg := "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bKh1;rport\n" +
				"From: <sip:hid@example.com>;tag=r1\nTo: <sip:hid@example.com>\nCall-ID: h1@test\nCSeq: 1 REGISTER\n" +
				"Contact: <sip:hid@127.0.0.1:$PORT>\nContent-Length: 0\n\n"
			b.send(reg)
			if m := b.next(true); m.StatusCode != 200 {
				t.Fatalf("REGISTER: %d", m.StatusCode)
			}
			a := newRawUDP(t, s)
			a.send("MESSAGE sip:hid@example.com SIP/2.0\nVia: SIP/2.0/UDP client.invalid;branch=z9hG4bKh2;rport\n" +
				"From: <sip:x@example.com>;tag=x1\nTo: <sip:hid@example.com>\nCall-ID: h2@test\nCSeq: 1 MESSAGE\n" +
				"Max-Forwards: 70\nContent-Length: 0\n\n")
			m := b.next(true)
			var vias []string
			for v, err := range m.Vias() {
				if err != nil {
					t.Fatal(err)
				}
				vias = append(vias, v.String())
			}
			if len(vias) != 2 {
				t.Fatalf("Vias %q", vias)
			}
			exposed := strings.Contains(vias[1], "received=127.0.0.1") && strings.Contains(vias[1], fmt.Sprintf("rport=%d", a.port()))
			if exposed == hide {
				t.Fatalf("HideTopology=%v: client's Via %q", hide, vias[1])
			}
		})
	}
}

// TestFlowTokensForTCP checks EnableFlowTokens: a TCP client's side of the
// Record-Route carries a flow token, and in-dialog requests reach it over
// its connection.
func TestFlowTokensForTCP(t *testing.T) {
	s := startServer(t, threeTransports, "--EnableFlowTokens=true")
	a := dial(t, s, transport.TCP, "alice", nil)
	b := dial(t, s, transport.TCP, "bob", nil)
	register(t, a)
	register(t, b)
	rs := call(t, a, b)
	if len(rs) != 2 || !strings.Contains(rs[0], "@") || !strings.Contains(rs[1], "@") {
		t.Fatalf("route set %q: want a flow token in each entry", rs)
	}
}

// newRawUDPAt is a raw UDP socket that plays a server of its own (a
// gateway, another domain's proxy).
func newRawUDPAt(t *testing.T) *rawUDP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{t: t, conn: c}
}

// nextRequest returns the next request the socket gets (nil on timeout),
// without failing the test from another goroutine.
func (r *rawUDP) nextRequest() *sip.Message {
	buf := make([]byte, 65536)
	for range 20 {
		_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		if m, err := sip.Parse(buf[:n]); err == nil && m.IsRequest() {
			return m
		}
	}
	return nil
}

// serveDNS runs a DNS server on 127.0.0.1 (UDP) answering from zone.
func serveDNS(t *testing.T, zone ...string) string {
	t.Helper()
	var rrs []dns.RR
	for _, z := range zone {
		rr, err := dns.NewRR(z)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		for _, rr := range rrs {
			h := rr.Header()
			if strings.EqualFold(h.Name, q.Question[0].Name) && h.Rrtype == q.Question[0].Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		_ = w.WriteMsg(m)
	})}
	var started, done sync.WaitGroup
	started.Add(1)
	done.Add(1)
	srv.NotifyStartedFunc = started.Done
	go func() {
		defer done.Done()
		_ = srv.ActivateAndServe()
	}()
	started.Wait()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		done.Wait()
	})
	return pc.LocalAddr().String()
}

// TestRecordRouteHostIsOurDomain runs the WS quick start as written (no
// Domains): the name in RecordRouteUri is the SIP domain users register in.
func TestRecordRouteHostIsOurDomain(t *testing.T) {
	s := startServer(t, "DisableOutbound = false\nEnableFlowTokens = true\nAssumePath = true\nWSPort = 80\nRecordRouteUri = sip:example.com\n")
	a := dial(t, s, transport.WS, "alice", nil)
	b := dial(t, s, transport.WS, "bob", nil)
	register(t, a)
	register(t, b)
	call(t, a, b)
}
