package proxy

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipedge/sipedge/auth"
	"github.com/sipedge/sipedge/flowtoken"
	"github.com/sipedge/sipedge/locate"
	"github.com/sipedge/sipedge/registrar"
	"github.com/sipedge/sipedge/sip"
	"github.com/sipedge/sipedge/transaction"
	"github.com/sipedge/sipedge/transport"
)

// Listener is one address sipedge listens on, as the proxy needs to know
// it: what to put in the Via and Record-Route of a request that leaves
// through it, and how to recognise our own entries in Route and Via.
type Listener struct {
	Kind transport.Kind
	// Addr is the bound address (0.0.0.0 or :: for all interfaces).
	Addr netip.AddrPort
	// Host and Port are the sent-by of our Via on this listener: an IP
	// literal (IPv6 in brackets) or a name.
	Host string
	Port int
	// RecordRoute is our Record-Route URI on this listener, with ";lr".
	RecordRoute sip.URI
}

// StaticRoute sends requests whose Request-URI matches Pattern (and whose
// method is in Methods, when it is not empty) to Destination, keeping the
// Request-URI: repro's static routes, for gateways and trunks.
type StaticRoute struct {
	Pattern     *regexp.Regexp
	Methods     []string
	Destination sip.URI
}

// Resolver locates the servers for a URI (RFC 3263); *locate.Resolver is
// one.
type Resolver interface {
	Resolve(ctx context.Context, u *sip.URI) ([]locate.Target, error)
}

// Transactions is what the proxy needs of the transaction layer;
// *transaction.Layer is one.
type Transactions interface {
	Request(req *sip.Message, dst transaction.Dest, fn transaction.ClientFunc) (*transaction.ClientTx, error)
	InviteFor(cancel *sip.Message) *transaction.ServerTx
}

// Config holds what a Proxy is built from.
type Config struct {
	// Listeners are the addresses sipedge listens on; at least one.
	Listeners []Listener
	// Domains are the domains we are responsible for (lower case); our
	// listeners' IP addresses are ours too.
	Domains []string
	// Registrar answers REGISTER for our domains and holds the bindings.
	Registrar *registrar.Registrar
	// Resolver locates other domains' servers; nil refuses them.
	Resolver Resolver
	// Transport sends what goes without a transaction: the ACK for a 2xx.
	Transport transaction.Transport
	// Tokens signs the flow tokens in our Record-Route entries; nil uses
	// a random key for the process's life.
	Tokens *flowtoken.Codec
	// ForceRecordRouting record-routes every dialog-creating request.
	ForceRecordRouting bool
	// EnableFlowTokens puts flow tokens in the Record-Route entries facing
	// TCP and TLS clients too (WS and WSS always get them).
	EnableFlowTokens bool
	// DisableOutbound leaves ";ob" out of the Path we add (RFC 5626 off).
	DisableOutbound bool
	// HideTopology keeps our clients' addresses out of the Via headers
	// (no received/rport): responses find their way by transaction state.
	HideTopology bool
	// RelayForeignDomains lets requests for other domains through (RFC
	// 3263); off, they get 403 (no open relay).
	RelayForeignDomains bool
	// StaticRoutes are tried in order for requests the location service
	// does not take.
	StaticRoutes []StaticRoute
	// TimerC bounds how long an INVITE branch may ring (RFC 3261 §16.6
	// step 11; default 180 s as repro).
	TimerC time.Duration
	// ResolveTimeout bounds the DNS work for one request (default 5 s).
	ResolveTimeout time.Duration
	// ServerName goes in the Server header of our own responses.
	ServerName string
	// Auth checks digest credentials (RFC 3261 §22); nil lets every
	// request through unauthenticated (DisableAuth).
	Auth *auth.Authenticator
	// Logger takes the proxy's log; nil discards.
	Logger *slog.Logger
	// Chain replaces the default processor chain (DefaultChain) when not
	// nil.
	Chain []Processor
}

// Stats counts what the proxy did.
type Stats struct {
	Requests, Forwarded, Responded uint64
	Loops, MaxForwards, Strays     uint64
	Cancels, ACKs                  uint64
}

// Proxy is the stateful proxy. It is the transaction layer's Handler.
type Proxy struct {
	cfg   Config
	tx    Transactions
	chain []Processor
	// domains is replaced whole by SetDomains (users add domains to a
	// running server), never changed in place.
	domains atomic.Pointer[map[string]bool]
	addrs   map[netip.Addr]bool
	ports   map[int]bool
	tokens  *flowtoken.Codec
	log     *slog.Logger

	// forks maps an INVITE's server transaction to its response context,
	// for CANCEL.
	mu    sync.Mutex
	forks map[*transaction.ServerTx]*fork

	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	requests, forwarded, responded atomic.Uint64
	loops, maxForwards, strays     atomic.Uint64
	cancels, acks                  atomic.Uint64
}

// New returns a Proxy; Bind must give it the transaction layer before
// traffic flows.
func New(cfg Config) *Proxy {
	if cfg.TimerC <= 0 {
		cfg.TimerC = 180 * time.Second
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		cfg:    cfg,
		tokens: cfg.Tokens,
		log:    cfg.Logger,
		forks:  map[*transaction.ServerTx]*fork{},
	}
	if p.tokens == nil {
		p.tokens = flowtoken.NewRandom()
	}
	p.SetDomains(cfg.Domains)
	p.addrs = localAddrs(cfg.Listeners)
	p.ports = map[int]bool{}
	for _, l := range cfg.Listeners {
		p.ports[int(l.Addr.Port())] = true
		p.ports[l.Port] = true
		if l.RecordRoute.Port != 0 {
			p.ports[l.RecordRoute.Port] = true
		}
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.chain = cfg.Chain
	if p.chain == nil {
		p.chain = p.DefaultChain()
	}
	return p
}

// SetDomains replaces the domains we are responsible for; safe while
// requests flow.
func (p *Proxy) SetDomains(domains []string) {
	m := make(map[string]bool, len(domains))
	for _, d := range domains {
		m[strings.ToLower(d)] = true
	}
	p.domains.Store(&m)
}

// Bind gives the proxy the transaction layer it sends through. The layer
// is made with the proxy as its Handler, hence the second step.
func (p *Proxy) Bind(t Transactions) { p.tx = t }

// Close stops the proxy's background work (DNS lookups in progress) and
// waits for it.
func (p *Proxy) Close() {
	p.cancel()
	p.wg.Wait()
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), Forwarded: p.forwarded.Load(), Responded: p.responded.Load(),
		Loops: p.loops.Load(), MaxForwards: p.maxForwards.Load(), Strays: p.strays.Load(),
		Cancels: p.cancels.Load(), ACKs: p.acks.Load(),
	}
}

// ServeResponse drops a response that matches no client transaction: RFC
// 6026 §8.1 (replacing RFC 3261 §16.7 step 1) says a proxy must not forward
// it, the Accepted state having taken over the late 2xx.
func (p *Proxy) ServeResponse(in *transport.Inbound) {
	p.strays.Add(1)
	p.log.Debug("stray response dropped", "status", in.Msg.StatusCode, "call-id", in.Msg.CallID(), "flow", in.Flow.ID)
}

// ServeRequest runs a request through the chain and forwards it.
func (p *Proxy) ServeRequest(tx *transaction.ServerTx, in *transport.Inbound) {
	p.requests.Add(1)
	msg := in.Msg
	if tx != nil && msg.Method == "CANCEL" {
		p.serveCancel(tx, msg)
		return
	}
	r := &Request{Msg: msg, Tx: tx, Source: in.Flow, Session: in.Session, p: p}
	if tx == nil {
		p.acks.Add(1)
	}
	for _, proc := range p.chain {
		if proc.Process(r) == Stop {
			return
		}
	}
	if len(r.Targets) == 0 {
		r.Respond(480, "", nil)
		return
	}
	if tx == nil {
		p.forwardACK(r)
		return
	}
	f := newFork(p, r)
	if f.invite {
		p.mu.Lock()
		p.forks[tx] = f
		p.mu.Unlock()
	}
	if f.needsDNS() {
		// DNS may take seconds; the transport's goroutine must not wait.
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			f.start()
		}()
		return
	}
	f.start()
}

// serveCancel answers a CANCEL (RFC 3261 §16.10): 200 at once, then the
// pending branches of the INVITE it matches are cancelled and that INVITE
// gets its final response from them (487 normally).
func (p *Proxy) serveCancel(tx *transaction.ServerTx, msg *sip.Message) {
	p.cancels.Add(1)
	inv := p.tx.InviteFor(msg)
	if inv == nil {
		p.respondTx(tx, 481, "", nil)
		return
	}
	p.respondTx(tx, 200, "", nil)
	p.mu.Lock()
	f := p.forks[inv]
	p.mu.Unlock()
	if f != nil {
		f.cancelAll()
	}
}

// respondTx sends our own response to the request of tx.
func (p *Proxy) respondTx(tx *transaction.ServerTx, code int, reason string, edit func(*sip.Message)) {
	resp := p.newResponse(tx.Request(), code, reason)
	if edit != nil {
		edit(resp)
	}
	p.responded.Add(1)
	if err := tx.Respond(resp); err != nil {
		p.log.Debug("response not sent", "status", code, "err", err)
	}
}

// newResponse makes our own response to req, with a To tag (RFC 3261
// §8.2.6.2) on everything but 100.
func (p *Proxy) newResponse(req *sip.Message, code int, reason string) *sip.Message {
	resp := sip.NewResponse(req, code, reason)
	if code > 100 && resp.ToTag() == "" {
		resp.SetToTag(randomToken(8))
	}
	if p.cfg.ServerName != "" {
		_ = resp.Set("Server", p.cfg.ServerName)
	}
	return resp
}

// randomToken returns n random bytes in lower-case base32 (tags, branches).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
