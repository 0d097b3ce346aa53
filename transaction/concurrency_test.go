package transaction

import (
	"fmt"
	"sync"
	"testing"

	"github.com/sipedge/sipedge/transport"
)

// TestConcurrentTraffic runs requests, their retransmissions, answers and
// client transactions from several goroutines at once, then closes the
// layer with timers running (the race detector and goleak judge).
func TestConcurrentTraffic(t *testing.T) {
	l, f, r := newTest(t, Config{})
	go func() { // answer every new transaction as a proxy would
		for s := range r.reqs {
			if s.tx != nil {
				_ = respond(t, s.tx, 200, "c")
			}
		}
	}()
	t.Cleanup(func() { close(r.reqs) })
	go func() { // keep the fake transport's record from filling up
		for range f.ch {
		}
	}()
	t.Cleanup(func() { close(f.ch) })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				branch := fmt.Sprintf("z9hG4bK-%d-%d", g, i)
				req := inbound(t, udpFlow, request("OPTIONS", branch, "", i+1, "OPTIONS"))
				l.Receive(req)
				l.Receive(req)
				if _, err := l.Request(outgoing(t, "INFO", branch), Dest{Kind: transport.UDP, Addr: farEnd}, nil); err != nil {
					t.Error(err)
					return
				}
				l.Receive(inbound(t, udpFlow, response(200, branch, "x", 1, "INFO")))
			}
		}()
	}
	wg.Wait()
	l.Close()
	if l.Len() != 0 {
		t.Fatalf("%d left after Close", l.Len())
	}
}
