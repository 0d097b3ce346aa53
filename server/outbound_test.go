package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/client"
	"github.com/sipedge/sipedge/transport"
)

// TestEdgeAndRegistrar runs two sipedges: an edge that browsers reach over
// WebSocket, whose static route sends example.com to a core registrar over
// UDP. A REGISTER through the edge gets the edge's Path with the browser's
// flow token and ";ob" (RFC 5626 §5.1, RFC 3327); a call from a phone at
// the core follows that Path back through the edge to the browser's
// WebSocket, and the browser hangs up through both. An edge without
// outbound gets 439 from the core, unless the core assumes the first hop
// supports it.
func TestEdgeAndRegistrar(t *testing.T) {
	for _, tc := range []struct {
		name           string
		edgeOutbound   bool // the edge supports outbound (adds ;ob)
		assumeFirstHop bool // the core's AssumeFirstHopSupportsOutbound
		want           int  // the REGISTER's final status
	}{
		{"outbound", true, false, 200},
		{"edge without outbound", false, false, 439},
		{"edge without outbound, assumed", false, true, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core := startServer(t, threeTransports, fmt.Sprintf("--AssumeFirstHopSupportsOutbound=%v", tc.assumeFirstHop))
			coreUDP := addr(t, core, transport.UDP)
			edge := startServer(t, fmt.Sprintf(`
IPAddress = 127.0.0.1
UDPPort = 5060
WSPort = 8080
Route1Pattern = example\.com
Route1Destination = sip:%s
DisableOutbound = %v
`, coreUDP, !tc.edgeOutbound))
			bob := dialConfig(t, edge, transport.WS, client.Config{User: "bob", Instance: "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", RegID: 1})
			resp, err := bob.Register(ctx5(t), 600)
			if err != nil || resp.StatusCode != tc.want {
				t.Fatalf("REGISTER: %v %v, want %d", resp, err, tc.want)
			}
			if tc.want != 200 {
				return // RFC 5626 §6: the first hop lacks outbound
			}
			bs := core.Registrar().Lookup("sip:bob@example.com")
			if len(bs) != 1 || len(bs[0].Path) != 1 || !bs[0].Outbound {
				t.Fatalf("core bindings %+v: want one outbound binding with the edge's Path", bs)
			}
			path := bs[0].Path[0]
			edgeUDP := addr(t, edge, transport.UDP)
			if !strings.Contains(path, "@"+edgeUDP.String()) || !strings.Contains(path, ";lr") || strings.Contains(path, ";ob") != tc.edgeOutbound {
				t.Fatalf("Path %q: want the edge's UDP address with a flow token, lr, and ob only from an outbound edge", path)
			}
			alice := dial(t, core, transport.UDP, "alice", nil)
			register(t, alice)
			call(t, alice, bob)
		})
	}
}

// TestInDialogBothWays sends in-dialog requests each way between two
// browsers-like WS clients: the flow tokens in the Record-Route take each
// to the other's WebSocket (RFC 7118, RFC 5626 §5.3).
func TestInDialogBothWays(t *testing.T) {
	s := startServer(t, threeTransports)
	a := dial(t, s, transport.WS, "alice", nil)
	b := dial(t, s, transport.WS, "bob", nil)
	register(t, a)
	register(t, b)
	calls := make(chan *client.Call, 1)
	go func() {
		r := incoming(t, b)
		c, err := r.Answer(ctx5(t), sdp)
		if err != nil {
			t.Error(err)
			close(calls)
			return
		}
		calls <- c
	}()
	ca, final, err := a.Invite(ctx5(t), b.AOR(), sdp, nil)
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("INVITE: %v %v", final, err)
	}
	cb := <-calls
	if cb == nil {
		t.FailNow()
	}
	for i, pair := range []struct {
		from *client.Call
		to   *client.UA
	}{{ca, b}, {cb, a}, {ca, b}} {
		got := make(chan string, 1)
		go func() {
			r := incoming(t, pair.to)
			_ = r.Respond(200, "", "", "")
			got <- r.Msg.Method + " " + r.Msg.Body
		}()
		resp, err := pair.from.Request(ctx5(t), "INFO", "text/plain", fmt.Sprint(i))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("INFO %d: %v %v", i, resp, err)
		}
		if g := <-got; g != fmt.Sprintf("INFO %d", i) {
			t.Fatalf("INFO %d arrived as %q", i, g)
		}
	}
	if _, err := ca.Bye(ctx5(t)); err != nil {
		t.Fatal(err)
	}
}

// TestFlowFailover registers one instance over two WebSockets with two
// reg-ids and closes the newer one: the INVITE goes to the flow that is
// left, not to both and not to nowhere (RFC 5626 §5.3).
func TestFlowFailover(t *testing.T) {
	s := startServer(t, threeTransports)
	const inst = "urn:uuid:00000000-0000-4000-8000-000000000001"
	b1 := dialConfig(t, s, transport.WS, client.Config{User: "bob", Instance: inst, RegID: 1})
	register(t, b1)
	b2 := dialConfig(t, s, transport.WS, client.Config{User: "bob", Instance: inst, RegID: 2})
	register(t, b2)
	if n := len(s.Registrar().Lookup("sip:bob@example.com")); n != 2 {
		t.Fatalf("%d bindings, want 2 (one per reg-id)", n)
	}
	b2.Close()
	a := dial(t, s, transport.UDP, "alice", nil)
	done := make(chan error, 1)
	go func() {
		r := incoming(t, b1)
		c, err := r.Answer(ctx5(t), sdp)
		if err == nil {
			<-c.Done()
		}
		done <- err
	}()
	c, final, err := a.Invite(ctx5(t), "sip:bob@example.com", sdp, nil)
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("INVITE: %v %v", final, err)
	}
	if _, err := c.Bye(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGRUU registers bob from two instances with Supported: gruu: a
// MESSAGE to one instance's pub-gruu or temp-gruu reaches that instance
// only, and a GRUU that names no instance gets 480 (RFC 5627 §6).
func TestGRUU(t *testing.T) {
	s := startServer(t, threeTransports)
	b1 := dialConfig(t, s, transport.WS, client.Config{User: "bob", Instance: "urn:uuid:00000000-0000-4000-8000-00000000000a", RegID: 1})
	b2 := dialConfig(t, s, transport.WS, client.Config{User: "bob", Instance: "urn:uuid:00000000-0000-4000-8000-00000000000b", RegID: 1})
	register(t, b2)
	resp, err := b1.Register(ctx5(t), 600)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("REGISTER: %v %v", resp, err)
	}
	var pub, temp string
	for c, err := range resp.Contacts() {
		if err != nil {
			t.Fatal(err)
		}
		if c.Instance() == "urn:uuid:00000000-0000-4000-8000-00000000000a" {
			pub, temp = c.PubGRUU(), c.TempGRUU()
		}
	}
	if pub == "" || temp == "" {
		t.Fatalf("no GRUUs for b1 in\n%s", resp)
	}
	a := dial(t, s, transport.UDP, "alice", nil)
	for _, target := range []string{pub, temp} {
		got := make(chan string, 1)
		go func() {
			r := incoming(t, b1)
			_ = r.Respond(200, "", "", "")
			got <- r.Msg.Body
		}()
		resp, err := a.Request(ctx5(t), "MESSAGE", target, "text/plain", target)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("MESSAGE to %s: %v %v", target, resp, err)
		}
		if g := <-got; g != target {
			t.Fatalf("b1 got %q", g)
		}
		// A fork would have reached b2 by the time b1 answered; give it a
		// moment anyway before calling its absence proof.
		select {
		case r := <-b2.Incoming():
			t.Fatalf("the other instance got %s too", r.Msg.Method)
		case <-time.After(100 * time.Millisecond):
		}
	}
	resp, err = a.Request(ctx5(t), "MESSAGE", "sip:bob@example.com;gr=urn:uuid:00000000-0000-4000-8000-00000000000c", "text/plain", "x")
	if err != nil || resp.StatusCode != 480 {
		t.Fatalf("MESSAGE to an unknown GRUU: %v %v", resp, err)
	}
}

// TestTrace runs with repro's LogLevel STACK: every SIP message received
// and sent is in the log, as an operator expects of a SIP trace.
func TestTrace(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: LevelTrace}))
	s := runConfig(t, "trace.config", "IPAddress = 127.0.0.1\nUDPPort = 5060\nTCPPort = 0\nLogLevel = STACK\nDomains = example.com\nDisableAuth = true\nDataDirectory = "+t.TempDir(), Options{Logger: logger})
	a := dial(t, s, transport.UDP, "alice", nil)
	register(t, a)
	log := buf.String()
	if !strings.Contains(log, "msg=received") || !strings.Contains(log, "REGISTER sip:example.com SIP/2.0") ||
		!strings.Contains(log, "msg=send ") || !strings.Contains(log, "SIP/2.0 200 OK") {
		t.Fatalf("no SIP trace in the log:\n%s", log)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
