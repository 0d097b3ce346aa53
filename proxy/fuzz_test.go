package proxy

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/registrar"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// sink is a transaction.Transport that keeps what would be sent; every
// message it takes must serialize and parse again.
type sink struct {
	mu   sync.Mutex
	sent []*sip.Message
}

func (s *sink) SendTo(_ transaction.Dest, m *sip.Message) (transport.FlowID, error) {
	return 99, s.Send(99, m)
}

func (s *sink) Send(_ transport.FlowID, m *sip.Message) error {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	return nil
}

var (
	fuzzUs  = netip.MustParseAddrPort("127.0.0.1:5060")
	fuzzWS  = netip.MustParseAddrPort("127.0.0.1:8080")
	fuzzSrc = netip.MustParseAddrPort("127.0.0.1:40000")
)

func fuzzListeners() []Listener {
	rr := func(s string) sip.URI { u, _ := sip.ParseURI(s); return u }
	return []Listener{
		{Kind: transport.UDP, Addr: fuzzUs, Host: "127.0.0.1", Port: 5060, RecordRoute: rr("sip:127.0.0.1:5060;lr")},
		{Kind: transport.WS, Addr: fuzzWS, Host: "127.0.0.1", Port: 8080, RecordRoute: rr("sip:example.com;transport=ws;lr")},
	}
}

// FuzzProxy runs arbitrary messages through a real transaction layer and
// the proxy with a registered user: nothing may panic, and everything the
// proxy sends must be a message that parses again.
func FuzzProxy(f *testing.F) {
	for _, s := range []string{
		"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1;rport\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:bob@127.0.0.1:40002 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK2\r\nRoute: <sip:127.0.0.1:5060;lr>, <sip:AAAA@example.com;transport=ws;lr>\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK3\r\nFrom: <sip:c@example.com>;tag=1\r\nTo: <sip:c@example.com>\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:c@127.0.0.1:40000>;expires=60\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK4\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\nProxy-Require: x\r\nContent-Length: 0\r\n\r\n",
		"ACK sip:bob@127.0.0.1:40002 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK5\r\nRoute: <sip:127.0.0.1:5060>\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-se-x\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		msg, err := sip.Parse(data)
		if err != nil {
			return
		}
		out := &sink{}
		reg, err := registrar.New(registrar.Config{Store: location.NewMemory()})
		if err != nil {
			t.Fatal(err)
		}
		bob, _ := sip.Parse([]byte("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKr\r\nFrom: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: rb\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@y.invalid;transport=ws>\r\nContent-Length: 0\r\n\r\n"))
		reg.Register(bob, transport.Flow{ID: 5, Kind: transport.WS, Local: fuzzWS, Remote: fuzzSrc})
		p := New(Config{
			Listeners: fuzzListeners(), Domains: []string{"example.com"}, Registrar: reg,
			Transport: out, StaticRoutes: []StaticRoute{{Pattern: mustRE(`^tel:`), Destination: mustURI("sip:127.0.0.9:5070")}},
		})
		layer := transaction.New(transaction.Config{
			Timers: transaction.Timers{T1: time.Hour}, Transport: out, Handler: p,
		})
		p.Bind(layer)
		k := transport.Kind(kind%5) + 1
		local := fuzzUs
		if k == transport.WS || k == transport.WSS {
			local = fuzzWS
		}
		layer.Receive(&transport.Inbound{Msg: msg, Flow: transport.Flow{ID: 7, Kind: k, Local: local, Remote: fuzzSrc}, Received: time.Now()})
		p.Close()
		layer.Close()
		out.mu.Lock()
		defer out.mu.Unlock()
		for _, m := range out.sent {
			if _, err := sip.Parse([]byte(m.String())); err != nil {
				t.Fatalf("sent a message that does not parse: %v\n%s", err, m)
			}
		}
	})
}
