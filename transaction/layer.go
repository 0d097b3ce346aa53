package transaction

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// magicCookie starts every RFC 3261 branch (§8.1.1.7); a branch without it
// comes from an RFC 2543 element and is matched the old way (§17.2.3).
const magicCookie = "z9hG4bK"

// DefaultMaxTransactions is the table bound a zero Config.MaxTransactions
// stands for: about 1 GB of state at worst (3 to 7 KB a transaction), and
// room for a steady 2000 calls/s over UDP, where a finished call keeps
// four transactions for 32 s.
const DefaultMaxTransactions = 300000

// overloadRetryAfter is the Retry-After, in seconds, of the 503 sent when
// the table is full: long enough for the table to drain by timer J/H.
const overloadRetryAfter = "5"

// Errors a ClientFunc, Request or Respond returns.
var (
	// ErrTimeout is given to a ClientFunc when timer B (INVITE, Calling)
	// or timer F (non-INVITE) fires: no final response came.
	ErrTimeout = errors.New("transaction: timed out")
	// ErrOverload is returned by Request when the transaction table is
	// full; the proxy answers the request it meant to forward with 503.
	ErrOverload = errors.New("transaction: too many transactions")
	// ErrFinal is returned by Respond once a final response ends what the
	// state machine lets the transaction user send (a non-2xx final, or
	// any non-2xx after a 2xx).
	ErrFinal = errors.New("transaction: final response already sent")
	// ErrTerminated is returned by Respond on a transaction that has
	// ended (its timers ran out, a send failed, or the layer closed).
	ErrTerminated = errors.New("transaction: terminated")
	// ErrClosed is returned by Request once the layer is closed.
	ErrClosed = errors.New("transaction: layer closed")
)

// Timers are RFC 3261's T1, T2 and T4 (§17.1.1.1, table 4), per Layer so
// that tests and closed networks can shorten them. Zero fields mean
// 500 ms, 4 s and 5 s.
type Timers struct{ T1, T2, T4 time.Duration }

func (t Timers) withDefaults() Timers {
	if t.T1 <= 0 {
		t.T1 = 500 * time.Millisecond
	}
	if t.T2 <= 0 {
		t.T2 = 4 * time.Second
	}
	if t.T4 <= 0 {
		t.T4 = 5 * time.Second
	}
	return t
}

// Handler is the transaction user (the proxy).
type Handler interface {
	// ServeRequest takes a request that made a new server transaction
	// (tx non-nil; for INVITE the layer has already sent 100 Trying),
	// or an ACK that no transaction absorbs (tx nil: the ACK for a 2xx,
	// which a proxy forwards). Called on the transport's goroutine; must
	// not block long.
	ServeRequest(tx *ServerTx, in *transport.Inbound)
	// ServeResponse takes a response that matches no client transaction
	// (a stray). RFC 6026 says a proxy drops it; the hook lets it count
	// and log.
	ServeResponse(in *transport.Inbound)
}

// Config holds a Layer's settings; zero fields take the defaults.
type Config struct {
	Timers    Timers
	Transport Transport
	Handler   Handler
	// Logger takes transport errors, timeouts and strays at Debug level
	// (they can come by the thousand); nil discards.
	Logger *slog.Logger
	// MaxTransactions bounds the live transactions, client and server
	// together (default 300000); past it a new request gets 503 with
	// Retry-After and Request returns ErrOverload. Requests inside a dialog
	// and CANCEL may use a quarter more, so that calls can still end.
	MaxTransactions int
}

// Stats counts what the layer did besides passing messages on.
type Stats struct {
	// Server and Client count the transactions created.
	Server, Client uint64
	// Retransmitted counts the messages the layer sent again: requests on
	// timers A and E, responses on timer G or to a retransmitted request,
	// ACKs to a retransmitted 3xx-6xx.
	Retransmitted uint64
	// Absorbed counts inbound retransmissions kept from the transaction
	// user: requests, ACKs and responses.
	Absorbed uint64
	// Timeouts counts timers B, F and H that fired.
	Timeouts uint64
	// TransportErrors counts sends that failed.
	TransportErrors uint64
	// Strays counts responses that matched no client transaction.
	Strays uint64
	// Overload counts requests refused because the table was full.
	Overload uint64
}

type stats struct {
	server, client, retransmitted, absorbed, timeouts, transportErrors, strays, overload atomic.Uint64
}

// serverKey identifies a server transaction (§17.2.3): the top Via's branch
// and sent-by and the method, ACK counting as INVITE. For an RFC 2543
// request branch holds the old-style composite instead (see key2543).
type serverKey struct {
	branch string
	host   string
	port   int
	method string
}

// clientKey identifies a client transaction (§17.1.3): the branch and the
// CSeq method.
type clientKey struct{ branch, method string }

// Layer is the transaction layer. Its methods are safe for concurrent use.
type Layer struct {
	timers  Timers
	tp      Transport
	h       Handler
	log     *slog.Logger
	max     int
	stats   stats
	closing atomic.Bool

	// life is read-held by every running timer callback, so that Close can
	// wait for them.
	life sync.RWMutex

	// mu guards the tables below. It is a leaf lock: held, it is never
	// waited on for a transaction's lock (only a new transaction's, which
	// nobody else holds yet).
	mu     sync.Mutex
	closed bool
	server map[serverKey]*ServerTx
	client map[clientKey]*ClientTx
}

// New returns a Layer. A nil Transport fails every send; a nil Handler
// leaves every request unanswered but its INVITE's 100 Trying.
func New(cfg Config) *Layer {
	l := &Layer{
		timers: cfg.Timers.withDefaults(),
		tp:     cfg.Transport,
		h:      cfg.Handler,
		log:    cfg.Logger,
		max:    cfg.MaxTransactions,
		server: make(map[serverKey]*ServerTx),
		client: make(map[clientKey]*ClientTx),
	}
	if l.tp == nil {
		l.tp = noTransport{}
	}
	if l.h == nil {
		l.h = noHandler{}
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.max <= 0 {
		l.max = DefaultMaxTransactions
	}
	return l
}

type noTransport struct{}

func (noTransport) SendTo(Dest, *sip.Message) (transport.FlowID, error) {
	return 0, errors.New("transaction: no transport configured")
}
func (noTransport) Send(transport.FlowID, *sip.Message) error {
	return errors.New("transaction: no transport configured")
}

type noHandler struct{}

func (noHandler) ServeRequest(*ServerTx, *transport.Inbound) {}
func (noHandler) ServeResponse(*transport.Inbound)           {}

// Receive takes every inbound message; it is the transport.Handler (pass
// l.Receive to transport.NewManager).
func (l *Layer) Receive(in *transport.Inbound) {
	if in == nil || in.Msg == nil || l.closing.Load() {
		return
	}
	if in.Msg.IsRequest() {
		l.receiveRequest(in)
	} else {
		l.receiveResponse(in)
	}
}

func (l *Layer) receiveRequest(in *transport.Inbound) {
	m := in.Msg
	v := m.TopVia()
	if v.Host == "" {
		l.log.Debug("transaction: request without a Via dropped", "method", m.Method, "flow", in.Flow.ID)
		return
	}
	key, old := requestKey(m, m.Method)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if tx := l.server[key]; tx != nil {
		l.mu.Unlock()
		if old && !tx.matches2543(m) {
			if m.Method == "ACK" {
				l.h.ServeRequest(nil, in)
			} else {
				l.log.Debug("transaction: RFC 2543 request clashes with a live transaction", "method", m.Method, "call-id", m.CallID())
			}
			return
		}
		tx.onRequest(in)
		return
	}
	if m.Method == "ACK" {
		l.mu.Unlock()
		l.h.ServeRequest(nil, in)
		return
	}
	if len(l.server)+len(l.client) >= l.limit(m) {
		l.mu.Unlock()
		l.refuse(in)
		return
	}
	tx := &ServerTx{
		l:        l,
		req:      m,
		src:      in.Flow,
		key:      key,
		invite:   m.Method == "INVITE",
		reliable: in.Flow.Kind != transport.UDP,
	}
	if tx.invite {
		tx.state = stProceeding
	}
	tx.mu.Lock() // new: nobody else can hold it
	l.server[key] = tx
	l.mu.Unlock()
	l.stats.server.Add(1)
	if tx.invite {
		// RFC 3261 §16.2: a stateful proxy answers 100 at once, which
		// quenches the INVITE's retransmissions.
		trying := sip.NewResponse(m, 100, "")
		markSource(trying, in.Flow)
		if err := tx.send(trying); err != nil {
			tx.terminate()
			tx.mu.Unlock()
			l.transportError("sending 100 Trying", err, in.Flow.ID)
			return
		}
		tx.last = trying
	}
	tx.mu.Unlock()
	l.h.ServeRequest(tx, in)
}

// markSource writes received and rport into the top Via of a response the
// layer makes itself (RFC 3261 §18.2.1, RFC 3581 §4), as the proxy does in
// the request before it answers: the 100 Trying is sent before the proxy
// has seen the request.
func markSource(resp *sip.Message, src transport.Flow) {
	v := resp.TopVia()
	addr := src.Remote.Addr().Unmap()
	if !addr.IsValid() {
		return
	}
	host := ""
	if h := strings.Trim(v.Host, "[]"); h != addr.String() {
		host = addr.String()
	}
	port := 0
	if _, ok := v.RPort(); ok {
		port = int(src.Remote.Port())
	}
	if host != "" || port != 0 {
		resp.SetTopViaReceived(host, port)
	}
}

// limit is the table bound for a new transaction of request m: MaxTransactions
// for a request that starts something, a quarter more for one that
// continues or ends a dialog (it has a To tag) and for CANCEL, so that a
// full table still lets calls end.
func (l *Layer) limit(m *sip.Message) int {
	if m.ToTag() != "" || m.Method == "CANCEL" {
		return l.max + l.max/4
	}
	return l.max
}

// refuse answers a request that found the table full with a stateless 503.
func (l *Layer) refuse(in *transport.Inbound) {
	l.stats.overload.Add(1)
	resp := sip.NewResponse(in.Msg, 503, "")
	resp.SetToTag(newTag())
	if err := resp.Add("Retry-After", overloadRetryAfter); err != nil {
		l.log.Debug("transaction: building 503", "err", err)
		return
	}
	if err := l.tp.Send(in.Flow.ID, resp); err != nil {
		l.transportError("sending 503", err, in.Flow.ID)
	}
}

func (l *Layer) receiveResponse(in *transport.Inbound) {
	m := in.Msg
	v := m.TopVia()
	key := clientKey{v.Branch(), m.CSeq().Method}
	l.mu.Lock()
	tx := l.client[key]
	l.mu.Unlock()
	if tx == nil || key.branch == "" {
		l.stats.strays.Add(1)
		l.log.Debug("transaction: stray response", "status", m.StatusCode, "branch", key.branch, "flow", in.Flow.ID)
		l.h.ServeResponse(in)
		return
	}
	tx.onResponse(m)
}

// requestKey returns the server key of request m as if its method were
// method (ACK counts as INVITE), and whether the RFC 2543 fallback made it.
func requestKey(m *sip.Message, method string) (serverKey, bool) {
	if method == "ACK" {
		method = "INVITE"
	}
	v := m.TopVia()
	b := v.Branch()
	if strings.HasPrefix(b, magicCookie) {
		return serverKey{b, v.Host, v.Port, method}, false
	}
	return serverKey{key2543(m), v.Host, v.Port, method}, true
}

// key2543 joins what §17.2.3 compares for an RFC 2543 request but the To
// tag (which an ACK takes from the response): Request-URI, From tag,
// Call-ID, CSeq number and the whole top Via. The NUL start keeps it apart
// from any branch.
func key2543(m *sip.Message) string {
	var top string
	for v, err := range m.Values(sip.HeaderVia) {
		if err == nil {
			top = v
		}
		break
	}
	var b strings.Builder
	b.WriteByte(0)
	b.WriteString(m.RequestURI.String())
	b.WriteByte(0)
	b.WriteString(m.FromTag())
	b.WriteByte(0)
	b.WriteString(m.CallID())
	b.WriteByte(0)
	b.WriteString(strconv.FormatUint(uint64(m.CSeq().Seq), 10))
	b.WriteByte(0)
	b.WriteString(top)
	return b.String()
}

// InviteFor returns the INVITE server transaction a CANCEL request matches
// (RFC 3261 §9.2: the §17.2.3 rules as if the CANCEL were the INVITE),
// or nil.
func (l *Layer) InviteFor(cancel *sip.Message) *ServerTx {
	if cancel == nil || cancel.TopVia().Host == "" {
		return nil
	}
	key, old := requestKey(cancel, "INVITE")
	l.mu.Lock()
	tx := l.server[key]
	l.mu.Unlock()
	if tx == nil || (old && cancel.ToTag() != tx.req.ToTag()) {
		return nil
	}
	return tx
}

// Request starts a client transaction for req, whose top Via must carry an
// RFC 3261 branch that the caller added, and sends it to dst. A send that
// fails at once returns the error and fn is never called. ACK is no
// transaction (§17.1.1.3): send the ACK for a 2xx with Transport.SendTo.
func (l *Layer) Request(req *sip.Message, dst Dest, fn ClientFunc) (*ClientTx, error) {
	if req == nil || !req.IsRequest() {
		return nil, errors.New("transaction: Request needs a request")
	}
	if req.Method == "ACK" {
		return nil, errors.New("transaction: an ACK makes no client transaction")
	}
	v := req.TopVia()
	branch := v.Branch()
	if !strings.HasPrefix(branch, magicCookie) {
		return nil, fmt.Errorf("transaction: %s without an RFC 3261 branch in its top Via", req.Method)
	}
	if fn == nil {
		fn = func(*ClientTx, *sip.Message, error) {}
	}
	tx := &ClientTx{
		l:      l,
		req:    req,
		dest:   dst,
		fn:     fn,
		key:    clientKey{branch, req.Method},
		invite: req.Method == "INVITE",
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return nil, ErrClosed
	case len(l.server)+len(l.client) >= l.limit(req):
		l.mu.Unlock()
		l.stats.overload.Add(1)
		return nil, ErrOverload
	case l.client[tx.key] != nil:
		l.mu.Unlock()
		return nil, fmt.Errorf("transaction: branch %q of a live %s transaction", branch, req.Method)
	}
	// In the table before the send: the answer may come before SendTo
	// returns, and then waits for tx.mu.
	l.client[tx.key] = tx
	l.mu.Unlock()
	l.stats.client.Add(1)
	flow, err := l.tp.SendTo(dst, req)
	if err != nil {
		l.stats.transportErrors.Add(1)
		tx.terminate()
		return nil, fmt.Errorf("transaction: sending %s: %w", req.Method, err)
	}
	tx.flow = flow
	tx.reliable = dst.Kind != transport.UDP && dst.Kind != 0
	tx.start()
	return tx, nil
}

// Len returns the number of live transactions.
func (l *Layer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.server) + len(l.client)
}

// snapshot returns the live transactions, to be visited without l.mu
// (each has a lock of its own); l.mu is held.
func (l *Layer) snapshot() ([]*ServerTx, []*ClientTx) {
	servers := make([]*ServerTx, 0, len(l.server))
	for _, tx := range l.server {
		servers = append(servers, tx)
	}
	clients := make([]*ClientTx, 0, len(l.client))
	for _, tx := range l.client {
		clients = append(clients, tx)
	}
	return servers, clients
}

// Pending returns the number of transactions still waiting for a final
// response: server transactions in Trying or Proceeding, client ones in
// Calling, Trying or Proceeding. The others only absorb retransmissions
// until their timers end.
func (l *Layer) Pending() int {
	l.mu.Lock()
	servers, clients := l.snapshot()
	l.mu.Unlock()
	n := 0
	for _, tx := range servers {
		tx.mu.Lock()
		if tx.state == stTrying || tx.state == stProceeding {
			n++
		}
		tx.mu.Unlock()
	}
	for _, tx := range clients {
		tx.mu.Lock()
		if tx.state == stCalling || tx.state == stTrying || tx.state == stProceeding {
			n++
		}
		tx.mu.Unlock()
	}
	return n
}

// Drain waits until no transaction is Pending (or ctx ends), for a
// shutdown that lets calls being set up get their answer. Transactions that
// only absorb retransmissions (Completed, Accepted, Confirmed) do not hold
// it up: Close ends them.
func (l *Layer) Drain(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n := l.Pending()
		if n == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("transaction: draining %d transactions: %w", n, ctx.Err())
		}
	}
}

// Close stops every timer and forgets every transaction; Receive drops
// what comes afterwards and Request fails with ErrClosed. It waits for the
// timer callbacks under way, so it must not be called from a ClientFunc.
func (l *Layer) Close() {
	l.closing.Store(true)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	servers, clients := l.snapshot()
	l.mu.Unlock()
	for _, tx := range servers {
		tx.mu.Lock()
		tx.terminate()
		tx.mu.Unlock()
	}
	for _, tx := range clients {
		tx.mu.Lock()
		tx.terminate()
		tx.mu.Unlock()
	}
	// Wait out the callbacks that were running; the ones that start later
	// see the layer closing and return.
	l.life.Lock()
	//lint:ignore SA2001 taking the lock is the wait
	l.life.Unlock()
}

// Stats returns the counters so far.
func (l *Layer) Stats() Stats {
	s := &l.stats
	return Stats{
		Server:          s.server.Load(),
		Client:          s.client.Load(),
		Retransmitted:   s.retransmitted.Load(),
		Absorbed:        s.absorbed.Load(),
		Timeouts:        s.timeouts.Load(),
		TransportErrors: s.transportErrors.Load(),
		Strays:          s.strays.Load(),
		Overload:        s.overload.Load(),
	}
}

// after runs f after d unless the layer is closed by then; Close waits
// for an f that has started.
func (l *Layer) after(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() {
		l.life.RLock()
		defer l.life.RUnlock()
		if l.closing.Load() {
			return
		}
		f()
	})
}

// removeServer and removeClient take a terminated transaction out of its
// table (if it is still the one there) and wake Drain when the tables
// empty.
func (l *Layer) removeServer(tx *ServerTx) {
	l.mu.Lock()
	if l.server[tx.key] == tx {
		delete(l.server, tx.key)
	}
	l.mu.Unlock()
}

func (l *Layer) removeClient(tx *ClientTx) {
	l.mu.Lock()
	if l.client[tx.key] == tx {
		delete(l.client, tx.key)
	}
	l.mu.Unlock()
}

func (l *Layer) transportError(what string, err error, flow transport.FlowID) {
	l.stats.transportErrors.Add(1)
	l.log.Debug("transaction: "+what, "flow", flow, "err", err)
}

// newTag returns a random To tag for the responses the layer makes itself.
func newTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// state is where a transaction is in its state machine (RFC 3261 figures
// 5 to 8, RFC 6026 figures 5 and 7).
type state uint8

const (
	stTrying state = iota
	stCalling
	stProceeding
	stCompleted
	stConfirmed
	stAccepted
	stTerminated
)

func (s state) String() string {
	switch s {
	case stTrying:
		return "Trying"
	case stCalling:
		return "Calling"
	case stProceeding:
		return "Proceeding"
	case stCompleted:
		return "Completed"
	case stConfirmed:
		return "Confirmed"
	case stAccepted:
		return "Accepted"
	case stTerminated:
		return "Terminated"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// stop stops t when it is set.
func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}
