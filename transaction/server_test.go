package transaction

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/transport"
)

func TestServerInviteCompletedConfirmed(t *testing.T) {
	l, f, r := newTest(t, Config{})
	inv := request("INVITE", "z9hG4bKinv1", "", 1, "INVITE")
	l.Receive(inbound(t, udpFlow, inv))
	trying := f.next(t)
	if trying.msg.StatusCode != 100 || trying.flow != udpFlow.ID || trying.msg.ToTag() != "" {
		t.Fatalf("first send: %d on flow %d, To tag %q; want 100 Trying on flow 1 without a tag", trying.msg.StatusCode, trying.flow, trying.msg.ToTag())
	}
	s := r.request(t)
	if s.tx == nil || s.tx.Request().Method != "INVITE" || s.tx.Source() != udpFlow {
		t.Fatalf("ServeRequest got tx %v", s.tx)
	}
	// A retransmission is absorbed and gets the 100 again.
	l.Receive(inbound(t, udpFlow, inv))
	f.nextStatus(t, 100)
	r.none(t)

	if err := respond(t, s.tx, 486, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 486)
	// Timer G retransmits the final response over UDP.
	f.nextStatus(t, 486)
	f.nextStatus(t, 486)
	// A request retransmission in Completed gets it too.
	l.Receive(inbound(t, udpFlow, inv))
	f.nextStatus(t, 486)
	if err := respond(t, s.tx, 500, "b1"); !errors.Is(err, ErrFinal) {
		t.Fatalf("second final: %v, want ErrFinal", err)
	}
	if err := respond(t, s.tx, 200, "b1"); !errors.Is(err, ErrFinal) {
		t.Fatalf("2xx after 486: %v, want ErrFinal", err)
	}
	// The ACK (same branch) is absorbed: Confirmed, then timer I ends it.
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKinv1", "b1", 1, "ACK")))
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKinv1", "b1", 1, "ACK")))
	r.none(t)
	eventually(t, "timer I", func() bool { return l.Len() == 0 })
	if err := respond(t, s.tx, 486, "b1"); !errors.Is(err, ErrTerminated) {
		t.Fatalf("after the end: %v, want ErrTerminated", err)
	}
	st := l.Stats()
	if st.Server != 1 || st.Absorbed < 3 || st.Retransmitted < 3 || st.Timeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerInviteTimerH(t *testing.T) {
	l, f, r := newTest(t, Config{})
	l.Receive(inbound(t, udpFlow, request("INVITE", "z9hG4bKinvH", "", 1, "INVITE")))
	s := r.request(t)
	if err := respond(t, s.tx, 404, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 404)
	eventually(t, "timer H", func() bool { return l.Len() == 0 })
	if st := l.Stats(); st.Timeouts != 1 {
		t.Fatalf("timeouts %d, want 1", st.Timeouts)
	}
	// The ACK that comes too late has no transaction: it goes up.
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKinvH", "b1", 1, "ACK")))
	if s := r.request(t); s.tx != nil || s.in.Msg.Method != "ACK" {
		t.Fatalf("late ACK: tx %v method %s", s.tx, s.in.Msg.Method)
	}
}

func TestServerInviteAccepted(t *testing.T) {
	l, f, r := newTest(t, Config{})
	inv := request("INVITE", "z9hG4bKacc", "", 1, "INVITE")
	l.Receive(inbound(t, udpFlow, inv))
	s := r.request(t)
	f.nextStatus(t, 100)
	if err := respond(t, s.tx, 180, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 180)
	// In Proceeding a retransmission gets the latest provisional.
	l.Receive(inbound(t, udpFlow, inv))
	f.nextStatus(t, 180)

	if err := respond(t, s.tx, 200, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 200)
	// Another branch's 2xx goes out too (RFC 6026 Accepted).
	if err := respond(t, s.tx, 200, "b2"); err != nil {
		t.Fatal(err)
	}
	if got := f.nextStatus(t, 200); got.msg.ToTag() != "b2" {
		t.Fatalf("second 2xx has tag %q", got.msg.ToTag())
	}
	if err := respond(t, s.tx, 486, "b3"); !errors.Is(err, ErrFinal) {
		t.Fatalf("non-2xx in Accepted: %v, want ErrFinal", err)
	}
	// An INVITE retransmission in Accepted is absorbed, nothing sent; an
	// ACK reusing the INVITE's branch goes to the TU without a tx.
	before := l.Stats().Absorbed
	l.Receive(inbound(t, udpFlow, inv))
	if got := l.Stats().Absorbed; got != before+1 {
		t.Fatalf("absorbed %d, want %d", got, before+1)
	}
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKacc", "b1", 1, "ACK")))
	if a := r.request(t); a.tx != nil || a.in.Msg.Method != "ACK" {
		t.Fatalf("ACK in Accepted: tx %v, method %s", a.tx, a.in.Msg.Method)
	}
	eventually(t, "timer L", func() bool { return l.Len() == 0 })
	if err := respond(t, s.tx, 200, "b4"); !errors.Is(err, ErrTerminated) {
		t.Fatalf("2xx after timer L: %v, want ErrTerminated", err)
	}
	// Every send of the test was a response on the request's flow.
	f.drain()
}

func TestAckFor2xxGoesUp(t *testing.T) {
	l, _, r := newTest(t, Config{})
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKack2xx", "b1", 1, "ACK")))
	s := r.request(t)
	if s.tx != nil || s.in.Msg.Method != "ACK" {
		t.Fatalf("tx %v method %s", s.tx, s.in.Msg.Method)
	}
	if l.Len() != 0 {
		t.Fatalf("an ACK made a transaction")
	}
}

func TestServerReliable(t *testing.T) {
	l, f, r := newTest(t, Config{})
	// INVITE over TCP: no timer G; the ACK ends it at once (timer I = 0).
	l.Receive(inbound(t, tcpFlow, request("INVITE", "z9hG4bKtcp", "", 1, "INVITE")))
	s := r.request(t)
	if got := f.nextStatus(t, 100); got.flow != tcpFlow.ID {
		t.Fatalf("100 on flow %d", got.flow)
	}
	if err := respond(t, s.tx, 603, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 603)
	l.Receive(inbound(t, tcpFlow, request("ACK", "z9hG4bKtcp", "b1", 1, "ACK")))
	if n := l.Len(); n != 0 {
		t.Fatalf("after the ACK over TCP %d transactions live, want 0", n)
	}
	// Non-INVITE over TCP: the final response ends it (timer J = 0).
	l.Receive(inbound(t, tcpFlow, request("OPTIONS", "z9hG4bKtcpo", "", 1, "OPTIONS")))
	s = r.request(t)
	if err := respond(t, s.tx, 200, "b1"); err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("after the 200 over TCP %d transactions live, want 0", n)
	}
	select {
	case extra := <-f.ch:
		if extra.msg.StatusCode != 200 {
			t.Fatalf("unexpected send %d", extra.msg.StatusCode)
		}
	default:
		t.Fatal("the 200 was not sent")
	}
}

func TestServerNonInvite(t *testing.T) {
	l, f, r := newTest(t, Config{})
	reg := request("REGISTER", "z9hG4bKreg", "", 5, "REGISTER")
	l.Receive(inbound(t, udpFlow, reg))
	s := r.request(t)
	if s.tx == nil {
		t.Fatal("no transaction")
	}
	// Trying: a retransmission is absorbed, nothing is sent.
	l.Receive(inbound(t, udpFlow, reg))
	r.none(t)
	if st := l.Stats(); st.Absorbed != 1 || st.Retransmitted != 0 {
		t.Fatalf("stats in Trying %+v", st)
	}
	// Proceeding: the provisional is sent again.
	if err := respond(t, s.tx, 183, ""); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 183)
	l.Receive(inbound(t, udpFlow, reg))
	f.nextStatus(t, 183)
	// Completed: the final is sent again, a second one refused.
	if err := respond(t, s.tx, 200, "r1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 200)
	l.Receive(inbound(t, udpFlow, reg))
	f.nextStatus(t, 200)
	if err := respond(t, s.tx, 200, "r1"); !errors.Is(err, ErrFinal) {
		t.Fatalf("second final: %v", err)
	}
	r.none(t)
	eventually(t, "timer J", func() bool { return l.Len() == 0 })
	// Once gone, the same request makes a new transaction.
	l.Receive(inbound(t, udpFlow, reg))
	if s2 := r.request(t); s2.tx == nil || s2.tx == s.tx {
		t.Fatal("no new transaction after timer J")
	}
}

func TestCancelMatchesInvite(t *testing.T) {
	l, f, r := newTest(t, Config{})
	l.Receive(inbound(t, udpFlow, request("INVITE", "z9hG4bKcx", "", 3, "INVITE")))
	inv := r.request(t)
	f.nextStatus(t, 100)
	cancel := inbound(t, udpFlow, request("CANCEL", "z9hG4bKcx", "", 3, "CANCEL"))
	l.Receive(cancel)
	c := r.request(t)
	if c.tx == nil || c.tx == inv.tx || c.tx.Request().Method != "CANCEL" {
		t.Fatal("CANCEL did not make its own transaction")
	}
	if got := l.InviteFor(c.in.Msg); got != inv.tx {
		t.Fatalf("InviteFor = %p, want %p", got, inv.tx)
	}
	if got := l.InviteFor(msg(t, request("CANCEL", "z9hG4bKother", "", 3, "CANCEL"))); got != nil {
		t.Fatal("InviteFor matched another branch")
	}
	if l.InviteFor(nil) != nil {
		t.Fatal("InviteFor(nil) matched")
	}
	if l.Len() != 2 {
		t.Fatalf("%d transactions, want 2", l.Len())
	}
}

func TestRFC2543Fallback(t *testing.T) {
	l, f, r := newTest(t, Config{})
	inv := request("INVITE", "", "", 9, "INVITE") // no branch at all
	l.Receive(inbound(t, udpFlow, inv))
	s := r.request(t)
	f.nextStatus(t, 100)
	l.Receive(inbound(t, udpFlow, inv))
	f.nextStatus(t, 100)
	r.none(t)
	// An old branch (no magic cookie) is matched the old way too.
	old := request("OPTIONS", "1234", "", 9, "OPTIONS")
	l.Receive(inbound(t, udpFlow, old))
	o := r.request(t)
	l.Receive(inbound(t, udpFlow, old))
	r.none(t)
	if err := respond(t, o.tx, 200, "o1"); err != nil {
		t.Fatal(err)
	}

	if got := l.InviteFor(msg(t, request("CANCEL", "", "", 9, "CANCEL"))); got != s.tx {
		t.Fatal("RFC 2543 CANCEL did not find its INVITE")
	}
	if got := l.InviteFor(msg(t, request("CANCEL", "", "", 10, "CANCEL"))); got != nil {
		t.Fatal("CANCEL with another CSeq matched")
	}
	if err := respond(t, s.tx, 486, "b1"); err != nil {
		t.Fatal(err)
	}
	f.nextStatus(t, 486)
	// An ACK with another To tag is not this transaction's: it goes up.
	l.Receive(inbound(t, udpFlow, request("ACK", "", "zz", 9, "ACK")))
	if a := r.request(t); a.tx != nil {
		t.Fatal("ACK with a foreign tag got a transaction")
	}
	// The ACK with the response's tag confirms it.
	l.Receive(inbound(t, udpFlow, request("ACK", "", "b1", 9, "ACK")))
	r.none(t)
	eventually(t, "timer I after the RFC 2543 ACK", func() bool {
		s.tx.mu.Lock()
		defer s.tx.mu.Unlock()
		return s.tx.state == stTerminated
	})
}

func TestOverload503(t *testing.T) {
	l, f, r := newTest(t, Config{MaxTransactions: 1})
	l.Receive(inbound(t, udpFlow, request("INVITE", "z9hG4bKo1", "", 1, "INVITE")))
	r.request(t)
	f.nextStatus(t, 100)
	l.Receive(inbound(t, udpFlow, request("OPTIONS", "z9hG4bKo2", "", 1, "OPTIONS")))
	got := f.nextStatus(t, 503)
	if v, ok := got.msg.Get("Retry-After"); !ok || v == "" || got.msg.ToTag() == "" {
		t.Fatalf("503 without Retry-After or To tag:\n%s", got.msg)
	}
	r.none(t)
	// An ACK is never refused: it makes no transaction.
	l.Receive(inbound(t, udpFlow, request("ACK", "z9hG4bKo3", "t", 1, "ACK")))
	if a := r.request(t); a.tx != nil {
		t.Fatal("ACK got a tx")
	}
	if _, err := l.Request(msg(t, request("OPTIONS", "z9hG4bKo4", "", 1, "OPTIONS")), Dest{Kind: transport.UDP}, nil); !errors.Is(err, ErrOverload) {
		t.Fatalf("Request: %v, want ErrOverload", err)
	}
	if st := l.Stats(); st.Overload != 2 {
		t.Fatalf("overload %d, want 2", st.Overload)
	}
}

func TestServerTransportErrors(t *testing.T) {
	l, f, r := newTest(t, Config{})
	l.Receive(inbound(t, udpFlow, request("OPTIONS", "z9hG4bKte", "", 1, "OPTIONS")))
	s := r.request(t)
	f.setErrs(nil, transport.ErrFlowGone)
	err := respond(t, s.tx, 200, "x")
	if !errors.Is(err, transport.ErrFlowGone) {
		t.Fatalf("Respond: %v, want ErrFlowGone", err)
	}
	if l.Len() != 0 {
		t.Fatal("a failed send left the transaction")
	}
	// An INVITE whose 100 cannot be sent ends there.
	l.Receive(inbound(t, udpFlow, request("INVITE", "z9hG4bKte2", "", 1, "INVITE")))
	r.none(t)
	if l.Len() != 0 || l.Stats().TransportErrors != 2 {
		t.Fatalf("len %d stats %+v", l.Len(), l.Stats())
	}
}

func TestRespondChecks(t *testing.T) {
	l, _, r := newTest(t, Config{})
	l.Receive(inbound(t, udpFlow, request("OPTIONS", "z9hG4bKrc", "", 1, "OPTIONS")))
	s := r.request(t)
	if err := s.tx.Respond(nil); err == nil {
		t.Fatal("nil response accepted")
	}
	if err := s.tx.Respond(msg(t, request("OPTIONS", "z9hG4bKx", "", 1, "OPTIONS"))); err == nil {
		t.Fatal("a request accepted as response")
	}
	// Nothing malformed reaches a transaction: no Via, nil messages.
	l.Receive(nil)
	l.Receive(&transport.Inbound{})
}

// TestOverloadHeadroom checks that a full table still takes requests that
// end or continue a dialog, up to a quarter more, so calls can hang up.
func TestOverloadHeadroom(t *testing.T) {
	l, f, r := newTest(t, Config{MaxTransactions: 4})
	for i := range 4 {
		l.Receive(inbound(t, tcpFlow, request("OPTIONS", fmt.Sprintf("z9hG4bKh%d", i), "", 1, "OPTIONS")))
		r.request(t)
	}
	l.Receive(inbound(t, tcpFlow, request("OPTIONS", "z9hG4bKh5", "", 1, "OPTIONS")))
	f.nextStatus(t, 503)
	l.Receive(inbound(t, tcpFlow, request("BYE", "z9hG4bKh6", "t", 2, "BYE")))
	if b := r.request(t); b.tx == nil {
		t.Fatal("BYE in a full table got no transaction")
	}
	l.Receive(inbound(t, tcpFlow, request("BYE", "z9hG4bKh7", "t", 3, "BYE")))
	f.nextStatus(t, 503)
}

// TestTryingMarksSource checks that the 100 Trying the layer sends itself
// carries received and rport (RFC 3581 §4), like the proxy's responses.
func TestTryingMarksSource(t *testing.T) {
	l, f, r := newTest(t, Config{})
	m := request("INVITE", "z9hG4bKrp", "", 1, "INVITE")
	m = strings.Replace(m, "branch=z9hG4bKrp", "branch=z9hG4bKrp;rport", 1)
	l.Receive(inbound(t, udpFlow, m))
	r.request(t)
	got := f.nextStatus(t, 100)
	v := got.msg.TopVia()
	if p, ok := v.RPort(); !ok || p != int(udpFlow.Remote.Port()) {
		t.Fatalf("100 Trying Via %s: want rport=%d", v.String(), udpFlow.Remote.Port())
	}
}
