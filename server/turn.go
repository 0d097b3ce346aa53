package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/sipedge/sipedge/transport"
	"github.com/sipedge/sipedge/turn"
	"github.com/sipedge/sipedge/turn/peerpolicy"
)

// startTURN starts the TURN server the config describes (TurnPort and the
// keys that go with it); nothing when TurnPort is 0.
func (s *Server) startTURN() error {
	t := s.cfg.Turn
	if t.Port == 0 {
		return nil
	}
	addrs, relayBind, err := s.turnAddrs()
	if err != nil {
		return fmt.Errorf("%s: %w", t.Pos, err)
	}
	listen := hostPorts(addrs, t.Port)
	var listenTLS []string
	var tc *tls.Config
	if t.TLSPort != 0 {
		cf, err := transport.LoadCertFile(t.TLSCertificate, t.TLSPrivateKey)
		if err != nil {
			return fmt.Errorf("%s: %w", where(s.cfg, "TlsTurnPort"), err)
		}
		s.certs = append(s.certs, cf)
		tc = &tls.Config{GetCertificate: cf.GetCertificate, MinVersion: tls.VersionTLS12}
		listenTLS = hostPorts(addrs, t.TLSPort)
	}
	realm := t.Realm
	if realm == "" {
		realm = s.turnRealmDefault()
	}
	s.turnRealm = realm
	policy := peerpolicy.New(peerpolicy.Config{Allow: t.AllowPeers, Deny: t.DenyPeers, Own: s.ownAddrs()})
	srv, err := turn.New(turn.Config{
		Realm:                 realm,
		ListenUDP:             listen,
		ListenTCP:             listen,
		ListenTLS:             listenTLS,
		Shared:                s.sharedTURN(),
		TLS:                   tc,
		RelayAddress:          t.RelayAddress,
		RelayBind:             relayBind,
		PortMin:               t.PortMin,
		PortMax:               t.PortMax,
		DefaultLifetime:       t.DefaultLifetime,
		MaxLifetime:           t.MaxLifetime,
		MaxAllocationsPerUser: t.MaxPerUser,
		MaxAllocations:        t.MaxAllocations,
		MaxBitrate:            t.MaxBitrate,
		RESTSecrets:           s.restSecrets(),
		Users:                 s.users,
		Policy:                policy,
		Logger:                s.log.With("component", "turn"),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", t.Pos, err)
	}
	s.turn = srv
	relay := "the address each client reached"
	if t.RelayAddress.IsValid() {
		relay = t.RelayAddress.String()
	}
	s.log.Info("TURN listening", "udp", srv.UDPAddrs(), "tcp", srv.TCPAddrs(), "tls", srv.TLSAddrs(), "relay", relay,
		"ports", strconv.Itoa(int(t.PortMin))+"-"+strconv.Itoa(int(t.PortMax)), "realm", realm,
		"rest-secrets", len(s.restSecrets()))
	if t.TLSPort == 0 && len(s.muxes) == 0 {
		s.log.Info("TURN over TLS is off: set TlsTurnPort and a certificate (TurnTlsCertificate/TurnTlsPrivateKey, or TLSCertificate/TLSPrivateKey) to serve turns:")
	}
	return nil
}

// turnAddrs are the addresses TURN listens on, and the address its relays
// bind to: TurnAddress when it names one address (relays on it too);
// otherwise every address of the interfaces that are up (of TurnAddress's
// family when it is 0.0.0.0), each with its own listeners and relays.
// Behind NAT (TurnRelayAddress), relays bind to TurnAddress or the
// unspecified address of TurnRelayAddress's family, since the relay ports
// are forwarded to the host, whichever address it has.
func (s *Server) turnAddrs() (addrs []netip.Addr, relayBind netip.Addr, err error) {
	t := s.cfg.Turn
	if t.Addr.IsValid() && !t.Addr.IsUnspecified() {
		return []netip.Addr{t.Addr}, t.Addr, nil
	}
	if t.RelayAddress.IsValid() {
		relayBind = netip.IPv6Unspecified()
		if t.RelayAddress.Is4() {
			relayBind = netip.IPv4Unspecified()
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("TURN on every interface: listing them: %w", err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := p.Addr().Unmap()
			// Link-local IPv6 needs a zone in every relayed address; no
			// browser uses it for TURN.
			if ip.IsLinkLocalUnicast() && ip.Is6() || ip.IsMulticast() || t.Addr.IsValid() && t.Addr.Is4() && !ip.Is4() {
				continue
			}
			if !slices.Contains(addrs, ip) {
				addrs = append(addrs, ip)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, netip.Addr{}, errors.New("TURN on every interface: no interface has an address (set TurnAddress)")
	}
	return addrs, relayBind, nil
}

// hostPorts joins each address with port.
func hostPorts(addrs []netip.Addr, port uint16) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = netip.AddrPortFrom(a, port).String()
	}
	return out
}

// turnRealmDefault is the TURN realm when neither AuthenticationRealm nor
// Domains names one: the user store's first domain (whose users then
// allocate with their SIP passwords), else the host name.
func (s *Server) turnRealmDefault() string {
	if d := s.users.cur.Load().domains; len(d) > 0 {
		return d[0]
	}
	if d := s.domains(); len(d) > 0 {
		return d[0]
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "sipedge"
}

// sharedTURN are the TURN sides of the ports WSS shares with TURN.
func (s *Server) sharedTURN() []net.Listener {
	var out []net.Listener
	for _, m := range s.muxes {
		out = append(out, m.TURN())
	}
	return out
}

// ownAddrs are sipedge's own addresses, which relays must not reach: the
// listeners' and TURN's addresses, and every interface address when one of
// them is a wildcard.
func (s *Server) ownAddrs() []netip.Addr {
	var own []netip.Addr
	wildcard := false
	add := func(a netip.Addr) {
		if !a.IsValid() {
			return
		}
		if a = a.Unmap(); a.IsUnspecified() {
			wildcard = true
		} else if !slices.Contains(own, a) {
			own = append(own, a)
		}
	}
	for _, l := range s.bound {
		add(l.Addr.Addr())
	}
	add(s.cfg.Turn.Addr)
	add(s.cfg.Turn.RelayAddress)
	if !s.cfg.Turn.Addr.IsValid() {
		wildcard = true
	}
	if wildcard {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					add(p.Addr())
				}
			}
		} else {
			s.log.Warn("TURN: cannot list the interface addresses to keep relays off them", "err", err)
		}
	}
	return own
}

// TURN returns the TURN server, nil when TurnPort is 0.
func (s *Server) TURN() *turn.Server { return s.turn }
