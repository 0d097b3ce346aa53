package auth

import (
	"net/netip"
	"strings"

	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transport"
)

// Peer is a trusted peer (repro's TrustedPeers): requests from an address
// in Prefix over Transport (0: any) pass without a challenge. For trunks
// and gateways that cannot answer one.
type Peer struct {
	Prefix    netip.Prefix
	Transport transport.Kind
}

// normalizePeers masks the prefixes and turns IPv4-mapped IPv6 prefixes
// (::ffff:192.0.2.0/120) into IPv4 ones, the form Trusted compares with.
func normalizePeers(peers []Peer) []Peer {
	out := make([]Peer, 0, len(peers))
	for _, p := range peers {
		pre := p.Prefix.Masked()
		if addr := pre.Addr(); addr.Is4In6() {
			bits := pre.Bits() - 96
			if bits < 0 {
				bits = 0
			}
			pre = netip.PrefixFrom(addr.Unmap(), bits).Masked()
		} else {
			pre = netip.PrefixFrom(addr.WithZone(""), pre.Bits())
		}
		out = append(out, Peer{Prefix: pre, Transport: p.Transport})
	}
	return out
}

// Trusted reports whether src comes from a trusted peer: its remote address
// (IPv4-mapped IPv6 taken as IPv4) in a peer's prefix, over the peer's
// transport when it names one.
func (a *Authenticator) Trusted(src transport.Flow) bool {
	addr := src.Remote.Addr().Unmap().WithZone("")
	for _, p := range a.peers {
		if (p.Transport == 0 || p.Transport == src.Kind) && p.Prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// Need says how a request must be authenticated.
type Need struct {
	// Realm to challenge and check in.
	Realm string
	// Proxy: 407 and Proxy-Authorization; else 401 and Authorization.
	Proxy bool
	// ThirdParty is set for a request whose From is not ours, challenged
	// because of ChallengeThirdParties: the caller is some user of ours,
	// but the From identity is not ours to check, so MatchesFrom does not
	// apply.
	ThirdParty bool
}

// Required decides whether req, received on src, must be authenticated,
// and how; isLocal reports whether a host is one of our domains.
//
// Never when authentication is Disabled, for ACK and CANCEL (RFC 3261
// §22.1: they cannot be challenged), inside a dialog (a To tag), or from a
// trusted peer. A REGISTER for one of our domains (by its To) gets 401 in
// the To domain's realm; another out-of-dialog request whose From is one of
// our domains gets 407 in the From domain's realm; with
// ChallengeThirdParties, one whose From is foreign but whose Request-URI is
// ours gets 407 in the Request-URI domain's realm.
func (a *Authenticator) Required(req *sip.Message, src transport.Flow, isLocal func(host string) bool) (Need, bool) {
	if a.disabled || !req.IsRequest() || req.Method == "ACK" || req.Method == "CANCEL" ||
		req.ToTag() != "" || a.Trusted(src) {
		return Need{}, false
	}
	if req.Method == "REGISTER" {
		to := req.To()
		if !to.URI.IsSIP() || !isLocal(hostOf(&to.URI)) {
			return Need{}, false
		}
		return Need{Realm: a.Realm(hostOf(&to.URI))}, true
	}
	from := req.From()
	if from.URI.IsSIP() && isLocal(hostOf(&from.URI)) {
		return Need{Realm: a.Realm(hostOf(&from.URI)), Proxy: true}, true
	}
	if a.thirdParty && req.RequestURI.IsSIP() && isLocal(hostOf(&req.RequestURI)) {
		return Need{Realm: a.Realm(hostOf(&req.RequestURI)), Proxy: true, ThirdParty: true}, true
	}
	return Need{}, false
}

// hostOf returns the host of u in lower case.
func hostOf(u *sip.URI) string { return strings.ToLower(u.Host) }
