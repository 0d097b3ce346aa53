package transaction

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimers are short, so that every timer fires within a test; the
// assertions wait for events, never for durations.
var testTimers = Timers{T1: 2 * time.Millisecond, T2: 8 * time.Millisecond, T4: 10 * time.Millisecond}

// wait bounds every wait of the tests.
const wait = 5 * time.Second

// sent is one message the fake transport was given.
type sent struct {
	flow transport.FlowID // Send's flow, or the one SendTo returned
	dst  *Dest            // set for SendTo
	msg  *sip.Message     // parsed back from the wire form
}

// fakeTransport records every send; its errors can be set per method.
type fakeTransport struct {
	ch chan sent

	mu        sync.Mutex
	sendToErr error
	sendErr   error
	flow      transport.FlowID
}

func newFake() *fakeTransport {
	return &fakeTransport{ch: make(chan sent, 4096), flow: 7}
}

func (f *fakeTransport) setErrs(sendTo, send error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendToErr, f.sendErr = sendTo, send
}

func (f *fakeTransport) record(s sent, m *sip.Message) {
	// Through the wire form: what was sent must parse.
	p, err := sip.Parse(m.AppendTo(nil))
	if err != nil {
		panic(fmt.Sprintf("sent message does not parse: %v\n%s", err, m))
	}
	s.msg = p
	f.ch <- s
}

func (f *fakeTransport) SendTo(dst Dest, m *sip.Message) (transport.FlowID, error) {
	f.mu.Lock()
	err, id := f.sendToErr, f.flow
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if dst.Flow != 0 {
		id = dst.Flow
	}
	f.record(sent{flow: id, dst: &dst}, m)
	return id, nil
}

func (f *fakeTransport) Send(id transport.FlowID, m *sip.Message) error {
	f.mu.Lock()
	err := f.sendErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	f.record(sent{flow: id}, m)
	return nil
}

// next returns the next send, failing the test after a bounded wait.
func (f *fakeTransport) next(t *testing.T) sent {
	t.Helper()
	select {
	case s := <-f.ch:
		return s
	case <-time.After(wait):
		t.Fatal("nothing sent within the wait")
		return sent{}
	}
}

// nextStatus skips sends until a response with code comes.
func (f *fakeTransport) nextStatus(t *testing.T, code int) sent {
	t.Helper()
	for range 1000 {
		if s := f.next(t); s.msg.StatusCode == code {
			return s
		}
	}
	t.Fatalf("no %d among the sends", code)
	return sent{}
}

// nextMethod skips sends until a request with method comes.
func (f *fakeTransport) nextMethod(t *testing.T, method string) sent {
	t.Helper()
	for range 1000 {
		if s := f.next(t); s.msg.Method == method {
			return s
		}
	}
	t.Fatalf("no %s among the sends", method)
	return sent{}
}

// drain empties the record of sends so far.
func (f *fakeTransport) drain() {
	for {
		select {
		case <-f.ch:
		default:
			return
		}
	}
}

// served is one call of the fake Handler.
type served struct {
	tx *ServerTx
	in *transport.Inbound
}

// recorder is a Handler that records its calls and may answer at once.
type recorder struct {
	reqs   chan served
	resps  chan *transport.Inbound
	answer func(tx *ServerTx) // run inside ServeRequest when set
}

func newRecorder() *recorder {
	return &recorder{reqs: make(chan served, 1024), resps: make(chan *transport.Inbound, 1024)}
}

func (r *recorder) ServeRequest(tx *ServerTx, in *transport.Inbound) {
	if r.answer != nil && tx != nil {
		r.answer(tx)
	}
	r.reqs <- served{tx, in}
}

func (r *recorder) ServeResponse(in *transport.Inbound) { r.resps <- in }

// request returns the next ServeRequest call; the Layer calls the handler
// synchronously from Receive, so it is there already.
func (r *recorder) request(t *testing.T) served {
	t.Helper()
	select {
	case s := <-r.reqs:
		return s
	case <-time.After(wait):
		t.Fatal("no request served")
		return served{}
	}
}

// none checks that the handler got no request so far.
func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-r.reqs:
		t.Fatalf("unexpected request served: %s (tx %v)", s.in.Msg.Method, s.tx != nil)
	default:
	}
}

// newTest returns a layer over a fake transport and a recording handler,
// closed at the end of the test.
func newTest(t *testing.T, cfg Config) (*Layer, *fakeTransport, *recorder) {
	t.Helper()
	f, r := newFake(), newRecorder()
	if cfg.Timers == (Timers{}) {
		cfg.Timers = testTimers
	}
	cfg.Transport, cfg.Handler = f, r
	l := New(cfg)
	t.Cleanup(l.Close)
	return l, f, r
}

// msg parses a message written with \n line ends.
func msg(t testing.TB, s string) *sip.Message {
	t.Helper()
	m, err := sip.Parse([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, s)
	}
	return m
}

// udpFlow and tcpFlow are the flows inbound test messages come on.
var (
	udpFlow = transport.Flow{ID: 1, Kind: transport.UDP,
		Local:  netip.MustParseAddrPort("127.0.0.1:5060"),
		Remote: netip.MustParseAddrPort("127.0.0.1:5099")}
	tcpFlow = transport.Flow{ID: 2, Kind: transport.TCP,
		Local:  netip.MustParseAddrPort("127.0.0.1:5060"),
		Remote: netip.MustParseAddrPort("127.0.0.1:40000")}
)

func inbound(t testing.TB, flow transport.Flow, s string) *transport.Inbound {
	t.Helper()
	return &transport.Inbound{Msg: msg(t, s), Flow: flow, Received: time.Now()}
}

// request writes a request; branch "" leaves the branch out (RFC 2543).
func request(method, branch, toTag string, cseq int, cseqMethod string) string {
	via := "SIP/2.0/UDP 127.0.0.1:5099"
	if branch != "" {
		via += ";branch=" + branch
	}
	to := "<sip:bob@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return fmt.Sprintf("%s sip:bob@127.0.0.1 SIP/2.0\n"+
		"Via: %s\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5098;branch=z9hG4bKfirst\n"+
		"Max-Forwards: 70\n"+
		"From: <sip:alice@127.0.0.1>;tag=a1\n"+
		"To: %s\n"+
		"Call-ID: call-1@127.0.0.1\n"+
		"CSeq: %d %s\n"+
		"Content-Length: 0\n\n", method, via, to, cseq, cseqMethod)
}

// response writes a response to a request sent with branch.
func response(code int, branch, toTag string, cseq int, method string) string {
	to := "<sip:bob@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return fmt.Sprintf("SIP/2.0 %d %s\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKup\n"+
		"From: <sip:alice@127.0.0.1>;tag=a1\n"+
		"To: %s\n"+
		"Call-ID: call-2@127.0.0.1\n"+
		"CSeq: %d %s\n"+
		"Content-Length: 0\n\n", code, sip.StatusText(code), branch, to, cseq, method)
}

// respond answers tx with code, a To tag added to a final response.
func respond(t *testing.T, tx *ServerTx, code int, toTag string) error {
	t.Helper()
	r := sip.NewResponse(tx.Request(), code, "")
	if toTag != "" {
		r.SetToTag(toTag)
	}
	return tx.Respond(r)
}

// eventually polls cond, boundedly in time and count.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for range 100000 {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s: not reached within the wait", what)
}

// clientCalls records what a ClientFunc gets.
type clientCalls struct {
	mu    sync.Mutex
	resps []*sip.Message
	errs  []error
	ch    chan struct{}
}

func newCalls() *clientCalls { return &clientCalls{ch: make(chan struct{}, 1024)} }

func (c *clientCalls) fn(_ *ClientTx, resp *sip.Message, err error) {
	c.mu.Lock()
	if resp != nil {
		c.resps = append(c.resps, resp)
	} else {
		c.errs = append(c.errs, err)
	}
	c.mu.Unlock()
	c.ch <- struct{}{}
}

func (c *clientCalls) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.resps), len(c.errs)
}

// waitErr waits for the error call.
func (c *clientCalls) waitErr(t *testing.T) error {
	t.Helper()
	eventually(t, "client error", func() bool { _, n := c.counts(); return n > 0 })
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errs[0]
}

var errBroken = errors.New("broken pipe (fake)")
