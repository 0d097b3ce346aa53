package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// Methods the UA treats specially.
const (
	mINVITE   = "INVITE"
	mACK      = "ACK"
	mBYE      = "BYE"
	mCANCEL   = "CANCEL"
	mREGISTER = "REGISTER"
)

// clientTx is a client transaction as the read loop sees it. Until done,
// responses go to ch for the goroutine running the transaction; after,
// the read loop answers retransmitted final responses of an INVITE with
// their ACK (§17.1.1.3, §13.2.2.4) until linger passes.
type clientTx struct {
	method string
	ch     chan *sip.Message
	// Under UA.mu:
	done     bool
	invite   *sip.Message      // the INVITE, for 2xx from other forks
	ackFinal []byte            // ACK of the non-2xx final response
	acks     map[string][]byte // ACK of each 2xx, by To tag
	linger   time.Time
}

// txHooks let the caller of runTx follow a transaction.
type txHooks struct {
	// provisional sees each 1xx.
	provisional func(*sip.Message)
	// abandon, when set, is called once when ctx ends before the final
	// response; the transaction then goes on to its own end (an INVITE
	// is cancelled rather than forgotten). When nil, ctx's end ends it.
	abandon func()
}

// addClient registers a client transaction, dropping finished ones whose
// linger passed; it refuses when too many are live.
func (ua *UA) addClient(key string, tx *clientTx) error {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ua.closed {
		return ErrClosed
	}
	if len(ua.clients) >= maxClientTx {
		now := time.Now()
		for k, t := range ua.clients {
			if t.done && now.After(t.linger) {
				delete(ua.clients, k)
			}
		}
		if len(ua.clients) >= maxClientTx {
			return fmt.Errorf("client: %d transactions in progress", len(ua.clients))
		}
	}
	ua.clients[key] = tx
	return nil
}

// finishClient marks tx done: non-INVITE transactions go at once,
// INVITE ones stay for their retransmitted final responses.
func (ua *UA) finishClient(key string, tx *clientTx) {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if tx.method != mINVITE || ua.reliable && tx.ackFinal != nil {
		delete(ua.clients, key)
		return
	}
	tx.done = true
	tx.linger = time.Now().Add(timerLinger)
}

// dropClient forgets a transaction that ended without a final response.
func (ua *UA) dropClient(key string) {
	ua.mu.Lock()
	delete(ua.clients, key)
	ua.mu.Unlock()
}

// runTx runs one client transaction (§17.1): it sends req, retransmits it
// over UDP (Timer A / E), and returns the final response. For an INVITE it
// also ACKs the final response, a 2xx per §13.2.2.4 and any other per
// §17.1.1.3, and keeps doing so for retransmissions.
func (ua *UA) runTx(ctx context.Context, req *sip.Message, h txHooks) (*sip.Message, error) {
	method := req.Method
	key := txKey(branchOf(req), method)
	tx := &clientTx{method: method, ch: make(chan *sip.Message, respQueue)}
	if method == mINVITE {
		tx.invite = req
	}
	if err := ua.addClient(key, tx); err != nil {
		return nil, err
	}
	b, err := ua.sendMsg(req)
	if err != nil {
		ua.dropClient(key)
		return nil, fmt.Errorf("client: %s: %w", method, err)
	}

	var retransmit <-chan time.Time
	interval := t1
	var rt *time.Timer
	if !ua.reliable {
		rt = time.NewTimer(interval)
		defer rt.Stop()
		retransmit = rt.C
	}
	wait := ua.cfg.Timeout
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	ctxDone := ctx.Done()
	for {
		select {
		case <-ctxDone:
			if h.abandon == nil {
				ua.dropClient(key)
				return nil, fmt.Errorf("client: %s: %w", method, ctx.Err())
			}
			h.abandon()
			ctxDone = nil
		case <-ua.closing:
			ua.dropClient(key)
			return nil, ErrClosed
		case <-ua.dead:
			ua.dropClient(key)
			return nil, fmt.Errorf("client: %s: %w", method, ua.linkError())
		case <-deadline.C:
			ua.dropClient(key)
			return nil, fmt.Errorf("client: %s: no final response within %v: %w", method, wait, ErrTimeout)
		case <-retransmit:
			if err := ua.send(b); err != nil {
				ua.dropClient(key)
				return nil, fmt.Errorf("client: %s retransmission: %w", method, err)
			}
			interval = min(2*interval, t2)
			rt.Reset(interval)
		case m := <-tx.ch:
			if m.StatusCode < 200 {
				if method == mINVITE {
					// Proceeding: no more retransmissions, and the wait
					// becomes Timer C's.
					retransmit = nil
					if wait != ringLimit {
						wait = ringLimit
						deadline.Reset(wait)
					}
				} else {
					interval = t2
				}
				if h.provisional != nil {
					h.provisional(m)
				}
				continue
			}
			if method == mINVITE {
				ua.ackFinal(tx, req, m)
			}
			ua.finishClient(key, tx)
			return m, nil
		}
	}
}

// ackFinal sends the ACK for an INVITE's final response and records it
// for retransmissions of that response.
func (ua *UA) ackFinal(tx *clientTx, invite, resp *sip.Message) {
	var (
		ack *sip.Message
		err error
	)
	if resp.StatusCode >= 300 {
		ack, err = sip.NewAck(invite, resp)
	} else {
		ack, err = newUACCall(ua, invite, resp).newRequest(mACK, invite.CSeq().Seq, invite)
	}
	var b []byte
	if err == nil {
		b, err = ua.sendMsg(ack)
	}
	if err != nil {
		ua.log.Warn("ACK not sent", "call-id", invite.CallID(), "status", resp.StatusCode, "err", err)
	}
	ua.mu.Lock()
	if resp.StatusCode >= 300 {
		tx.ackFinal = b
	} else {
		if tx.acks == nil {
			tx.acks = make(map[string][]byte)
		}
		tx.acks[resp.ToTag()] = b
	}
	ua.mu.Unlock()
}

// handleResponse matches a response to its client transaction by branch
// and method.
func (ua *UA) handleResponse(m *sip.Message) {
	n := 0
	for _, err := range m.Vias() {
		if err != nil {
			n = -1
			break
		}
		n++
	}
	if n != 1 {
		// §8.1.3.3: a response with more than one Via was misrouted.
		ua.log.Debug("response with other than one Via dropped", "vias", n)
		return
	}
	key := txKey(branchOf(m), m.CSeq().Method)
	ua.mu.Lock()
	tx := ua.clients[key]
	if tx == nil {
		ua.mu.Unlock()
		ua.log.Debug("response matches no transaction", "status", m.StatusCode, "cseq", m.CSeq().Method)
		return
	}
	if !tx.done {
		select {
		case tx.ch <- m:
		default:
			ua.log.Debug("response queue full, dropped", "status", m.StatusCode)
		}
		ua.mu.Unlock()
		return
	}
	if m.StatusCode < 200 || tx.method != mINVITE {
		ua.mu.Unlock()
		return
	}
	var ack []byte
	if m.StatusCode >= 300 {
		ack = tx.ackFinal
	} else {
		ack = tx.acks[m.ToTag()]
	}
	invite := tx.invite
	ua.mu.Unlock()
	if ack != nil {
		if err := ua.send(ack); err != nil {
			ua.log.Debug("ACK retransmission", "err", err)
		}
		return
	}
	if m.StatusCode < 300 && invite != nil {
		ua.forked2xx(tx, invite, m)
	}
}

// forked2xx handles a 2xx from a second fork of an INVITE whose call is
// already set up: §13.2.2.4 wants it ACKed, and this UA, which holds one
// call per INVITE, then ends it with a BYE.
func (ua *UA) forked2xx(tx *clientTx, invite, resp *sip.Message) {
	ua.log.Debug("2xx from another fork: ACK and BYE", "call-id", resp.CallID(), "to-tag", resp.ToTag())
	ua.ackFinal(tx, invite, resp)
	c := newUACCall(ua, invite, resp)
	ua.goFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ua.cfg.Timeout)
		defer cancel()
		if _, err := c.Bye(ctx); err != nil && !errors.Is(err, ErrClosed) {
			ua.log.Debug("BYE of a forked call", "err", err)
		}
	})
}

// transact runs a transaction and answers digest challenges (§22.2): a 401
// or 407 is answered once, and once more when the server says the nonce
// was stale. nextSeq gives the CSeq of each new attempt; sent, when set,
// is told each request as it goes out.
func (ua *UA) transact(ctx context.Context, req *sip.Message, nextSeq func() uint32, sent func(*sip.Message), h txHooks) (*sip.Message, error) {
	for attempt := 0; ; attempt++ {
		if sent != nil {
			sent(req)
		}
		resp, err := ua.runTx(ctx, req, h)
		if err != nil {
			return nil, err
		}
		if (resp.StatusCode != 401 && resp.StatusCode != 407) || ua.cfg.Password == "" || attempt > 1 {
			return resp, nil
		}
		if attempt == 1 && !staleChallenge(resp) {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, nil
		}
		next, err := ua.authorize(req, resp, nextSeq())
		if err != nil {
			ua.log.Warn("challenge not answered", "status", resp.StatusCode, "err", err)
			return resp, nil
		}
		req = next
	}
}

// newRequest builds an out-of-dialog request from the UA's AOR.
func (ua *UA) newRequest(method string, ruri sip.URI, to, callID, fromTag string, seq uint32) (*sip.Message, error) {
	b := builder{m: sip.NewRequest(method, ruri)}
	b.add("Via", ua.newVia())
	b.add("Max-Forwards", maxForwards)
	b.add("From", "<"+ua.aor.String()+">;tag="+fromTag)
	b.add("To", to)
	b.add("Call-ID", callID)
	b.add("CSeq", cseqString(seq, method))
	if method == mINVITE || method == mREGISTER {
		b.add("Contact", "<"+ua.contact.String()+">")
	}
	b.add("User-Agent", userAgent)
	return b.done()
}

// builder adds header fields to a message and keeps the first error, so
// that a value taken from a malformed peer message fails the operation
// instead of going out broken.
type builder struct {
	m   *sip.Message
	err error
}

func (b *builder) add(name, value string) {
	if b.err != nil {
		return
	}
	if err := b.m.Add(name, value); err != nil {
		b.err = fmt.Errorf("client: header %s %q: %w", name, value, err)
	}
}

// done returns the message, or the first error.
func (b *builder) done() (*sip.Message, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.m, nil
}
