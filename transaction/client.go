package transaction

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// ClientFunc gets each response of a client transaction (resp non-nil), or
// once an error (resp nil): ErrTimeout (timer B in Calling, timer F) or the
// transport's error (errors.Is(err, transport.ErrFlowGone) works). For
// INVITE every 2xx is passed on, the retransmissions in the RFC 6026
// Accepted state included; a 3xx-6xx only once, the layer sending the ACK
// itself (§17.1.1.3). Responses keep their top Via (the proxy removes it).
type ClientFunc func(tx *ClientTx, resp *sip.Message, err error)

// ClientTx is a client transaction (RFC 3261 §17.1).
type ClientTx struct {
	l      *Layer
	req    *sip.Message
	dest   Dest
	fn     ClientFunc
	key    clientKey
	invite bool

	mu       sync.Mutex
	state    state
	flow     transport.FlowID
	reliable bool
	interval time.Duration // of timer A or E
	ack      *sip.Message  // the ACK for a 3xx-6xx
	// retx is timer A or E, timeout B or F, end D, K or M.
	retx, timeout, end *time.Timer
}

// Request returns the request the transaction sends.
func (tx *ClientTx) Request() *sip.Message { return tx.req }

// Dest returns where the request was sent.
func (tx *ClientTx) Dest() Dest { return tx.dest }

// Flow returns the flow the request went over, on which a CANCEL or an ACK
// for a 2xx may follow it.
func (tx *ClientTx) Flow() transport.FlowID {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.flow
}

// start arms the first timers once the request is sent; tx.mu is held.
func (tx *ClientTx) start() {
	t := &tx.l.timers
	if tx.invite {
		tx.state = stCalling
		if !tx.reliable {
			tx.interval = t.T1
			tx.retx = tx.l.after(tx.interval, tx.timerA)
		}
		tx.timeout = tx.l.after(64*t.T1, tx.timerB)
		return
	}
	tx.state = stTrying
	if !tx.reliable {
		tx.interval = t.T1
		tx.retx = tx.l.after(tx.interval, tx.timerE)
	}
	tx.timeout = tx.l.after(64*t.T1, tx.timerF)
}

// onResponse runs the state machine for a response that matched, and then,
// without the lock, hands it to the transaction user when it should see it.
func (tx *ClientTx) onResponse(resp *sip.Message) {
	tx.mu.Lock()
	var deliver bool
	if tx.invite {
		deliver = tx.inviteResponse(resp)
	} else {
		deliver = tx.response(resp)
	}
	tx.mu.Unlock()
	if deliver {
		tx.fn(tx, resp, nil)
	} else {
		tx.l.stats.absorbed.Add(1)
	}
}

// inviteResponse is the INVITE client state machine (RFC 3261 figure 5 as
// RFC 6026 amends it); tx.mu is held.
func (tx *ClientTx) inviteResponse(resp *sip.Message) bool {
	l := tx.l
	code := resp.StatusCode
	switch tx.state {
	case stCalling, stProceeding:
		switch {
		case code < 200:
			if tx.state == stCalling {
				tx.state = stProceeding
				stop(tx.retx)
				stop(tx.timeout)
			}
		case code < 300:
			tx.state = stAccepted
			stop(tx.retx)
			stop(tx.timeout)
			tx.end = l.after(64*l.timers.T1, tx.timerM)
		default:
			tx.state = stCompleted
			stop(tx.retx)
			stop(tx.timeout)
			ack, err := sip.NewAck(tx.req, resp)
			if err == nil {
				tx.ack = ack
				err = l.tp.Send(tx.flow, ack)
			}
			if err != nil {
				// The response still goes up: the transaction user needs
				// the final answer more than the news of the failed ACK.
				l.transportError("sending the ACK for "+strconv.Itoa(code), err, tx.flow)
				tx.terminate()
				return true
			}
			if tx.reliable {
				tx.terminate() // timer D is zero
			} else {
				tx.end = l.after(64*l.timers.T1, tx.timerD)
			}
		}
		return true
	case stCompleted:
		if code >= 300 && tx.ack != nil {
			if err := l.tp.Send(tx.flow, tx.ack); err != nil {
				l.transportError("sending the ACK again", err, tx.flow)
				tx.terminate()
			} else {
				l.stats.retransmitted.Add(1)
			}
		}
		return false
	case stAccepted:
		return code/100 == 2
	}
	return false
}

// response is the non-INVITE client state machine (RFC 3261 figure 6);
// tx.mu is held.
func (tx *ClientTx) response(resp *sip.Message) bool {
	if tx.state != stTrying && tx.state != stProceeding {
		return false
	}
	if resp.StatusCode < 200 {
		tx.state = stProceeding
		return true
	}
	tx.state = stCompleted
	stop(tx.retx)
	stop(tx.timeout)
	if tx.reliable {
		tx.terminate() // timer K is zero
	} else {
		tx.end = tx.l.after(tx.l.timers.T4, tx.timerK)
	}
	return true
}

// timerA retransmits the INVITE in Calling, doubling the interval each
// time (§17.1.1.2; timer B bounds it).
func (tx *ClientTx) timerA() {
	tx.mu.Lock()
	if tx.state != stCalling {
		tx.mu.Unlock()
		return
	}
	tx.interval *= 2
	tx.retransmit()
}

// timerE retransmits a non-INVITE request: the interval doubles up to T2
// in Trying and is T2 in Proceeding (§17.1.2.2).
func (tx *ClientTx) timerE() {
	tx.mu.Lock()
	switch tx.state {
	case stTrying:
		tx.interval = min(2*tx.interval, tx.l.timers.T2)
	case stProceeding:
		tx.interval = tx.l.timers.T2
	default:
		tx.mu.Unlock()
		return
	}
	tx.retransmit()
}

// retransmit sends the request again and re-arms the timer that called it;
// tx.mu is held and released.
func (tx *ClientTx) retransmit() {
	l := tx.l
	if err := l.tp.Send(tx.flow, tx.req); err != nil {
		l.transportError("retransmitting "+tx.req.Method, err, tx.flow)
		tx.terminate()
		tx.mu.Unlock()
		tx.fn(tx, nil, fmt.Errorf("transaction: retransmitting %s: %w", tx.req.Method, err))
		return
	}
	l.stats.retransmitted.Add(1)
	if tx.invite {
		tx.retx = l.after(tx.interval, tx.timerA)
	} else {
		tx.retx = l.after(tx.interval, tx.timerE)
	}
	tx.mu.Unlock()
}

func (tx *ClientTx) timerB() { tx.timeoutIn(stCalling, stCalling) }
func (tx *ClientTx) timerF() { tx.timeoutIn(stTrying, stProceeding) }

// timeoutIn ends the transaction with ErrTimeout when it is in a or b.
func (tx *ClientTx) timeoutIn(a, b state) {
	tx.mu.Lock()
	if tx.state != a && tx.state != b {
		tx.mu.Unlock()
		return
	}
	tx.l.stats.timeouts.Add(1)
	tx.terminate()
	tx.mu.Unlock()
	tx.fn(tx, nil, ErrTimeout)
}

func (tx *ClientTx) timerD() { tx.endIn(stCompleted) }
func (tx *ClientTx) timerK() { tx.endIn(stCompleted) }
func (tx *ClientTx) timerM() { tx.endIn(stAccepted) }

// endIn terminates the transaction when it is still in s.
func (tx *ClientTx) endIn(s state) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == s {
		tx.terminate()
	}
}

// terminate ends the transaction; tx.mu is held.
func (tx *ClientTx) terminate() {
	if tx.state == stTerminated {
		return
	}
	tx.state = stTerminated
	stop(tx.retx)
	stop(tx.timeout)
	stop(tx.end)
	tx.l.removeClient(tx)
}
