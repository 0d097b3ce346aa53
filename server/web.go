package server

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/flowtoken"
	"github.com/sipedge/sipedge/transport"
	"github.com/sipedge/sipedge/web"
)

// RESTKeyFile is the key file in the data directory that signs TURN REST
// credentials when no TurnSecret is configured.
const RESTKeyFile = "turn-rest.key"

// webState is the HTTP side of the WS and WSS listeners: the handler, set
// by startWeb (once TURN runs, when it is on), and the REST secret the
// endpoint signs with.
type webState struct {
	handler atomic.Pointer[http.Handler]
	// secret is the REST secret read from RESTKeyFile (see RESTSecret);
	// nil when TurnSecret is configured.
	secret []byte
}

// webHandler returns what the WS and WSS listeners answer requests that
// are not WebSocket upgrades with: the web phone (WebPhone), the self-test
// page (WebSelfTest) and, while TURN is on, the TURN credentials endpoint;
// nil when none is on (they then answer as they always did). It reads or
// creates the REST key now, so that startTURN can accept what the
// endpoint signs; the handlers come with startWeb, once TURN runs, and
// until then the answer is 503.
func (s *Server) webHandler() (http.Handler, error) {
	if s.cfg.Turn.Port == 0 && !s.cfg.Web.Phone && !s.cfg.Web.SelfTest {
		return nil, nil
	}
	if s.cfg.Turn.Port != 0 && len(s.cfg.Turn.Secrets) == 0 {
		secret, err := RESTSecret(s.cfg)
		if err != nil {
			return nil, err
		}
		s.web.secret = secret
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.web.handler.Load()
		if h == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}), nil
}

// RESTSecret returns the secret that signs TURN REST credentials under
// cfg: the first TurnSecret, else the key kept in
// <DataDirectory>/turn-rest.key (created when missing, under
// flowtoken.LoadOrCreateKeyFile's rules) as its 64 lower-case hex digits,
// so that `TurnSecret = <the file's content>` on another node agrees.
// `sipedge turn-credentials` signs with it too.
func RESTSecret(cfg *config.Config) ([]byte, error) {
	if len(cfg.Turn.Secrets) > 0 {
		return cfg.Turn.Secrets[0], nil
	}
	key, err := flowtoken.LoadOrCreateKeyFile(cfg.DataDirectory, RESTKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: TURN REST key: %w", where(cfg, "DataDirectory"), err)
	}
	return []byte(hex.EncodeToString(key)), nil
}

// restSecrets are the TURN server's REST secrets: TurnSecret's, or the
// data directory's key.
func (s *Server) restSecrets() [][]byte {
	if s.web.secret != nil {
		return [][]byte{s.web.secret}
	}
	return s.cfg.Turn.Secrets
}

// startWeb builds the web phone (WebPhone), the self-test page
// (WebSelfTest) and, once TURN runs, the TURN credentials endpoint;
// nothing when none is on. It cannot fail for a
// configuration that passed webHandler and startTURN; should it, the
// endpoint answers 503 and the log says why, while SIP, TURN and the
// phone go on.
func (s *Server) startWeb() {
	if s.turn == nil {
		if s.cfg.Web.Phone || s.cfg.Web.SelfTest {
			s.serveWeb(nil, "")
		}
		return
	}
	cfg := s.cfg
	realm := s.turnRealm
	tc := web.TURNConfig{
		Realm:       realm,
		RealmOf:     s.realmOf,
		Users:       s.users,
		Secret:      s.restSecrets()[0],
		Lifetime:    cfg.Web.TurnCredentialLifetime,
		URIs:        cfg.Web.TurnURIs,
		UDPPort:     cfg.Turn.Port,
		TCPPort:     cfg.Turn.Port,
		TLSPort:     cfg.Turn.TLSPort,
		SharedPorts: s.sharedPorts(),
		Origins:     s.opts.Transport.WSOrigins,
		Logger:      s.log.With("component", "web"),
	}
	if s.tm != nil {
		tc.ClientAddr = s.tm.ClientAddr
	}
	creds, err := web.NewTURNCredentials(tc)
	if err != nil {
		s.log.Error("TURN credentials endpoint off", "err", err)
		s.serveWeb(nil, "TURN credentials endpoint off: see the server's log")
		return
	}
	if !s.serveWeb(creds, "") {
		return
	}
	var urls []string
	for _, l := range s.bound {
		switch l.Kind {
		case transport.WS:
			urls = append(urls, "http://"+l.Addr.String()+web.TURNCredentialsPath+" (loopback clients only)")
		case transport.WSS:
			urls = append(urls, "https://"+l.Addr.String()+web.TURNCredentialsPath)
		}
	}
	keyFrom := where(cfg, "TurnSecret")
	if s.web.secret != nil {
		keyFrom = filepath.Join(cfg.DataDirectory, RESTKeyFile)
	}
	s.log.Info("TURN credentials endpoint", "urls", urls, "realm", realm, "lifetime", cfg.Web.TurnCredentialLifetime, "key", keyFrom)
}

// sharedPorts are the ports WSS shares with TURN over TLS.
func (s *Server) sharedPorts() []uint16 {
	var out []uint16
	for _, m := range s.muxes {
		if ap, err := netip.ParseAddrPort(m.Addr().String()); err == nil {
			out = append(out, ap.Port())
		}
	}
	return out
}

// serveWeb installs the handler of the web phone (when WebPhone is on) and
// of creds (nil: none); turnErr, when set, is the 503 answer of the TURN
// credentials endpoint, which could not start. When the handler cannot be
// built, every request that is not a WebSocket upgrade gets 503 instead
// of "starting", and serveWeb reports false.
func (s *Server) serveWeb(creds *web.TURNCredentials, turnErr string) bool {
	h, err := web.New(web.Config{TURN: creds, Phone: s.cfg.Web.Phone, SelfTest: s.cfg.Web.SelfTest})
	if turnErr != "" && err == nil {
		mux := http.NewServeMux()
		mux.Handle(web.TURNCredentialsPath, errorHandler(turnErr))
		mux.Handle("/", h)
		h = mux
	}
	if err != nil {
		if s.cfg.Web.Phone {
			s.log.Error("web phone off", "err", err)
		}
		if turnErr == "" {
			turnErr = "web pages off: see the server's log"
		}
		h = errorHandler(turnErr)
	}
	s.web.handler.Store(&h)
	if err == nil && s.cfg.Web.Phone {
		var urls []string
		for _, l := range s.bound {
			switch l.Kind {
			case transport.WS:
				urls = append(urls, "http://"+l.Addr.String()+web.PhonePath)
			case transport.WSS:
				urls = append(urls, "https://"+l.Addr.String()+web.PhonePath)
			}
		}
		s.log.Info("web phone", "urls", urls)
	}
	return err == nil
}

// errorHandler answers every request with 503 and msg.
func errorHandler(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
}

// realmOf is the realm of the users of domain, if it is one of ours.
func (s *Server) realmOf(domain string) (string, bool) {
	if !slices.Contains(s.domains(), domain) {
		return "", false
	}
	if s.cfg.StaticRealm != "" {
		return s.cfg.StaticRealm, true
	}
	return domain, true
}
