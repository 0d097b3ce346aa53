package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/store"
	"github.com/sipedge/sipedge/transport"
	"github.com/sipedge/sipedge/wscookie"
)

// users is the digest credentials of the store's users, kept in memory and
// reloaded whole when the store changes (a `sipedge user` command while
// the server runs): a challenge answer never waits on the database.
type users struct {
	st  store.Store
	cur atomic.Pointer[userTable]
}

// userTable maps user and realm to the stored HA1 values, and lists the
// store's domains.
type userTable struct {
	ha1     map[[2]string]store.User
	domains []string
}

// load reads every user and domain from the store.
func (u *users) load(ctx context.Context) error {
	all, err := u.st.Users(ctx, "")
	if err != nil {
		return fmt.Errorf("reading users: %w", err)
	}
	doms, err := u.st.Domains(ctx)
	if err != nil {
		return fmt.Errorf("reading domains: %w", err)
	}
	t := &userTable{ha1: make(map[[2]string]store.User, len(all)), domains: doms}
	for _, x := range all {
		t.ha1[[2]string{x.User, x.Realm}] = x
	}
	u.cur.Store(t)
	return nil
}

// HA1 is auth.Users: the stored HA1 of user in realm for alg.
func (u *users) HA1(_ context.Context, user, realm string, alg auth.Algorithm) (string, error) {
	x, ok := u.cur.Load().ha1[[2]string{user, realm}]
	if !ok {
		return "", auth.ErrUnknownUser
	}
	name := "MD5"
	if alg.Base() == auth.SHA256 {
		name = "SHA-256"
	}
	h := x.HA1(name)
	if h == "" {
		return "", auth.ErrUnknownUser
	}
	return strings.ToLower(h), nil
}

// count returns the number of users loaded.
func (u *users) count() int { return len(u.cur.Load().ha1) }

// authenticator builds digest authentication from the config, or nil with
// DisableAuth.
func (s *Server) authenticator() (*auth.Authenticator, error) {
	cfg := s.cfg
	if cfg.DisableAuth {
		s.log.Warn("digest authentication is off (DisableAuth): anyone may register and call as any user", "setting", where(cfg, "DisableAuth"))
		return nil, nil
	}
	var algs []auth.Algorithm
	for _, name := range cfg.DigestChallengeAlgorithms {
		a, ok := auth.ParseAlgorithm(name)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not a digest algorithm", where(cfg, "DigestChallengeAlgorithms"), name)
		}
		algs = append(algs, a)
	}
	var peers []auth.Peer
	for _, tp := range cfg.TrustedPeers {
		p := auth.Peer{Prefix: tp.Prefix}
		switch tp.Transport {
		case "UDP":
			p.Transport = transport.UDP
		case "TCP":
			p.Transport = transport.TCP
		case "TLS":
			p.Transport = transport.TLS
		case "WS":
			p.Transport = transport.WS
		case "WSS":
			p.Transport = transport.WSS
		}
		peers = append(peers, p)
	}
	a, err := auth.New(auth.Config{
		Algorithms:            algs,
		StaticRealm:           cfg.StaticRealm,
		ChallengeThirdParties: cfg.ChallengeThirdParties,
		TrustedPeers:          peers,
		NonceLifetime:         s.opts.NonceLifetime,
		Logger:                s.log.With("component", "auth"),
	}, s.users)
	if err != nil {
		return nil, fmt.Errorf("digest authentication: %w", err)
	}
	if s.users.count() == 0 {
		s.log.Warn("digest authentication is on and there are no users yet: add one with `sipedge user add USER@DOMAIN` (same -c and --DataDirectory as serve); the running server picks it up")
	}
	return a, nil
}

// domains is what the proxy serves: the configured Domains, else the
// Record-Route host names, and the store's domains.
func (s *Server) domains() []string {
	d := slices.Clone(s.cfg.Domains)
	if len(d) == 0 {
		d = recordRouteDomains(s.bound)
	}
	for _, x := range s.users.cur.Load().domains {
		if !slices.Contains(d, x) {
			d = append(d, x)
		}
	}
	return d
}

// watchUsers reloads users and domains when the store changes, until ctx
// ends.
func (s *Server) watchUsers(ctx context.Context) {
	_ = store.Watch(ctx, s.users.st, time.Second, func() {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.users.load(lctx); err != nil {
			s.log.Warn("user store changed but could not be read; keeping the users loaded before", "err", err)
			return
		}
		s.proxy.SetDomains(s.domains())
		s.log.Info("users and domains reloaded", "users", s.users.count())
	}, func(err error) {
		s.log.Warn("user store not readable", "err", err)
	})
}

// wsCheck returns the WebSocket handshake check of repro's cookie
// authentication, or nil when WSCookieAuthSharedSecret is not set.
func (s *Server) wsCheck() func(*http.Request) (any, error) {
	cfg := s.cfg
	if cfg.WSCookieAuthSecret == nil {
		return nil
	}
	v := &wscookie.Verifier{Secret: cfg.WSCookieAuthSecret, InfoName: cfg.WSCookieNameInfo, ExtraName: cfg.WSCookieNameExtra,
		MACName: cfg.WSCookieNameMac, ExtraHeader: cfg.WSCookieExtraHeaderName}
	s.log.Info("WebSocket cookie authentication on", "setting", where(cfg, "WSCookieAuthSharedSecret"))
	return func(r *http.Request) (any, error) {
		session, err := v.Check(r)
		if err != nil {
			return nil, err
		}
		return session, nil
	}
}
