package proxy

import (
	"net"
	"net/netip"
	"strings"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// addrs returns the IP addresses that are ours: the listeners' own, and
// every interface address when a listener is bound to all of them.
func localAddrs(ls []Listener) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	wild := false
	for _, l := range ls {
		a := l.Addr.Addr().Unmap()
		if a.IsUnspecified() {
			wild = true
			continue
		}
		out[a] = true
	}
	if wild {
		if ifs, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range ifs {
				if n, ok := ia.(*net.IPNet); ok {
					if a, ok := netip.AddrFromSlice(n.IP); ok {
						out[a.Unmap()] = true
					}
				}
			}
		}
	}
	return out
}

// parseHost returns the IP address of an IP-literal host ("[::1]" too).
func parseHost(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// isIPHost reports whether host is an IP literal.
func isIPHost(host string) bool { _, ok := parseHost(host); return ok }

// hostIsAddr reports whether the Via host is the IP address a.
func hostIsAddr(host string, a netip.Addr) bool {
	h, ok := parseHost(host)
	return ok && h == a
}

// isOurHost reports whether host names this proxy: one of our addresses,
// a domain of ours, or the host of one of our Record-Route URIs.
func (p *Proxy) isOurHost(host string) bool {
	if a, ok := parseHost(host); ok {
		return p.addrs[a]
	}
	h := strings.ToLower(host)
	if (*p.domains.Load())[h] {
		return true
	}
	for i := range p.cfg.Listeners {
		if strings.EqualFold(p.cfg.Listeners[i].RecordRoute.Host, host) || strings.EqualFold(p.cfg.Listeners[i].Host, host) {
			return true
		}
	}
	return false
}

// isOurDomain reports whether host is a domain we are responsible for: one
// of Domains, or one of our IP addresses.
func (p *Proxy) isOurDomain(host string) bool {
	if a, ok := parseHost(host); ok {
		return p.addrs[a]
	}
	return (*p.domains.Load())[strings.ToLower(host)]
}

// isOurs reports whether u points at this proxy: our host, and no port or
// one we listen on (RFC 3261 §19.1.4 defaults: 5060, 5061 for sips and TLS).
func (p *Proxy) isOurs(u *sip.URI) bool {
	if !u.IsSIP() || !p.isOurHost(u.Host) {
		return false
	}
	port := u.Port
	if port == 0 {
		if _, ok := parseHost(u.Host); !ok {
			// A domain name without a port: DNS would lead to us.
			return true
		}
		port = 5060
		if u.IsSIPS() || strings.EqualFold(u.Transport(), "tls") {
			port = 5061
		}
	}
	return p.ports[port]
}

// isOurVia reports whether a Via was put there by us.
func (p *Proxy) isOurVia(v *sip.Via) bool {
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		if strings.EqualFold(l.Host, v.Host) && (v.Port == l.Port || v.Port == 0 && l.Port == 5060) {
			return true
		}
	}
	return false
}

// listenerOn returns the listener a flow came on (or would leave by).
func (p *Proxy) listenerOn(kind transport.Kind, local netip.AddrPort) *Listener {
	var byPort, byKind *Listener
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		if l.Kind != kind {
			continue
		}
		if l.Addr == local {
			return l
		}
		if byPort == nil && l.Addr.Port() == local.Port() && l.Addr.Addr().IsUnspecified() {
			byPort = l
		}
		if byKind == nil {
			byKind = l
		}
	}
	if byPort != nil {
		return byPort
	}
	return byKind
}

// listenerFor returns the listener a request to d leaves by: for UDP the
// socket it is sent from, for the others the one whose address goes into
// our Via. It prefers the address family of d, and loopback for loopback.
func (p *Proxy) listenerFor(d *transaction.Dest, local netip.AddrPort) *Listener {
	if local.IsValid() {
		if l := p.listenerOn(d.Kind, local); l != nil {
			return l
		}
	}
	var best *Listener
	bestScore := -1
	remote := d.Addr.Addr().Unmap()
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		score := 0
		switch {
		case l.Kind == d.Kind:
			score += 8
		case d.Kind == transport.UDP:
			continue // UDP leaves by a UDP socket or not at all
		}
		la := l.Addr.Addr().Unmap()
		if remote.IsValid() {
			if la.Is4() == remote.Is4() {
				score += 4
			}
			if la.IsLoopback() == remote.IsLoopback() || la.IsUnspecified() {
				score += 2
			}
		}
		if score > bestScore {
			best, bestScore = l, score
		}
	}
	return best
}

// recordRoute returns our Record-Route value on l, with a flow token in
// the user part when tok is not "".
func recordRoute(l *Listener, tok string) string {
	u := l.RecordRoute
	if tok != "" {
		u.User = tok
	}
	return "<" + u.String() + ">"
}

// wantsToken reports whether a flow of kind k can only be reached again
// through a flow token: WebSockets always (their Contact is a .invalid
// name, RFC 7118), TCP and TLS with EnableFlowTokens.
func (p *Proxy) wantsToken(k transport.Kind) bool {
	switch k {
	case transport.WS, transport.WSS:
		return true
	case transport.TCP, transport.TLS:
		return p.cfg.EnableFlowTokens
	}
	return false
}

// literalDests returns the destination of a URI whose host is an IP
// literal (RFC 3263 §4.1-4.2 without DNS): the transport parameter or UDP
// (TLS for sips), the port or 5060 (5061 for TLS).
func literalDests(u *sip.URI) ([]transaction.Dest, bool) {
	a, ok := parseHost(u.Host)
	if !ok {
		return nil, false
	}
	kind := transport.UDP
	switch strings.ToLower(u.Transport()) {
	case "tcp":
		kind = transport.TCP
	case "tls":
		kind = transport.TLS
	case "", "udp":
	default:
		return nil, true
	}
	if u.IsSIPS() {
		kind = transport.TLS
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if kind == transport.TLS {
			port = 5061
		}
	}
	// No ServerName: crypto/tls then checks the certificate against the IP
	// address, and a connection the peer opened to us (which has none) is
	// reused, as RFC 3261 §18.1.1 and RFC 5923 want.
	return []transaction.Dest{{Kind: kind, Addr: netip.AddrPortFrom(a, uint16(port))}}, true
}
