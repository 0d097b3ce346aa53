package transaction

import (
	"testing"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// discard is a Transport that sends nowhere.
type discard struct{}

func (discard) SendTo(Dest, *sip.Message) (transport.FlowID, error) { return 1, nil }
func (discard) Send(transport.FlowID, *sip.Message) error           { return nil }

// BenchmarkServerNonInvite measures, per op, one non-INVITE server
// transaction: created by a request, matched by its retransmission
// (absorbed in Trying), answered with 200. Over TCP timer J is zero, so
// the 200 also ends it and the table stays small whatever b.N is.
func BenchmarkServerNonInvite(b *testing.B) {
	m := msg(b, request("OPTIONS", "z9hG4bKbench", "", 1, "OPTIONS"))
	in := &transport.Inbound{Msg: m, Flow: tcpFlow}
	key := serverKey{"z9hG4bKbench", "127.0.0.1", 5099, "OPTIONS"}
	prebuilt := sip.NewResponse(m, 200, "")
	prebuilt.SetToTag("bench")
	for _, bc := range []struct {
		name string
		resp func() *sip.Message
	}{
		// The layer's own cost: the response is built once.
		{"Layer", func() *sip.Message { return prebuilt }},
		// As a transaction user does it: a response built per request.
		{"NewResponse", func() *sip.Message {
			r := sip.NewResponse(m, 200, "")
			r.SetToTag("bench")
			return r
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := New(Config{Transport: discard{}, Handler: handlerFuncs{}})
			defer l.Close()
			b.ReportAllocs()
			for b.Loop() {
				l.Receive(in) // a new transaction
				l.Receive(in) // its retransmission: matched, absorbed
				l.mu.Lock()
				tx := l.server[key]
				l.mu.Unlock()
				if err := tx.Respond(bc.resp()); err != nil {
					b.Fatal(err)
				}
			}
			if l.Len() != 0 {
				b.Fatalf("%d transactions left", l.Len())
			}
		})
	}
}
