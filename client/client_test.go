package client

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sipedge/sipedge/sip"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

// testCtx bounds a test's operations.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialUA dials a UA and closes it at the end of the test.
func dialUA(t *testing.T, cfg Config) *UA {
	t.Helper()
	ua, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial %s %s: %v", cfg.Transport, cfg.Server, err)
	}
	t.Cleanup(func() {
		if err := ua.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ua
}

// next returns the next incoming request of ua.
func next(t *testing.T, ua *UA) *ServerRequest {
	t.Helper()
	select {
	case r, ok := <-ua.Incoming():
		if !ok {
			t.Fatal("Incoming closed")
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no incoming request")
	}
	return nil
}

// pairUAs returns alice and bob connected through a relay over transport.
func pairUAs(t *testing.T, transport string) (alice, bob *UA) {
	return pairUAsOn(t, transport, "127.0.0.1")
}

// pairUAsOn is pairUAs with the relay on host (udp and tcp).
func pairUAsOn(t *testing.T, transport, host string) (alice, bob *UA) {
	t.Helper()
	cfg := func(user, server string, tc *tls.Config) Config {
		return Config{Transport: transport, Server: server, TLS: tc, User: user, Domain: "example.com", Timeout: 5 * time.Second}
	}
	switch transport {
	case "udp":
		r := newUDPRelay(t, net.ParseIP(host))
		alice = dialUA(t, cfg("alice", r.addr(), nil))
		bob = dialUA(t, cfg("bob", r.addr(), nil))
		r.pair(alice.LocalAddr(), bob.LocalAddr())
	case "tcp":
		r := newStreamRelay(t, host, nil)
		alice = dialUA(t, cfg("alice", r.addr(), nil))
		bob = dialUA(t, cfg("bob", r.addr(), nil))
	case "tls":
		srv, cli := testCert(t)
		r := newStreamRelay(t, host, srv)
		alice = dialUA(t, cfg("alice", r.addr(), cli))
		bob = dialUA(t, cfg("bob", r.addr(), cli))
	case "ws":
		r := newWSRelay(t, nil)
		alice = dialUA(t, cfg("alice", "ws://"+r.addr()+"/", nil))
		bob = dialUA(t, cfg("bob", "ws://"+r.addr()+"/", nil))
	case "wss":
		srv, cli := testCert(t)
		r := newWSRelay(t, srv)
		alice = dialUA(t, cfg("alice", "wss://"+r.addr()+"/", cli))
		bob = dialUA(t, cfg("bob", "wss://"+r.addr()+"/", cli))
	default:
		t.Fatalf("transport %q", transport)
	}
	return alice, bob
}

var transports = []string{"udp", "tcp", "tls", "ws", "wss"}

func TestMessage(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			alice, bob := pairUAs(t, tr)
			ctx := testCtx(t)
			done := make(chan error, 1)
			go func() {
				r := next(t, bob)
				if r.Msg.Method != "MESSAGE" || r.Msg.Body != "hello bob" || r.Msg.ContentType() != "text/plain" {
					t.Errorf("bob got %s %q (%s)", r.Msg.Method, r.Msg.Body, r.Msg.ContentType())
				}
				if mf, _ := r.Msg.MaxForwards(); mf != 70 {
					t.Errorf("Max-Forwards %d", mf)
				}
				done <- r.Respond(200, "", "", "")
			}()
			resp, err := alice.Request(ctx, "MESSAGE", bob.AOR(), "text/plain", "hello bob")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.ToTag() == "" {
				t.Fatalf("response %d, To tag %q", resp.StatusCode, resp.ToTag())
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestViaAndContact(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			alice, bob := pairUAs(t, tr)
			ctx := testCtx(t)
			go func() {
				r := next(t, bob)
				v := r.Msg.TopVia()
				if v.Transport != strings.ToUpper(tr) || !strings.HasPrefix(v.Branch(), "z9hG4bK") || !v.Params.Has("rport") {
					t.Errorf("Via %s", v.String())
				}
				ws := tr == "ws" || tr == "wss"
				if ws != strings.HasSuffix(v.Host, ".invalid") {
					t.Errorf("Via host %q", v.Host)
				}
				_ = r.Respond(200, "", "", "")
			}()
			if _, err := alice.Request(ctx, "OPTIONS", bob.AOR(), "", ""); err != nil {
				t.Fatal(err)
			}
			c, err := sip.ParseURI(alice.Contact())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"udp": "", "tcp": "tcp", "tls": "tls", "ws": "ws", "wss": "ws"}[tr]
			if c.Transport() != want || c.User != "alice" {
				t.Errorf("Contact %s", alice.Contact())
			}
			if alice.AOR() != "sip:alice@example.com" {
				t.Errorf("AOR %s", alice.AOR())
			}
		})
	}
}

func TestInviteAckBye(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			alice, bob := pairUAs(t, tr)
			ctx := testCtx(t)
			bobCall := make(chan *Call, 1)
			go func() {
				defer close(bobCall)
				r := next(t, bob)
				if r.Msg.Method != "INVITE" || r.Msg.Body != testSDP {
					t.Errorf("bob got %s %q", r.Msg.Method, r.Msg.Body)
				}
				if err := r.Respond(180, "", "", ""); err != nil {
					t.Error(err)
					return
				}
				c, err := r.Answer(ctx, testSDP)
				if err != nil {
					t.Error(err)
					return
				}
				bobCall <- c
			}()
			var provisional []int
			call, resp, err := alice.Invite(ctx, bob.AOR(), testSDP, func(m *sip.Message) { provisional = append(provisional, m.StatusCode) })
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || call == nil || resp.Body != testSDP {
				t.Fatalf("Invite: %d, call %v", resp.StatusCode, call)
			}
			if len(provisional) != 1 || provisional[0] != 180 {
				t.Errorf("provisional %v", provisional)
			}
			bc := <-bobCall
			if bc == nil {
				t.FailNow()
			}
			if len(call.RouteSet()) != 0 || len(bc.RouteSet()) != 0 {
				t.Errorf("route sets %v %v", call.RouteSet(), bc.RouteSet())
			}
			if call.CallID() != bc.CallID() {
				t.Errorf("Call-IDs %q %q", call.CallID(), bc.CallID())
			}

			// An in-dialog request from bob reaches alice with its Call.
			go func() {
				r := next(t, alice)
				if r.Call() != call || r.Msg.Method != "INFO" {
					t.Errorf("alice got %s, call %v", r.Msg.Method, r.Call())
				}
				_ = r.Respond(200, "", "", "")
			}()
			if resp, err := bc.Request(ctx, "INFO", "application/dtmf-relay", "Signal=1\r\n"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("INFO: %v %v", resp, err)
			}

			resp, err = call.Bye(ctx)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("BYE: %v %v", resp, err)
			}
			for _, c := range []*Call{call, bc} {
				select {
				case <-c.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("call not done after BYE")
				}
			}
		})
	}
}

func TestCancelWhileRinging(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			alice, bob := pairUAs(t, tr)
			ctx := testCtx(t)
			cancelled := make(chan error, 1)
			go func() {
				r := next(t, bob)
				if err := r.Respond(180, "", "", ""); err != nil {
					cancelled <- err
					return
				}
				select {
				case <-r.Cancelled():
					// The UA answered 487 itself: a late answer fails.
					if _, err := r.Answer(ctx, testSDP); err == nil {
						t.Error("Answer after CANCEL succeeded")
					}
					cancelled <- nil
				case <-time.After(10 * time.Second):
					cancelled <- context.DeadlineExceeded
				}
			}()
			o, err := alice.InviteAsync(ctx, bob.AOR(), testSDP)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-o.Provisional():
				if m.StatusCode != 180 {
					t.Fatalf("provisional %d", m.StatusCode)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no 180")
			}
			cresp, err := o.Cancel(ctx)
			if err != nil || cresp.StatusCode != 200 {
				t.Fatalf("CANCEL: %v %v", cresp, err)
			}
			call, resp, err := o.Wait(ctx)
			if err != nil || call != nil || resp.StatusCode != 487 {
				t.Fatalf("Wait: %v %v %v", call, resp, err)
			}
			if err := <-cancelled; err != nil {
				t.Fatal(err)
			}
			if _, err := o.Cancel(ctx); err == nil {
				t.Error("second CANCEL after the final response succeeded")
			}
		})
	}
}

func TestIPv6Loopback(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no ::1: %v", err)
	} else {
		ln.Close()
	}
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			alice, bob := pairUAsOn(t, tr, "::1")
			ctx := testCtx(t)
			if !strings.Contains(alice.Contact(), "@[::1]:") {
				t.Errorf("Contact %s", alice.Contact())
			}
			go func() {
				r := next(t, bob)
				if v := r.Msg.TopVia(); v.Host != "[::1]" || v.Port == 0 {
					t.Errorf("Via %s", v.String())
				}
				_ = r.Respond(200, "", "", "")
			}()
			if resp, err := alice.Request(ctx, "MESSAGE", bob.AOR(), "text/plain", "over ::1"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("MESSAGE: %v %v", resp, err)
			}
		})
	}
}

func TestInviteRejected(t *testing.T) {
	alice, bob := pairUAs(t, "udp")
	ctx := testCtx(t)
	go func() {
		r := next(t, bob)
		if err := r.Respond(200, "", "", ""); err == nil {
			t.Error("Respond 200 to INVITE accepted")
		}
		_ = r.Respond(486, "", "", "")
	}()
	call, resp, err := alice.Invite(ctx, bob.AOR(), testSDP, nil)
	if err != nil || call != nil || resp.StatusCode != 486 {
		t.Fatalf("Invite: %v %v %v", call, resp, err)
	}
}

func TestInDialogBYEForUnknownCall(t *testing.T) {
	alice, _ := pairUAs(t, "tcp")
	ctx := testCtx(t)
	resp, err := alice.Request(ctx, "BYE", "sip:bob@example.com", "", "")
	if err != nil || resp.StatusCode != 481 {
		t.Fatalf("BYE outside a dialog: %v %v", resp, err)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := testCtx(t)
	for _, cfg := range []Config{
		{Transport: "sctp", Server: "127.0.0.1:5060", User: "a", Domain: "example.com"},
		{Transport: "ws", Server: "127.0.0.1:5060", User: "a", Domain: "example.com"},
		{Transport: "udp", Server: "127.0.0.1:5060"},
	} {
		if ua, err := Dial(ctx, cfg); err == nil {
			ua.Close()
			t.Errorf("Dial %+v succeeded", cfg)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if ua, err := Dial(ctx, Config{Transport: "tcp", Server: addr, User: "a", Domain: "example.com"}); err == nil {
		ua.Close()
		t.Error("Dial to a closed port succeeded")
	}
}

func TestClosedUA(t *testing.T) {
	alice, _ := pairUAs(t, "udp")
	if err := alice.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-alice.Incoming(); ok {
		t.Error("Incoming open after Close")
	}
	if _, err := alice.Request(testCtx(t), "OPTIONS", "sip:bob@example.com", "", ""); err == nil {
		t.Error("Request after Close succeeded")
	}
}
