package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sipedge/sipedge/sip"
)

// Call is one dialog (RFC 3261 §12) set up by an INVITE, from either side.
type Call struct {
	ua        *UA
	callID    string
	localTag  string
	remoteTag string
	local     string // From of our requests, tag included
	remote    string // To of our requests, tag included
	routes    []string
	done      chan struct{}
	endOnce   sync.Once

	mu        sync.Mutex
	localSeq  uint32
	remoteSeq uint32
	target    sip.URI
	ackSeq    uint32        // CSeq of the INVITE whose 2xx awaits its ACK
	ackCh     chan struct{} // closed when that ACK came
}

// callKey identifies a dialog (§12: Call-ID, local tag, remote tag).
func callKey(callID, localTag, remoteTag string) string {
	return callID + "\x00" + localTag + "\x00" + remoteTag
}

func (c *Call) key() string { return callKey(c.callID, c.localTag, c.remoteTag) }

// newUACCall builds the dialog a 2xx to our INVITE sets up (§12.1.2): the
// route set is the Record-Route of the response reversed, the remote
// target its Contact.
func newUACCall(ua *UA, invite, resp *sip.Message) *Call {
	c := &Call{
		ua:        ua,
		callID:    invite.CallID(),
		localTag:  invite.FromTag(),
		remoteTag: resp.ToTag(),
		done:      make(chan struct{}),
		localSeq:  invite.CSeq().Seq,
		target:    invite.RequestURI,
	}
	c.local, _ = invite.Get("From")
	c.remote, _ = resp.Get("To")
	for rr, err := range resp.RecordRoutes() {
		if err != nil {
			break
		}
		c.routes = append(c.routes, rr.String())
	}
	slices.Reverse(c.routes)
	if ct, ok, err := resp.FirstAddr(sip.HeaderContact); ok && err == nil && !ct.Wildcard {
		c.target = ct.URI
	}
	return c
}

// newUASCall builds the dialog our 2xx to an INVITE sets up (§12.1.1): the
// route set is the Record-Route as received, the remote target the
// INVITE's Contact.
func newUASCall(ua *UA, invite *sip.Message, localTag string) *Call {
	c := &Call{
		ua:        ua,
		callID:    invite.CallID(),
		localTag:  localTag,
		remoteTag: invite.FromTag(),
		done:      make(chan struct{}),
		remoteSeq: invite.CSeq().Seq,
	}
	to := invite.To()
	if to.Tag() == "" {
		to.Params = to.Params.With("tag", localTag)
	}
	c.local = to.String()
	c.remote, _ = invite.Get("From")
	for rr, err := range invite.RecordRoutes() {
		if err != nil {
			break
		}
		c.routes = append(c.routes, rr.String())
	}
	if ct, ok, err := invite.FirstAddr(sip.HeaderContact); ok && err == nil && !ct.Wildcard {
		c.target = ct.URI
	} else {
		c.target = invite.From().URI
	}
	return c
}

// CallID returns the dialog's Call-ID.
func (c *Call) CallID() string { return c.callID }

// RouteSet returns the route set as the dialog holds it, in the order its
// requests carry it as Route headers.
func (c *Call) RouteSet() []string { return slices.Clone(c.routes) }

// Done is closed when the other side's BYE arrived or Bye completed.
func (c *Call) Done() <-chan struct{} { return c.done }

// end closes the dialog and forgets it.
func (c *Call) end() {
	c.endOnce.Do(func() {
		close(c.done)
		c.ua.mu.Lock()
		if c.ua.calls[c.key()] == c {
			delete(c.ua.calls, c.key())
		}
		c.ua.mu.Unlock()
	})
}

// nextSeq returns the CSeq of the next request of ours in the dialog.
func (c *Call) nextSeq() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.localSeq++
	return c.localSeq
}

// acceptRemoteSeq records the CSeq of a request from the other side,
// refusing one lower than the last (§12.2.2).
func (c *Call) acceptRemoteSeq(seq uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteSeq != 0 && seq < c.remoteSeq {
		return false
	}
	c.remoteSeq = seq
	return true
}

// expectAck arms the wait for the ACK of our 2xx to INVITE seq.
func (c *Call) expectAck(seq uint32) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ackSeq = seq
	c.ackCh = make(chan struct{})
	return c.ackCh
}

// ackReceived ends the wait armed by expectAck.
func (c *Call) ackReceived(seq uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ackCh != nil && seq == c.ackSeq {
		close(c.ackCh)
		c.ackCh = nil
	}
}

// newRequest builds an in-dialog request (§12.2.1.1): Request-URI the
// remote target and Route the route set, or, when the first route is a
// strict router (no ;lr), that route as Request-URI and the remote target
// last in Route. An ACK carries the INVITE's credentials (§13.2.2.4).
func (c *Call) newRequest(method string, seq uint32, invite *sip.Message) (*sip.Message, error) {
	c.mu.Lock()
	ruri := c.target
	c.mu.Unlock()
	routes := c.routes
	if len(routes) > 0 {
		first, err := sip.ParseAddr(routes[0])
		if err != nil {
			return nil, fmt.Errorf("client: route %q: %w", routes[0], err)
		}
		if !first.URI.Params.Has("lr") {
			routes = append(slices.Clone(routes[1:]), "<"+ruri.String()+">")
			ruri = first.URI
		}
	}
	b := builder{m: sip.NewRequest(method, ruri)}
	b.add("Via", c.ua.newVia())
	b.add("Max-Forwards", maxForwards)
	b.add("From", c.local)
	b.add("To", c.remote)
	b.add("Call-ID", c.callID)
	b.add("CSeq", cseqString(seq, method))
	for _, r := range routes {
		b.add("Route", r)
	}
	if invite != nil {
		for _, f := range invite.Fields() {
			if f.Is("Authorization") || f.Is("Proxy-Authorization") {
				b.add(f.Name, f.Value)
			}
		}
	}
	if method == mINVITE {
		b.add("Contact", "<"+c.ua.contact.String()+">")
	}
	b.add("User-Agent", userAgent)
	return b.done()
}

// Request sends any in-dialog non-INVITE request (INFO, MESSAGE, ...) and
// returns its final response; BYE goes through Bye.
func (c *Call) Request(ctx context.Context, method, contentType, body string) (*sip.Message, error) {
	switch method {
	case mINVITE, mACK, mCANCEL:
		return nil, fmt.Errorf("client: %s is not an in-dialog non-INVITE request", method)
	case mBYE:
		return c.Bye(ctx)
	case "":
		return nil, errors.New("client: empty method")
	}
	return c.request(ctx, method, contentType, body)
}

func (c *Call) request(ctx context.Context, method, contentType, body string) (*sip.Message, error) {
	req, err := c.newRequest(method, c.nextSeq(), nil)
	if err != nil {
		return nil, err
	}
	if contentType != "" || body != "" {
		req.SetBody(contentType, body)
	}
	return c.ua.transact(ctx, req, c.nextSeq, nil, txHooks{})
}

// Bye ends the call with a BYE and returns its final response; the dialog
// is over whatever the answer (§15.1.1).
func (c *Call) Bye(ctx context.Context) (*sip.Message, error) {
	resp, err := c.request(ctx, mBYE, "", "")
	c.end()
	if err != nil {
		return nil, fmt.Errorf("client: BYE: %w", err)
	}
	return resp, nil
}

// Outgoing is an INVITE on its way: its provisional responses, its final
// response, and the means to cancel it.
type Outgoing struct {
	ua   *UA
	prov chan *sip.Message
	done chan struct{}

	mu          sync.Mutex
	current     *sip.Message  // the INVITE in flight (a new one after a challenge)
	provisional bool          // a 1xx came for current
	changed     chan struct{} // closed and replaced when the two above change
	call        *Call
	resp        *sip.Message
	err         error
}

// Invite places a call and returns once a final response came: for a 2xx
// the ACK is sent and the Call is established; for >= 300 the Call is nil
// and the final response is returned with a nil error. onProvisional,
// when not nil, sees each 1xx, from the UA's goroutine. When ctx ends
// first, Invite returns its error and the INVITE is cancelled.
func (ua *UA) Invite(ctx context.Context, target, sdp string, onProvisional func(*sip.Message)) (*Call, *sip.Message, error) {
	o, err := ua.startInvite(ctx, target, sdp, onProvisional)
	if err != nil {
		return nil, nil, err
	}
	return o.Wait(ctx)
}

// InviteAsync starts a call that may be cancelled. When ctx ends before
// the final response, the INVITE is cancelled (once a 1xx came, §9.1) and
// an answer that crossed the CANCEL is hung up.
func (ua *UA) InviteAsync(ctx context.Context, target, sdp string) (*Outgoing, error) {
	return ua.startInvite(ctx, target, sdp, nil)
}

// startInvite builds the INVITE and runs it in a goroutine of the UA;
// without onProv, 1xx go to Provisional.
func (ua *UA) startInvite(ctx context.Context, target, sdp string, onProv func(*sip.Message)) (*Outgoing, error) {
	ruri, err := sip.ParseURI(target)
	if err != nil {
		return nil, fmt.Errorf("client: INVITE target %q: %w", target, err)
	}
	req, err := ua.newRequest(mINVITE, ruri, "<"+ruri.String()+">", randToken(20), randToken(10), 1)
	if err != nil {
		return nil, err
	}
	if sdp != "" {
		req.SetBody("application/sdp", sdp)
	}
	o := &Outgoing{
		ua:      ua,
		prov:    make(chan *sip.Message, provisionalCap),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	if onProv == nil {
		onProv = func(m *sip.Message) {
			select {
			case o.prov <- m:
			default:
				ua.log.Debug("provisional response not read, dropped", "status", m.StatusCode)
			}
		}
	}
	if !ua.goFunc(func() { o.run(ctx, req, onProv) }) {
		return nil, ErrClosed
	}
	return o, nil
}

// run drives the INVITE to its final response.
func (o *Outgoing) run(ctx context.Context, req *sip.Message, onProv func(*sip.Message)) {
	ua := o.ua
	seq := req.CSeq().Seq
	nextSeq := func() uint32 { seq++; return seq }
	sent := func(r *sip.Message) {
		o.mu.Lock()
		o.current, o.provisional = r, false
		o.signal()
		o.mu.Unlock()
	}
	h := txHooks{
		provisional: func(m *sip.Message) {
			o.mu.Lock()
			if !o.provisional {
				o.provisional = true
				o.signal()
			}
			o.mu.Unlock()
			if onProv != nil {
				onProv(m)
			}
		},
		abandon: func() {
			ua.goFunc(func() {
				cctx, cancel := context.WithTimeout(context.Background(), ringLimit)
				defer cancel()
				if _, err := o.Cancel(cctx); err != nil {
					ua.log.Debug("CANCEL of an abandoned INVITE", "err", err)
				}
			})
		},
	}
	resp, err := ua.transact(ctx, req, nextSeq, sent, h)
	if err != nil {
		o.finish(nil, nil, err)
		return
	}
	if resp.StatusCode >= 300 {
		if ctx.Err() != nil {
			o.finish(nil, resp, fmt.Errorf("client: INVITE: %w", ctx.Err()))
			return
		}
		o.finish(nil, resp, nil)
		return
	}
	o.mu.Lock()
	invite := o.current
	o.mu.Unlock()
	c := newUACCall(ua, invite, resp)
	ua.mu.Lock()
	ua.calls[c.key()] = c
	ua.mu.Unlock()
	if ctx.Err() != nil {
		// The answer crossed our CANCEL: hang up.
		ua.goFunc(func() {
			bctx, cancel := context.WithTimeout(context.Background(), ua.cfg.Timeout)
			defer cancel()
			if _, err := c.Bye(bctx); err != nil {
				ua.log.Debug("BYE of an abandoned call", "err", err)
			}
		})
		o.finish(nil, resp, fmt.Errorf("client: INVITE: %w", ctx.Err()))
		return
	}
	o.finish(c, resp, nil)
}

// signal wakes Cancel; the caller holds o.mu.
func (o *Outgoing) signal() {
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *Outgoing) finish(c *Call, resp *sip.Message, err error) {
	o.mu.Lock()
	o.call, o.resp, o.err = c, resp, err
	o.mu.Unlock()
	close(o.prov)
	close(o.done)
}

// Provisional delivers the 1xx responses as they come (buffered and
// bounded: when nobody reads, later ones are dropped); it is closed when
// the final response came.
func (o *Outgoing) Provisional() <-chan *sip.Message { return o.prov }

// Cancel sends a CANCEL for the INVITE (§9.1), after its first provisional
// response as the RFC wants, and returns the CANCEL's final response. The
// INVITE's own final response (487 when the CANCEL won) comes from Wait.
func (o *Outgoing) Cancel(ctx context.Context) (*sip.Message, error) {
	var invite *sip.Message
	for invite == nil {
		select {
		case <-o.done:
			return nil, errors.New("client: CANCEL: the INVITE already has its final response")
		default:
		}
		o.mu.Lock()
		ch := o.changed
		if o.provisional {
			invite = o.current
		}
		o.mu.Unlock()
		if invite != nil {
			break
		}
		select {
		case <-ch:
		case <-o.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("client: CANCEL: waiting for a provisional response: %w", ctx.Err())
		case <-o.ua.closing:
			return nil, ErrClosed
		}
	}
	cancel, err := sip.NewCancel(invite)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if err := cancel.Add("User-Agent", userAgent); err != nil {
		return nil, fmt.Errorf("client: CANCEL: %w", err)
	}
	return o.ua.runTx(ctx, cancel, txHooks{})
}

// Wait returns the INVITE's final response (487 after a CANCEL): with a
// Call for a 2xx, whose ACK is sent; a 3xx-6xx is ACKed per §17.1.1.3.
func (o *Outgoing) Wait(ctx context.Context) (*Call, *sip.Message, error) {
	select {
	case <-o.done:
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.call, o.resp, o.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("client: INVITE: %w", ctx.Err())
	}
}
