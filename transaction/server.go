package transaction

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// ServerTx is a server transaction (RFC 3261 §17.2): the layer made it for
// an inbound request and keeps it until its timers run out.
type ServerTx struct {
	l        *Layer
	req      *sip.Message
	src      transport.Flow
	key      serverKey
	invite   bool
	reliable bool

	mu    sync.Mutex
	state state
	last  *sip.Message // the response request retransmissions get again
	toTag string       // the final response's To tag (RFC 2543 ACK matching)
	g     time.Duration
	// retx is timer G, timeout timer H, end timer I, J or L.
	retx, timeout, end *time.Timer
}

// Request returns the request that made the transaction.
func (tx *ServerTx) Request() *sip.Message { return tx.req }

// Source returns the flow the request came on, which every response takes.
func (tx *ServerTx) Source() transport.Flow { return tx.src }

// Respond sends resp (built with sip.NewResponse from Request()) and
// advances the state machine. INVITE: 1xx keeps it in Proceeding; 2xx
// moves it to Accepted (RFC 6026), where further 2xx may still be sent,
// since a proxy forwards every 2xx of every branch; 3xx-6xx moves it to
// Completed, where timer G retransmits over UDP until the ACK or timer H.
// Non-INVITE: a final response moves it to Completed, where request
// retransmissions get that response again until timer J. A response the
// state no longer allows returns ErrFinal, one after the end ErrTerminated;
// a send that fails ends the transaction and returns the transport's error.
func (tx *ServerTx) Respond(resp *sip.Message) error {
	if resp == nil || resp.IsRequest() || resp.StatusCode < 100 || resp.StatusCode > 699 {
		return errors.New("transaction: Respond needs a response with a status from 100 to 699")
	}
	code := resp.StatusCode
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch tx.state {
	case stTerminated:
		return ErrTerminated
	case stCompleted, stConfirmed:
		return ErrFinal
	case stAccepted:
		if code/100 != 2 {
			return ErrFinal
		}
	}
	if err := tx.send(resp); err != nil {
		tx.l.stats.transportErrors.Add(1)
		tx.terminate()
		return fmt.Errorf("transaction: sending %d to %s: %w", code, tx.req.Method, err)
	}
	t := &tx.l.timers
	switch {
	case code < 200:
		tx.last = resp
		if !tx.invite {
			tx.state = stProceeding
		}
	case tx.invite && code < 300:
		if tx.state != stAccepted {
			tx.state = stAccepted
			tx.last = resp
			tx.toTag = resp.ToTag()
			tx.end = tx.l.after(64*t.T1, tx.timerL)
		}
	case tx.invite:
		tx.state = stCompleted
		tx.last = resp
		tx.toTag = resp.ToTag()
		if !tx.reliable {
			tx.g = t.T1
			tx.retx = tx.l.after(tx.g, tx.timerG)
		}
		tx.timeout = tx.l.after(64*t.T1, tx.timerH)
	default:
		tx.state = stCompleted
		tx.last = resp
		if tx.reliable {
			tx.terminate() // timer J is zero
		} else {
			tx.end = tx.l.after(64*t.T1, tx.timerJ)
		}
	}
	return nil
}

// onRequest takes a request that matched the transaction: a retransmission,
// or the ACK of an INVITE.
func (tx *ServerTx) onRequest(in *transport.Inbound) {
	l := tx.l
	tx.mu.Lock()
	if in.Msg.Method == "ACK" {
		switch tx.state {
		case stCompleted:
			tx.state = stConfirmed
			stop(tx.retx)
			stop(tx.timeout)
			if tx.reliable {
				tx.terminate() // timer I is zero
			} else {
				tx.end = l.after(l.timers.T4, tx.timerI)
			}
			tx.mu.Unlock()
		case stAccepted:
			// RFC 6026 §8.7: an ACK in Accepted goes to the transaction
			// user (an ACK for a 2xx reusing the INVITE's branch).
			tx.mu.Unlock()
			l.h.ServeRequest(nil, in)
		default:
			tx.mu.Unlock()
			l.stats.absorbed.Add(1)
		}
		return
	}
	defer tx.mu.Unlock()
	l.stats.absorbed.Add(1)
	if tx.state != stProceeding && tx.state != stCompleted || tx.last == nil {
		return // Trying, Accepted, Confirmed: nothing to send again
	}
	if err := tx.send(tx.last); err != nil {
		l.transportError("answering a retransmitted "+tx.req.Method, err, tx.src.ID)
		tx.terminate()
		return
	}
	l.stats.retransmitted.Add(1)
}

// matches2543 finishes the RFC 2543 match of §17.2.3 with the To tag,
// which the key leaves out: an ACK carries the final response's, any other
// request the original's.
func (tx *ServerTx) matches2543(m *sip.Message) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if m.Method == "ACK" {
		return tx.toTag != "" && m.ToTag() == tx.toTag
	}
	return m.ToTag() == tx.req.ToTag()
}

func (tx *ServerTx) timerG() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state != stCompleted {
		return
	}
	if err := tx.send(tx.last); err != nil {
		tx.l.transportError("retransmitting a final response", err, tx.src.ID)
		tx.terminate()
		return
	}
	tx.l.stats.retransmitted.Add(1)
	tx.g = min(2*tx.g, tx.l.timers.T2)
	tx.retx = tx.l.after(tx.g, tx.timerG)
}

func (tx *ServerTx) timerH() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state != stCompleted {
		return
	}
	tx.l.stats.timeouts.Add(1)
	tx.l.log.Debug("transaction: no ACK before timer H", "call-id", tx.req.CallID(), "flow", tx.src.ID)
	tx.terminate()
}

func (tx *ServerTx) timerI() { tx.endIn(stConfirmed) }
func (tx *ServerTx) timerJ() { tx.endIn(stCompleted) }
func (tx *ServerTx) timerL() { tx.endIn(stAccepted) }

// endIn terminates the transaction when it is still in s (a timer that
// fired late, after the state moved on, does nothing).
func (tx *ServerTx) endIn(s state) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == s {
		tx.terminate()
	}
}

// send writes msg back over the request's flow; tx.mu is held, so that
// responses leave in the order the state machine took them.
func (tx *ServerTx) send(msg *sip.Message) error {
	return tx.l.tp.Send(tx.src.ID, msg)
}

// terminate ends the transaction; tx.mu is held.
func (tx *ServerTx) terminate() {
	if tx.state == stTerminated {
		return
	}
	tx.state = stTerminated
	stop(tx.retx)
	stop(tx.timeout)
	stop(tx.end)
	tx.l.removeServer(tx)
}
