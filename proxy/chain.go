package proxy

import (
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/sipedge/sipedge/flowtoken"
	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// Result tells the chain whether to go on.
type Result uint8

const (
	// Continue passes the request to the next processor.
	Continue Result = iota
	// Stop ends the chain: the processor answered the request (or dropped
	// it) itself.
	Stop
)

// Processor is one step of the request chain.
type Processor interface {
	Process(r *Request) Result
}

// ProcessorFunc makes a function a Processor.
type ProcessorFunc func(r *Request) Result

// Process calls f.
func (f ProcessorFunc) Process(r *Request) Result { return f(r) }

// Target is one place a request is forwarded to: one branch.
type Target struct {
	// URI is the branch's Request-URI.
	URI sip.URI
	// NextHop, when set, is resolved instead of the first Route or the
	// Request-URI (a static route's destination).
	NextHop *sip.URI
	// Flow, when its ID is not 0, is the connection to send over: a
	// registered client's, or the one a flow token named.
	Flow transport.Flow
	// Gone is the status for the branch when Flow no longer exists: 430
	// (Flow Failed, RFC 5626) for a flow token, 480 for a binding.
	Gone int
	// Binding is the registration the target came from, if any.
	Binding *location.Binding
	// Next are the other flows of the same instance (RFC 5626 §5.3), tried
	// in turn when this one fails (gone, 430, transport error).
	Next []Target
}

// Request is a request on its way through the chain.
type Request struct {
	// Msg is the request, edited in place by the processors.
	Msg *sip.Message
	// Tx is its server transaction; nil for an ACK to a 2xx, which is
	// forwarded without one.
	Tx *transaction.ServerTx
	// Source is the flow it came on.
	Source transport.Flow
	// Session is what the transport's WebSocket handshake check gave the
	// connection (a *wscookie.Session), nil otherwise.
	Session any
	// Targets are where it goes; processors add them.
	Targets []Target

	p *Proxy
	// loop is the loop-detection hash of the request as received
	// (§16.6 step 8).
	loop string
	// routed is set when a Route entry of ours was removed: the request
	// follows a route set we are on.
	routed bool
	// token is the flow the last of our removed Route entries named.
	token transport.Flow
	// responded is set once a response was sent.
	responded bool
}

// Respond answers the request with our own response (and ends its
// processing); edit may add header fields. An ACK gets no response.
func (r *Request) Respond(code int, reason string, edit func(*sip.Message)) {
	if r.responded {
		return
	}
	r.responded = true
	if r.Tx == nil {
		r.p.log.Debug("ACK dropped", "status", code, "reason", reason, "call-id", r.Msg.CallID())
		return
	}
	r.p.respondTx(r.Tx, code, reason, edit)
}

// DefaultChain returns the standard processors in order: sanity,
// cookieAuth, authenticate, routes, self, location, static, relay.
func (p *Proxy) DefaultChain() []Processor {
	return []Processor{
		ProcessorFunc(p.sanity),
		ProcessorFunc(p.cookieAuth),
		ProcessorFunc(p.authenticate),
		ProcessorFunc(p.routes),
		ProcessorFunc(p.self),
		ProcessorFunc(p.location),
		ProcessorFunc(p.static),
		ProcessorFunc(p.relay),
	}
}

// sanity is RFC 3261 §16.3 (the parser did the syntax) plus RFC 3581.
func (p *Proxy) sanity(r *Request) Result {
	m := r.Msg
	u := &m.RequestURI
	if !u.IsSIP() && !u.IsTel() {
		r.Respond(416, "", nil)
		return Stop
	}
	if mf, ok := m.MaxForwards(); ok && mf <= 0 {
		if m.Method == "OPTIONS" && p.isOurs(u) {
			p.answerOptions(r)
			return Stop
		}
		p.maxForwards.Add(1)
		r.Respond(483, "", nil)
		return Stop
	}
	r.loop = loopHash(m)
	for v, err := range m.Vias() {
		if err != nil {
			break
		}
		if p.isOurVia(&v) && strings.HasPrefix(v.Branch(), branchPrefix+r.loop) {
			p.loops.Add(1)
			r.Respond(482, "", nil)
			return Stop
		}
	}
	if m.Method != "ACK" && m.Method != "CANCEL" {
		if bad := p.unsupported(m, sip.HeaderProxyRequire); len(bad) > 0 {
			r.Respond(420, "", func(resp *sip.Message) { _ = resp.Add("Unsupported", strings.Join(bad, ", ")) })
			return Stop
		}
	}
	if !p.cfg.HideTopology {
		v := m.TopVia()
		host := ""
		if src := r.Source.Remote.Addr().Unmap(); src.IsValid() && !hostIsAddr(v.Host, src) {
			host = src.String()
		}
		port := 0
		if _, ok := v.RPort(); ok {
			port = int(r.Source.Remote.Port())
		}
		if host != "" || port != 0 {
			m.SetTopViaReceived(host, port)
		}
	}
	return Continue
}

// supported are the option tags sipedge implements; none of them is a
// proxy extension yet.
var supported = []string{}

// unsupported returns the option tags of list header h that we lack.
func (p *Proxy) unsupported(m *sip.Message, h sip.Header) []string {
	var bad []string
	for v, err := range m.Values(h) {
		if err != nil {
			break
		}
		if v != "" && !slices.Contains(supported, strings.ToLower(v)) {
			bad = append(bad, v)
		}
	}
	return bad
}

// routes is RFC 3261 §16.4: the strict-router fix-up, maddr, and the
// removal of our own Route entries; the flow token of the last one names the
// flow to send over.
func (p *Proxy) routes(r *Request) Result {
	m := r.Msg
	// A strict router before us put our Record-Route URI in the
	// Request-URI and the real one last in Route.
	if p.isOurs(&m.RequestURI) && (m.RequestURI.User == "" || p.isToken(m.RequestURI.User)) && hasRoute(m) {
		ours := m.RequestURI
		last, ok := lastRoute(m)
		if ok {
			m.SetRequestURI(last)
			if err := r.useToken(&ours); err != nil {
				return Stop
			}
			r.routed = true
		}
	}
	if maddr, ok := m.RequestURI.Params.Get("maddr"); ok && p.isOurHost(maddr) {
		u := m.RequestURI
		u.Params = u.Params.Without("maddr").Without("transport")
		u.Port = 0
		m.SetRequestURI(u)
	}
	for {
		a, ok, err := m.FirstAddr(sip.HeaderRoute)
		if err != nil {
			r.Respond(400, "Bad Route", nil)
			return Stop
		}
		if !ok || !p.isOurs(&a.URI) {
			break
		}
		m.RemoveFirst(sip.HeaderRoute)
		r.routed = true
		r.token = transport.Flow{}
		if err := r.useToken(&a.URI); err != nil {
			return Stop
		}
	}
	if r.token.ID != 0 {
		// Signed by us into a Record-Route: the connection it names is the
		// target, whatever the Request-URI says (RFC 5626 §5.3); a GRUU of
		// ours as the Request-URI is retargeted to the contact it stands
		// for (RFC 5627 §6).
		r.Targets = append(r.Targets, Target{URI: p.gruuContact(&m.RequestURI, r.token.ID), Flow: r.token, Gone: 430})
		return Continue
	}
	inDialog := m.ToTag() != ""
	if hasRoute(m) {
		// The rest of the route set says where to go. Out of a dialog, a
		// route set the client preloaded (with or without us first) must
		// not make us an open relay.
		if !inDialog && !p.cfg.RelayForeignDomains {
			r.Respond(403, "Relaying Forbidden", nil)
			return Stop
		}
		r.Targets = append(r.Targets, Target{URI: m.RequestURI})
		return Continue
	}
	if r.routed && inDialog && !(m.RequestURI.User == "" && p.isOurs(&m.RequestURI)) {
		// A request in a dialog we record-routed goes to the remote target.
		r.Targets = append(r.Targets, Target{URI: m.RequestURI})
	}
	return Continue
}

// gruuContact returns the registered contact a GRUU of ours stands for,
// preferring the binding on flow (the one a flow token named), or u itself
// when it is no GRUU of ours.
func (p *Proxy) gruuContact(u *sip.URI, flow transport.FlowID) sip.URI {
	if p.cfg.Registrar == nil || !u.Params.Has("gr") || !p.isOurDomain(u.Host) {
		return *u
	}
	bs, gruu := p.cfg.Registrar.LookupURI(u)
	if !gruu || len(bs) == 0 {
		return *u
	}
	for i := range bs {
		if bs[i].Flow.ID == flow {
			return bs[i].Contact.URI
		}
	}
	return bs[0].Contact.URI
}

// useToken takes the flow token in the user part of one of our URIs, if
// there is one; a token that does not verify gets 403.
func (r *Request) useToken(u *sip.URI) error {
	if u.User == "" {
		return nil
	}
	id, kind, err := r.p.tokens.Decode(u.User)
	if errors.Is(err, flowtoken.ErrStale) {
		// Genuine, but made by another run of sipedge (or another node):
		// its flow is gone (RFC 5626 §5.3).
		r.Respond(430, "Flow Failed", nil)
		return err
	}
	if err != nil {
		r.Respond(403, "Invalid Flow Token", nil)
		return err
	}
	r.token = transport.Flow{ID: id, Kind: kind}
	return nil
}

// self answers what is addressed to sipedge itself: OPTIONS to us, and
// REGISTER for our domains (the registrar, RFC 3261 §10.3).
func (p *Proxy) self(r *Request) Result {
	if len(r.Targets) > 0 {
		return Continue
	}
	m := r.Msg
	u := &m.RequestURI
	if m.Method == "REGISTER" && p.isOurDomain(u.Host) {
		p.register(r)
		return Stop
	}
	if u.User == "" && p.isOurs(u) {
		switch m.Method {
		case "OPTIONS":
			p.answerOptions(r)
		case "ACK":
			r.Respond(0, "", nil)
		default:
			r.Respond(404, "", nil)
		}
		return Stop
	}
	return Continue
}

// register hands a REGISTER for one of our domains to the registrar
// (§10.3 steps 1-3; the registrar checks Require itself).
func (p *Proxy) register(r *Request) {
	m := r.Msg
	if p.cfg.Registrar == nil {
		r.Respond(405, "", func(resp *sip.Message) { _ = resp.Set("Allow", allowed) })
		return
	}
	to := m.To()
	if !to.URI.IsSIP() || !p.isOurDomain(to.URI.Host) {
		r.Respond(404, "Not Found (not a domain of ours)", nil)
		return
	}
	if r.Tx == nil {
		return
	}
	resp := p.cfg.Registrar.Register(m, r.Source)
	r.responded = true
	p.responded.Add(1)
	if p.cfg.ServerName != "" {
		_ = resp.Set("Server", p.cfg.ServerName)
	}
	if err := r.Tx.Respond(resp); err != nil {
		p.log.Debug("REGISTER response not sent", "err", err)
	}
}

// allowed is the Allow header of our own responses.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH, INFO, UPDATE, PRACK, REFER"

// answerOptions answers an OPTIONS for sipedge itself (RFC 3261 §11.2).
func (p *Proxy) answerOptions(r *Request) {
	r.Respond(200, "", func(resp *sip.Message) {
		_ = resp.Set("Allow", allowed)
		_ = resp.Set("Accept", "application/sdp")
	})
}

// location is RFC 3261 §16.5 for our domains: the registrar's bindings
// are the targets, those of one instance only for a GRUU (RFC 5627). A
// user of ours with no binding gets 480.
func (p *Proxy) location(r *Request) Result {
	if len(r.Targets) > 0 {
		return Continue
	}
	u := &r.Msg.RequestURI
	if !u.IsSIP() || !p.isOurDomain(u.Host) || p.cfg.Registrar == nil {
		return Continue
	}
	bs, gruu := p.cfg.Registrar.LookupURI(u)
	r.Targets = append(r.Targets, bindingTargets(bs)...)
	if len(r.Targets) == 0 && (gruu || !p.hasStaticRoute(r.Msg)) {
		// A GRUU reaches its instance or nothing (RFC 5627 §6).
		r.Respond(480, "", nil)
		return Stop
	}
	return Continue
}

// bindingTargets turns bindings into targets, one per instance: the flows
// of one instance registered with RFC 5626 reg-ids are tried in turn (the
// most recently refreshed first), not forked to (§5.3); every other
// binding is a target of its own.
func bindingTargets(bs []location.Binding) []Target {
	var ts []Target
	byInstance := map[string]int{}
	for i := range bs {
		b := &bs[i]
		t := Target{URI: b.Contact.URI, Flow: b.Flow, Gone: 480, Binding: b}
		if b.Instance != "" && b.RegID != 0 {
			if j, ok := byInstance[b.Instance]; ok {
				ts[j].Next = append(ts[j].Next, t)
				continue
			}
			byInstance[b.Instance] = len(ts)
		}
		ts = append(ts, t)
	}
	return ts
}

// static applies the first static route that matches.
func (p *Proxy) static(r *Request) Result {
	if len(r.Targets) > 0 {
		return Continue
	}
	if sr := p.staticRoute(r.Msg); sr != nil {
		dest := sr.Destination
		r.Targets = append(r.Targets, Target{URI: r.Msg.RequestURI, NextHop: &dest})
	}
	return Continue
}

func (p *Proxy) hasStaticRoute(m *sip.Message) bool { return p.staticRoute(m) != nil }

func (p *Proxy) staticRoute(m *sip.Message) *StaticRoute {
	if len(p.cfg.StaticRoutes) == 0 {
		return nil
	}
	ruri := m.RequestURI.String()
	for i := range p.cfg.StaticRoutes {
		sr := &p.cfg.StaticRoutes[i]
		if len(sr.Methods) > 0 && !slices.Contains(sr.Methods, m.Method) {
			continue
		}
		if sr.Pattern.MatchString(ruri) {
			return sr
		}
	}
	return nil
}

// relay forwards a request for another domain by RFC 3263, when relaying
// is allowed.
func (p *Proxy) relay(r *Request) Result {
	if len(r.Targets) > 0 {
		return Continue
	}
	u := &r.Msg.RequestURI
	if p.isOurs(u) {
		r.Respond(404, "", nil)
		return Stop
	}
	if !u.IsSIP() {
		// A tel URI goes by static routes only.
		r.Respond(416, "", nil)
		return Stop
	}
	if !p.cfg.RelayForeignDomains || p.cfg.Resolver == nil && !isIPHost(u.Host) {
		r.Respond(403, "Relaying Forbidden", nil)
		return Stop
	}
	r.Targets = append(r.Targets, Target{URI: *u})
	return Continue
}

// branchPrefix starts our branches: the RFC 3261 magic cookie and a mark
// that says sipedge made it.
const branchPrefix = "z9hG4bK-se-"

// loopHash is the §16.6 step 8 hash of the fields that a looping request
// keeps and a spiralling one changes.
func loopHash(m *sip.Message) string {
	h := fnv.New64a()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	u := &m.RequestURI
	write(u.Scheme)
	write(u.User)
	write(u.Host)
	write(strconv.Itoa(u.Port))
	write(string(u.Params))
	write(u.Headers)
	write(u.Opaque)
	write(m.ToTag())
	write(m.FromTag())
	write(m.CallID())
	write(strconv.FormatUint(uint64(m.CSeq().Seq), 10))
	for _, hd := range [...]sip.Header{sip.HeaderRoute, sip.HeaderProxyRequire, sip.HeaderProxyAuthorization} {
		for v, err := range m.Values(hd) {
			if err != nil {
				break
			}
			write(v)
		}
	}
	// 40 bits: a loop is the same request coming back, not a collision
	// among many.
	return strconv.FormatUint(h.Sum64()>>24, 36)
}

// hasRoute reports whether m has a Route header.
func hasRoute(m *sip.Message) bool {
	_, ok := m.Get("Route")
	return ok
}

// lastRoute removes the last Route value and returns its URI.
func lastRoute(m *sip.Message) (sip.URI, bool) {
	var all []sip.Addr
	for a, err := range m.Routes() {
		if err != nil {
			return sip.URI{}, false
		}
		all = append(all, a)
	}
	if len(all) == 0 {
		return sip.URI{}, false
	}
	m.Del("Route")
	for i := len(all) - 2; i >= 0; i-- {
		_ = m.Prepend(sip.HeaderRoute, all[i].String())
	}
	return all[len(all)-1].URI, true
}

// isToken reports whether s is a flow token of ours.
func (p *Proxy) isToken(s string) bool {
	_, _, err := p.tokens.Decode(s)
	return err == nil
}
