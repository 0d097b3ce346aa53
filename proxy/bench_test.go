package proxy

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/registrar"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// BenchmarkMessageRoundTrip measures one proxied transaction: a MESSAGE
// from a UDP client to a user registered over WebSocket goes in through a
// real transaction layer, the chain, record-routing rules and a client
// transaction; the 200 comes back and is forwarded. Parsing is included,
// as the transport would do it; sockets are not.
func BenchmarkMessageRoundTrip(b *testing.B) {
	out := &sink{}
	reg, err := registrar.New(registrar.Config{Store: location.NewMemory()})
	if err != nil {
		b.Fatal(err)
	}
	bob, _ := sip.Parse([]byte("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKr\r\nFrom: <sip:bob@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: rb\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@y.invalid;transport=ws>\r\nContent-Length: 0\r\n\r\n"))
	if resp := reg.Register(bob, transport.Flow{ID: 5, Kind: transport.WS, Local: fuzzWS, Remote: fuzzSrc}); resp.StatusCode != 200 {
		b.Fatal(resp.StatusCode)
	}
	p := New(Config{Listeners: fuzzListeners(), Domains: []string{"example.com"}, Registrar: reg, Transport: out})
	layer := transaction.New(transaction.Config{Timers: transaction.Timers{T1: time.Hour}, Transport: out, Handler: p})
	p.Bind(layer)
	defer layer.Close()
	defer p.Close()
	src := transport.Flow{ID: 7, Kind: transport.TCP, Local: fuzzUs, Remote: fuzzSrc}
	const req = "MESSAGE sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK%d;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n" +
		"Call-ID: m%d@test\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m, err := sip.Parse(fmt.Appendf(nil, req, i, i))
		if err != nil {
			b.Fatal(err)
		}
		out.mu.Lock()
		out.sent = out.sent[:0]
		out.mu.Unlock()
		layer.Receive(&transport.Inbound{Msg: m, Flow: src})
		out.mu.Lock()
		fwd := out.sent[len(out.sent)-1]
		out.mu.Unlock()
		if fwd.Method != "MESSAGE" {
			b.Fatalf("forwarded %q", fwd.Method)
		}
		wire, err := sip.Parse(fwd.AppendTo(nil))
		if err != nil {
			b.Fatal(err)
		}
		ok := sip.NewResponse(wire, 200, "")
		ok.SetToTag("b1")
		resp, err := sip.Parse(ok.AppendTo(nil))
		if err != nil {
			b.Fatal(err)
		}
		layer.Receive(&transport.Inbound{Msg: resp, Flow: transport.Flow{ID: 5, Kind: transport.WS, Local: fuzzWS, Remote: fuzzSrc}})
		out.mu.Lock()
		last := out.sent[len(out.sent)-1]
		out.mu.Unlock()
		if last.StatusCode != 200 {
			b.Fatalf("upstream got %d", last.StatusCode)
		}
	}
}
