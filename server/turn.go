package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
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
	bind := t.Addr
	if !bind.IsValid() {
		bind = netip.IPv4Unspecified()
	}
	listen := net.JoinHostPort(bind.String(), strconv.Itoa(int(t.Port)))
	var listenTLS []string
	var tc *tls.Config
	if t.TLSPort != 0 {
		cf, err := transport.LoadCertFile(t.TLSCertificate, t.TLSPrivateKey)
		if err != nil {
			return fmt.Errorf("%s: %w", where(s.cfg, "TlsTurnPort"), err)
		}
		s.certs = append(s.certs, cf)
		tc = &tls.Config{GetCertificate: cf.GetCertificate, MinVersion: tls.VersionTLS12}
		listenTLS = []string{net.JoinHostPort(bind.String(), strconv.Itoa(int(t.TLSPort)))}
	}
	policy := peerpolicy.New(peerpolicy.Config{Allow: t.AllowPeers, Deny: t.DenyPeers, Own: s.ownAddrs()})
	srv, err := turn.New(turn.Config{
		Realm:                 t.Realm,
		ListenUDP:             []string{listen},
		ListenTCP:             []string{listen},
		ListenTLS:             listenTLS,
		TLS:                   tc,
		RelayAddress:          t.RelayAddress,
		RelayBind:             bind,
		PortMin:               t.PortMin,
		PortMax:               t.PortMax,
		DefaultLifetime:       t.DefaultLifetime,
		MaxLifetime:           t.MaxLifetime,
		MaxAllocationsPerUser: t.MaxPerUser,
		MaxAllocations:        t.MaxAllocations,
		RESTSecrets:           s.restSecrets(),
		Users:                 s.users,
		Policy:                policy,
		Logger:                s.log.With("component", "turn"),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", t.Pos, err)
	}
	s.turn = srv
	relay := t.RelayAddress
	if !relay.IsValid() {
		relay = bind
	}
	s.log.Info("TURN listening", "udp", srv.UDPAddrs(), "tcp", srv.TCPAddrs(), "tls", srv.TLSAddrs(), "relay", relay.String(),
		"ports", strconv.Itoa(int(t.PortMin))+"-"+strconv.Itoa(int(t.PortMax)), "realm", t.Realm,
		"rest-secrets", len(t.Secrets))
	return nil
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
