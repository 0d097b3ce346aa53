// Package server builds sipedge from a config.Config and runs it: the
// transport listeners, the transaction layer, the registrar and the proxy,
// wired together, with a start that names the configuration key behind any
// failure and a shutdown that lets transactions finish.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/config"
	"github.com/sipedge/sipedge/flowtoken"
	"github.com/sipedge/sipedge/locate"
	"github.com/sipedge/sipedge/location"
	"github.com/sipedge/sipedge/mux443"
	"github.com/sipedge/sipedge/proxy"
	"github.com/sipedge/sipedge/registrar"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/store/sqlite"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
	"github.com/sipedge/sipedge/turn"
)

// Options are the settings that do not come from the config file: for
// embedding and tests.
type Options struct {
	// Logger takes the server's log; nil logs to stderr as the config says.
	Logger *slog.Logger
	// Transport adjusts the transport's limits and timeouts; zero fields
	// take the defaults.
	Transport transport.Config
	// Timers are the transaction timers (RFC 3261 defaults when zero).
	Timers transaction.Timers
	// DNSServers, when set, replace /etc/resolv.conf's ("127.0.0.1:53").
	DNSServers []string
	// Version goes in the Server header.
	Version string
	// NonceLifetime, when set, replaces the digest nonces' 300 s (tests).
	NonceLifetime time.Duration
}

// Server is a running sipedge.
type Server struct {
	cfg  *config.Config
	opts Options
	log  *slog.Logger

	tm     *transport.Manager
	layer  *transaction.Layer
	proxy  *proxy.Proxy
	reg    *registrar.Registrar
	store  *location.Memory
	tokens *flowtoken.Codec
	db     *sqlite.DB
	users  *users
	turn   *turn.Server // nil when TurnPort is 0
	// muxes are the ports WSS shares with TURN over TLS.
	muxes []*mux443.Mux
	// turnRealm is the TURN realm startTURN settled on (see
	// Server.turnRealmDefault); the credentials endpoint signs users in to it.
	turnRealm string
	web       webState // the HTTP side of the WS and WSS listeners
	certs     []*transport.CertFile
	bound     []proxy.Listener
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// ready is set once the transaction layer exists: a message that
	// comes earlier (listeners open first) is dropped.
	ready    atomic.Bool
	draining atomic.Bool
	closing  sync.Once
}

// New checks what the config cannot check by itself (certificates, the
// data directory) and builds the server; Start opens the listeners.
func New(cfg *config.Config, opts Options) (*Server, error) {
	s := &Server{cfg: cfg, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = NewLogger(cfg, os.Stderr)
	}
	if err := os.MkdirAll(cfg.DataDirectory, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", where(cfg, "DataDirectory"), err)
	}
	tokens, err := s.flowTokens()
	if err != nil {
		return nil, err
	}
	s.tokens = tokens
	octx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlite.Open(octx, cfg.DataDirectory)
	if err != nil {
		return nil, fmt.Errorf("%s: user store: %w", where(cfg, "DataDirectory"), err)
	}
	s.db, s.users = db, &users{st: db}
	if err := s.users.load(octx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", db.Path(), err)
	}
	s.store = location.NewMemory()
	reg, err := registrar.New(registrar.Config{
		Store:                          s.store,
		MinExpires:                     cfg.MinExpires,
		MaxExpires:                     cfg.MaxExpires,
		DefaultExpires:                 cfg.DefaultExpires,
		Outbound:                       !cfg.DisableOutbound,
		AssumeFirstHopSupportsOutbound: cfg.AssumeFirstHopSupportsOutbound,
		FlowTimer:                      cfg.FlowTimer,
		GRUU:                           true,
		Logger:                         s.log.With("component", "registrar"),
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("registrar: %w", err)
	}
	s.reg = reg
	return s, nil
}

// flowTokens builds the flow-token codec from the FlowTokenSecret keys or,
// when none is configured, from the key kept in the data directory
// (created on the first start), and logs which it used, never the key.
func (s *Server) flowTokens() (*flowtoken.Codec, error) {
	cfg := s.cfg
	if len(cfg.FlowTokenSecrets) > 0 {
		c, err := flowtoken.New(cfg.FlowTokenSecrets...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where(cfg, "FlowTokenSecret"), err)
		}
		s.log.Info("flow-token keys from the configuration", "setting", where(cfg, "FlowTokenSecret"), "keys", len(cfg.FlowTokenSecrets))
		return c, nil
	}
	key, err := flowtoken.LoadOrCreateKey(cfg.DataDirectory)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(cfg, "DataDirectory"), err)
	}
	c, err := flowtoken.New(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(cfg.DataDirectory, flowtoken.KeyFile), err)
	}
	s.log.Info("flow-token key from the data directory (FlowTokenSecret not set)", "file", filepath.Join(cfg.DataDirectory, flowtoken.KeyFile))
	return c, nil
}

// where names the place a key was set, or the key and "(default)".
func where(cfg *config.Config, key string) string {
	if p, ok := cfg.Where(key); ok {
		return p.String()
	}
	return key + " (default)"
}

// tlsKey is the config key of a TLS setting of listener l: the legacy
// TLS* keys for N == 0, Transport<N>Tls* otherwise.
func tlsKey(l *config.Listener, legacy, suffix string) string {
	if l.N == 0 {
		return legacy
	}
	return fmt.Sprintf("Transport%dTls%s", l.N, suffix)
}

// tlsConfig loads the certificate of a TLS or WSS listener.
func (s *Server) tlsConfig(l *config.Listener) (*tls.Config, error) {
	cf, err := transport.LoadCertFile(l.TLSCertificate, l.TLSPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(s.cfg, tlsKey(l, "TLSCertificate", "Certificate")), err)
	}
	s.certs = append(s.certs, cf)
	tc := &tls.Config{GetCertificate: cf.GetCertificate}
	var v transport.ClientVerification
	switch l.TLSClientVerification {
	case config.VerifyOptional:
		v = transport.VerifyOptional
	case config.VerifyMandatory:
		v = transport.VerifyMandatory
	}
	tc.ClientAuth = v.ClientAuth()
	if v != transport.VerifyNone {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("%s: client certificates need the system roots: %w", where(s.cfg, tlsKey(l, "TLSClientVerification", "ClientVerification")), err)
		}
		tc.ClientCAs = pool
	}
	return tc, nil
}

// Start opens every listener and starts serving. A listener that cannot
// open stops the start (nothing is left out silently) and the error names
// the configuration line.
func (s *Server) Start() error {
	cfg := s.cfg
	tcfg := s.opts.Transport
	if tcfg.Logger == nil {
		tcfg.Logger = s.log.With("component", "transport")
	}
	tcfg.WSCheck = s.wsCheck()
	if h, err := s.webHandler(); err != nil {
		return err
	} else if h != nil {
		tcfg.HTTP = h
	}
	s.tm = transport.NewManager(tcfg, s.receive)
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		bound, kind, err := s.listen(l)
		if err != nil {
			s.closeTransport()
			return fmt.Errorf("%s: %s listener on %s: %w", l.Pos, l.Type, l.Addr, err)
		}
		pl, err := s.proxyListener(l, kind, bound)
		if err != nil {
			s.closeTransport()
			return err
		}
		s.bound = append(s.bound, pl)
		s.log.Info("listening", "transport", l.Type, "addr", bound.String(), "record-route", pl.RecordRoute.String())
	}
	if len(s.bound) == 0 {
		s.closeTransport()
		return errors.New("no listener configured: set UDPPort, TCPPort, TLSPort, WSPort, WSSPort or Transport<N> keys")
	}

	resolver, err := locate.New(locate.Config{Servers: s.opts.DNSServers, Logger: s.log.With("component", "locate")})
	if err != nil {
		if cfg.RelayForeignDomains == "all" {
			s.closeTransport()
			return fmt.Errorf("%s: needs DNS: %w", where(cfg, "RelayForeignDomains"), err)
		}
		s.log.Warn("no DNS resolver: next hops given by name cannot be located, only IP addresses", "err", err)
	}
	var statics []proxy.StaticRoute
	for _, sr := range cfg.StaticRoutes {
		u, err := sip.ParseURI(sr.Destination)
		if err != nil {
			s.closeTransport()
			return fmt.Errorf("%s: %w", sr.Pos, err)
		}
		statics = append(statics, proxy.StaticRoute{Pattern: sr.Pattern, Methods: sr.Methods, Destination: u})
	}
	if len(cfg.Domains) == 0 {
		if d := recordRouteDomains(s.bound); len(d) > 0 {
			s.log.Info("Domains not set: the Record-Route host names are our domains", "domains", strings.Join(d, ","))
		} else {
			s.log.Info("no Domains configured: only requests addressed to our IP addresses (and the store's domains) are ours")
		}
	}
	authn, err := s.authenticator()
	if err != nil {
		s.closeTransport()
		return err
	}
	pcfg := proxy.Config{
		Listeners:           s.bound,
		Domains:             s.domains(),
		Auth:                authn,
		Registrar:           s.reg,
		Tokens:              s.tokens,
		ForceRecordRouting:  cfg.ForceRecordRouting,
		EnableFlowTokens:    cfg.EnableFlowTokens,
		DisableOutbound:     cfg.DisableOutbound,
		HideTopology:        cfg.HideTopology,
		RelayForeignDomains: cfg.RelayForeignDomains == "all",
		StaticRoutes:        statics,
		ServerName:          "sipedge/" + s.version(),
		Logger:              s.log.With("component", "proxy"),
	}
	if resolver != nil {
		pcfg.Resolver = resolver // not a typed nil in the interface
	}
	var tt transaction.Transport = transaction.ManagerTransport(s.tm)
	if s.log.Enabled(context.Background(), LevelTrace) {
		tt = traceTransport{tt, s.log.With("component", "trace")}
	}
	pcfg.Transport = tt
	s.proxy = proxy.New(pcfg)
	layer := transaction.New(transaction.Config{
		Timers:          s.opts.Timers,
		Transport:       tt,
		Handler:         s.proxy,
		Logger:          s.log.With("component", "transaction"),
		MaxTransactions: cfg.MaxTransactions,
	})
	s.layer = layer
	s.proxy.Bind(layer)
	if err := s.startTURN(); err != nil {
		layer.Close()
		s.proxy.Close()
		s.closeTransport()
		return err
	}
	s.startWeb()
	s.ready.Store(true)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.reg.Run(ctx, 30*time.Second)
	}()
	go func() {
		defer s.wg.Done()
		s.watchUsers(ctx)
	}()
	for _, w := range cfg.Warnings {
		s.log.Warn(w.Error())
	}
	return nil
}

// listen opens the listener l describes.
func (s *Server) listen(l *config.Listener) (netip.AddrPort, transport.Kind, error) {
	addr := l.Addr.String()
	switch l.Type {
	case "UDP":
		a, err := s.tm.ListenUDP(addr)
		return a, transport.UDP, err
	case "TCP":
		a, err := s.tm.ListenTCP(addr)
		return a, transport.TCP, err
	case "WS":
		a, err := s.tm.ListenWS(addr)
		return a, transport.WS, err
	case "TLS", "WSS":
		tc, err := s.tlsConfig(l)
		if err != nil {
			return netip.AddrPort{}, 0, err
		}
		switch {
		case l.Type == "TLS":
			a, err := s.tm.ListenTLS(addr, tc)
			return a, transport.TLS, err
		case l.TurnOnSamePort:
			a, err := s.listenShared(l, tc)
			return a, transport.WSS, err
		}
		a, err := s.tm.ListenWSS(addr, tc)
		return a, transport.WSS, err
	}
	return netip.AddrPort{}, 0, fmt.Errorf("unknown transport type %q", l.Type)
}

// listenShared opens WSS listener l on a port it shares with TURN over
// TLS (mux443): the web side is served here, the TURN side by startTURN.
func (s *Server) listenShared(l *config.Listener, tc *tls.Config) (netip.AddrPort, error) {
	ln, err := s.tm.ListenShared(l.Addr.String())
	if err != nil {
		return netip.AddrPort{}, err
	}
	mux, err := mux443.New(ln, mux443.Config{TLS: tc, Logger: s.log.With("component", "mux443")})
	if err != nil {
		ln.Close()
		return netip.AddrPort{}, err
	}
	s.muxes = append(s.muxes, mux)
	return s.tm.ServeWSS(mux.HTTP())
}

// closeTransport closes the transport's listeners and connections, and
// the shared ports.
func (s *Server) closeTransport() {
	s.tm.Close()
	for _, m := range s.muxes {
		m.Close()
	}
}

// proxyListener describes a bound listener to the proxy: our Via sent-by
// and our Record-Route URI on it.
func (s *Server) proxyListener(l *config.Listener, kind transport.Kind, bound netip.AddrPort) (proxy.Listener, error) {
	host := hostOf(bound.Addr())
	pl := proxy.Listener{Kind: kind, Addr: bound, Host: host, Port: int(bound.Port())}
	rr := l.RecordRouteURI
	key := fmt.Sprintf("Transport%dRecordRouteUri", l.N)
	if rr == "" {
		rr, key = s.cfg.RecordRouteURI, "RecordRouteUri"
	}
	var u sip.URI
	if rr == "" || strings.EqualFold(rr, "auto") {
		u = sip.URI{Scheme: "sip", Host: host, Port: int(bound.Port())}
	} else {
		var err error
		if u, err = sip.ParseURI(rr); err != nil {
			return pl, fmt.Errorf("%s: %w", where(s.cfg, key), err)
		}
	}
	if u.Transport() == "" {
		switch kind {
		case transport.TCP:
			u.Params = u.Params.With("transport", "tcp")
		case transport.TLS:
			u.Params = u.Params.With("transport", "tls")
		case transport.WS, transport.WSS:
			// RFC 7118: ws for both; only the Via says WSS.
			u.Params = u.Params.With("transport", "ws")
		}
	}
	if !u.Params.Has("lr") {
		u.Params = u.Params.With("lr", "")
	}
	pl.RecordRoute = u
	return pl, nil
}

// recordRouteDomains returns the host names (not addresses) of our
// Record-Route URIs. The quick-start configurations name the SIP domain
// only there ("SIP messages carry only the SIP domain example.org, which is
// the only name in RecordRouteUri"), so without Domains it is ours.
func recordRouteDomains(ls []proxy.Listener) []string {
	var out []string
	for _, l := range ls {
		h := strings.ToLower(l.RecordRoute.Host)
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil || h == "" {
			continue
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// hostOf is the Via host for a bound address: the address itself, or for
// a listener on every interface the first address that is not loopback
// (the host's own address, found without sending anything).
func hostOf(a netip.Addr) string {
	a = a.Unmap()
	if a.IsUnspecified() {
		fallback := "127.0.0.1"
		if a.Is6() {
			fallback = "[::1]"
		}
		ifs, err := net.InterfaceAddrs()
		if err != nil {
			return fallback
		}
		for _, ia := range ifs {
			n, ok := ia.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok || ip.Unmap().IsLoopback() || ip.IsLinkLocalUnicast() || ip.Unmap().Is4() != a.Is4() {
				continue
			}
			return hostOf(ip)
		}
		return fallback
	}
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// receive hands a message to the transaction layer; while draining, new
// requests that start something get 503 (stop accepting, RFC 3261
// §21.5.4), while those that end or continue a call still pass.
func (s *Server) receive(in *transport.Inbound) {
	if !s.ready.Load() {
		return
	}
	m := in.Msg
	if s.log.Enabled(context.Background(), LevelTrace) {
		s.log.Log(context.Background(), LevelTrace, "received", "flow", in.Flow.ID, "transport", in.Flow.Kind.String(), "from", in.Flow.Remote.String(), "msg", m.String())
	}
	if s.draining.Load() && m.IsRequest() && m.ToTag() == "" && m.Method != "ACK" && m.Method != "CANCEL" {
		resp := sip.NewResponse(m, 503, "Service Unavailable (shutting down)")
		_ = resp.Set("Retry-After", "30")
		_ = s.tm.Send(in.Flow.ID, resp)
		return
	}
	s.layer.Receive(in)
}

// LevelTrace is the log level of the SIP message trace: repro's STACK
// (LogLevel = STACK), below DEBUG.
const LevelTrace = slog.LevelDebug - 4

// traceTransport logs every message sent, at LevelTrace.
type traceTransport struct {
	transaction.Transport
	log *slog.Logger
}

// The message is logged before it goes, so the trace is in the order
// things happened even when the answer is quicker than the log.

func (t traceTransport) SendTo(d transaction.Dest, m *sip.Message) (transport.FlowID, error) {
	t.log.Log(context.Background(), LevelTrace, "send", "flow", d.Flow, "transport", d.Kind.String(), "to", d.Addr.String(), "msg", m.String())
	id, err := t.Transport.SendTo(d, m)
	if err != nil {
		t.log.Log(context.Background(), LevelTrace, "send failed", "flow", id, "err", err)
	}
	return id, err
}

func (t traceTransport) Send(id transport.FlowID, m *sip.Message) error {
	t.log.Log(context.Background(), LevelTrace, "send", "flow", id, "msg", m.String())
	err := t.Transport.Send(id, m)
	if err != nil {
		t.log.Log(context.Background(), LevelTrace, "send failed", "flow", id, "err", err)
	}
	return err
}

// Listeners returns the bound listeners (their real ports when the config
// asked for port 0).
func (s *Server) Listeners() []proxy.Listener { return s.bound }

// Registrar returns the registrar, for inspection.
func (s *Server) Registrar() *registrar.Registrar { return s.reg }

// Shutdown stops taking new calls, lets live transactions finish for at
// most the config's ShutdownGracePeriod (or until ctx ends), then closes
// everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	var err error
	if s.layer != nil {
		grace := s.cfg.ShutdownGrace
		dctx, cancel := context.WithTimeout(ctx, grace)
		if n := s.layer.Len(); n > 0 {
			s.log.Info("shutting down: waiting for transactions", "live", n, "grace", grace)
		}
		err = s.layer.Drain(dctx)
		cancel()
		if err != nil {
			s.log.Warn("shutting down with transactions still live", "live", s.layer.Len())
		}
	}
	s.Close()
	return err
}

// ReloadCertificates reads every TLS certificate and key again (SIGHUP):
// the SIP TLS and WSS listeners', the ports shared with TURN, and TURN
// over TLS. New connections get the new ones; open connections keep
// theirs. A pair that cannot be read leaves the one in use, and the error
// names it.
func (s *Server) ReloadCertificates() error {
	var errs []error
	for _, c := range s.certs {
		if err := c.Reload(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops everything at once.
func (s *Server) Close() {
	s.closing.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		if s.turn != nil {
			if err := s.turn.Close(); err != nil {
				s.log.Warn("closing TURN", "err", err)
			}
		}
		if s.tm != nil {
			s.closeTransport()
		}
		if s.proxy != nil {
			s.proxy.Close()
		}
		if s.layer != nil {
			s.layer.Close()
		}
		s.wg.Wait()
		if s.db != nil {
			if err := s.db.Close(); err != nil {
				s.log.Warn("closing the user store", "err", err)
			}
		}
	})
}

func (s *Server) version() string {
	if s.opts.Version != "" {
		return s.opts.Version
	}
	return "dev"
}

// NewLogger returns the logger the config asks for (LogLevel, LogFormat),
// writing to w.
func NewLogger(cfg *config.Config, w *os.File) *slog.Logger {
	o := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
