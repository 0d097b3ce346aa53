package transaction

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

var farEnd = netip.MustParseAddrPort("127.0.0.1:5070")

// outgoing writes a request the proxy would send: our Via on top, the
// upstream one below, and a Route set.
func outgoing(t *testing.T, method, branch string) *sip.Message {
	t.Helper()
	s := request(method, branch, "", 1, method)
	s = strings.Replace(s, "127.0.0.1:5099", "127.0.0.1:5060", 1)
	s = strings.Replace(s, "Max-Forwards: 70\n",
		"Max-Forwards: 69\nRoute: <sip:p1@127.0.0.1;lr>, <sip:p2@127.0.0.1;lr>\n", 1)
	return msg(t, s)
}

func TestClientInviteRejected(t *testing.T) {
	l, f, r := newTest(t, Config{})
	c := newCalls()
	req := outgoing(t, "INVITE", "z9hG4bKc1")
	tx, err := l.Request(req, Dest{Kind: transport.UDP, Addr: farEnd}, c.fn)
	if err != nil {
		t.Fatal(err)
	}
	first := f.nextMethod(t, "INVITE")
	if first.dst == nil || first.dst.Addr != farEnd || tx.Flow() != 7 || tx.Dest().Addr != farEnd || tx.Request() != req {
		t.Fatalf("first send %+v, flow %d", first.dst, tx.Flow())
	}
	// Timer A retransmits on the flow the request took.
	for range 2 {
		if re := f.nextMethod(t, "INVITE"); re.dst != nil || re.flow != 7 {
			t.Fatalf("retransmission via SendTo %v or flow %d", re.dst, re.flow)
		}
	}
	l.Receive(inbound(t, udpFlow, response(180, "z9hG4bKc1", "b1", 1, "INVITE")))
	if n, _ := c.counts(); n != 1 {
		t.Fatalf("%d responses delivered, want 1", n)
	}
	l.Receive(inbound(t, udpFlow, response(486, "z9hG4bKc1", "b1", 1, "INVITE")))
	ack := f.nextMethod(t, "ACK").msg
	checkACK(t, req, ack, "b1")
	// The retransmitted 486 gets the ACK again and is not delivered.
	l.Receive(inbound(t, udpFlow, response(486, "z9hG4bKc1", "b1", 1, "INVITE")))
	f.nextMethod(t, "ACK")
	if n, e := c.counts(); n != 2 || e != 0 {
		t.Fatalf("delivered %d responses and %d errors, want 2 and 0", n, e)
	}
	c.mu.Lock()
	top := c.resps[1].TopVia()
	c.mu.Unlock()
	if top.Branch() != "z9hG4bKc1" {
		t.Fatal("delivered response lost its top Via")
	}
	eventually(t, "timer D", func() bool { return l.Len() == 0 })
	l.Receive(inbound(t, udpFlow, response(486, "z9hG4bKc1", "b1", 1, "INVITE")))
	if in := <-r.resps; in.Msg.StatusCode != 486 || l.Stats().Strays != 1 {
		t.Fatal("late response not passed on as a stray")
	}
}

// checkACK checks an ACK against §17.1.1.3.
func checkACK(t *testing.T, req, ack *sip.Message, toTag string) {
	t.Helper()
	if ack.Method != "ACK" || !ack.RequestURI.Equal(&req.RequestURI) {
		t.Fatalf("ACK start line %s %s", ack.Method, ack.RequestURI)
	}
	var vias []sip.Via
	for v, err := range ack.Vias() {
		if err != nil {
			t.Fatal(err)
		}
		vias = append(vias, v)
	}
	top := req.TopVia()
	if len(vias) != 1 || vias[0].Branch() != top.Branch() {
		t.Fatalf("ACK Vias %v", vias)
	}
	if cs := ack.CSeq(); cs.Seq != req.CSeq().Seq || cs.Method != "ACK" {
		t.Fatalf("ACK CSeq %+v", cs)
	}
	if ack.ToTag() != toTag || ack.FromTag() != req.FromTag() || ack.CallID() != req.CallID() {
		t.Fatalf("ACK To tag %q From tag %q Call-ID %q", ack.ToTag(), ack.FromTag(), ack.CallID())
	}
	if mf, ok := ack.MaxForwards(); !ok || mf != 70 {
		t.Fatalf("ACK Max-Forwards %d %v", mf, ok)
	}
	var routes []string
	for a, err := range ack.Routes() {
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, a.URI.String())
	}
	if strings.Join(routes, ",") != "sip:p1@127.0.0.1;lr,sip:p2@127.0.0.1;lr" {
		t.Fatalf("ACK Route set %v", routes)
	}
}

func TestClientInviteTimerB(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	if _, err := l.Request(outgoing(t, "INVITE", "z9hG4bKb"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	if err := c.waitErr(t); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if n, e := c.counts(); n != 0 || e != 1 {
		t.Fatalf("%d responses, %d errors", n, e)
	}
	if l.Len() != 0 || l.Stats().Timeouts != 1 || l.Stats().Retransmitted == 0 {
		t.Fatalf("len %d stats %+v", l.Len(), l.Stats())
	}
	f.drain()
}

func TestClientInviteProceedingStopsTimers(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	tx, err := l.Request(outgoing(t, "INVITE", "z9hG4bKp"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn)
	if err != nil {
		t.Fatal(err)
	}
	f.nextMethod(t, "INVITE")
	l.Receive(inbound(t, udpFlow, response(100, "z9hG4bKp", "", 1, "INVITE")))
	// In Proceeding neither A nor B run: the proxy's timer C decides.
	tx.mu.Lock()
	st := tx.state
	tx.mu.Unlock()
	if st != stProceeding {
		t.Fatalf("state %v", st)
	}
	if l.Len() != 1 {
		t.Fatal("transaction gone in Proceeding")
	}
}

func TestClientInviteAccepted(t *testing.T) {
	l, f, r := newTest(t, Config{})
	c := newCalls()
	if _, err := l.Request(outgoing(t, "INVITE", "z9hG4bKa"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	f.nextMethod(t, "INVITE")
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKa", "b1", 1, "INVITE")))
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKa", "b1", 1, "INVITE")))
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKa", "b2", 1, "INVITE")))
	l.Receive(inbound(t, udpFlow, response(486, "z9hG4bKa", "b3", 1, "INVITE")))
	if n, e := c.counts(); n != 3 || e != 0 {
		t.Fatalf("delivered %d responses, %d errors; want every 2xx (3) and no error", n, e)
	}
	eventually(t, "timer M", func() bool { return l.Len() == 0 })
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKa", "b1", 1, "INVITE")))
	if in := <-r.resps; in.Msg.StatusCode != 200 {
		t.Fatal("2xx after timer M not a stray")
	}
	// The layer never ACKs a 2xx: that is the UAC's. (Timer A may have
	// resent the INVITE before the 200 came.)
	for {
		select {
		case s := <-f.ch:
			if s.msg.Method != "INVITE" {
				t.Fatalf("unexpected send %s %d", s.msg.Method, s.msg.StatusCode)
			}
			continue
		default:
		}
		break
	}
}

func TestClientNonInvite(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKn"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	f.nextMethod(t, "OPTIONS")
	f.nextMethod(t, "OPTIONS") // timer E, Trying
	l.Receive(inbound(t, udpFlow, response(100, "z9hG4bKn", "", 1, "OPTIONS")))
	f.nextMethod(t, "OPTIONS") // timer E goes on in Proceeding, at T2
	// A response to another method with the same branch is a stray.
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKn", "x", 1, "INFO")))
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKn", "x", 1, "OPTIONS")))
	l.Receive(inbound(t, udpFlow, response(200, "z9hG4bKn", "x", 1, "OPTIONS")))
	if n, e := c.counts(); n != 2 || e != 0 {
		t.Fatalf("delivered %d responses, %d errors; want 2, 0", n, e)
	}
	eventually(t, "timer K", func() bool { return l.Len() == 0 })
	if st := l.Stats(); st.Strays != 1 || st.Absorbed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClientNonInviteTimerF(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	if _, err := l.Request(outgoing(t, "MESSAGE", "z9hG4bKf"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	if err := c.waitErr(t); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	if l.Len() != 0 {
		t.Fatal("transaction left after timer F")
	}
	f.drain()
}

func TestClientReliable(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	dst := Dest{Kind: transport.TCP, Addr: farEnd}
	req := outgoing(t, "INVITE", "z9hG4bKr")
	if _, err := l.Request(req, dst, c.fn); err != nil {
		t.Fatal(err)
	}
	f.nextMethod(t, "INVITE")
	l.Receive(inbound(t, tcpFlow, response(480, "z9hG4bKr", "b1", 1, "INVITE")))
	checkACK(t, req, f.nextMethod(t, "ACK").msg, "b1")
	if l.Len() != 0 {
		t.Fatal("timer D is not zero over TCP")
	}
	// Timer F still bounds a non-INVITE over TCP, but E never resends it.
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKr2"), dst, c.fn); err != nil {
		t.Fatal(err)
	}
	if err := c.waitErr(t); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v", err)
	}
	f.nextMethod(t, "OPTIONS")
	select {
	case s := <-f.ch:
		t.Fatalf("retransmitted over TCP: %s", s.msg.Method)
	default:
	}
	// Flow given: SendTo gets it, and the tx reports it.
	tx, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKr3"), Dest{Kind: transport.WS, Flow: 42}, c.fn)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.nextMethod(t, "OPTIONS"); s.dst.Flow != 42 || tx.Flow() != 42 {
		t.Fatalf("sent on %d, tx flow %d", s.dst.Flow, tx.Flow())
	}
	l.Receive(inbound(t, tcpFlow, response(200, "z9hG4bKr3", "b1", 1, "OPTIONS")))
	if l.Len() != 0 {
		t.Fatal("timer K is not zero over WS")
	}
}

func TestClientTransportErrors(t *testing.T) {
	l, f, _ := newTest(t, Config{})
	c := newCalls()
	f.setErrs(transport.ErrFlowGone, nil)
	_, err := l.Request(outgoing(t, "INVITE", "z9hG4bKe1"), Dest{Kind: transport.WS, Flow: 9}, c.fn)
	if !errors.Is(err, transport.ErrFlowGone) {
		t.Fatalf("Request: %v, want ErrFlowGone", err)
	}
	if n, e := c.counts(); n+e != 0 || l.Len() != 0 {
		t.Fatal("a failed first send called fn or left a transaction")
	}
	// A retransmission that fails ends the transaction with the error.
	f.setErrs(nil, transport.ErrFlowGone)
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKe2"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	if err := c.waitErr(t); !errors.Is(err, transport.ErrFlowGone) {
		t.Fatalf("fn error %v", err)
	}
	if l.Len() != 0 || l.Stats().TransportErrors != 2 {
		t.Fatalf("len %d stats %+v", l.Len(), l.Stats())
	}
	// An ACK that cannot be sent: the 486 still goes up, once.
	f.setErrs(nil, nil)
	c2 := newCalls()
	if _, err := l.Request(outgoing(t, "INVITE", "z9hG4bKe3"), Dest{Kind: transport.UDP, Addr: farEnd}, c2.fn); err != nil {
		t.Fatal(err)
	}
	f.setErrs(nil, errBroken)
	l.Receive(inbound(t, udpFlow, response(486, "z9hG4bKe3", "b", 1, "INVITE")))
	if n, e := c2.counts(); n != 1 || e != 0 || l.Len() != 0 {
		t.Fatalf("responses %d errors %d len %d", n, e, l.Len())
	}
}

func TestRequestChecks(t *testing.T) {
	l, _, _ := newTest(t, Config{})
	udp := Dest{Kind: transport.UDP, Addr: farEnd}
	if _, err := l.Request(nil, udp, nil); err == nil {
		t.Fatal("nil request accepted")
	}
	if _, err := l.Request(msg(t, response(200, "z9hG4bKx", "", 1, "OPTIONS")), udp, nil); err == nil {
		t.Fatal("response accepted")
	}
	if _, err := l.Request(outgoing(t, "ACK", "z9hG4bKx"), udp, nil); err == nil {
		t.Fatal("ACK accepted")
	}
	if _, err := l.Request(outgoing(t, "OPTIONS", "1234"), udp, nil); err == nil {
		t.Fatal("RFC 2543 branch accepted")
	}
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKdup"), udp, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKdup"), udp, nil); err == nil {
		t.Fatal("a live branch reused")
	}
	// A CANCEL shares its INVITE's branch but is its own transaction.
	if _, err := l.Request(outgoing(t, "CANCEL", "z9hG4bKdup"), udp, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDrainAndClose(t *testing.T) {
	l, f, r := newTest(t, Config{Timers: Timers{T1: time.Hour}})
	if err := l.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := newCalls()
	if _, err := l.Request(outgoing(t, "INVITE", "z9hG4bKd1"), Dest{Kind: transport.UDP, Addr: farEnd}, c.fn); err != nil {
		t.Fatal(err)
	}
	l.Receive(inbound(t, udpFlow, request("INVITE", "z9hG4bKd2", "", 1, "INVITE")))
	s := r.request(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain: %v", err)
	}
	// Drain returns once the transactions end.
	done := make(chan error, 1)
	go func() { done <- l.Drain(context.Background()) }()
	l.Receive(inbound(t, tcpFlow, request("OPTIONS", "z9hG4bKd3", "", 1, "OPTIONS")))
	o := r.request(t)
	if err := respond(t, o.tx, 200, "x"); err != nil {
		t.Fatal(err)
	}
	// Close forgets the rest, with timers of an hour running.
	l.Close()
	if err := <-done; err != nil {
		t.Fatalf("Drain after Close: %v", err)
	}
	if l.Len() != 0 {
		t.Fatalf("%d after Close", l.Len())
	}
	if err := respond(t, s.tx, 200, "x"); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Respond after Close: %v", err)
	}
	if _, err := l.Request(outgoing(t, "OPTIONS", "z9hG4bKd4"), Dest{Kind: transport.UDP, Addr: farEnd}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Request after Close: %v", err)
	}
	f.drain()
	l.Receive(inbound(t, udpFlow, request("OPTIONS", "z9hG4bKd5", "", 1, "OPTIONS")))
	r.none(t)
	l.Close() // twice is fine
}

func TestManagerTransportWithoutFlow(t *testing.T) {
	m := transport.NewManager(transport.Config{}, func(*transport.Inbound) {})
	defer func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}()
	tp := ManagerTransport(m)
	req := outgoing(t, "OPTIONS", "z9hG4bKm")
	for _, k := range []transport.Kind{transport.WS, transport.WSS} {
		if _, err := tp.SendTo(Dest{Kind: k, Addr: farEnd}, req); !errors.Is(err, transport.ErrFlowGone) {
			t.Fatalf("%v without a flow: %v, want ErrFlowGone", k, err)
		}
	}
	if _, err := tp.SendTo(Dest{Addr: farEnd}, req); err == nil {
		t.Fatal("no kind accepted")
	}
	if _, err := tp.SendTo(Dest{Kind: transport.WS, Flow: 12345}, req); !errors.Is(err, transport.ErrFlowGone) {
		t.Fatalf("unknown flow: %v", err)
	}
	if err := tp.Send(12345, req); !errors.Is(err, transport.ErrFlowGone) {
		t.Fatalf("Send to unknown flow: %v", err)
	}
}

// TestDrainIgnoresAbsorbing checks that a transaction that has its final
// response and only absorbs retransmissions (here a UDP server transaction
// in Completed, timer J an hour away) does not hold a shutdown up.
func TestDrainIgnoresAbsorbing(t *testing.T) {
	l, _, r := newTest(t, Config{Timers: Timers{T1: time.Hour}})
	l.Receive(inbound(t, udpFlow, request("OPTIONS", "z9hG4bKa1", "", 1, "OPTIONS")))
	o := r.request(t)
	if l.Pending() != 1 {
		t.Fatalf("Pending %d before the response, want 1", l.Pending())
	}
	if err := respond(t, o.tx, 200, "x"); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 || l.Pending() != 0 {
		t.Fatalf("Len %d, Pending %d after the response: want 1, 0", l.Len(), l.Pending())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}
