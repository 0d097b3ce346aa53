// Package client is sipedge's own small SIP user agent over UDP, TCP, TLS,
// WS and WSS. The integration tests of the proxy and registrar, the
// "sipedge client" command and the WebSocket load tool drive sipedge with
// it as a phone would: every message goes to one server (Config.Server,
// like an outbound proxy), over one connection or socket.
//
// It is a peer, not part of the server: it uses only the sip message model
// and its own small transaction and dialog logic (RFC 3261 §8, §12, §13,
// §17, RFC 7118, RFC 3581).
package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sipedge/sipedge/sip"
)

// Timers and bounds (RFC 3261 §17.1.1.1 for T1, T2 and 64*T1).
const (
	t1             = 500 * time.Millisecond
	t2             = 4 * time.Second
	timerLinger    = 64 * t1         // how long finished transactions answer retransmissions
	ringLimit      = 3 * time.Minute // Timer C: longest wait for a final response after a 1xx
	defaultTimeout = 5 * time.Second
	writeTimeout   = 5 * time.Second
	keepAliveIdle  = 30 * time.Second // stream idle time before a keep-alive
	maxClientTx    = 1024
	maxServerTx    = 1024
	incomingQueue  = 64
	provisionalCap = 16
	respQueue      = 32
	maxForwards    = "70"
	userAgent      = "sipedge-client"
)

// ErrClosed is returned by operations on a UA that was closed.
var ErrClosed = errors.New("client: UA closed")

// ErrTimeout is returned when a transaction got no final response in time.
var ErrTimeout = errors.New("client: transaction timed out")

// Config says how a UA reaches its server and who it is.
type Config struct {
	// Transport is "udp", "tcp", "tls", "ws" or "wss".
	Transport string
	// Server is the proxy address ("127.0.0.1:5060", "[::1]:5061"); for ws
	// and wss a URL ("ws://127.0.0.1:8080/", "wss://...").
	Server string
	// TLS configures tls and wss (RootCAs, ServerName).
	TLS *tls.Config
	// User and Domain make the AOR sip:User@Domain.
	User   string
	Domain string
	// Password, when set, lets the UA answer 401/407 digest challenges
	// (RFC 7616 MD5 and SHA-256, qop=auth).
	Password string
	// Timeout bounds each transaction (default 5 s); over UDP requests are
	// retransmitted from T1=500ms doubling to T2=4s within it.
	Timeout time.Duration
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Instance ("urn:uuid:...") and RegID, when set, make the REGISTER an
	// RFC 5626 outbound registration: the Contact carries +sip.instance and
	// reg-id, and the request Supported: path, outbound, gruu, as JsSIP's.
	Instance string
	RegID    int
}

// UA is one user agent with one connection to its server. It is safe for
// concurrent use.
type UA struct {
	cfg       Config
	log       *slog.Logger
	link      link
	reliable  bool
	transport string // as the Via says it: UDP, TCP, TLS, WS, WSS
	sentBy    string // Via sent-by
	contact   sip.URI
	aor       sip.URI
	incoming  chan *ServerRequest
	closing   chan struct{}
	dead      chan struct{} // closed when the connection is gone
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	linkErr     error
	clients     map[string]*clientTx
	servers     map[string]*ServerRequest
	serverOrder []string // insertion order of servers, to bound it
	calls       map[string]*Call
	regCallID   string
	regSeq      uint32
}

// Dial opens the connection to cfg.Server (UDP: a socket on the loopback
// address of the server's family when the server is on loopback) and
// starts the read loop; Close ends it.
func Dial(ctx context.Context, cfg Config) (*UA, error) {
	if cfg.User == "" || cfg.Domain == "" {
		return nil, errors.New("client: Config.User and Config.Domain are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua := &UA{
		cfg:       cfg,
		log:       log.With("ua", cfg.User+"@"+cfg.Domain),
		incoming:  make(chan *ServerRequest, incomingQueue),
		closing:   make(chan struct{}),
		dead:      make(chan struct{}),
		clients:   make(map[string]*clientTx),
		servers:   make(map[string]*ServerRequest),
		calls:     make(map[string]*Call),
		regCallID: randToken(20),
	}
	aor, err := sip.ParseURI("sip:" + cfg.User + "@" + cfg.Domain)
	if err != nil {
		return nil, fmt.Errorf("client: AOR of user %q domain %q: %w", cfg.User, cfg.Domain, err)
	}
	ua.aor = aor

	var run func()
	switch tr := strings.ToLower(cfg.Transport); tr {
	case "udp":
		l, err := dialUDP(ctx, cfg.Server)
		if err != nil {
			return nil, err
		}
		ua.link, ua.transport = l, "UDP"
		run = func() { ua.linkDown(l.run(ua)) }
	case "tcp", "tls":
		l, err := dialStream(ctx, tr, cfg.Server, cfg.TLS, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		ua.link, ua.reliable, ua.transport = l, true, strings.ToUpper(tr)
		run = func() { ua.linkDown(l.run(ua)) }
	case "ws", "wss":
		u, err := url.Parse(cfg.Server)
		if err != nil || u.Scheme != tr {
			return nil, fmt.Errorf("client: %s server must be a %s:// URL, got %q", tr, tr, cfg.Server)
		}
		l, err := dialWS(ctx, cfg.Server, cfg.TLS, cfg.Timeout)
		if err != nil {
			return nil, err
		}
		ua.link, ua.reliable, ua.transport = l, true, strings.ToUpper(tr)
		run = func() { ua.linkDown(l.run(ua)) }
	default:
		return nil, fmt.Errorf("client: unknown transport %q (want udp, tcp, tls, ws or wss)", cfg.Transport)
	}

	contact := "sip:" + cfg.User + "@"
	switch ua.transport {
	case "WS", "WSS":
		// RFC 7118 §5: the UA cannot be reached by address, so it names
		// itself with an .invalid host; URIs say transport=ws for both.
		host := strings.ToLower(randToken(12)) + ".invalid"
		ua.sentBy = host
		contact += host + ";transport=ws"
	default:
		ua.sentBy = hostPort(ua.link.LocalAddr())
		contact += ua.sentBy
		if ua.transport != "UDP" {
			contact += ";transport=" + strings.ToLower(ua.transport)
		}
	}
	if ua.contact, err = sip.ParseURI(contact); err != nil {
		_ = ua.link.Close()
		return nil, fmt.Errorf("client: contact %q: %w", contact, err)
	}
	ua.wg.Add(1)
	go func() {
		defer ua.wg.Done()
		run()
	}()
	ua.log.Debug("connected", "transport", ua.transport, "server", cfg.Server, "local", ua.link.LocalAddr().String())
	return ua, nil
}

// AOR returns the address of record, "sip:user@domain".
func (ua *UA) AOR() string { return ua.aor.String() }

// Contact returns the Contact URI the UA registers and puts in dialogs.
func (ua *UA) Contact() string { return ua.contact.String() }

// LocalAddr returns the local address of the UA's socket or connection,
// which in-test relays need to tell UAs apart.
func (ua *UA) LocalAddr() net.Addr { return ua.link.LocalAddr() }

// Incoming delivers requests that start something (INVITE, MESSAGE,
// OPTIONS, ...) and in-dialog requests other than BYE, ACK and CANCEL,
// which the UA handles itself. It is closed by Close. When nobody reads
// it and it is full, new requests are answered 503.
func (ua *UA) Incoming() <-chan *ServerRequest { return ua.incoming }

// Close ends the connection and every goroutine of the UA; calls in
// progress fail with ErrClosed.
func (ua *UA) Close() error {
	var err error
	ua.closeOnce.Do(func() {
		ua.mu.Lock()
		ua.closed = true
		ua.mu.Unlock()
		close(ua.closing)
		err = ua.link.Close()
		ua.wg.Wait()
		close(ua.incoming)
		ua.mu.Lock()
		calls := make([]*Call, 0, len(ua.calls))
		for _, c := range ua.calls {
			calls = append(calls, c)
		}
		ua.mu.Unlock()
		for _, c := range calls {
			c.end()
		}
	})
	// A connection the server already dropped is no failure of Close.
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// goFunc runs f in a goroutine that Close waits for; it reports false
// (and does not run f) once the UA is closing.
func (ua *UA) goFunc(f func()) bool {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ua.closed {
		return false
	}
	ua.wg.Add(1)
	go func() {
		defer ua.wg.Done()
		f()
	}()
	return true
}

// linkDown records why the connection ended, so that waiting transactions
// fail at once instead of timing out.
func (ua *UA) linkDown(err error) {
	ua.mu.Lock()
	if err == nil || ua.closed {
		err = ErrClosed
	}
	ua.linkErr = err
	ua.mu.Unlock()
	if !errors.Is(err, ErrClosed) {
		ua.log.Warn("connection lost", "err", err)
	}
	close(ua.dead)
}

// linkError returns why the connection is gone.
func (ua *UA) linkError() error {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ua.linkErr == nil {
		return ErrClosed
	}
	return fmt.Errorf("client: connection lost: %w", ua.linkErr)
}

// send writes one message (or keep-alive) to the server.
func (ua *UA) send(b []byte) error {
	select {
	case <-ua.dead:
		return ua.linkError()
	default:
	}
	if err := ua.link.Send(b); err != nil {
		return fmt.Errorf("client: send over %s: %w", ua.transport, err)
	}
	return nil
}

// sendMsg serializes and sends m, returning the bytes for retransmission.
func (ua *UA) sendMsg(m *sip.Message) ([]byte, error) {
	b := m.AppendTo(nil)
	return b, ua.send(b)
}

// receive dispatches one message from the read loop.
func (ua *UA) receive(m *sip.Message) {
	if m.IsRequest() {
		ua.handleRequest(m)
		return
	}
	ua.handleResponse(m)
}

// receiveBytes parses one datagram or WebSocket message and dispatches it;
// a request that cannot be parsed is answered when the parser could read
// enough of it (RFC 3261 §8.2, §16.3).
func (ua *UA) receiveBytes(b []byte) {
	m, err := sip.Parse(b)
	if err != nil {
		ua.refuse(err)
		return
	}
	ua.receive(m)
}

// refuse answers a request the parser refused, when it can.
func (ua *UA) refuse(err error) {
	ua.log.Debug("unparsable message", "err", err)
	var pe *sip.ParseError
	if errors.As(err, &pe) && pe.Msg != nil && pe.Msg.IsRequest() && pe.Msg.Method != mACK {
		resp := sip.NewResponse(pe.Msg, pe.Status, pe.StatusLine())
		if _, err := ua.sendMsg(resp); err != nil {
			ua.log.Debug("answer to unparsable request", "err", err)
		}
	}
}

// newVia returns a Via for a new client transaction.
func (ua *UA) newVia() string {
	return "SIP/2.0/" + ua.transport + " " + ua.sentBy + ";branch=" + newBranch() + ";rport"
}

// randToken returns n random characters fit for tags, Call-IDs and branches.
func randToken(n int) string {
	var s string
	for len(s) < n {
		s += rand.Text()
	}
	return s[:n]
}

// newBranch returns an RFC 3261 branch (magic cookie, §8.1.1.7).
func newBranch() string { return "z9hG4bK" + strings.ToLower(randToken(20)) }

// hostPort formats a socket address as a Via sent-by or URI hostport.
func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	return net.JoinHostPort(host, port)
}

// cseqString formats a CSeq value.
func cseqString(seq uint32, method string) string {
	return strconv.FormatUint(uint64(seq), 10) + " " + method
}

// txKey identifies a transaction by branch and method (RFC 3261 §17.1.3,
// §17.2.3); CANCEL and ACK share the INVITE's branch but not its key.
func txKey(branch, method string) string { return branch + " " + method }

// branchOf returns the branch of the top Via.
func branchOf(m *sip.Message) string {
	v := m.TopVia()
	return v.Branch()
}
