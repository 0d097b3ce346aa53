package proxy

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// fork is the response context of one request (RFC 3261 §16.7): its
// branches and the responses they brought.
type fork struct {
	p      *Proxy
	r      *Request
	tx     *transaction.ServerTx
	invite bool

	mu        sync.Mutex
	branches  []*branch
	started   bool // every branch has been created
	cancelled bool
	finalSent bool
	finished  bool
	finals    []*sip.Message // the non-2xx final responses, in order
}

// branch is one forwarded copy of the request.
type branch struct {
	f      *fork
	target Target
	req    *sip.Message
	ctx    *transaction.ClientTx
	dest   transaction.Dest

	// guarded by f.mu
	provisional  bool
	final        bool
	cancelSent   bool
	cancelWanted bool
	timerC       *time.Timer
}

func newFork(p *Proxy, r *Request) *fork {
	return &fork{p: p, r: r, tx: r.Tx, invite: r.Msg.Method == "INVITE"}
}

// needsDNS reports whether forwarding may wait on the network (DNS, a TCP
// connect): then it runs in a goroutine of its own.
func (f *fork) needsDNS() bool {
	for i := range f.r.Targets {
		t := &f.r.Targets[i]
		if t.Flow.ID != 0 && t.Flow.Kind != transport.UDP {
			continue
		}
		if t.Flow.Kind == transport.UDP && t.Flow.Remote.IsValid() {
			continue
		}
		hop := f.r.nextHop(t)
		if d, ok := literalDests(&hop); !ok || len(d) == 0 || d[0].Kind != transport.UDP {
			return true
		}
	}
	return false
}

// start creates and sends every branch.
func (f *fork) start() {
	for i := range f.r.Targets {
		f.mu.Lock()
		stop := f.cancelled || f.finalSent
		f.mu.Unlock()
		if stop {
			break
		}
		f.startBranch(f.r.Targets[i])
	}
	f.mu.Lock()
	f.started = true
	f.mu.Unlock()
	f.maybeFinish()
}

// nextHop is where a request for target t goes: the static route's
// destination, else the first Route, else the Request-URI (§16.6 step 7).
func (r *Request) nextHop(t *Target) sip.URI {
	if t.NextHop != nil {
		return *t.NextHop
	}
	if t.Binding != nil && len(t.Binding.Path) > 0 {
		if a, err := sip.ParseAddr(t.Binding.Path[0]); err == nil {
			return a.URI
		}
	}
	if a, ok, err := r.Msg.FirstAddr(sip.HeaderRoute); ok && err == nil {
		return a.URI
	}
	return t.URI
}

// startBranch makes the branch for t and sends it (§16.6).
func (f *fork) startBranch(t Target) {
	b := &branch{f: f, target: t, req: f.r.Msg}
	f.mu.Lock()
	// Added before the send, so that a response racing the return of
	// Request finds it; a CANCEL that came first marks it too.
	f.branches = append(f.branches, b)
	b.cancelWanted = f.cancelled
	f.mu.Unlock()
	b.send(t)
}

// send sends b's request for t over a new client transaction, trying each
// destination in turn until one takes it (RFC 3263 §4.3), and then t's
// other flows (RFC 5626 §5.3: the same instance registered over several).
// When nothing takes it the branch ends with our response.
func (b *branch) send(t Target) {
	f, p := b.f, b.f.p
	for {
		dests, gone := f.dests(&t)
		var lastErr error = errNoDest
		for _, d := range dests {
			m := f.build(&t, &d)
			if m == nil {
				continue
			}
			f.mu.Lock()
			b.target, b.req, b.dest, b.provisional = t, m, d, false
			f.mu.Unlock()
			ctx, err := p.tx.Request(m, d, b.onResponse)
			if err == nil {
				p.forwarded.Add(1)
				f.mu.Lock()
				b.ctx = ctx
				if f.invite && !b.final {
					b.stopTimerC()
					b.timerC = time.AfterFunc(p.cfg.TimerC, b.onTimerC)
				}
				f.mu.Unlock()
				return
			}
			lastErr = err
			p.log.Debug("branch not sent", "dest", d.Addr, "kind", d.Kind, "err", err)
		}
		if next, ok := t.next(); ok && flowFailed(&t, lastErr, gone) {
			t = next
			continue
		}
		b.finish(p.newResponse(f.r.Msg, failureCode(t, lastErr, gone), ""))
		return
	}
}

// next returns the target's next flow, if it has one.
func (t Target) next() (Target, bool) {
	if len(t.Next) == 0 {
		return Target{}, false
	}
	n := t.Next[0]
	n.Next = t.Next[1:]
	return n, true
}

// flowFailed reports whether a send failed because the flow failed (it is
// gone, or writing to it failed), which another flow of the same instance
// may mend.
func flowFailed(t *Target, err error, gone bool) bool {
	return gone || errors.Is(err, transport.ErrFlowGone) ||
		t.Flow.ID != 0 && err != nil && !errors.Is(err, errNoDest)
}

// failureCode is the status a branch ends with when no destination took
// it: the target's Gone status for a flow that is gone (430 for a flow
// token, 480 for a binding), 404 for a destination that could not be
// located, else 503 (a transport error, §16.9).
func failureCode(t Target, err error, gone bool) int {
	switch {
	case flowFailed(&t, err, gone) || errors.Is(err, errNoDest) && t.Gone != 0:
		if t.Gone != 0 {
			return t.Gone
		}
		return 480
	case errors.Is(err, errNoDest):
		return 404
	}
	return 503
}

// errNoDest says a branch had nowhere to go.
var errNoDest = errors.New("proxy: no destination")

// dests returns where the request for t may go, in order. gone is set when
// t's flow is a connection that no longer exists and nothing else can
// reach the target.
func (f *fork) dests(t *Target) (ds []transaction.Dest, gone bool) {
	p := f.p
	switch {
	case t.Gone == 430:
		// A flow token names that flow only, whatever its transport.
		return []transaction.Dest{{Kind: t.Flow.Kind, Flow: t.Flow.ID}}, false
	case t.Binding != nil && len(t.Binding.Path) > 0:
		// Registered through an edge (RFC 3327): the Path is the way, and
		// the first entry the next hop (nextHop), not the edge's flow.
	case t.Flow.ID != 0 || t.Flow.Remote.IsValid():
		switch t.Flow.Kind {
		case transport.UDP:
			// The address the client registered from: where its NAT lets
			// us in.
			return []transaction.Dest{{Kind: transport.UDP, Addr: t.Flow.Remote, Local: t.Flow.Local}}, false
		case transport.WS, transport.WSS:
			return []transaction.Dest{{Kind: t.Flow.Kind, Flow: t.Flow.ID, Addr: t.Flow.Remote, Local: t.Flow.Local}}, false
		default:
			ds = append(ds, transaction.Dest{Kind: t.Flow.Kind, Flow: t.Flow.ID, Addr: t.Flow.Remote, Local: t.Flow.Local})
		}
	}
	hop := f.r.nextHop(t)
	if lit, ok := literalDests(&hop); ok {
		return append(ds, lit...), false
	}
	if p.cfg.Resolver == nil {
		return ds, false
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.ResolveTimeout)
	defer cancel()
	targets, err := p.cfg.Resolver.Resolve(ctx, &hop)
	if err != nil {
		p.log.Debug("next hop not resolved", "uri", hop.String(), "err", err)
		return ds, false
	}
	for _, tg := range targets {
		ds = append(ds, transaction.Dest{Kind: tg.Kind, Addr: tg.Addr, ServerName: tg.ServerName})
	}
	return ds, false
}

// build makes the branch's request for destination d (§16.6 steps 1-8);
// nil when no listener can send to d.
func (f *fork) build(t *Target, d *transaction.Dest) *sip.Message {
	p, r := f.p, f.r
	out := p.listenerFor(d, d.Local)
	if out == nil {
		return nil
	}
	if d.Kind == transport.UDP && !d.Local.IsValid() {
		d.Local = out.Addr
	}
	m := r.Msg.Clone()
	if !sameURI(&t.URI, &m.RequestURI) {
		m.SetRequestURI(t.URI)
	}
	m.DecrementMaxForwards()
	if t.Binding != nil {
		// RFC 3327 §5.3: the Path of the registration is the route set
		// towards the contact.
		for i := len(t.Binding.Path) - 1; i >= 0; i-- {
			_ = m.Prepend(sip.HeaderRoute, t.Binding.Path[i])
		}
	}
	if m.Method == "REGISTER" {
		p.addPath(r, m, out)
	}
	if p.recordRoutes(r, t, out) {
		in := p.listenerOn(r.Source.Kind, r.Source.Local)
		inTok, outTok := "", ""
		if p.wantsToken(r.Source.Kind) {
			inTok = p.tokens.Encode(r.Source.ID, r.Source.Kind)
		}
		if d.Flow != 0 && p.wantsToken(d.Kind) {
			outTok = p.tokens.Encode(d.Flow, d.Kind)
		}
		if in == nil {
			in = out
		}
		inRR, outRR := recordRoute(in, inTok), recordRoute(out, outTok)
		_ = m.Prepend(sip.HeaderRecordRoute, inRR)
		if outRR != inRR {
			// RFC 5658: one entry per side, the top one facing the callee.
			_ = m.Prepend(sip.HeaderRecordRoute, outRR)
		}
	}
	strictRoute(m)
	m.PrependVia(sip.Via{
		Protocol: "SIP", Version: "2.0", Transport: d.Kind.String(),
		Host: out.Host, Port: out.Port,
		Params: sip.Params(";branch=" + branchPrefix + r.loop + "." + randomToken(8) + ";rport"),
	})
	return m
}

// addPath puts us on the Path of a REGISTER we forward to another
// registrar (RFC 3327, RFC 5626 §5.1): our URI on the listener facing it,
// with the client's flow token, so that requests for the binding come back
// through us and over the client's own flow; with ";ob" when the client
// asks for outbound and it is on. A client that does not support Path
// gets one only when a flow token is all that can reach it (WebSockets, or
// any flow with EnableFlowTokens).
func (p *Proxy) addPath(r *Request, m *sip.Message, out *Listener) {
	if !m.HasToken(sip.HeaderSupported, "path") && !p.wantsToken(r.Source.Kind) {
		return
	}
	u := out.RecordRoute
	u.User = p.tokens.Encode(r.Source.ID, r.Source.Kind)
	if !p.cfg.DisableOutbound && m.HasToken(sip.HeaderSupported, "outbound") && hasRegID(m) {
		u.Params = u.Params.With("ob", "")
	}
	_ = m.Prepend(sip.HeaderPath, "<"+u.String()+">")
}

// hasRegID reports whether a Contact of m carries reg-id (RFC 5626).
func hasRegID(m *sip.Message) bool {
	for a, err := range m.Contacts() {
		if err != nil {
			return false
		}
		if _, ok := a.RegID(); ok {
			return true
		}
	}
	return false
}

// recordRoutes decides whether the request for t is record-routed.
func (p *Proxy) recordRoutes(r *Request, t *Target, out *Listener) bool {
	m := r.Msg
	switch m.Method {
	case "INVITE", "SUBSCRIBE", "REFER":
	default:
		return false
	}
	if m.ToTag() != "" {
		return false // the route set of a dialog never changes (§12.2)
	}
	in := p.listenerOn(r.Source.Kind, r.Source.Local)
	return p.cfg.ForceRecordRouting || t.Binding != nil || in != out ||
		p.wantsToken(r.Source.Kind) || t.Flow.ID != 0 && p.wantsToken(t.Flow.Kind)
}

// strictRoute is §16.6 step 6: a first Route without "lr" is a strict
// router, which wants its URI as the Request-URI and ours at the end of
// the route set.
func strictRoute(m *sip.Message) {
	a, ok, err := m.FirstAddr(sip.HeaderRoute)
	if !ok || err != nil || a.URI.Params.Has("lr") {
		return
	}
	m.RemoveFirst(sip.HeaderRoute)
	ruri := m.RequestURI
	_ = m.Add("Route", "<"+ruri.String()+">")
	m.SetRequestURI(a.URI)
}

// onResponse takes what the client transaction of b reports (§16.7).
func (b *branch) onResponse(_ *transaction.ClientTx, resp *sip.Message, err error) {
	f := b.f
	if err != nil {
		// A transport error, or no answer at all, means the flow failed:
		// the instance's next flow, if any (RFC 5626 §5.3). (failover
		// refuses once a provisional response came: that flow worked.)
		if b.failover(true) {
			return
		}
		code := 503 // a transport error counts as a 503 (§16.9)
		switch {
		case errors.Is(err, transaction.ErrTimeout):
			code = 408
		case errors.Is(err, transport.ErrFlowGone):
			code = b.target.Gone
			if code == 0 {
				code = 480
			}
		}
		// Made from the request as received: b.req has our Via on top.
		b.finish(f.p.newResponse(f.r.Msg, code, ""))
		return
	}
	resp.RemoveTopVia()
	code := resp.StatusCode
	if code == 430 && b.failover(true) {
		return // RFC 5626 §5.3: the flow failed; the instance's next one
	}
	switch {
	case code < 200:
		f.mu.Lock()
		b.provisional = true
		if b.timerC != nil && code > 100 {
			b.timerC.Reset(f.p.cfg.TimerC)
		}
		sendCancel := b.cancelWanted && !b.cancelSent && !b.final
		if sendCancel {
			b.cancelSent = true
		}
		forward := code > 100 && !f.finalSent && !f.cancelled
		f.mu.Unlock()
		if sendCancel {
			b.sendCancel()
		}
		if forward {
			f.respond(resp)
		}
	case code < 300:
		f.mu.Lock()
		first := !b.final
		b.final = true
		b.stopTimerC()
		forward := f.invite || !f.finalSent
		f.finalSent = true
		f.mu.Unlock()
		if forward {
			f.respond(resp)
		}
		if first && f.invite {
			f.cancelAll() // a 2xx ends the search (§16.7 step 10)
		}
		f.maybeFinish()
	default:
		b.finish(resp)
	}
}

// failover moves b to its target's next flow when failed is set, the
// target has one and the request is not being cancelled; it reports
// whether it did.
func (b *branch) failover(failed bool) bool {
	f := b.f
	if !failed {
		return false
	}
	f.mu.Lock()
	next, ok := b.target.next()
	if !ok || f.cancelled || b.final || b.provisional {
		f.mu.Unlock()
		return false
	}
	f.mu.Unlock()
	b.send(next)
	return true
}

// finish records a final non-2xx response of b.
func (b *branch) finish(resp *sip.Message) {
	f := b.f
	f.mu.Lock()
	if b.final {
		f.mu.Unlock()
		return
	}
	b.final = true
	b.stopTimerC()
	f.finals = append(f.finals, resp)
	f.mu.Unlock()
	if resp.StatusCode >= 600 && f.invite {
		f.cancelAll() // a 6xx ends the search (§16.7 step 5)
	}
	f.maybeFinish()
}

func (b *branch) stopTimerC() {
	if b.timerC != nil {
		b.timerC.Stop()
	}
}

// onTimerC fires when an INVITE branch rang too long: it is cancelled, or
// counted as a 408 when it never answered at all (§16.8).
func (b *branch) onTimerC() {
	f := b.f
	f.mu.Lock()
	if b.final {
		f.mu.Unlock()
		return
	}
	if b.provisional {
		send := !b.cancelSent
		b.cancelSent = true
		f.mu.Unlock()
		if send {
			b.sendCancel()
		}
		return
	}
	f.mu.Unlock()
	b.finish(f.p.newResponse(f.r.Msg, 408, ""))
}

// cancelAll cancels every branch still pending (§16.10, §16.7 step 10).
func (f *fork) cancelAll() {
	var send []*branch
	f.mu.Lock()
	f.cancelled = true
	for _, b := range f.branches {
		if b.final || b.cancelSent {
			continue
		}
		if b.provisional {
			b.cancelSent = true
			send = append(send, b)
		} else {
			b.cancelWanted = true
		}
	}
	f.mu.Unlock()
	for _, b := range send {
		b.sendCancel()
	}
	f.maybeFinish()
}

// sendCancel sends a CANCEL for b's request (§9.1): same Request-URI,
// Call-ID, From, To, CSeq number and top Via, and the same Route set, over
// the flow the INVITE took.
func (b *branch) sendCancel() {
	c, err := sip.NewCancel(b.req)
	if err != nil {
		b.f.p.log.Debug("CANCEL not built", "err", err)
		return
	}
	d := b.dest
	if b.ctx != nil && d.Kind != transport.UDP {
		d.Flow = b.ctx.Flow()
	}
	if _, err := b.f.p.tx.Request(c, d, func(*transaction.ClientTx, *sip.Message, error) {}); err != nil {
		b.f.p.log.Debug("CANCEL not sent", "err", err)
	}
}

// maybeFinish sends the best final response once every branch is done
// (§16.7 step 6) and closes the response context.
func (f *fork) maybeFinish() {
	f.mu.Lock()
	if f.finished || !f.started {
		f.mu.Unlock()
		return
	}
	for _, b := range f.branches {
		if !b.final {
			f.mu.Unlock()
			return
		}
	}
	f.finished = true
	send := !f.finalSent
	f.finalSent = true
	finals := f.finals
	f.mu.Unlock()
	if f.invite {
		f.p.mu.Lock()
		delete(f.p.forks, f.tx)
		f.p.mu.Unlock()
	}
	if !send {
		return
	}
	best := f.best(finals)
	f.respond(best)
}

// best chooses the response to forward from the final ones (§16.7 step 6):
// a 6xx if any, else one of the lowest class, preferring 401/407 (with
// every challenge merged in), 415, 420 and 484 among the 4xx; a 503
// becomes a 500.
func (f *fork) best(finals []*sip.Message) *sip.Message {
	p := f.p
	if len(finals) == 0 {
		code := 480
		f.mu.Lock()
		if f.cancelled {
			code = 487
		}
		f.mu.Unlock()
		return p.newResponse(f.r.Msg, code, "")
	}
	var pick *sip.Message
	for _, r := range finals {
		if r.StatusCode >= 600 {
			pick = r
			break
		}
	}
	if pick == nil {
		for _, r := range finals {
			switch {
			case pick == nil, r.StatusCode/100 < pick.StatusCode/100:
				pick = r
			case r.StatusCode/100 == pick.StatusCode/100 && preferred(r.StatusCode) && !preferred(pick.StatusCode):
				pick = r
			}
		}
	}
	if pick.StatusCode == 401 || pick.StatusCode == 407 {
		pick = mergeChallenges(pick, finals)
	}
	if pick.StatusCode == 503 {
		pick = p.newResponse(f.r.Msg, 500, "")
	}
	f.mu.Lock()
	cancelled := f.cancelled
	f.mu.Unlock()
	if cancelled && pick.StatusCode == 408 && f.invite {
		// A branch that never answered the CANCEL timed out: the caller
		// asked to stop, and 487 says so (§16.10).
		pick = p.newResponse(f.r.Msg, 487, "")
	}
	return pick
}

// preferred are the 4xx responses §16.7 step 6 says to favour: the client
// can do something about them.
func preferred(code int) bool {
	switch code {
	case 401, 407, 415, 420, 484:
		return true
	}
	return false
}

// mergeChallenges adds to pick the challenges of every other 401 and 407
// (§16.7 step 7), so that the client can answer all of them at once.
func mergeChallenges(pick *sip.Message, finals []*sip.Message) *sip.Message {
	for _, r := range finals {
		if r == pick || r.StatusCode != 401 && r.StatusCode != 407 {
			continue
		}
		for _, fl := range r.Fields() {
			if fl.Key == sip.HeaderWWWAuthenticate || fl.Key == sip.HeaderProxyAuthenticate {
				_ = pick.Add(fl.Key.String(), fl.Value)
			}
		}
	}
	return pick
}

// respond forwards resp upstream over the server transaction.
func (f *fork) respond(resp *sip.Message) {
	if err := f.tx.Respond(resp); err != nil {
		f.p.log.Debug("response not forwarded", "status", resp.StatusCode, "err", err)
	}
}

// forwardACK sends an ACK for a 2xx on without a transaction (§16.6 with
// §17.1.1.3): it is end to end and never retransmitted by us. Its branch
// is derived from the incoming one so that a retransmitted ACK keeps it.
func (p *Proxy) forwardACK(r *Request) {
	t := r.Targets[0]
	f := &fork{p: p, r: r}
	// Derived from the incoming branch, so a retransmitted ACK keeps it.
	h := fnv.New64a()
	top := r.Msg.TopVia()
	h.Write([]byte(top.Branch()))
	h.Write([]byte(r.Msg.CallID()))
	branch := branchPrefix + "a" + strconv.FormatUint(h.Sum64(), 36)
	send := func() {
		dests, _ := f.dests(&t)
		for _, d := range dests {
			out := p.listenerFor(&d, d.Local)
			if out == nil {
				continue
			}
			if d.Kind == transport.UDP && !d.Local.IsValid() {
				d.Local = out.Addr
			}
			m := r.Msg
			if !sameURI(&t.URI, &m.RequestURI) {
				m.SetRequestURI(t.URI)
			}
			m.DecrementMaxForwards()
			strictRoute(m)
			m.PrependVia(sip.Via{
				Protocol: "SIP", Version: "2.0", Transport: d.Kind.String(),
				Host: out.Host, Port: out.Port,
				Params: sip.Params(";branch=" + branch),
			})
			if _, err := p.cfg.Transport.SendTo(d, m); err != nil {
				p.log.Debug("ACK not forwarded", "err", err)
				m.RemoveTopVia()
				continue
			}
			p.forwarded.Add(1)
			return
		}
	}
	if f.needsDNS() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			send()
		}()
		return
	}
	send()
}

// sameURI reports whether a and b are written the same, part by part.
func sameURI(a, b *sip.URI) bool {
	return a.Scheme == b.Scheme && a.User == b.User && a.Password == b.Password && a.Host == b.Host &&
		a.Port == b.Port && a.Params == b.Params && a.Headers == b.Headers && a.Opaque == b.Opaque
}
