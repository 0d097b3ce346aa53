package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// ServerRequest is a request the UA received; the application answers it
// with Respond, or Answer for an INVITE. Retransmissions of the request are
// answered by the UA from its last response.
type ServerRequest struct {
	// Msg is the request as received.
	Msg *sip.Message

	ua        *UA
	tag       string // To tag of every response
	call      *Call  // the dialog of an in-dialog request
	cancelled chan struct{}
	cancelMu  sync.Once
	acked     chan struct{} // closed by the ACK of a non-2xx final to an INVITE
	ackOnce   sync.Once

	// Under UA.mu:
	last      []byte // the last response sent
	finalCode int
	expires   time.Time // when the final response stops being resent
}

// serverKey identifies the server transaction of m's method, or of the
// INVITE that an ACK or CANCEL refers to when method says so (§17.2.3):
// the branch and the method, or the fields of RFC 2543 when the branch is
// not RFC 3261's.
func serverKey(m *sip.Message, method string) string {
	v := m.TopVia()
	if b := v.Branch(); strings.HasPrefix(b, "z9hG4bK") {
		return txKey(b, method)
	}
	return txKey(m.CallID()+"|"+m.FromTag()+"|"+strconv.FormatUint(uint64(m.CSeq().Seq), 10)+"|"+v.SentBy(), method)
}

// handleRequest answers retransmissions from the cache, ACK, CANCEL and
// in-dialog BYE itself, and delivers the rest on Incoming.
func (ua *UA) handleRequest(m *sip.Message) {
	if m.Method == mACK {
		ua.handleACK(m)
		return
	}
	key := serverKey(m, m.CSeq().Method)
	ua.mu.Lock()
	if r := ua.servers[key]; r != nil {
		last := r.last
		ua.mu.Unlock()
		if last != nil {
			if err := ua.send(last); err != nil {
				ua.log.Debug("response retransmission", "err", err)
			}
		}
		return
	}
	r := &ServerRequest{Msg: m, ua: ua, tag: m.ToTag(), cancelled: make(chan struct{}), acked: make(chan struct{})}
	if r.tag == "" {
		r.tag = randToken(10)
	}
	ua.addServerLocked(key, r)
	ua.mu.Unlock()

	switch {
	case m.Method == mCANCEL:
		ua.handleCancel(r)
		return
	case m.ToTag() != "":
		c := ua.findCall(m.CallID(), m.ToTag(), m.FromTag())
		if c == nil {
			r.reply(481, "", "", "")
			return
		}
		if !c.acceptRemoteSeq(m.CSeq().Seq) {
			r.reply(500, "CSeq Out of Order", "", "")
			return
		}
		r.call = c
		if m.Method == mBYE {
			r.reply(200, "", "", "")
			c.end()
			return
		}
	case m.Method == mBYE:
		r.reply(481, "", "", "")
		return
	}
	select {
	case ua.incoming <- r:
	default:
		ua.log.Warn("incoming queue full: 503", "method", m.Method)
		r.reply(503, "", "", "")
	}
}

// addServerLocked caches a server transaction, dropping the oldest when
// the cache is over its bound or their time is up; the caller holds ua.mu.
func (ua *UA) addServerLocked(key string, r *ServerRequest) {
	now := time.Now()
	for len(ua.serverOrder) > 0 {
		k := ua.serverOrder[0]
		old := ua.servers[k]
		if old != nil && len(ua.servers) < maxServerTx && (old.finalCode == 0 || now.Before(old.expires)) {
			break
		}
		delete(ua.servers, k)
		ua.serverOrder = ua.serverOrder[1:]
	}
	ua.servers[key] = r
	ua.serverOrder = append(ua.serverOrder, key)
}

// findCall returns the dialog of a request from the other side.
func (ua *UA) findCall(callID, localTag, remoteTag string) *Call {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return ua.calls[callKey(callID, localTag, remoteTag)]
}

// handleACK ends the retransmission of a non-2xx final response, or the
// wait of Answer for the ACK of its 2xx.
func (ua *UA) handleACK(m *sip.Message) {
	ua.mu.Lock()
	r := ua.servers[serverKey(m, mINVITE)]
	nonSuccess := r != nil && r.finalCode >= 300
	ua.mu.Unlock()
	if nonSuccess {
		r.ackOnce.Do(func() { close(r.acked) })
		return
	}
	if c := ua.findCall(m.CallID(), m.ToTag(), m.FromTag()); c != nil {
		c.ackReceived(m.CSeq().Seq)
	}
}

// handleCancel answers a CANCEL (§9.2): 481 when it matches no INVITE,
// else 200, and 487 to the INVITE when that has no final response yet.
func (ua *UA) handleCancel(r *ServerRequest) {
	m := r.Msg
	ua.mu.Lock()
	inv := ua.servers[serverKey(m, mINVITE)]
	ua.mu.Unlock()
	if inv == nil || inv.Msg.Method != mINVITE {
		r.reply(481, "", "", "")
		return
	}
	// The responses to the CANCEL carry the INVITE's To tag (§9.2).
	r.tag = inv.tag
	r.reply(200, "", "", "")
	// A CANCEL after the final response changes nothing (§9.2).
	err := inv.respond(487, "", "", "", nil)
	if errors.Is(err, errAnswered) {
		return
	}
	if err != nil {
		ua.log.Debug("487 to a cancelled INVITE", "err", err)
	}
	// After the 487, so that an Answer woken by it finds the INVITE done.
	inv.cancelMu.Do(func() { close(inv.cancelled) })
}

// errAnswered is returned for a second final response.
var errAnswered = errors.New("client: request already has a final response")

// Respond sends a response (with a To tag, the same for every response to
// this request). A 2xx to an INVITE goes through Answer, which sets up the
// Call.
func (r *ServerRequest) Respond(code int, reason, contentType, body string) error {
	if code < 100 || code > 699 {
		return fmt.Errorf("client: status code %d out of range", code)
	}
	if r.Msg.Method == mINVITE && code >= 200 && code < 300 {
		return errors.New("client: a 2xx to an INVITE goes through Answer")
	}
	return r.respond(code, reason, contentType, body, nil)
}

// Call returns the dialog an in-dialog request belongs to, nil for a
// request outside a dialog.
func (r *ServerRequest) Call() *Call { return r.call }

// Cancelled is closed when a CANCEL for this INVITE arrived; the UA has
// then answered the CANCEL 200 and the INVITE 487 itself.
func (r *ServerRequest) Cancelled() <-chan struct{} { return r.cancelled }

// reply is respond for the UA's own answers, which only log a failure.
func (r *ServerRequest) reply(code int, reason, contentType, body string) {
	if err := r.respond(code, reason, contentType, body, nil); err != nil {
		r.ua.log.Debug("response not sent", "status", code, "method", r.Msg.Method, "err", err)
	}
}

// respond builds, caches and sends a response. A dialog-creating
// response to an INVITE carries the Record-Route of the request and our
// Contact (§12.1.1); call, when set, is registered before the response
// goes, so that the ACK finds it. A non-2xx final response to an INVITE is
// retransmitted over UDP until its ACK (Timer G, §17.2.1).
func (r *ServerRequest) respond(code int, reason, contentType, body string, call *Call) error {
	ua := r.ua
	resp := sip.NewResponse(r.Msg, code, reason)
	if code > 100 {
		resp.SetToTag(r.tag)
	}
	if r.Msg.Method == mINVITE && code > 100 && code < 300 {
		b := builder{m: resp}
		for rr, err := range r.Msg.Values(sip.HeaderRecordRoute) {
			if err != nil {
				return fmt.Errorf("client: Record-Route of the INVITE: %w", err)
			}
			b.add("Record-Route", rr)
		}
		b.add("Contact", "<"+ua.contact.String()+">")
		if _, err := b.done(); err != nil {
			return err
		}
	}
	if err := resp.Add("Server", userAgent); err != nil {
		return fmt.Errorf("client: response: %w", err)
	}
	if contentType != "" || body != "" {
		resp.SetBody(contentType, body)
	}
	wire := resp.AppendTo(nil)
	ua.mu.Lock()
	if r.finalCode != 0 {
		ua.mu.Unlock()
		return errAnswered
	}
	if code >= 200 {
		r.finalCode = code
		r.expires = time.Now().Add(timerLinger)
	}
	r.last = wire
	if call != nil {
		ua.calls[call.key()] = call
	}
	ua.mu.Unlock()
	if err := ua.send(wire); err != nil {
		return fmt.Errorf("client: %d to %s: %w", code, r.Msg.Method, err)
	}
	if r.Msg.Method == mINVITE && code >= 300 && !ua.reliable {
		ua.goFunc(func() { r.retransmit(wire, r.acked) })
	}
	return nil
}

// retransmit resends a final response to an INVITE from T1 doubling to T2
// until stop is closed or 64*T1 passed (§17.2.1 Timer G and H, §13.3.1.4).
func (r *ServerRequest) retransmit(wire []byte, stop <-chan struct{}) {
	interval := t1
	t := time.NewTimer(interval)
	defer t.Stop()
	giveUp := time.NewTimer(timerLinger)
	defer giveUp.Stop()
	for {
		select {
		case <-stop:
			return
		case <-giveUp.C:
			return
		case <-r.ua.closing:
			return
		case <-r.ua.dead:
			return
		case <-t.C:
			if err := r.ua.send(wire); err != nil {
				return
			}
			interval = min(2*interval, t2)
			t.Reset(interval)
		}
	}
}

// Answer sends 200 OK with sdp to an INVITE and returns the Call once the
// ACK came; the 200 is retransmitted until then (§13.3.1.4).
// Without an ACK within 64*T1 (or before ctx ends) the call is hung up
// with a BYE and Answer fails.
func (r *ServerRequest) Answer(ctx context.Context, sdp string) (*Call, error) {
	if r.Msg.Method != mINVITE {
		return nil, fmt.Errorf("client: Answer to %s: only an INVITE is answered with a call", r.Msg.Method)
	}
	ua := r.ua
	c := r.call
	if c == nil {
		c = newUASCall(ua, r.Msg, r.tag)
	} else if ct, ok, err := r.Msg.FirstAddr(sip.HeaderContact); ok && err == nil && !ct.Wildcard {
		// A re-INVITE refreshes the remote target (§12.2.2).
		c.mu.Lock()
		c.target = ct.URI
		c.mu.Unlock()
	}
	acked := c.expectAck(r.Msg.CSeq().Seq)
	ct := ""
	if sdp != "" {
		ct = "application/sdp"
	}
	if err := r.respond(200, "", ct, sdp, c); err != nil {
		if r.call == nil {
			c.end()
		}
		return nil, err
	}
	ua.mu.Lock()
	wire := r.last
	ua.mu.Unlock()
	// The UAS core resends its 2xx end to end whatever the transport of
	// the first hop: a later hop may be UDP (§13.3.1.4).
	stop := make(chan struct{})
	defer close(stop)
	ua.goFunc(func() { r.retransmit(wire, stop) })
	giveUp := time.NewTimer(timerLinger)
	defer giveUp.Stop()
	var why error
	select {
	case <-acked:
		return c, nil
	case <-ctx.Done():
		why = ctx.Err()
	case <-giveUp.C:
		why = fmt.Errorf("no ACK within %v: %w", timerLinger, ErrTimeout)
	case <-ua.closing:
		return nil, ErrClosed
	case <-ua.dead:
		return nil, ua.linkError()
	}
	ua.goFunc(func() {
		bctx, cancel := context.WithTimeout(context.Background(), ua.cfg.Timeout)
		defer cancel()
		if _, err := c.Bye(bctx); err != nil {
			ua.log.Debug("BYE of an unacknowledged call", "err", err)
		}
	})
	return nil, fmt.Errorf("client: Answer: %w", why)
}
