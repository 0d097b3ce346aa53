package proxy

import (
	"context"
	"strings"
	"time"

	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/wscookie"
)

// cookieAuth is repro's CookieAuthenticator: a request over a WebSocket
// opened with WSCookieAuthSharedSecret cookies must come From one of our
// domains and match the cookie's From and To (wscookie.Session.Allows);
// else 403.
func (p *Proxy) cookieAuth(r *Request) Result {
	s, ok := r.Session.(*wscookie.Session)
	if !ok || r.Msg.Method == "ACK" || r.Msg.Method == "BYE" {
		return Continue
	}
	reason := "From is not one of our domains"
	if ok = p.isOurDomain(r.Msg.From().URI.Host); ok {
		ok, reason = s.Allows(r.Msg)
	}
	if !ok {
		p.log.Info("request refused by its WebSocket cookie", "reason", reason, "call-id", r.Msg.CallID())
		r.Respond(403, "Authentication against cookie failed", nil)
		return Stop
	}
	return Continue
}

// authenticate is digest authentication (RFC 3261 §22, RFC 7616): a
// REGISTER for our domains gets 401, another out-of-dialog request from
// one of our users 407 (auth.Authenticator.Required says which); the
// authenticated user must be the request's From (the To of a REGISTER),
// else 403. Our own credentials are taken out before the request goes on.
func (p *Proxy) authenticate(r *Request) Result {
	a := p.cfg.Auth
	if a == nil || r.Tx == nil {
		return Continue
	}
	m := r.Msg
	need, ok := a.Required(m, r.Source, p.isOurDomain)
	if !ok {
		return Continue
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	res := a.Check(ctx, m, need.Realm, need.Proxy, r.Source.Remote.Addr())
	cancel()
	switch res.Outcome {
	case auth.OK:
		user := strings.Clone(res.User)
		var match bool
		if m.Method == "REGISTER" {
			match = a.MatchesTo(m, user, res.Realm)
		} else {
			match = need.ThirdParty || a.MatchesFrom(m, user, res.Realm)
		}
		if !match {
			p.log.Info("authenticated user does not match the request", "user", user, "realm", res.Realm, "method", m.Method, "call-id", m.CallID())
			r.Respond(403, "Forbidden (identity does not match the credentials)", nil)
			return Stop
		}
		if need.Proxy {
			dropCredentials(m, need.Realm)
		}
		return Continue
	case auth.Missing, auth.Failed, auth.Stale:
		challenge := a.Challenge(m, need.Realm, need.Proxy, res.Outcome == auth.Stale)
		p.respondLater(r, challenge, res.Delay)
		return Stop
	case auth.Unavailable:
		p.log.Warn("user store unavailable", "err", res.Err)
		r.Respond(503, "Service Unavailable (user store)", func(resp *sip.Message) { _ = resp.Set("Retry-After", "5") })
		return Stop
	default:
		p.respondLater(r, p.newResponse(m, 403, "Forbidden ("+res.Reason.String()+")"), res.Delay)
		return Stop
	}
}

// respondLater sends resp after delay (a brute-force slow-down), without
// holding the transport's goroutine.
func (p *Proxy) respondLater(r *Request, resp *sip.Message, delay time.Duration) {
	r.responded = true
	p.responded.Add(1)
	send := func() {
		if err := r.Tx.Respond(resp); err != nil {
			p.log.Debug("response not sent", "status", resp.StatusCode, "err", err)
		}
	}
	if delay <= 0 {
		send()
		return
	}
	time.AfterFunc(delay, send)
}

// dropCredentials removes the Proxy-Authorization values for realm, which
// were for us (RFC 3261 §22.3); others go on to the proxies they are for.
func dropCredentials(m *sip.Message, realm string) {
	var keep []string
	drop := false
	for c, err := range m.Auths(sip.HeaderProxyAuthorization) {
		if err != nil {
			return
		}
		if r, _ := c.Param("realm"); r == realm {
			drop = true
			continue
		}
		keep = append(keep, c.Scheme+" "+c.Params)
	}
	if !drop {
		return
	}
	m.Del("Proxy-Authorization")
	for _, v := range keep {
		_ = m.Add("Proxy-Authorization", v)
	}
}
